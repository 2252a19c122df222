"""Data-parallel training: 2 CPU processes (gloo) under torchrun against 1 process."""
import json
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
WORKER = osp.join(REPO, "tests", "_ddp_worker.py")


def _launch(nproc: int, out: str, cache: str, log: str, data_root: str) -> list[dict]:
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS="1", PYG_NAR_DATA=data_root)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={nproc}", WORKER, out, cache, log]
    r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return [json.load(open(f"{log}.rank{k}.json")) for k in range(nproc)]


def test_two_gloo_processes_match_one_and_only_rank0_writes(data_root, tmp_path, monkeypatch):
    from _ddp_worker import train_and_predict

    cache = str(tmp_path / "cache")  # built by the 2-process run: rank 0 first, rank 1 reads
    two = _launch(2, str(tmp_path / "two"), cache, str(tmp_path / "two"), data_root)
    monkeypatch.setenv("PYG_NAR_DATA", data_root)
    one = [train_and_predict(str(tmp_path / "one"), cache)]  # one process: this one

    # the same global batches give the same run: every metric and every epoch's loss
    # within 1e-4 (the gradients are summed in another order, the batches padded to other
    # lengths: float differences that grow to ~1e-5 over the run)
    assert [r["world"] for r in two] == [2, 2] and one[0]["world"] == 1
    res1, res2 = one[0]["result"], two[0]["result"]
    assert two[1]["result"]["test"] == res2["test"]  # both processes computed the same
    for name, value in res1["test"].items():
        assert res2["test"][name] == pytest.approx(value, abs=1e-4), name
    hist1 = json.load(open(tmp_path / "one" / "history.json"))
    hist2 = json.load(open(tmp_path / "two" / "history.json"))
    assert len(hist1) == len(hist2) == 3
    for h1, h2 in zip(hist1, hist2):
        assert h2["loss"] == pytest.approx(h1["loss"], rel=1e-4)
        assert h2["val_kendall_tau"] == pytest.approx(h1["val_kendall_tau"], abs=1e-4)
    # predictions within 1e-3 (their spread is ~0.2): the ranking loss does not depend on a
    # shift of all scores, so the head's bias gets a gradient of float noise only, which
    # Adam normalises into steps of the learning rate's size, in another direction for
    # another summation order; the shift (measured: 3e-4 after 3 epochs) changes no ranking
    p1, p2 = one[0]["preds"], two[0]["preds"]
    assert len(p1) == len(p2) == 500
    assert max(abs(a - b) for a, b in zip(p1, p2)) < 1e-3

    # no file is written twice: rank 1 writes nothing (not the checkpoint, not the processed
    # dataset), rank 0 each file once
    root = str(tmp_path)
    # files are written to a temporary sibling (.NAME.XXXXXXXX.partial) and renamed into place
    final = lambda p: re.sub(r"/\.([^/]+)\.[A-Za-z0-9_]{8}\.partial(?=/|$)", r"/\1", p)  # noqa: E731
    ours = lambda rec: [final(p) for p in rec["written"] if p.startswith(root) and ".rank" not in p]  # noqa: E731
    assert ours(two[1]) == []
    written0 = ours(two[0])
    assert len(written0) == len(set(written0))
    assert {osp.join(root, "two", f) for f in os.listdir(tmp_path / "two")} <= set(written0)
    assert any(p.startswith(cache) for p in written0)  # rank 0 processed the dataset
    assert sorted(os.listdir(tmp_path / "two")) == sorted(os.listdir(tmp_path / "one"))
