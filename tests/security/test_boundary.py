"""Validation at the boundary: every raw benchmark file, every checkpoint file and every
argument of the public functions gets a named error (file and line, field, what it takes)
for bad input, before anything is allocated; never a traceback from inside torch, and never
a silently wrong value."""
import gzip
import json
import math
import os
import shutil
import time

import numpy as np
import pytest
import torch

from pyg_nar import pipeline
from pyg_nar.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from pyg_nar.datasets import NASBench101, NASBench201, NASBench201Latency, NASBenchGraph, NNLQP
from pyg_nar.datasets.nnlqp import read_gt
from pyg_nar.errors import ArgumentError, DataFileError, PygNarError
from pyg_nar.models import NNLP
from pyg_nar.splits import flowerformer_split, group_split, narformer_split
from pyg_nar.training import TrainConfig, fit, predict


# ------------------------------------------------------------------------------ raw files
@pytest.fixture
def raw(tiny_raw, tmp_path):
    """A private copy of the tiny raw files."""
    folder = tmp_path / "raw"
    shutil.copytree(tiny_raw["raw"], folder)
    return {k: str(folder / os.path.relpath(v, tiny_raw["raw"])) for k, v in tiny_raw.items() if k != "raw"} | {"raw": str(folder)}


def edit_csv(path, edit, encoding=None):
    with gzip.open(path, "rt", encoding="utf-8-sig") as f:
        lines = f.read().splitlines()
    lines = edit(lines)
    data = "\n".join(lines) + "\n"
    with gzip.open(path, "wb") as f:
        f.write(data.encode() if encoding is None else encoding(data))


def set_cell(lines, row, column, value):
    header = lines[0].split(",")
    cells = lines[row].split(",")
    cells[header.index(column)] = value
    lines[row] = ",".join(cells)
    return lines


@pytest.mark.parametrize("value, message", [
    ("nan", r"line 4: cifar10_test_200ep is nan, outside \[0.0, 100.0\] \(accuracy in percent"),
    ("-3", "line 4: cifar10_test_200ep is -3.0, outside"),
    ("1e6", "line 4: cifar10_test_200ep is 1000000.0, outside"),
    ("inf", "line 4: cifar10_test_200ep is inf"),
    ("x", "line 4: column 'cifar10_test_200ep' is not a number"),
])
def test_nb201_accuracies_are_percent(raw, tmp_path, value, message):
    edit_csv(raw["nb201"], lambda lines: set_cell(lines, 3, "cifar10_test_200ep", value))
    with pytest.raises(DataFileError, match=f"nb201_accuracy.csv.gz, {message}"):
        NASBench201(str(tmp_path / "root"), raw_dir=raw["raw"])


def test_nb201_duplicates_bom_and_encoding(raw, tmp_path):
    intact = NASBench201(str(tmp_path / "a"), raw_dir=raw["raw"])
    assert 0 < float(intact.y.min()) and float(intact.y.max()) <= 1  # fractions
    edit_csv(raw["nb201"], lambda lines: lines, encoding=lambda text: b"\xef\xbb\xbf" + text.encode())
    bom = NASBench201(str(tmp_path / "b"), raw_dir=raw["raw"])
    assert torch.equal(bom.y, intact.y)
    edit_csv(raw["nb201"], lambda lines: lines[:5] + [lines[3]] + lines[5:])
    with pytest.raises(DataFileError, match=r"line 6: duplicate index '2' \(first on line 4\)"):
        NASBench201(str(tmp_path / "c"), raw_dir=raw["raw"])
    edit_csv(raw["nb201"], lambda lines: set_cell(lines[:6], 5, "index", "77"))
    with pytest.raises(DataFileError, match="line 6: duplicate arch_str"):
        NASBench201(str(tmp_path / "d"), raw_dir=raw["raw"])
    edit_csv(raw["nb201"], lambda lines: lines, encoding=lambda text: text.encode("utf-16"))
    with pytest.raises(DataFileError, match="nb201_accuracy.csv.gz: cannot be read"):
        NASBench201(str(tmp_path / "e"), raw_dir=raw["raw"])


