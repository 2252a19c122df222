"""Few-shot models on files: the measured file and its named errors, save/load through
pyg_nar.checkpoint, `pyg-nar adapt` / `pretrain` / `predict` and what they never overwrite."""
import contextlib
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from pyg_nar.checkpoint import load_checkpoint, save_checkpoint
from pyg_nar.errors import CheckpointError, DataFileError, PipelineError
from pyg_nar.fewshot import AdaptedLatency, MultiDeviceLatency, adapt, pretrain
from pyg_nar.fewshot.encoding import FBNetEncoding, NB201Encoding
from pyg_nar.fewshot.jobs import adapt_checkpoint, load_fewshot, read_measured, save_fewshot
from pyg_nar.spaces import NB201_OPS, NB201SearchSpace

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CELLS = NB201SearchSpace.all_arch_strs()
NB = NB201Encoding()
CHOICES = NB.choice_matrix(CELLS)
LIVE = np.flatnonzero(~NB.degenerate(CHOICES).numpy())
PICK = np.random.default_rng(0).choice(LIVE, 10, replace=False)  # the measured cells


def device(costs, base):
    """Latency = ``base`` + the sum of a per-operation cost over the six edges."""
    table = np.array([costs.get(op, 0.0) for op in NB201_OPS])
    return base + table[CHOICES.numpy()].sum(1)


SOURCES = {"gpu": device({"nor_conv_3x3": 1.0, "nor_conv_1x1": 0.6, "avg_pool_3x3": 0.5}, 4.0),
           "cpu": device({"nor_conv_3x3": 4.0, "nor_conv_1x1": 0.8, "skip_connect": 0.1}, 1.0)}
TARGET = device({"nor_conv_3x3": 3.0, "nor_conv_1x1": 0.3, "avg_pool_3x3": 3.0, "skip_connect": 0.5}, 3.0)


def main(*argv):
    from pyg_nar.cli import main as cli_main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli_main(list(argv))
        except SystemExit as e:
            code = e.code
    return code, out.getvalue(), err.getvalue()


def write_measured(path, picks, latency=TARGET, extra=""):
    lines = ["# a synthetic device, ms", ""] + [f"{CELLS[i]}   {latency[i]:.6f}" for i in picks]
    path.write_text("\n".join(lines) + "\n" + extra)
    return str(path)


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    model = pretrain("nasbench201", CHOICES[::4], {d: v[::4] for d, v in SOURCES.items()},
                     ensemble=1, steps=150, seed=0)
    folder = str(tmp_path_factory.mktemp("fewshot") / "pre")
    save_fewshot(folder, model, {"source": "synthetic"})
    return model, folder


def test_read_measured(tmp_path):
    path = write_measured(tmp_path / "m.txt", LIVE[:3], extra="# trailing\n\n")
    pairs = read_measured(path, NB)
    assert [a for a, _ in pairs] == [CELLS[i] for i in LIVE[:3]]
    np.testing.assert_allclose([t for _, t in pairs], TARGET[LIVE[:3]], rtol=1e-6)
    fb = FBNetEncoding()
    (tmp_path / "fb.txt").write_text(",".join(["k3_e1"] * 22) + " 2.5\n" + ",".join(["skip"] * 22) + "\t3\n")
    assert [t for _, t in read_measured(str(tmp_path / "fb.txt"), fb)] == [2.5, 3.0]


@pytest.mark.parametrize("body, match", [
    ("{a} 1.0\n{b}\n", r"line 2: expected 'ARCHITECTURE LATENCY_MS'"),
    ("{a} 1.0\n\n{b} fast\n", r"line 3: the latency 'fast' is not a number"),
    ("{a} 0\n{b} 1.0\n", r"line 1: the latency 0 must be finite and positive"),
    ("# c\n{a} 1.0\n{b} -2\n", r"line 3: the latency -2 must be finite and positive"),
    ("{a} 1.0\n{b} inf\n", r"line 2: the latency inf must be finite"),
    ("{a} 1.0\n{b} nan\n", r"line 2: the latency nan must be finite"),
    ("{a} 1.0\n|conv~0|+|x~1| 2.0\n", r"line 2: not an architecture of the nasbench201 space"),
    ("{a} 1.0\nmodel.onnx 2.0\n", r"line 2: not an architecture of the nasbench201 space"),
    ("# only one\n{a} 1.0\n", r"1 measurement\(s\); at least 2 are needed"),
    ("", r"0 measurement\(s\)"),
])
def test_bad_measured_files_name_the_file_and_line(tmp_path, body, match):
    path = tmp_path / "bad.txt"
    path.write_text(body.format(a=CELLS[LIVE[0]], b=CELLS[LIVE[1]]))
    with pytest.raises(DataFileError, match=f"{path}.*{match}"):
        read_measured(str(path), NB)


