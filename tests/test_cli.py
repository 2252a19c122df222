"""`pyg-nar` end to end on tiny budgets, each command in a fresh process, and its error paths;
its first second: the parser, --help and argument errors without torch, one line when the
benchmark data is missing, `pyg-nar info`. Every test runs alone and in any order: what two
tests share comes from a fixture."""
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
                  "--rounds", "1", "--round-ms", "5", "--quiet", cwd=work)
    assert r.returncode == 0, r.stderr
    return work


def test_measure_is_resumable(zoo, tmp_path):
    import shutil

    shutil.copytree(zoo / "zoo", tmp_path / "zoo", ignore=shutil.ignore_patterns("processed"))
    lines = open(tmp_path / "zoo" / "gt.txt").read().splitlines()  # a copy: the others' zoo stays
    assert len(lines) == 12
    r = run("measure", "--out", "zoo", "--families", "alexnet,squeezenet,vgg", "--per-family", "5",
            "--rounds", "1", "--round-ms", "5", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    again = open(tmp_path / "zoo" / "gt.txt").read().splitlines()
    assert again[:12] == lines and len(again) == 15  # kept what it had, measured 3 more


def test_measure_own_onnx_folder(zoo):
    from pyg_nar.datasets import NNLQP

    r = run("measure", "--out", "mine", "--onnx-dir", "zoo/onnx", "--rounds", "1", "--round-ms", "5",
            "--clock", "cpu", "--quiet", cwd=zoo)
    assert r.returncode == 0, r.stderr
    assert json.load(open(zoo / "mine" / "protocol.json"))["protocol"]["clock"] == "cpu"
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


@pytest.fixture(scope="module")
def nnlp_run(zoo):
    """A small NNLP checkpoint on the zoo (``runs/nnlp-fixture``), for the tests that need one."""
    out = "runs/nnlp-fixture"
    if not osp.isdir(zoo / out):
        r = run("train", "nnlp", "nnlqp:zoo", "--protocol", "flowerformer", "--train-size", "0.6",
                "--num-val", "3", "--epochs", "1", "--out", out, "--quiet", cwd=zoo)
        assert r.returncode == 0, r.stderr
    return out


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


def test_incompatible_inputs(zoo, nnlp_run):
    r = run("predict", nnlp_run, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", cwd=zoo)
    assert r.returncode == 1 and f"cannot be scored by {nnlp_run}" in r.stderr
    r = run("predict", nnlp_run, "missing.onnx", cwd=zoo)
    assert r.returncode == 1 and "missing.onnx: no such file" in r.stderr
    r = run("train", "nnlp", "nnlqp:zoo", "--out", nnlp_run, cwd=zoo)
    assert r.returncode == 1 and "already holds a checkpoint" in r.stderr


def test_help_explains_every_command(tmp_path):
    r = run_fresh("--help", cwd=tmp_path)
    assert r.returncode == 0 and "train" in r.stdout and "search" in r.stdout
    for cmd in ("train", "evaluate", "predict", "measure", "search", "quickstart", "info"):
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


# ------------------------------------------------------------------ the first second of the CLI
HEAVY = ("torch", "torch_geometric", "onnx", "onnxruntime")


def run_light(argvs, cwd, env_extra=None):
    """Run ``main(argv)`` for each of ``argvs`` in one new process; for each: the exit code and
    the output; and which of :data:`HEAVY` that process imported."""
    script = f"""
import contextlib, io, json, sys
import pyg_nar.datasets, pyg_nar.recipes
from pyg_nar.cli import build_parser, main
build_parser()
results = []
for argv in {argvs!r}:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as e:
            code = e.code
    results.append([code, out.getvalue(), err.getvalue()])
print(json.dumps({{"results": results, "heavy": [m for m in {HEAVY!r} if m in sys.modules]}}))
"""
    env = dict(os.environ, PYTHONPATH=REPO)
    env.update(env_extra or {})
    r = subprocess.run([sys.executable, "-c", script], cwd=cwd, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    return [Result(*res) for res in out["results"]], out["heavy"]


def _subparsers():
    from pyg_nar.cli import build_parser

    parser = build_parser()
    choices = next(a for a in parser._actions if isinstance(a, __import__("argparse")._SubParsersAction))
    return parser, choices.choices


def test_parser_help_version_and_argument_errors_import_nothing_heavy(tmp_path):
    from pyg_nar.cli import COMMANDS

    argvs = [["--help"], ["--version"], *([c, "--help"] for c in COMMANDS), ["train"],
             ["train", "narformer", "nasbench201", "--out", "x", "--epochs", "many"],
             ["--threads", "0", "info"], ["search", "--budget", "0"], ["no-such-command"]]
    results, heavy = run_light(argvs, cwd=tmp_path)
    assert heavy == [], f"building the parser imported {heavy}"
    codes = [r.returncode for r in results]
    assert codes == [0] * (2 + len(COMMANDS)) + [2] * 5
    for argv, r in zip(argvs[2:2 + len(COMMANDS)], results[2:]):
        assert r.stdout.startswith(f"usage: pyg-nar {argv[0]}"), r.stdout
    assert results[1].stdout.strip().startswith("pyg-nar ")
    assert "--epochs: expected a positive integer, got 'many'" in results[-4].stderr
    assert "--threads: must be at least 1, got 0" in results[-3].stderr


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"]])
def test_importtime_of_help_shows_no_torch(tmp_path, argv):
    env = dict(os.environ, PYTHONPATH=REPO)
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "pyg_nar.cli", *argv], cwd=tmp_path,
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.startswith("usage: pyg-nar"), r.stderr
    imported = {ln.rsplit("|", 1)[-1].strip() for ln in r.stderr.splitlines() if ln.startswith("import time:")}
    assert "pyg_nar.recipes" in imported  # the report is there (the parser reads the recipes)
    assert not {m for m in imported if m.split(".")[0] in HEAVY}


def test_help_reads_right():
    """No '%%' printed literally (argparse does not %-format descriptions), every option
    shows its default (unless it is a flag or required), every option and command says what
    it is."""
    import argparse

    parser, commands = _subparsers()
    for name, q in [("pyg-nar", parser), *commands.items()]:
        text = q.format_help()
        assert "%%" not in text and "%(" not in text, name
        assert q.description, name
        for action in q._actions:
            if isinstance(action, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)):
                continue
            assert action.help, f"{name} {action.dest} has no help"
            shown = q._get_formatter()._expand_help(action)
            if action.option_strings and not action.required and action.nargs != 0:
                assert "default" in shown, f"{name} {action.option_strings[0]}: no default in {shown!r}"
            if action.default not in (None, False) and action.option_strings:
                assert "default" in shown, f"{name} {action.option_strings[0]}"


def test_a_shared_option_is_one_entry(monkeypatch):
    """An option several commands take is one entry of SHARED_OPTIONS (``--device`` and the
    like are added there)."""
    from pyg_nar import cli

    monkeypatch.setattr(cli, "SHARED_OPTIONS", [*cli.SHARED_OPTIONS, (
        ("--colour",), dict(default="red", help="a colour"), ("train", "search"))])
    _, commands = _subparsers()
    assert "--colour" in commands["train"].format_help() and "--colour" in commands["search"].format_help()
    assert "--colour" not in commands["predict"].format_help()
    args = cli.build_parser().parse_args(["search", "--colour", "blue"])
    assert args.colour == "blue"


@pytest.mark.parametrize("argv", [["train", "narformer", "nasbench201", "--out", "nf"],
                                  ["search", "--budget", "10"],
                                  ["evaluate", "nf", "--dataset", "nasbench201"]])
def test_missing_data_is_one_line_before_any_work(tmp_path, argv):
    empty = tmp_path / "no-data-here"
    empty.mkdir()
    (r,), heavy = run_light([argv], cwd=tmp_path, env_extra={"PYG_NAR_DATA": str(empty)})
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    line = r.stderr.strip()
    assert line.startswith(f"pyg-nar {argv[0]}: error: ")
    for what in ("nasbench201/nb201_accuracy.csv.gz", str(empty), "PYG_NAR_DATA",
                 "export PYG_NAR_DATA="):
        assert what in line, line
    assert heavy == [], f"imported {heavy} before saying the data is missing"
    assert sorted(os.listdir(tmp_path)) == ["no-data-here"]  # nothing written


def test_quickstart_says_first_that_nb201_is_missing(tmp_path, monkeypatch):
    from pyg_nar import pipeline
    from pyg_nar.errors import DataFileError

    monkeypatch.setenv("PYG_NAR_DATA", str(tmp_path / "nowhere"))

    class Stop(Exception):
        pass

    def measure(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(pipeline, "measure", measure)
    with pytest.raises(DataFileError, match="nasbench201/nb201_accuracy.csv.gz"):
        pipeline.quickstart(str(tmp_path / "qs"), nb201=True)
    lines = []
    with pytest.raises(Stop):  # the first work: measuring
        pipeline.quickstart(str(tmp_path / "qs"), log=lines.append)
    assert len(lines) == 2 and lines[0].startswith("NAS-Bench-201 part will be skipped: ")
    assert "nasbench201/nb201_accuracy.csv.gz" in lines[0] and str(tmp_path / "nowhere") in lines[0]
    assert lines[1].startswith("[1/3] measuring")


def test_info(tmp_path):
    import torch
    import torch_geometric

    data = tmp_path / "bench"
    (data / "nasbench201").mkdir(parents=True)
    (data / "nasbench201" / "nb201_accuracy.csv.gz").write_bytes(b"")  # info only looks
    env = {"PYG_NAR_DATA": str(data)}
    r = run("info", "--json", "--cache", "cache", cwd=tmp_path, env_extra=env)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    v = info["versions"]
    assert v["torch"] == torch.__version__ and v["torch_geometric"] == torch_geometric.__version__
    assert v["python"] == ".".join(map(str, sys.version_info[:3])) and v["pyg_nar"]
    assert {"onnx", "onnxruntime", "numpy"} <= set(v)
    dev = info["devices"]
    assert dev["cpu_count"] == os.cpu_count() and dev["cuda_available"] == torch.cuda.is_available()
    assert len(dev["cuda_devices"]) == (torch.cuda.device_count() if torch.cuda.is_available() else 0)
    assert info["data"]["root"] == str(data) and info["data"]["exists"]
    assert info["data"]["source"] == "PYG_NAR_DATA"
    found = info["data"]["datasets"]
    assert found["nasbench201"]["found"] and not found["nasbench101"]["found"]
    assert not found["nb201-latency"]["found"] and not found["nasbench_graph"]["found"]
    nb201 = found["nasbench201"]["options_found"]
    assert "cifar10_test_200ep" in nb201 and "cifar10valid_1seed" not in nb201  # its NASLib file is missing
    assert found["nasbench_graph"]["options_found"] == [] and found["nnlqp"]["found"] is None
    assert info["cache"] == {"path": str(tmp_path / "cache"), "exists": False, "contents": []}
    assert info["platform"]["system"]
    text = run("info", cwd=tmp_path, env_extra=env)
    assert text.returncode == 0
    for what in ("torch_geometric", "onnxruntime", str(data), "PYG_NAR_DATA", "nasbench201",
                 "missing naslib_zc_subsets/nb101_zc_subset.json.gz", "cache"):
        assert what in text.stdout, what


def test_info_on_the_real_data(data_root, tmp_path):
    r = run("info", "--json", cwd=tmp_path, env_extra={"PYG_NAR_DATA": data_root})
    found = json.loads(r.stdout)["data"]["datasets"]
    assert all(found[name]["found"] for name in ("nasbench201", "nasbench101", "nasbench_graph",
                                                 "nb201-latency"))
    assert "cora" in found["nasbench_graph"]["options_found"]


def test_quickstart_says_whether_a_learned_predictor_beats_flops():
    from pyg_nar.pipeline import QUICKSTART_LATENCY_MODELS, latency_verdict

    assert QUICKSTART_LATENCY_MODELS[0] == "flops" and "kernel-sum" in QUICKSTART_LATENCY_MODELS
    rows = [{"model": "flops", "MAPE %": 30.0}, {"model": "nnlp", "MAPE %": 60.0},
            {"model": "kernel-sum", "MAPE %": 15.0}]
    assert latency_verdict(rows) == ("kernel-sum beats the FLOPs baseline on these held-out "
                                     "models: MAPE 15.0% vs 30.0% (0.50 x its error)")
    rows[2]["MAPE %"] = 45.0
    assert latency_verdict(rows) == ("no learned predictor beats the FLOPs baseline on these "
                                     "held-out models: the best, kernel-sum, has MAPE 45.0% vs "
                                     "30.0% for FLOPs")


def _symbolic_convnet(path):
    """A conv net exported with dynamic batch, height and width."""
    import warnings

    import torch

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net.eval(), (torch.randn(1, 3, 8, 8),), str(path), dynamo=False,
                          input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch", 2: "height", 3: "width"}, "y": {0: "batch"}})


def test_input_shape_on_measure_and_predict(zoo, nnlp_run, tmp_path):
    from pyg_nar.datasets import NNLQP

    os.makedirs(tmp_path / "mine" / "convs")
    _symbolic_convnet(tmp_path / "mine" / "convs" / "c.onnx")
    r = run("measure", "--out", "m", "--onnx-dir", "mine", "--rounds", "1", "--round-ms", "5", "--quiet", cwd=tmp_path)
    assert r.returncode == 1 and "--input-shape x=1,3,height,width" in r.stderr, r.stderr
    r = run("measure", "--out", "m", "--onnx-dir", "mine", "--rounds", "1", "--round-ms", "5", "--quiet",
            "--input-shape", "x=1,3,24,20", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    meta = json.load(open(tmp_path / "m" / "input_shapes.json"))
    assert meta == {"../mine/convs/c.onnx": {"x": [1, 3, 24, 20]}}
    ds = NNLQP(str(tmp_path / "m"))  # reloads with the shapes it was measured with
    assert len(ds) == 1 and ds[0].out_shape[0].tolist() == [1, 3, 24, 20]
    # resumed without the option: the recorded shapes stand; other shapes are refused
    assert run("measure", "--out", "m", "--onnx-dir", "mine", "--quiet", cwd=tmp_path).returncode == 0
    r = run("measure", "--out", "m", "--onnx-dir", "mine", "--quiet", "--input-shape", "x=1,3,8,8",
            cwd=tmp_path)
    assert r.returncode == 1 and "measured with input shapes" in r.stderr
    onnx_file = str(tmp_path / "mine" / "convs" / "c.onnx")
    r = run("predict", nnlp_run, onnx_file, "--json", "--input-shape", "x=2,3,32,32", cwd=zoo)
    assert r.returncode == 0, r.stderr
    big = json.loads(r.stdout)[0]
    r = run("predict", nnlp_run, onnx_file, "--json", "--input-shape", "x=2,3,16,16", cwd=zoo)
    assert r.returncode == 0 and big["mflops"] == pytest.approx(4 * json.loads(r.stdout)[0]["mflops"], rel=0.05)
    r = run("predict", nnlp_run, onnx_file, cwd=zoo)
    assert r.returncode == 1 and "--input-shape x=1,3,height,width" in r.stderr
    for bad, why in (("x=1,3,a,b", "integers"), ("x", "NAME=D0,D1"), ("x=1,0,2,2", "positive")):
        r = run("predict", nnlp_run, onnx_file, "--input-shape", bad, cwd=zoo)
        assert r.returncode == 2 and why in r.stderr, r.stderr
    r = run("predict", nnlp_run, onnx_file, "--input-shape", "x=1,3,8,8", "--input-shape", "z=1", cwd=zoo)
    assert r.returncode == 1 and "'z', an input of none of the ONNX files" in r.stderr


def test_checkpoint_of_vocabulary_v1_still_predicts(zoo, nnlp_run, tmp_path):
    """A checkpoint records its operator vocabulary; one trained on version 1 (``Other`` at
    index 71, no control-flow or fused operators) scores today's graphs mapped to it."""
    import shutil

    from pyg_nar.networks import onnx_op_vocab

    assert json.load(open(zoo / nnlp_run / "vocab.json")) == onnx_op_vocab()
    v1 = str(tmp_path / "v1")
    shutil.copytree(zoo / nnlp_run, v1)
    with open(osp.join(v1, "vocab.json"), "w") as f:
        json.dump(onnx_op_vocab(1), f)
    onnx_file = sorted(glob.glob(str(zoo / "zoo" / "onnx" / "*" / "*.onnx")))[0]
    rows = {}
    for ckpt in (nnlp_run, v1):
        r = run("predict", ckpt, onnx_file, "--json", cwd=zoo)
        assert r.returncode == 0, r.stderr
        rows[ckpt] = json.loads(r.stdout)[0]
    # the zoo's operators are all in version 1, at the same indices: the same prediction
    assert rows[v1]["prediction"] == pytest.approx(rows[nnlp_run]["prediction"], rel=1e-6)
    with open(osp.join(v1, "vocab.json"), "w") as f:
        json.dump(["Input", "Conv"], f)  # no known vocabulary: refused, not mis-scored
    r = run("predict", v1, onnx_file, cwd=zoo)
    assert r.returncode == 1 and "cannot be scored" in r.stderr