@pytest.mark.parametrize("edit, message", [
    (lambda z, k: z[k].__setitem__(3, np.nan), r"lat_titan_rtx_256\[3\] \(NB201 index 3\): latency is nan"),
    (lambda z, k: z[k].__setitem__(3, 0.0), "latency is 0.0, outside"),
    (lambda z, k: z[k].__setitem__(3, -2.0), "latency is -2.0"),
    (lambda z, k: z["index"].__setitem__(4, 3), "duplicate NB201 index 3"),
])
def test_nb201_latencies_are_positive_milliseconds(raw, tmp_path, edit, message):
    z = dict(np.load(raw["nb201_latency"]))
    edit(z, "lat_titan_rtx_256")
    np.savez(raw["nb201_latency"], **z)
    with pytest.raises(DataFileError, match=message):
        NASBench201Latency(str(tmp_path / "root"), device="titan_rtx_256", raw_dir=raw["raw"])


def test_nb201_latency_file_with_pickled_arrays_is_refused(raw, tmp_path):
    z = dict(np.load(raw["nb201_latency"]))
    z["arch_str"] = np.array(list(z["arch_str"]), dtype=object)
    np.savez(raw["nb201_latency"], **z, allow_pickle=True)
    with pytest.raises(DataFileError, match="nasbench201_latency.npz: cannot be read as .npz"):
        NASBench201Latency(str(tmp_path / "root"), device="titan_rtx_256", raw_dir=raw["raw"])


def write_nb101(path, records, text=None):
    with gzip.open(path, "wb") as f:
        f.write((text if text is not None else json.dumps(records)).encode())


@pytest.mark.parametrize("value, message", [
    (float("nan"), "val_accuracy is nan"), (-1, r"val_accuracy is -1.0, outside \[0.0, 100.0\]"),
    (1e6, "val_accuracy is 1000000.0"), ("90", "val_accuracy is not a number: '90'"),
    (None, "val_accuracy is not a number"), (True, "val_accuracy is not a number"),
])
def test_nb101_labels(raw, tmp_path, value, message):
    records = json.load(gzip.open(raw["nb101"], "rt"))
    records[2]["val_accuracy"] = value
    write_nb101(raw["nb101"], records)
    with pytest.raises(DataFileError, match=f"nb101_zc_subset.json.gz, record 2: {message}"):
        NASBench101(str(tmp_path / "root"), raw_dir=raw["raw"])


@pytest.mark.parametrize("edit, message", [
    (lambda r: r.append(dict(r[4])), "record 24: duplicate cell .the same as record 4."),
    (lambda r: r[1]["adjacency"][0].append(1), "record 1: the adjacency is not a square 0/1 matrix"),
    (lambda r: r[1].__setitem__("ops", "conv"), "record 1: the operations must be a list of names"),
    (lambda r: r[1]["adjacency"][2].__setitem__(0, 1), "record 1: edge 2 -> 0 is not upper-triangular"),
])
def test_nb101_records(raw, tmp_path, edit, message):
    records = json.load(gzip.open(raw["nb101"], "rt"))
    edit(records)
    write_nb101(raw["nb101"], records)
    with pytest.raises(DataFileError, match=message):
        NASBench101(str(tmp_path / "root"), raw_dir=raw["raw"])


def test_nb101_text_problems(raw, tmp_path):
    records = json.load(gzip.open(raw["nb101"], "rt"))
    write_nb101(raw["nb101"], None, "\ufeff" + json.dumps(records))  # a BOM is fine
    assert len(NASBench101(str(tmp_path / "a"), raw_dir=raw["raw"])) == len(records)
    write_nb101(raw["nb101"], None, "[" * 100000)
    with pytest.raises(DataFileError, match="cannot be read as JSON"):
        NASBench101(str(tmp_path / "b"), raw_dir=raw["raw"])