def test_unreadable_measured_files(tmp_path):
    with pytest.raises(DataFileError, match="no such file"):
        read_measured(str(tmp_path / "missing.txt"))
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00 1.0\n")
    with pytest.raises(DataFileError, match="not a UTF-8 text file"):
        read_measured(str(tmp_path / "bin.txt"))


def test_checkpoints_round_trip_through_pyg_nar_checkpoint(pretrained, tmp_path):
    model, folder = pretrained
    again, _, info = load_checkpoint(folder)
    assert isinstance(again, MultiDeviceLatency) and info["class"] == "MultiDeviceLatency"
    assert info["extra"]["fewshot"] == {"space": "nasbench201", "source": "synthetic"}
    np.testing.assert_allclose(again.predict(CELLS[:300]), model.predict(CELLS[:300]), rtol=1e-6)
    adapted = adapt(model, [(CELLS[i], TARGET[i]) for i in PICK], name="mine")
    save_checkpoint(str(tmp_path / "a"), adapted)
    meta = json.loads((tmp_path / "a" / "model.json").read_text())
    assert meta["class"] == "AdaptedLatency" and meta["config"]["base"] == model.config
    # the weights file is a plain state dict: it loads with weights_only=True
    state = torch.load(tmp_path / "a" / "model.pt", weights_only=True)
    assert set(state) == set(adapted.state_dict())
    loaded, _, _ = load_checkpoint(str(tmp_path / "a"))
    assert isinstance(loaded, AdaptedLatency) and loaded.name == "mine"
    assert loaded.families == adapted.families and loaded.excluded == adapted.excluded
    np.testing.assert_allclose(loaded.predict(CELLS[:500]), adapted.predict(CELLS[:500]), rtol=1e-9)
    # the config alone rebuilds the model on the meta device (nothing allocated)
    with torch.device("meta"):
        assert AdaptedLatency(**meta["config"]).bias.device.type == "meta"


def test_adapt_command(pretrained, tmp_path):
    model, folder = pretrained
    measured = write_measured(tmp_path / "phone.txt", PICK)
    out = str(tmp_path / "phone")
    code, stdout, stderr = main("adapt", folder, "--measured", measured, "--out", out)
    assert code == 0, stderr
    assert "from 10 measured architectures" in stdout and "phone" in stdout
    adapted, info = load_fewshot(out)
    record = info["extra"]["fewshot"]
    assert record["k"] == 10 and record["device"] == "phone" and record["measured"] == measured
    assert record["families"] == adapted.families and len(record["selection"]) >= len(adapted.families)
    expected = adapt(model, read_measured(measured, NB), name="phone").predict(CELLS[::50])
    np.testing.assert_allclose(adapted.predict(CELLS[::50]), expected, rtol=1e-9)
    rest = np.setdiff1d(LIVE, PICK)
    pred = adapted.predict(CHOICES[rest])
    assert np.mean(np.abs(pred - TARGET[rest]) / TARGET[rest]) < 0.08  # a small pre-training
    # the adapted checkpoint predicts like any other
    code, stdout, stderr = main("predict", out, CELLS[rest[0]], "--json")
    assert code == 0, stderr
    row, = json.loads(stdout)
    assert row["input"] == CELLS[rest[0]] and row["prediction"] == pytest.approx(pred[0], rel=1e-6)


