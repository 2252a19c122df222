"""Writes that cannot destroy: ``--out`` is checked before any work, checkpoints and measured
folders appear complete or not at all (a temporary sibling renamed into place), and nothing
a user has is overwritten unless they pass ``--overwrite`` (and then only a checkpoint)."""
import hashlib
import json
import os
import os.path as osp
import shutil
import time

import pytest

from pyg_nar import pipeline
from pyg_nar.checkpoint import is_checkpoint, save_checkpoint
from pyg_nar.errors import OutputExistsError, PygNarError
from pyg_nar.models import FLOPsRegression

USER_FILES = {"history.json": "[1]", "metrics.json": '{"mine": 1}', "model.json": "{}",
              "transform.txt": "notes", "vocab.json": "[]", "notes.txt": "keep"}


def hashes(folder):
    return {osp.relpath(osp.join(d, f), folder): hashlib.sha256(open(osp.join(d, f), "rb").read()).hexdigest()
            for d, _, fs in os.walk(folder) for f in fs}


@pytest.fixture
def user_folder(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    for name, text in USER_FILES.items():
        (folder / name).write_text(text)
    return folder


def siblings(path):
    """Temporary siblings left next to ``path``."""
    parent = osp.dirname(osp.abspath(path))
    return [n for n in os.listdir(parent) if n.startswith(".") and (n.endswith(".partial") or n.endswith(".old"))]


def flops_train(tiny_networks, out, **kw):
    return pipeline.train("flops", f"nnlqp:{tiny_networks['nnlqp']}", str(out), protocol="flowerformer",
                          train_size=0.5, num_val=2, progress=False, **kw)


@pytest.mark.parametrize("overwrite", [False, True])
def test_train_never_writes_into_a_folder_of_other_files(tiny_networks, user_folder, overwrite, monkeypatch):
    before = hashes(user_folder)
    calls = []
    monkeypatch.setattr(pipeline, "load_dataset", lambda *a, **k: calls.append(a))  # no work starts
    with pytest.raises(OutputExistsError, match="is a folder with other files in it"):
        flops_train(tiny_networks, user_folder, overwrite=overwrite)
    assert hashes(user_folder) == before and not calls


def test_train_out_that_is_a_file_fails_at_once(tiny_networks, user_folder, monkeypatch):
    monkeypatch.setattr(pipeline, "load_dataset", lambda *a, **k: pytest.fail("work started"))
    for out in (user_folder / "notes.txt", user_folder / "notes.txt" / "run"):
        with pytest.raises(OutputExistsError, match="notes.txt"):
            flops_train(tiny_networks, out, overwrite=True)
    assert (user_folder / "notes.txt").read_text() == "keep"


def test_a_checkpoint_is_replaced_only_with_overwrite(tiny_networks, tmp_path):
    out = tmp_path / "run"
    flops_train(tiny_networks, out)
    (out / "eval_test.json").write_text("{}")
    first = hashes(out)
    with pytest.raises(OutputExistsError, match="already holds a checkpoint folder; pass --overwrite"):
        flops_train(tiny_networks, out)
    assert hashes(out) == first
    flops_train(tiny_networks, out, overwrite=True, seed=1)
    assert is_checkpoint(str(out)) and not (out / "eval_test.json").exists()  # a new checkpoint
    assert json.loads((out / "metrics.json").read_text())["extra"]["seed"] == 1
    assert not siblings(out)


def test_an_empty_folder_is_fine(tiny_networks, tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    flops_train(tiny_networks, out)
    assert is_checkpoint(str(out)) and not siblings(out)


def test_a_failed_save_leaves_nothing(tmp_path, monkeypatch):
    import torch

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(str(tmp_path / "ck"), FLOPsRegression())
    assert os.listdir(tmp_path) == []  # no half-written folder, no temporary sibling


def test_a_checkpoint_appears_complete_or_not_at_all(tmp_path, monkeypatch):
    """While the folder is written, only the temporary sibling exists."""
    import torch

    seen = []
    real = torch.save

    def spy(obj, path, *a, **k):
        seen.append((osp.exists(tmp_path / "ck"), osp.basename(osp.dirname(path))))
        return real(obj, path, *a, **k)

    monkeypatch.setattr(torch, "save", spy)
    save_checkpoint(str(tmp_path / "ck"), FLOPsRegression())
    assert seen[0][0] is False and seen[0][1].startswith(".ck.") and seen[0][1].endswith(".partial")
    assert sorted(os.listdir(tmp_path / "ck")) == ["metrics.json", "model.json", "model.pt"]


def test_evaluate_keeps_earlier_results_unless_told(tiny_networks, tmp_path):
    ck = tmp_path / "run"
    flops_train(tiny_networks, ck)
    first = pipeline.evaluate(str(ck), plot=False)
    saved = (ck / "eval_test.json").read_text()
    t0 = time.perf_counter()
    with pytest.raises(OutputExistsError, match="eval_test.json: exists; pass --overwrite"):
        pipeline.evaluate(str(ck), plot=False)
    assert time.perf_counter() - t0 < 1  # before loading anything
    assert (ck / "eval_test.json").read_text() == saved
    again = pipeline.evaluate(str(ck), plot=False, overwrite=True)
    assert again["mape"] == first["mape"]
    with pytest.raises(OutputExistsError, match="exists and is not a folder"):
        pipeline.evaluate(str(ck), out=str(ck / "model.json"), plot=False, overwrite=True)


def test_evaluate_into_a_user_folder_writes_only_its_own_files(tiny_networks, tmp_path, user_folder):
    ck = tmp_path / "run"
    flops_train(tiny_networks, ck)
    before = hashes(user_folder)
    pipeline.evaluate(str(ck), out=str(user_folder), plot=False)
    after = hashes(user_folder)
    assert {k: after[k] for k in before} == before and set(after) - set(before) == {"eval_test.json"}


def test_measure_refuses_a_folder_of_other_files_and_builds_new_ones_aside(tiny_networks, tmp_path, user_folder):
    pytest.importorskip("onnxruntime")
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(tiny_networks["onnx"][0], src / "a.onnx")
    before = hashes(user_folder)
    for out in (user_folder, user_folder / "notes.txt"):
        with pytest.raises(OutputExistsError):
            pipeline.measure(str(out), onnx_dir=str(src), rounds=1, round_ms=1.0, progress=False)
    assert hashes(user_folder) == before
    out = tmp_path / "measured"
    import pyg_nar.networks as networks
    real, folders = networks.measure_onnx_folder, []

    def interrupted(src_dir, folder, **kw):  # measures into the sibling, then is stopped
        folders.append(folder)
        real(src_dir, folder, **kw)
        raise KeyboardInterrupt

    networks.measure_onnx_folder = interrupted
    try:
        with pytest.raises(KeyboardInterrupt):
            pipeline.measure(str(out), onnx_dir=str(src), rounds=1, round_ms=1.0, progress=False)
    finally:
        networks.measure_onnx_folder = real
    assert folders == [osp.join(str(tmp_path), ".measured.partial")] and not out.exists()
    pipeline.measure(str(out), onnx_dir=str(src), rounds=1, round_ms=1.0, progress=False)  # resumes the sibling
    assert (out / "gt.txt").is_file() and not siblings(out)
    lines = (out / "gt.txt").read_text()
    pipeline.measure(str(out), onnx_dir=str(src), rounds=1, round_ms=1.0, progress=False)  # resumed in place
    assert (out / "gt.txt").read_text() == lines


def test_quickstart_out_that_is_a_file_fails_at_once(tmp_path):
    f = tmp_path / "results"
    f.write_text("mine")
    t0 = time.perf_counter()
    with pytest.raises(OutputExistsError, match="exists and is not a folder"):
        pipeline.quickstart(str(f), progress=False, log=lambda *a: None)
    (tmp_path / "q").mkdir()
    (tmp_path / "q" / "zoo").write_text("mine")
    with pytest.raises(OutputExistsError, match="zoo: exists and is not a folder"):
        pipeline.quickstart(str(tmp_path / "q"), progress=False, log=lambda *a: None)
    assert time.perf_counter() - t0 < 2 and f.read_text() == "mine"


def test_cli_out_errors_are_one_line(tiny_networks, tmp_path, user_folder):
    from pyg_nar.cli import main
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["train", "flops", f"nnlqp:{tiny_networks['nnlqp']}", "--out", str(user_folder),
                     "--overwrite", "--quiet"])
    assert code == 1 and "is a folder with other files in it" in err.getvalue()
    assert len(err.getvalue().strip().splitlines()) == 1
    assert issubclass(OutputExistsError, PygNarError) and issubclass(OutputExistsError, FileExistsError)


def test_search_plot_is_checked_before_the_search(tmp_path, user_folder):
    from pyg_nar.errors import OutputExistsError
    from pyg_nar.search import compare_searches

    existing = osp.join(user_folder, sorted(os.listdir(user_folder))[0])
    before = open(existing, "rb").read() if osp.isfile(existing) else None
    t = time.perf_counter()
    with pytest.raises(OutputExistsError, match="exists; the plot never replaces a file"):
        compare_searches(budget=5, seeds=1, plot=existing)
    assert time.perf_counter() - t < 5  # before loading any benchmark
    if before is not None:
        assert open(existing, "rb").read() == before
    a_file = tmp_path / "f.txt"
    a_file.write_text("x")
    with pytest.raises(OutputExistsError, match="cannot be created"):
        compare_searches(budget=5, seeds=1, plot=str(a_file / "plot.png"))