@pytest.mark.parametrize("column, value, message", [
    ("test_perf", "1.5", r"test_perf is 1.5, outside \[0.0, 1.0\] \(a fraction"),
    ("test_perf", "nan", "test_perf is nan"),
    ("hash", "FIRST", r"line 3: duplicate hash \d+ \(first on line 2\)"),
])
def test_nasbench_graph_rows(raw, tmp_path, column, value, message):
    edit_csv(raw["nasbench_graph"], lambda lines: set_cell(
        lines, 2, column, lines[1].split(",")[0] if value == "FIRST" else value))
    with pytest.raises(DataFileError, match=message):
        NASBenchGraph(str(tmp_path / "root"), "cora", raw_dir=raw["raw"])


def test_nasbench_graph_duplicate_architecture(raw, tmp_path):
    def dup(lines):
        cells = lines[1].split(",")
        cells[0] = "99999"
        return lines + [",".join(cells)]
    edit_csv(raw["nasbench_graph"], dup)
    with pytest.raises(DataFileError, match=r"line 26: duplicate architecture \(first on line 2\)"):
        NASBenchGraph(str(tmp_path / "root"), "cora", raw_dir=raw["raw"])
    edit_csv(raw["nasbench_graph"], lambda lines: set_cell(lines[:-1], 3, "latency", "-0.1"))
    with pytest.raises(DataFileError, match=r"latency is -0.1, outside \(0.0, inf\] \(seconds"):
        NASBenchGraph(str(tmp_path / "root2"), "cora", target="latency", raw_dir=raw["raw"])


# ----------------------------------------------------------------------------------- gt.txt
@pytest.fixture
def nnlqp(tiny_networks, tmp_path):
    root = tmp_path / "nnlqp"
    shutil.copytree(tiny_networks["nnlqp"], root, ignore=shutil.ignore_patterns("processed"))
    return root


def edit_gt(root, edit, raw=False):
    lines = (root / "gt.txt").read_text(encoding="utf-8-sig").splitlines()
    out = edit(lines)
    (root / "gt.txt").write_bytes(out if raw else ("\n".join(out) + "\n").encode())


def set_field(lines, row, k, value):
    parts = lines[row].split()
    parts[k] = value
    lines[row] = " ".join(parts)
    return lines


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1.5", "0", "1e-300", "1e300"])
def test_gt_latencies_must_be_positive_finite_milliseconds(nnlqp, value):
    edit_gt(nnlqp, lambda lines: set_field(lines, 2, 3, value))
    with pytest.raises(DataFileError, match=r"gt.txt:3: Latency\(ms\) is .*, outside \[1e-06, 1000000000.0\] "
                                            r"\(milliseconds"):
        NNLQP(str(nnlqp))


@pytest.mark.parametrize("k, value, message", [
    (2, "0", r"gt.txt:2: BatchSize is 0, outside \[1, 65536\]"),
    (2, "1.5", "gt.txt:2: BatchSize must be an integer, got '1.5'"),
    (2, str(10 ** 30), "BatchSize is 1000000000000000000000000000000, outside"),
    (0, "-4", r"gt.txt:2: GraphID is -4, outside \[0,"),
    (0, "²", "GraphID must be an integer"),
    (1, "onnx/missing.onnx", "gt.txt:2: onnx/missing.onnx is not a file"),
])
def test_gt_fields(nnlqp, k, value, message):
    edit_gt(nnlqp, lambda lines: set_field(lines, 1, k, value))
    with pytest.raises(DataFileError, match=message):
        NNLQP(str(nnlqp))