def test_adapt_never_overwrites(pretrained, tmp_path):
    _, folder = pretrained
    measured = write_measured(tmp_path / "m.txt", LIVE[:5])
    out = tmp_path / "out"
    assert main("adapt", folder, "--measured", measured, "--out", str(out))[0] == 0
    before = {p: (out / p).read_bytes() for p in os.listdir(out)}
    code, _, stderr = main("adapt", folder, "--measured", measured, "--out", str(out))
    assert code == 1 and "already holds a checkpoint; choose another --out" in stderr
    assert {p: (out / p).read_bytes() for p in os.listdir(out)} == before
    other = tmp_path / "notes"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    code, _, stderr = main("adapt", folder, "--measured", measured, "--out", str(other))
    assert code == 1 and "already holds files" in stderr
    assert os.listdir(other) == ["notes.txt"] and (other / "notes.txt").read_text() == "mine"
    (tmp_path / "file").write_text("x")
    code, _, stderr = main("adapt", folder, "--measured", measured, "--out", str(tmp_path / "file"))
    assert code == 1 and "exists and is not a folder" in stderr
    (tmp_path / "empty").mkdir()  # an empty folder is fine
    assert main("adapt", folder, "--measured", measured, "--out", str(tmp_path / "empty"))[0] == 0


def test_adapt_errors_are_one_line_and_write_nothing(pretrained, tmp_path):
    _, folder = pretrained
    bad = tmp_path / "bad.txt"
    bad.write_text(f"{CELLS[LIVE[0]]} 1.0\n{CELLS[LIVE[1]]} -3\n")
    cases = [
        ([folder, "--measured", str(bad)], f"{bad}, line 2: the latency -3 must be finite and positive"),
        ([folder, "--measured", str(tmp_path / "none.txt")], "none.txt: no such file"),
        ([str(tmp_path / "nowhere"), "--measured", str(bad)], "nowhere: no such checkpoint folder"),
    ]
    for args, message in cases:
        code, _, stderr = main("adapt", *args, "--out", str(tmp_path / "out"))
        assert code == 1 and message in stderr and len(stderr.strip().splitlines()) == 1, stderr
        assert not (tmp_path / "out").exists()
    # a checkpoint of another model, and an adapted one, are not pre-trained few-shot models
    from pyg_nar.models import FLOPsRegression
    save_checkpoint(str(tmp_path / "flops"), FLOPsRegression())
    good = write_measured(tmp_path / "good.txt", LIVE[:4])
    code, _, stderr = main("adapt", str(tmp_path / "flops"), "--measured", good, "--out", str(tmp_path / "o"))
    assert code == 1 and "holds a FLOPsRegression, neither a pre-trained few-shot model" in stderr
    assert main("adapt", folder, "--measured", good, "--out", str(tmp_path / "a1"))[0] == 0
    code, _, stderr = main("adapt", str(tmp_path / "a1"), "--measured", good, "--out", str(tmp_path / "a2"))
    assert code == 1 and "holds a AdaptedLatency" in stderr
    with pytest.raises(PipelineError, match="not a few-shot latency model"):
        save_fewshot(str(tmp_path / "x"), FLOPsRegression(), {})
    with pytest.raises(CheckpointError):
        load_fewshot(str(tmp_path / "flops"))


def test_adapt_takes_fbnet_block_lists(tmp_path):
    enc = FBNetEncoding()
    rng = np.random.default_rng(0)
    choices = torch.as_tensor(rng.integers(0, 9, size=(400, 22)))
    costs = enc.costs(choices).double().numpy()
    lat = {"a": 2.0 + costs @ np.array([0.02, 0.2, 1.0, 0.5, 0.5, 1.0]),
           "b": 5.0 + costs @ np.array([0.1, 0.05, 0.2, 0.1, 0.1, 3.0])}
    save_fewshot(str(tmp_path / "pre"), pretrain("fbnet", choices, lat, ensemble=1, steps=50), {})
    target = 1.0 + costs @ np.array([0.05, 0.1, 0.5, 0.2, 0.3, 2.0])
    (tmp_path / "m.txt").write_text("".join(f"{enc.to_str(choices[i])} {target[i]}\n" for i in range(10)))
    record = adapt_checkpoint(str(tmp_path / "pre"), str(tmp_path / "m.txt"), str(tmp_path / "out"))
    assert record["k"] == 10 and record["device"] == "m"
    code, stdout, stderr = main("predict", str(tmp_path / "out"), enc.to_str(choices[20]), "--json")
    assert code == 0, stderr
    assert json.loads(stdout)[0]["prediction"] == pytest.approx(target[20], rel=0.1)


