"""No load path runs code: crafted pickles (a ``__reduce__`` that creates a marker folder) in
every file a checkpoint or a processed dataset holds are refused or ignored, through
``load_checkpoint``, ``pyg-nar evaluate``, ``pyg-nar predict``, ``NNLQP(root)``, ``pyg-nar
train`` and the NAS-Bench datasets; an ignored cache is rebuilt from the raw files."""
import io
import json
import os
import os.path as osp
import pickle
import shutil
import subprocess
import sys
import warnings

import pytest
import torch

from pyg_nar import pipeline
from pyg_nar.checkpoint import CheckpointError, load_checkpoint
from pyg_nar.datasets import NASBench101, NNLQP
from pyg_nar.transforms import SymmetricAdjacency

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class Payload:
    """Unpickling it creates the folder ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def plant(path, marker, kind="torch"):
    """Write a file at ``path`` that runs code when unpickled."""
    if kind == "pickle":
        data = pickle.dumps(Payload(marker))
    else:
        buf = io.BytesIO()
        obj = Payload(marker) if kind == "torch" else {"weight": torch.zeros(2), "x": Payload(marker)}
        torch.save(obj, buf)
        data = buf.getvalue()
    with open(path, "wb") as f:
        f.write(data)


def sign(path):
    """Give a planted processed file a matching checksum file, as an attacker would."""
    import hashlib
    data = open(path, "rb").read()
    with open(str(path) + ".json", "w") as f:
        json.dump({"format": 1, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}, f)


def run_cli(*args, cwd):
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "pyg_nar.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def nnlp_checkpoint(tiny_networks, tmp_path_factory):
    """A `pyg-nar train` checkpoint (NNLP on the tiny NNLQP folder)."""
    out = str(tmp_path_factory.mktemp("ck") / "nnlp")
    pipeline.train("nnlp", f"nnlqp:{tiny_networks['nnlqp']}", out, protocol="flowerformer",
                   train_size=0.5, num_val=2, epochs=1, progress=False)
    return out


def legacy_copy(checkpoint, tmp_path, marker, keep_text=True, kind="torch"):
    """A copy of ``checkpoint`` laid out as pyg_nar 0.1.0 wrote it, its pickled transform.pt
    replaced by a payload."""
    folder = tmp_path / "legacy"
    shutil.copytree(checkpoint, folder)
    os.remove(folder / "transform.json")
    plant(folder / "transform.pt", marker, kind)
    if not keep_text:
        os.remove(folder / "transform.txt")
    return folder


@pytest.mark.parametrize("kind", ["torch", "pickle"])
def test_load_checkpoint_never_opens_a_pickled_transform(nnlp_checkpoint, tmp_path, kind):
    marker = tmp_path / "ran"
    folder = legacy_copy(nnlp_checkpoint, tmp_path, marker, kind=kind)
    with pytest.warns(UserWarning, match="a pickled transform, which pyg_nar does not load"):
        model, transform, info = load_checkpoint(str(folder))
    assert repr(transform) == repr(SymmetricAdjacency()) and not marker.exists()
    # without transform.txt: the recipe named in metrics.json (nnlp on nnlqp)
    os.remove(folder / "transform.txt")
    with pytest.warns(UserWarning, match="the recipe of nnlp on nnlqp"):
        _, transform, _ = load_checkpoint(str(folder))
    assert repr(transform) == repr(SymmetricAdjacency()) and not marker.exists()
    # and without a recipe either: re-save
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics["extra"].pop("model")
    (folder / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(CheckpointError, match="transform.pt: a pickled transform.*re-save the checkpoint"):
        load_checkpoint(str(folder))
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["torch", "pickle", "state_dict"])
def test_weights_that_carry_code_are_refused(nnlp_checkpoint, tmp_path, kind):
    marker = tmp_path / "ran"
    folder = tmp_path / "ck"
    shutil.copytree(nnlp_checkpoint, folder)
    plant(folder / "model.pt", marker, kind)
    with pytest.raises(CheckpointError, match="model.pt: does not match the weights_sha256"):
        load_checkpoint(str(folder))
    meta = json.loads((folder / "model.json").read_text())
    meta.pop("weights_sha256")  # a folder without the checksum (0.1.0), or one edited by hand
    (folder / "model.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="model.pt: unreadable weights"):
        load_checkpoint(str(folder))
    assert not marker.exists()


def test_a_transform_file_names_only_registered_classes(nnlp_checkpoint, tmp_path):
    folder = tmp_path / "ck"
    shutil.copytree(nnlp_checkpoint, folder)
    for spec, message in [({"class": "system", "args": {"command": "touch x"}}, "unknown transform class 'system'"),
                          ({"class": "Tokenize", "args": {"num_freqs": 10 ** 9}}, r"num_freqs must be in \[1, 1024\]"),
                          ({"class": "Tokenize", "args": {"oops": 1}}, "unknown argument"),
                          ({"class": "Compose", "args": {"transforms": "x"}}, "transforms must be")]:
        (folder / "transform.json").write_text(json.dumps({"format": 1, "transform": spec}))
        with pytest.raises(CheckpointError, match=f"transform.json: .*{message}"):
            load_checkpoint(str(folder))
    (folder / "transform.json").write_text("{")
    with pytest.raises(CheckpointError, match="transform.json: invalid JSON"):
        load_checkpoint(str(folder))


def test_legacy_transform_text_is_read_as_data(nnlp_checkpoint, tmp_path):
    marker = tmp_path / "ran"
    folder = legacy_copy(nnlp_checkpoint, tmp_path, marker)
    (folder / "transform.txt").write_text(f"__import__('os').mkdir({str(marker)!r})")
    with pytest.warns(UserWarning, match="the recipe of nnlp"):  # not a transform: the recipe
        load_checkpoint(str(folder))
    assert not marker.exists()


def test_cli_evaluate_and_predict_run_no_planted_code(nnlp_checkpoint, tiny_networks, tmp_path):
    marker = tmp_path / "ran"
    folder = legacy_copy(nnlp_checkpoint, tmp_path, marker)
    r = run_cli("evaluate", str(folder), "--split", "test", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "pickled transform" in r.stderr and not marker.exists()
    r = run_cli("predict", str(folder), tiny_networks["onnx"][0], "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)[0]["prediction"] > 0 and not marker.exists()
    plant(folder / "model.pt", marker)
    for argv in (["evaluate", str(folder), "--out", str(tmp_path / "eval")],
                 ["predict", str(folder), tiny_networks["onnx"][0]]):
        r = run_cli(*argv, cwd=tmp_path)
        assert r.returncode == 1 and "model.pt: does not match" in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and not marker.exists()


def _processed_file(root):
    files = [osp.join(d, f) for d, _, fs in os.walk(osp.join(root, "processed")) for f in fs
             if f == "data.pt"]
    assert len(files) == 1, files
    return files[0]


@pytest.mark.parametrize("signed", [False, True])
def test_nnlqp_cache_with_code_is_rebuilt_not_run(tiny_networks, tmp_path, signed):
    root = tmp_path / "nnlqp"
    shutil.copytree(tiny_networks["nnlqp"], root, ignore=shutil.ignore_patterns("processed"))
    intact = NNLQP(str(root))
    path = _processed_file(root)
    marker = tmp_path / "ran"
    plant(path, marker, "torch")
    for name in ("pre_transform.pt", "pre_filter.pt"):  # PyG reads these with weights_only=False
        plant(osp.join(osp.dirname(path), name), marker, "pickle")
    if signed:
        sign(path)
    with pytest.warns(UserWarning, match=f"{osp.basename(osp.dirname(path))}/data.pt: .*rebuilding it from the raw files"):
        again = NNLQP(str(root))
    assert not marker.exists()
    assert torch.equal(again.y, intact.y) and torch.equal(again._data.op, intact._data.op)


def test_cli_train_on_a_planted_cache(tiny_networks, tmp_path):
    root = tmp_path / "nnlqp"
    shutil.copytree(tiny_networks["nnlqp"], root, ignore=shutil.ignore_patterns("processed"))
    NNLQP(str(root))  # the flops recipe's dataset: no pre_transform
    marker = tmp_path / "ran"
    path = _processed_file(root)
    plant(path, marker, "state_dict")
    sign(path)
    r = run_cli("train", "flops", f"nnlqp:{root}", "--protocol", "flowerformer", "--train-size", "0.5",
                "--num-val", "2", "--out", str(tmp_path / "run"), "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "rebuilding it from the raw files" in r.stderr and not marker.exists()


@pytest.mark.parametrize("damage", ["truncate", "random", "flip", "empty", "no_checksum", "dir"])
def test_a_damaged_cache_is_rebuilt_with_a_warning(tiny_raw, tmp_path, damage):
    root = str(tmp_path / "nb101")
    intact = NASBench101(root, raw_dir=tiny_raw["raw"])
    path = _processed_file(root)
    data = open(path, "rb").read()
    if damage == "truncate":
        open(path, "wb").write(data[: len(data) // 2])
    elif damage == "random":
        open(path, "wb").write(os.urandom(1000))
    elif damage == "flip":  # a bit inside a tensor: torch's zip reader would not notice
        b = bytearray(data)
        b[-200] ^= 1
        open(path, "wb").write(bytes(b))
    elif damage == "empty":
        open(path, "wb").close()
    elif damage == "no_checksum":
        os.remove(path + ".json")
    else:
        os.remove(path)
        os.mkdir(path)
        os.rmdir(path)  # gone: simply rebuilt, without a warning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = NASBench101(root, raw_dir=tiny_raw["raw"])
    messages = [str(w.message) for w in caught]
    if damage != "dir":
        assert any(path in m and "rebuilding it from the raw files" in m for m in messages), messages
    assert torch.equal(again.y, intact.y) and torch.equal(again._data.edge_index, intact._data.edge_index)
    assert len(NASBench101(root, raw_dir=tiny_raw["raw"])) == len(intact)  # and the rebuilt one loads


@pytest.mark.parametrize("field", ["y", "edge_index", "slices"])
def test_a_crafted_consistent_looking_cache_is_checked(tiny_raw, tmp_path, field):
    """A processed file of the right layout and checksum, but with impossible values."""
    root = str(tmp_path / "nb101")
    intact = NASBench101(root, raw_dir=tiny_raw["raw"])
    path = _processed_file(root)
    raw, slices, cls = torch.load(path, weights_only=True)
    if field == "y":
        raw["y"][3] = float("nan")
    elif field == "edge_index":
        raw["edge_index"][1, 0] = 999
    else:
        slices["op"][2] = 10 ** 6
    torch.save((raw, slices, cls), path)
    sign(path)
    with pytest.warns(UserWarning, match="rebuilding it from the raw files"):
        again = NASBench101(root, raw_dir=tiny_raw["raw"])
    assert torch.equal(again.y, intact.y)