def test_gt_duplicates_headers_and_encodings(nnlqp):
    intact = read_gt(str(nnlqp / "gt.txt"))
    edit_gt(nnlqp, lambda lines: lines + [lines[3]])
    with pytest.raises(DataFileError, match=r"gt.txt:17: .* is measured again \(first on line 4\)"):
        NNLQP(str(nnlqp))
    # a bad first line is an error, not a header to skip
    edit_gt(nnlqp, lambda lines: set_field(lines[:-1], 0, 3, "fast"))
    with pytest.raises(DataFileError, match="gt.txt:1: Latency.ms. must be a number, got 'fast'"):
        NNLQP(str(nnlqp))
    edit_gt(nnlqp, lambda lines: set_field(lines, 0, 3, str(intact[0]["latency_ms"])))
    # a real header, a BOM, CRLF line ends: the same rows
    edit_gt(nnlqp, lambda lines: b"\xef\xbb\xbf" + ("GraphID OnnxPath BatchSize Latency ModelType Platform\r\n"
                                                     + "\r\n".join(lines) + "\r\n").encode(), raw=True)
    assert [{k: v for k, v in r.items() if k != "line"} for r in read_gt(str(nnlqp / "gt.txt"))] == \
        [{k: v for k, v in r.items() if k != "line"} for r in intact]
    edit_gt(nnlqp, lambda lines: ("\n".join(lines[:4]) + "\n5 onnx/\xe9.onnx 1 2.0 x y\n").encode("latin-1"), raw=True)
    with pytest.raises(DataFileError, match=r"gt.txt:5: not UTF-8 text"):
        NNLQP(str(nnlqp))
    (nnlqp / "gt.txt").write_text("# nothing measured\n\n")
    with pytest.raises(DataFileError, match="no measurements"):
        NNLQP(str(nnlqp))


def test_nnlqp_cache_follows_the_onnx_files(nnlqp, tiny_networks):
    """Replacing an ONNX file while gt.txt stays the same rebuilds the graphs."""
    from pyg_nar.networks import from_onnx

    first = NNLQP(str(nnlqp))
    row = first.rows[0]
    target = nnlqp / row["onnx_path"]
    other = [p for p in tiny_networks["onnx"] if os.path.basename(p) != os.path.basename(row["onnx_path"])[:-10] + ".onnx"][0]
    shutil.copyfile(other, target)
    again = NNLQP(str(nnlqp))
    assert again.processed_dir != first.processed_dir
    want = from_onnx(str(target), batch_size=row["batch_size"])
    assert torch.equal(again[0].op, want.op) and not torch.equal(again[0].op, first[0].op)


def test_nnlqp_arguments(nnlqp):
    for kwargs, message in [({"model_types": "plain"}, "model_types must be a list of names"),
                            ({"num_workers": 0}, r"num_workers must be in \[1, 1024\]"),
                            ({"gt_file": "../gt.txt"}, "gt_file must be a file name")]:
        with pytest.raises(ArgumentError, match=message):
            NNLQP(str(nnlqp), **kwargs)


# ------------------------------------------------------------------------------ checkpoints
@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    return save_checkpoint(str(tmp_path / "ck"), NNLP(10, hidden=16))


def edit_json(path, edit):
    value = json.loads(open(path).read())
    value = edit(value) or value
    with open(path, "w") as f:
        f.write(json.dumps(value))


@pytest.mark.parametrize("key, value, message", [
    ("hidden", 10 ** 9, "weights do not fit NNLP.*larger model.*stopped before allocating"),
    ("hidden", 10 ** 30, "does not fit NNLP"),
    ("num_layers", 10 ** 7, "larger model"),
    ("hidden", -1, "config does not fit NNLP"),
    ("hidden", "512", r"config of NNLP: hidden must be int, got '512' \(str\)"),
    ("hidden", 2.5, "hidden must be int, got 2.5"),
    ("hidden", [16], "hidden must be int"),
    ("dropout", float("nan"), "dropout must be float, got nan"),
    ("static_scale", [1, "x", 2, 3], r"static_scale must be str \| list\[float\] \| None"),
    ("no_such_argument", 1, "unknown argument.*'no_such_argument'"),
])
def test_model_json_edits_fail_before_any_allocation(checkpoint, key, value, message):
    edit_json(os.path.join(checkpoint, "model.json"), lambda m: m["config"].__setitem__(key, value))
    t0 = time.perf_counter()
    with pytest.raises(CheckpointError, match=f"{message}"):
        load_checkpoint(checkpoint)
    assert time.perf_counter() - t0 < 5