def test_pretrain_command_checks_data_and_out_before_any_work(tmp_path):
    empty = tmp_path / "no-data"
    empty.mkdir()
    script = ("import sys, pyg_nar.cli as c; code = c.main(sys.argv[1:]); "
              "print([m for m in ('torch', 'torch_geometric') if m in sys.modules]); sys.exit(code)")
    env = dict(os.environ, PYTHONPATH=REPO, PYG_NAR_DATA=str(empty))
    r = subprocess.run([sys.executable, "-c", script, "pretrain", "fbnet", "--out", "pre"], cwd=tmp_path,
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and r.stdout.strip() == "[]", (r.stdout, r.stderr)
    assert "latency_help/fbnet_latency.npz" in r.stderr and "PYG_NAR_DATA" in r.stderr
    assert sorted(os.listdir(tmp_path)) == ["no-data"]


def test_pretrain_command_on_the_help_tables(data_root, tmp_path):
    out = str(tmp_path / "pre")
    code, stdout, stderr = main("pretrain", "fbnet", "--out", out, "--devices", "fpga,raspi4",
                                "--steps", "5", "--ensemble", "1")
    assert code == 0, stderr
    assert "pre-trained on 2 devices x 5000 architectures" in stdout
    model, info = load_fewshot(out)
    assert model.devices == ["fpga", "raspi4"] and info["extra"]["fewshot"]["settings"]["steps"] == 5
    code, _, stderr = main("pretrain", "fbnet", "--out", str(tmp_path / "p2"), "--devices", "tpu9")
    assert code == 1 and "tpu9" in stderr


def test_adapt_command_on_onnx_files_with_a_trained_latency_predictor(tmp_path):
    """`pyg-nar adapt` of a `pyg-nar train` latency checkpoint of whole networks: the measured
    file lists ONNX files; the adapted checkpoint is scored by `pyg-nar predict` like any other."""
    pytest.importorskip("onnxruntime")
    from pyg_nar import pipeline
    from pyg_nar.networks import from_onnx, zoo

    zoo_dir = tmp_path / "zoo"
    (zoo_dir / "onnx").mkdir(parents=True)
    lines, flops = [], []
    for i in range(8):
        family = ("alexnet", "squeezenet", "vgg", "resnet")[i % 4]
        cfg = zoo.sample_config(family, i)
        path = zoo.export_onnx(zoo.build_model(cfg), str(zoo_dir / "onnx" / f"m{i}.onnx"), 32)
        f = float(from_onnx(path).static[0, 1])
        flops.append(f)
        lines.append(f"{i} onnx/m{i}.onnx 1 {0.01 * f:.6f} {family} src")
    (zoo_dir / "gt.txt").write_text("\n".join(lines) + "\n")
    run = str(tmp_path / "run")
    pipeline.train("flops", f"nnlqp:{zoo_dir}", run, train_size=6, num_val=1, cache=str(tmp_path / "cache"))
    flops = np.array(flops)
    target = 0.3 * flops ** 0.6  # another setting
    measured = tmp_path / "mine.txt"
    measured.write_text("# ms on my machine\n" + "".join(f"zoo/onnx/m{i}.onnx {target[i]:.6f}\n" for i in range(5)))
    out = str(tmp_path / "adapted")
    code, stdout, stderr = main("adapt", run, "--measured", str(measured), "--out", out)
    assert code == 0, stderr
    assert "from 5 measured architectures" in stdout
    code, stdout, stderr = main("predict", out, str(zoo_dir / "onnx" / "m6.onnx"), "--json")
    assert code == 0, stderr
    row, = json.loads(stdout)
    assert row["prediction"] == pytest.approx(target[6], rel=0.05) and "mflops" in row
    # a bad line names the file and line; a missing ONNX file too
    measured.write_text("zoo/onnx/m0.onnx 1.0\nzoo/onnx/m1.onnx 2.0\nzoo/onnx/nope.onnx 3.0\n")
    code, _, stderr = main("adapt", run, "--measured", str(measured), "--out", str(tmp_path / "x"))
    assert code == 1 and f"{measured}, line 3: " in stderr and "nope.onnx: no such ONNX file" in stderr
    assert not (tmp_path / "x").exists()
