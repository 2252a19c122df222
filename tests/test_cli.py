"""`pyg-nar` end to end on tiny budgets, each command in a fresh process, and its error paths."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


class Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def run(*args, cwd, env_extra=None):
    """``pyg-nar ARGS`` in this process (fast): exit code and captured output."""
    import contextlib
    import io

    from pyg_nar.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_cwd, old_env = os.getcwd(), dict(os.environ)
    os.chdir(cwd)
    os.environ.update(env_extra or {})
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as e:  # argparse: --help, usage errors
                code = e.code
    finally:
        os.chdir(old_cwd)
        os.environ.clear()
        os.environ.update(old_env)
    return Result(code, out.getvalue(), err.getvalue())


def run_fresh(*args, cwd, env_extra=None):
    """``pyg-nar ARGS`` in a new Python process, as a user runs it."""
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS="1")
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "pyg_nar.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    pytest.importorskip("onnxruntime")
    work = tmp_path_factory.mktemp("cli")
    r = run_fresh("measure", "--out", "zoo", "--families", "alexnet,squeezenet,vgg", "--per-family", "4",
                  "--repeats", "3", "--quiet", cwd=work)
    assert r.returncode == 0, r.stderr
    return work


def test_measure_is_resumable(zoo):
    lines = open(zoo / "zoo" / "gt.txt").read().splitlines()
    assert len(lines) == 12
    r = run("measure", "--out", "zoo", "--families", "alexnet,squeezenet,vgg", "--per-family", "5",
            "--repeats", "3", "--quiet", cwd=zoo)
    assert r.returncode == 0, r.stderr
    again = open(zoo / "zoo" / "gt.txt").read().splitlines()
    assert again[:12] == lines and len(again) == 15  # kept what it had, measured 3 more


def test_measure_own_onnx_folder(zoo):
    from pyg_nar.datasets import NNLQP

    r = run("measure", "--out", "mine", "--onnx-dir", "zoo/onnx", "--repeats", "2", "--quiet", cwd=zoo)
    assert r.returncode == 0, r.stderr
    files = sorted(glob.glob(str(zoo / "zoo" / "onnx" / "*" / "*.onnx")))
    lines = open(zoo / "mine" / "gt.txt").read().splitlines()
    assert len(lines) == len(files)
    assert {ln.split()[4] for ln in lines} == {"alexnet", "squeezenet", "vgg"}  # folder = type
    assert run("measure", "--out", "mine", "--onnx-dir", "zoo/onnx", "--quiet", cwd=zoo).returncode == 0
    assert open(zoo / "mine" / "gt.txt").read().splitlines() == lines  # resumed: nothing new
    ds = NNLQP(str(zoo / "mine"))
    assert len(ds) == len(files) and bool((ds.y > 0).all())
    r = run("measure", "--out", "x", "--onnx-dir", "no/such/dir", cwd=zoo)
    assert r.returncode == 1 and "no/such/dir: no such folder" in r.stderr


def test_train_evaluate_predict_latency(zoo):
    r = run("train", "nnlp", "nnlqp:zoo", "--protocol", "flowerformer", "--train-size", "0.6",
            "--num-val", "3", "--epochs", "2", "--out", "runs/nnlp", "--quiet", cwd=zoo)
    assert r.returncode == 0, r.stderr
    assert "mape" in r.stdout and osp.isfile(zoo / "runs" / "nnlp" / "model.pt")
    r = run_fresh("evaluate", "runs/nnlp", "--split", "test", cwd=zoo)
    assert r.returncode == 0, r.stderr
    res = json.load(open(zoo / "runs" / "nnlp" / "eval_test.json"))
    assert res["num_archs"] > 0 and res["mape"] >= 0 and 0 <= res["acc_10"] <= 1
    onnx_file = sorted(glob.glob(str(zoo / "zoo" / "onnx" / "*" / "*.onnx")))[0]
    r = run("predict", "runs/nnlp", onnx_file, "--json", cwd=zoo)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert rows[0]["prediction"] > 0 and rows[0]["mflops"] > 0


def test_train_narformer_on_nb101_and_reload(data_root, tmp_path):
    env = {"PYG_NAR_DATA": data_root}
    r = run("train", "narformer", "nasbench101", "--train-size", "60", "--num-val", "20",
            "--epochs", "2", "--out", "nf", "--quiet", cwd=tmp_path, env_extra=env)
    assert r.returncode == 0, r.stderr
    assert "kendall_tau" in r.stdout
    saved = json.load(open(tmp_path / "nf" / "metrics.json"))
    r = run_fresh("evaluate", "nf", "--split", "test", cwd=tmp_path, env_extra=env)
    assert r.returncode == 0, r.stderr
    res = json.load(open(tmp_path / "nf" / "eval_test.json"))
    # the reloaded checkpoint reproduces the training run's figure on the same split
    assert res["kendall_tau"] == pytest.approx(saved["metrics"]["test"]["kendall_tau"], abs=1e-6)
    assert json.load(open(tmp_path / "nf" / "metrics.json")) == saved  # not overwritten


@pytest.mark.parametrize("args, message", [
    (["train", "resnet-ish", "nasbench201", "--out", "x"], "unknown model 'resnet-ish'"),
    (["train", "narformer", "imagenet", "--out", "x"], "unknown dataset 'imagenet'"),
    (["train", "nnlp", "nasbench201", "--out", "x"], "nnlp predicts latency, but nasbench201 is a accuracy dataset"),
    (["train", "nnlp", "nnlqp:/no/such/folder", "--out", "x"], "needs a folder with a gt.txt"),
    (["evaluate", "no/such/run"], "no/such/run/model.json: file not found"),
    (["predict", "no/such/run", "a.onnx"], "no/such/run/model.json: file not found"),
])
def test_errors_are_one_line(tmp_path, args, message):
    r = run(*args, cwd=tmp_path)
    assert r.returncode == 1
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_incompatible_inputs(zoo):
    r = run("predict", "runs/nnlp", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", cwd=zoo)
    if not osp.isdir(zoo / "runs" / "nnlp"):
        pytest.skip("needs the checkpoint of test_train_evaluate_predict_latency")
    assert r.returncode == 1 and "cannot be scored by runs/nnlp" in r.stderr
    r = run("predict", "runs/nnlp", "missing.onnx", cwd=zoo)
    assert r.returncode == 1 and "missing.onnx: no such file" in r.stderr
    r = run("train", "nnlp", "nnlqp:zoo", "--out", "runs/nnlp", cwd=zoo)
    assert r.returncode == 1 and "already holds a checkpoint" in r.stderr


def test_help_explains_every_command(tmp_path):
    r = run_fresh("--help", cwd=tmp_path)
    assert r.returncode == 0 and "train" in r.stdout and "search" in r.stdout
    for cmd in ("train", "evaluate", "predict", "measure", "search"):
        r = run(cmd, "--help", cwd=tmp_path)
        assert r.returncode == 0 and "usage: pyg-nar " + cmd in r.stdout
    r = run("train", cwd=tmp_path)
    assert r.returncode == 2


def test_pipeline_model_kwargs_reach_the_model_and_the_checkpoint(data_root, tmp_path, monkeypatch):
    from pyg_nar import pipeline
    from pyg_nar.checkpoint import load_checkpoint

    monkeypatch.setenv("PYG_NAR_DATA", data_root)
    res = pipeline.train("flowerformer", "nasbench101", str(tmp_path / "ff"), protocol="flowerformer",
                         train_size=40, num_val=20, epochs=1, cache=str(tmp_path / "data"),
                         progress=False, model_kwargs=dict(num_layers=1, channels=16), batch_size=8)
    assert res["split_sizes"] == {"train": 40, "val": 20, "test": 440}
    model, _, _ = load_checkpoint(str(tmp_path / "ff"))
    assert model.config["num_layers"] == 1 and model.config["channels"] == 16
    assert len(model.layers) == 1
    # NAR-Former's accuracy recipe: the pipeline's CPU size, linear head, ranking loss
    from pyg_nar.recipes import DATASETS, NARFORMER_CPU_SIZE, RECIPES
    recipe = RECIPES["narformer"]
    net = recipe.build(recipe.transform("accuracy", DATASETS["nasbench101"])(
        pipeline.load_dataset("nasbench101", str(tmp_path / "data"))[0]), 5, "accuracy")
    assert net.config["dim"] == NARFORMER_CPU_SIZE["dim"] and net.config["output"] == "linear"
    cfg = recipe.config("accuracy", {"epochs": 3})
    assert (cfg.loss, cfg.ema_decay, cfg.ac_weight, cfg.epochs) == ("hinge", None, 0.0, 3)