@pytest.mark.parametrize("text, message", [
    ("{", r"model.json: invalid JSON \(line 1, column 2"), ("", "model.json: invalid JSON"),
    ("[]", "model.json: expected a JSON object, got list"), ('{"class": 5}', "unreadable model description"),
    (b"\xff\xfe", "model.json: not UTF-8 text"), ("[" * 100000, "model.json: JSON nested too deeply"),
])
def test_model_json_that_is_not_json_names_the_file(checkpoint, text, message):
    with open(os.path.join(checkpoint, "model.json"), "wb") as f:
        f.write(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(checkpoint)


@pytest.mark.parametrize("file, value, message", [
    ("vocab.json", {"a": 1}, "vocab.json: expected a JSON array"),
    ("vocab.json", [1, 2], "vocab.json: the vocabulary must be a list of operation names"),
    ("metrics.json", {"metrics": [], "extra": {}}, "metrics.json: 'metrics' must be an object"),
])
def test_other_checkpoint_json(checkpoint, file, value, message):
    with open(os.path.join(checkpoint, file), "w") as f:
        json.dump(value, f)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(checkpoint)


@pytest.mark.parametrize("key, value, message", [
    ("seed", "x", "extra.seed must be int"), ("seed", -1, r"extra.seed must be in \[0,"),
    ("train_size", float("nan"), "extra.train_size must be a finite number"),
    ("task", "speed", "extra.task must be accuracy or latency"),
    ("dataset", "imagenet", "extra.dataset: unknown dataset 'imagenet'"),
    ("protocol", 5, "extra.protocol must be str"),
])
def test_metrics_json_of_a_train_run(tiny_networks, tmp_path, key, value, message):
    out = str(tmp_path / "run")
    pipeline.train("flops", f"nnlqp:{tiny_networks['nnlqp']}", out, protocol="flowerformer",
                   train_size=0.5, num_val=2, progress=False)
    edit_json(os.path.join(out, "metrics.json"), lambda m: m["extra"].__setitem__(key, value))
    with pytest.raises(CheckpointError, match=f"metrics.json: {message}"):
        pipeline.predict(out, [tiny_networks["onnx"][0]])


# ---------------------------------------------------------------------------- API arguments
@pytest.mark.parametrize("kwargs, message", [
    ({"epochs": "5"}, "epochs must be an integer, got '5'"), ({"epochs": 0}, r"epochs must be in \[1,"),
    ({"train_size": float("nan")}, "train_size must be a finite number"),
    ({"train_size": -3}, "train_size must be in"), ({"seed": -1}, r"seed must be in \[0, 4294967295\]"),
    ({"seed": 2 ** 40}, "seed must be in"), ({"protocol": "random"}, "protocol must be one of narformer, flowerformer"),
    ({"model": 3}, "model must be a string"), ({"num_val": 1.5}, "num_val must be an integer"),
    ({"progress": "no"}, "progress must be True or False"), ({"model_kwargs": [1]}, "model_kwargs must be a dict"),
])
def test_pipeline_train_arguments(tmp_path, kwargs, message):
    args = dict(model="narformer", dataset="nasbench201", out=str(tmp_path / "x"), progress=False)
    args.update(kwargs)
    with pytest.raises(ArgumentError, match=message):
        pipeline.train(**args)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("kwargs, message", [
    ({"lr": float("nan")}, "TrainConfig: lr must be float, got nan"), ({"lr": 0}, r"lr must be in \(0"),
    ({"batch_size": 0}, r"batch_size must be in \[1,"), ({"epochs": True}, "epochs must be int, got True"),
    ({"weight_decay": -1}, "weight_decay must be in"), ({"grad_clip": 0.0}, "grad_clip must be in"),
    ({"schedule": "sine"}, "schedule must be"), ({"ema_decay": 1.0}, "ema_decay must be in"),
    ({"seed": 1.0}, "seed must be int"), ({"device": 0}, "device must be str"),
    ({"warmup": 1.5}, "warmup is a fraction"),
])
def test_train_config_arguments(kwargs, message):
    with pytest.raises(ArgumentError, match=message):
        TrainConfig(**kwargs)


def test_fit_predict_and_split_arguments():
    model = NNLP(4, hidden=8)
    for call, message in [
            (lambda: fit(model, [], None, "fast"), "fit: config must be a TrainConfig"),
            (lambda: fit("model", [], None), "fit: model must be a torch.nn.Module"),
            (lambda: predict(model, [], batch_size=0), r"predict: batch_size must be in \[1,"),
            (lambda: narformer_split(100, float("nan")), "train_size must be a finite number"),
            (lambda: narformer_split(100, 10.5), "train_size is a count"),
            (lambda: narformer_split(100, 10, num_val=5, seed=-1), "seed must be in"),
            (lambda: narformer_split(10 ** 12, 10), r"num_archs must be in \[1, 10000000\]"),
            (lambda: flowerformer_split(100, 0.5, train_pool=0), "train_pool must be in"),
            (lambda: group_split(torch.zeros(4), 1.5, 0.1), r"test_frac must be in \[0, 1\)"),
            (lambda: pipeline.predict("ck", "model.onnx"), "inputs must be a list"),
            (lambda: pipeline.predict("ck", ["m.onnx"], batch_size=10 ** 9), "batch_size must be in"),
            (lambda: pipeline.evaluate("ck", split="everything"), "split must be one of"),
            (lambda: pipeline.measure("out", per_family=0), "per_family must be in"),
            (lambda: pipeline.measure("out", batch_sizes=[1, 0]), "batch_sizes must be in"),
    ]:
        with pytest.raises(ArgumentError, match=message):
            call()
    assert issubclass(ArgumentError, PygNarError) and issubclass(ArgumentError, TypeError) \
        and issubclass(ArgumentError, ValueError)
    assert not math.isnan(TrainConfig().lr)


# ------------------------------------------------------------------- HELP latency tables
def _help_table(tmp_path, **arrays):
    """A ``latency_help/fbnet_latency.npz`` of 4 networks on one device, edited by ``arrays``."""
    folder = tmp_path / "data" / "latency_help"
    folder.mkdir(parents=True)
    base = {"op_idx": np.zeros((4, 22), dtype=np.int8), "lat_dev": np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)}
    base.update(arrays)
    with open(folder / "fbnet_latency.npz", "wb") as f:
        np.savez(f, **base)
    return str(tmp_path / "data"), str(folder / "fbnet_latency.npz")


@pytest.mark.parametrize("arrays, message", [
    ({"lat_dev": np.array([1.0, np.nan, 3.0, 4.0])}, r"lat_dev\[1\] is nan"),
    ({"lat_dev": np.array([1.0, 2.0, -3.0, 4.0])}, r"lat_dev\[2\] is -3.0: latencies are milliseconds"),
    ({"lat_dev": np.array([0.0, 2.0, 3.0, 4.0])}, r"lat_dev\[0\] is 0.0"),
    ({"lat_dev": np.array([1.0, 2.0, 3.0])}, r"lat_dev is float64 \(3,\), expected \(4,\)"),
    ({"lat_dev": np.array(["a", "b", "c", "d"])}, "expected .* numbers"),
    ({"op_idx": np.full((4, 22), 9, dtype=np.int8)}, "block indices outside 0..8"),
    ({"op_idx": np.zeros(4)}, "op_idx must be an integer array"),
    ({"lat_dev": np.array([object(), 1, 2, 3], dtype=object)}, "cannot be read|Object arrays"),
])
def test_help_latency_tables_are_checked(tmp_path, arrays, message):
    from pyg_nar.datasets.help_latency import load_help_latencies

    raw, path = _help_table(tmp_path, **arrays)
    with pytest.raises(DataFileError, match=message) as e:
        load_help_latencies("fbnet", raw)
    assert path in str(e.value)


def test_help_latency_table_damaged_or_not_an_archive(tmp_path):
    from pyg_nar.datasets.help_latency import load_help_latencies

    raw, path = _help_table(tmp_path)
    assert len(load_help_latencies("fbnet", raw).archs) == 4
    data = open(path, "rb").read()
    for damaged in (data[: len(data) // 2], b"", b"\x93NUMPY" + data[6:40]):
        open(path, "wb").write(damaged)
        with pytest.raises(DataFileError, match="cannot be read|not an .npz"):
            load_help_latencies("fbnet", raw)
    np.save(open(path, "wb"), np.zeros(3))  # one array, no names
    with pytest.raises(DataFileError, match="a single array"):
        load_help_latencies("fbnet", raw)
