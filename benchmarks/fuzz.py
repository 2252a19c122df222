r"""Fuzz every file and argument pyg_nar reads: does any input run code, overwrite a file,
crash (an exception that is not the library's own named error) or hang?

    python benchmarks/fuzz.py --inputs 20000 --workers 2 --out fuzz-report [--seed 0]

The script builds its own inputs in a work folder (nothing outside it is read): small
zoo-like networks exported to ONNX with torch (plain, residual, branching, depthwise, MLP,
squeeze-excite, channel shuffle, dynamic flatten), an NNLQP-layout folder over them
(``gt.txt``), tiny NAS-Bench-201 / NB201-latency / NAS-Bench-101 / NAS-Bench-Graph raw files
(synthetic rows in the real formats), processed caches, two trained checkpoints (NNLP on the
ONNX folder, NAR-Former on the NB201 cells) and a folder of "user" files. Each input is one
seeded mutation of one of them (``Random(f"{seed}:{category}:{index}")``), run in a worker
process: long-lived workers take many inputs each, with a memory limit
(``resource.setrlimit(RLIMIT_AS)``) and a time limit (a worker past ``--timeout`` seconds is
killed, the input counted as a hang, and the worker restarted, as after a crash).

Each input is classified as **accepted**, **named error** (a
:class:`pyg_nar.errors.PygNarError`, or one of the standard errors the API documents:
``FileNotFoundError`` for a missing file), **crash** (any other exception, a worker that dies or
runs out of memory, or an accepted input whose result is wrong: a damaged cache or a replaced
ONNX file served as if it were intact) or **hang**. Also counted: code executions (every
pickle the fuzzer plants would create a marker file when unpickled), files overwritten (the
user files and every base input are hashed before and after), and, for ONNX inputs, files that
``onnx.checker.check_model(full_check=True)`` rejects but ``from_onnx`` accepts ("checker
missed"; counted apart, as "leniency", are those the checker accepts with ``from_onnx``'s two
documented leniencies: graph outputs without a declared shape, whose rank ``from_onnx`` takes
from its own inference as onnxruntime does, and initializers without data, taken as
weight-stripped like NNLQP's files). Crashes,
hangs, executions, overwrites and checker misses are saved as reproducers (the input's files,
``call.json``, ``error.txt``) under ``--out``; the table is printed and saved as
``summary.json``.

Categories: ``onnx-bytes`` and ``onnx-struct`` (byte-level and structure-level mutations of
the ONNX files, read by ``from_onnx``), ``gt-rows`` (``gt.txt`` lines, ``NNLQP``), ``csv-rows``
(the NB201 / NAS-Bench-Graph CSVs and the NB201 latency ``.npz``), ``json-rows`` (NAS-Bench-101
records), ``cache`` (damaged and planted processed datasets), ``checkpoint`` (damaged and
planted checkpoint files, through ``load_checkpoint``, ``pipeline.predict`` and
``pipeline.evaluate``), ``outputs`` (``--out`` pointing at user files and folders) and
``api-args`` (argument values of the public functions).
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import math
import os
import os.path as osp
import pickle
import random
import selectors
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter, defaultdict

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

#: category -> share of the inputs
WEIGHTS = {"onnx-bytes": 20, "onnx-struct": 20, "gt-rows": 10, "csv-rows": 12, "json-rows": 8,
           "cache": 10, "checkpoint": 12, "outputs": 3, "api-args": 5}
CATEGORIES = tuple(WEIGHTS)
OUTCOMES = ("accepted", "named error", "crash", "hang")
NB201_DEVICE = "titan_rtx_256"


# ===================================================================================== base
def export_models(folder: str, seed: int = 0) -> list[str]:
    """Export eight small zoo-like networks (input 3 x 16 x 16, dynamic batch) to
    ``folder/<name>.onnx`` with the TorchScript exporter; returns the paths."""
    import torch
    from torch import nn

    torch.manual_seed(seed)

    class Residual(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.a = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU())
            self.b = nn.Conv2d(c, c, 3, padding=1)

        def forward(self, x):
            return torch.relu(x + self.b(self.a(x)))

    class Branches(nn.Module):
        def __init__(self):
            super().__init__()
            self.p = nn.ModuleList([nn.Conv2d(3, 4, k, padding=k // 2) for k in (1, 3, 5)])
            self.pool = nn.MaxPool2d(3, 1, 1)

        def forward(self, x):
            return torch.cat([m(x) for m in self.p] + [self.pool(x)], 1)

    class Excite(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv = nn.Conv2d(3, c, 3, padding=1)
            self.fc = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, 2, 1), nn.ReLU(),
                                    nn.Conv2d(2, c, 1), nn.Sigmoid())

        def forward(self, x):
            h = self.conv(x)
            return h * self.fc(h)

    class Shuffle(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 1)

        def forward(self, x):
            h = self.conv(x)
            b, c, hh, ww = h.shape
            return h.view(b, 2, c // 2, hh, ww).transpose(1, 2).reshape(b, c, hh, ww)

    class Flatten(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, stride=2)
            self.fc = nn.Linear(4 * 7 * 7, 10)

        def forward(self, x):
            h = torch.relu(self.conv(x))
            return self.fc(h.view(h.size(0), -1))

    head = [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10)]
    models = {
        "plain": nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                               nn.Conv2d(8, 8, 3, stride=2), nn.ReLU(), *head),
        "residual": nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), Residual(8), *head),
        "branches": nn.Sequential(Branches(), nn.ReLU(), nn.Conv2d(15, 8, 1), *head),
        "depthwise": nn.Sequential(nn.Conv2d(3, 8, 1), nn.Conv2d(8, 8, 3, padding=1, groups=8),
                                   nn.ReLU6(), nn.AvgPool2d(2), *head),
        "mlp": nn.Sequential(nn.Flatten(), nn.Linear(768, 32), nn.ReLU(), nn.Dropout(0.1),
                             nn.Linear(32, 10), nn.Softmax(-1)),
        "excite": nn.Sequential(Excite(8), nn.ReLU(), *head),
        "shuffle": nn.Sequential(Shuffle(), nn.ReLU(), *head),
        "flatten": Flatten(),
    }
    os.makedirs(folder, exist_ok=True)
    paths = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for name, model in models.items():
            path = osp.join(folder, f"{name}.onnx")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(model.eval(), (torch.randn(1, 3, 16, 16),), path, dynamo=False,
                                  opset_version=17, input_names=["input"], output_names=["output"],
                                  dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
            paths.append(path)
    finally:
        torch.set_num_threads(threads)
    return paths


def write_nnlqp_folder(root: str, onnx_paths: list[str], batch_sizes=(1, 4)) -> str:
    """An NNLQP-layout folder: the ONNX files copied to ``root/onnx/<family>/`` and a
    ``gt.txt`` with one line per (file, batch size); the latencies are made up (positive,
    growing with the file size and the batch). Returns ``root``."""
    os.makedirs(osp.join(root, "onnx"), exist_ok=True)
    lines, gid = [], 0
    for path in onnx_paths:
        name = osp.splitext(osp.basename(path))[0]
        rel = f"onnx/{name}/{name}_0000.onnx"
        os.makedirs(osp.dirname(osp.join(root, rel)), exist_ok=True)
        shutil.copyfile(path, osp.join(root, rel))
        for b in batch_sizes:
            ms = 0.05 + osp.getsize(path) / 1e5 * (1 + 0.3 * b)
            lines.append(f"{gid} {rel} {b} {ms:.6f} {name} cpu-test")
            gid += 1
    with open(osp.join(root, "gt.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return root


def write_raw_benchmarks(raw: str, n: int = 24, seed: int = 0) -> dict:
    """Tiny raw files in the real formats under ``raw`` (a ``PYG_NAR_DATA`` folder): NB201's
    accuracy CSV (percent), the HELP latency ``.npz`` (ms), NASLib's NB101 JSON (percent) and
    a NAS-Bench-Graph CSV (fractions). Returns name -> path."""
    import numpy as np

    from pyg_nar.datasets.nasbench_graph import NASBENCH_GRAPH_VOCAB
    from pyg_nar.datasets.paths import (NB101_FILE, NB201_ACCURACY_FILE, NB201_LATENCY_FILE,
                                        nasbench_graph_file)
    from pyg_nar.spaces.nasbench201 import NB201_OPS, to_arch_str

    rng = random.Random(seed)
    files = {"nb201": osp.join(raw, NB201_ACCURACY_FILE), "nb201_latency": osp.join(raw, NB201_LATENCY_FILE),
             "nb101": osp.join(raw, NB101_FILE), "nasbench_graph": osp.join(raw, nasbench_graph_file("cora"))}
    for path in files.values():
        os.makedirs(osp.dirname(path), exist_ok=True)
    archs = set()
    while len(archs) < n:
        archs.add(to_arch_str([rng.choice(NB201_OPS) for _ in range(6)]))
    archs = sorted(archs)
    rows = ["index,arch_str,cifar10_test_200ep,cifar100_test_200ep"]
    rows += [f"{i},{a},{rng.uniform(10, 95):.4f},{rng.uniform(1, 70):.4f}" for i, a in enumerate(archs)]
    with gzip.open(files["nb201"], "wt") as f:
        f.write("\n".join(rows) + "\n")
    np.savez(files["nb201_latency"], index=np.arange(n), arch_str=np.array(archs),
             **{f"lat_{NB201_DEVICE}": np.array([rng.uniform(1, 30) for _ in range(n)])})
    cells, seen = [], set()
    while len(cells) < n:
        k = rng.randint(3, 7)
        adj = [[0] * k for _ in range(k)]
        for i in range(k - 1):
            adj[i][i + 1] = 1
            for j in range(i + 2, k):
                adj[i][j] = int(rng.random() < 0.3)
        ops = ["input"] + [rng.choice(["conv1x1-bn-relu", "conv3x3-bn-relu", "maxpool3x3"])
                           for _ in range(k - 2)] + ["output"]
        key = json.dumps([adj, ops])
        if key not in seen:
            seen.add(key)
            cells.append({"adjacency": adj, "ops": ops, "val_accuracy": round(rng.uniform(70, 95), 3)})
    with gzip.open(files["nb101"], "wt") as f:
        json.dump(cells, f)
    ops_vocab = NASBENCH_GRAPH_VOCAB[1:-1]
    gnn, seen = ["hash,link0,link1,link2,link3,op0,op1,op2,op3,valid_perf,test_perf,latency,params"], set()
    while len(gnn) <= n:
        links = [0] + [rng.randint(0, i) for i in range(1, 4)]
        ops = [rng.choice(ops_vocab) for _ in range(4)]
        if (*links, *ops) in seen:
            continue
        seen.add((*links, *ops))
        gnn.append(f"{1000 + len(gnn)},{','.join(map(str, links))},{','.join(ops)},"
                   f"{rng.uniform(0.2, 0.8):.4f},{rng.uniform(0.2, 0.8):.4f},"
                   f"{rng.uniform(1e-4, 1e-2):.6f},{rng.uniform(0.1, 3):.4f}")
    with gzip.open(files["nasbench_graph"], "wt") as f:
        f.write("\n".join(gnn) + "\n")
    return files


USER_FILES = {"history.json": "[1, 2, 3]\n", "metrics.json": '{"mine": true}\n',
              "model.json": '{"not": "a checkpoint"}\n', "transform.txt": "my notes\n",
              "vocab.json": '["a", "b"]\n', "notes.txt": "do not lose this\n"}


def build_base(work: str, seed: int = 0) -> dict:
    """Everything the inputs are mutated from, under ``work/base``; returns its description
    (paths), also saved as ``work/base.json``."""
    import torch

    from pyg_nar import pipeline
    from pyg_nar.datasets import NNLQP

    torch.set_num_threads(1)
    base = osp.join(work, "base")
    onnx_dir = osp.join(base, "onnx")
    onnx_paths = export_models(onnx_dir, seed)
    nnlqp = write_nnlqp_folder(osp.join(base, "nnlqp"), onnx_paths)
    raw = osp.join(base, "raw")
    raw_files = write_raw_benchmarks(raw, seed=seed)
    os.environ["PYG_NAR_DATA"] = raw
    cache = osp.join(base, "cache")
    ckpt = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ckpt["nnlp"] = osp.join(base, "checkpoints", "nnlp")
        pipeline.train("nnlp", f"nnlqp:{nnlqp}", ckpt["nnlp"], protocol="flowerformer",
                       train_size=0.5, num_val=2, epochs=1, progress=False, cache=cache)
        ckpt["narformer"] = osp.join(base, "checkpoints", "narformer")
        pipeline.train("narformer", "nasbench201", ckpt["narformer"], train_size=12, num_val=4,
                       epochs=1, progress=False, cache=cache, model_kwargs={"dim": 16, "num_layers": 1,
                                                                            "head_dim": 8})
        pipeline.train("flops", f"nnlqp:{nnlqp}", osp.join(work, "flops-warmup"), protocol="flowerformer",
                       train_size=0.5, num_val=2, progress=False)
        for cls_args in (("nasbench201", {}), ("nasbench101", {}), ("nasbench_graph:cora", {}),
                         (f"nb201-latency:{NB201_DEVICE}", {})):
            from pyg_nar.recipes import load_dataset
            load_dataset(cls_args[0], cache)
        NNLQP(nnlqp)
    shutil.rmtree(osp.join(work, "flops-warmup"))
    user = osp.join(base, "user")
    os.makedirs(user)
    for name, text in USER_FILES.items():
        with open(osp.join(user, name), "w") as f:
            f.write(text)
    desc = {"work": work, "base": base, "onnx": onnx_paths, "nnlqp": nnlqp, "raw": raw,
            "raw_files": raw_files, "cache": cache, "checkpoints": ckpt, "user": user,
            "markers": osp.join(work, "markers")}
    os.makedirs(desc["markers"], exist_ok=True)
    with open(osp.join(work, "base.json"), "w") as f:
        json.dump(desc, f, indent=1)
    return desc


def tree_hashes(folder: str) -> dict[str, str]:
    """SHA-256 of every file below ``folder`` (relative path -> digest)."""
    out = {}
    for dirpath, _, names in os.walk(folder):
        for name in names:
            path = osp.join(dirpath, name)
            if osp.isfile(path) and not osp.islink(path):
                with open(path, "rb") as f:
                    out[osp.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
    return out


def changed(before: dict, after: dict) -> list[str]:
    """Files of ``before`` that are gone or differ in ``after`` (new files are fine)."""
    return sorted(k for k, v in before.items() if after.get(k) != v)


# ================================================================================ mutations
class Payload:
    """Unpickling this creates the folder ``marker``: proof that a load ran code."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def payload_bytes(marker: str, rng: random.Random) -> bytes:
    """A file that runs code when unpickled: a plain pickle, a ``torch.save`` zip, or a
    state_dict / processed-dataset tuple with the payload inside."""
    import torch

    obj = Payload(marker)
    kind = rng.choice(["pickle", "torch", "state_dict", "dataset"])
    if kind == "pickle":
        return pickle.dumps(obj, protocol=rng.choice([2, 4, 5]))
    if kind == "state_dict":
        obj = {"weight": torch.zeros(2), "evil": obj}
    elif kind == "dataset":
        obj = ({"y": torch.zeros(2), "x": obj}, {"y": torch.tensor([0, 1, 2])}, dict)
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


SPECIAL_NUMBERS = ["nan", "NaN", "inf", "-inf", "Infinity", "-1", "0", "-0", "1e6", "1e308",
                   "1e309", "-1e-300", "100.0001", "101", "1.5", "0.5", "", "abc", "0x10", " 5",
                   "5 5", "1_000", "²", "१२", str(2 ** 63), str(10 ** 30), "-" + str(10 ** 30)]
SPECIAL_JSON = [float("nan"), float("inf"), -float("inf"), -1, 0, 1, 2, 10 ** 9, 10 ** 30, -10 ** 30,
                2 ** 63, 0.5, 1.5, -0.5, 1e308, "", "x", "512", None, True, False, [], [1, 2],
                {}, {"a": 1}, [[1]], "__import__('os').system('true')"]


def mutate_bytes(data: bytes, rng: random.Random, rounds: int | None = None) -> bytes:
    """1-8 byte-level edits: flips, random bytes, inserted / deleted / duplicated ranges,
    truncation, interesting values (0, 0xff, 0x7f, 0x80) and big-endian integers."""
    b = bytearray(data)
    for _ in range(rounds or rng.randint(1, 8)):
        if not b:
            b += bytes([rng.randrange(256)])
        op = rng.randrange(9)
        pos = rng.randrange(len(b))
        if op == 0:
            b[pos] ^= 1 << rng.randrange(8)
        elif op == 1:
            b[pos] = rng.randrange(256)
        elif op == 2:
            b[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif op == 3:
            del b[pos:pos + rng.randint(1, 64)]
        elif op == 4:
            n = rng.randint(1, 64)
            b[pos:pos] = b[pos:pos + n]
        elif op == 5 and rng.random() < 0.3:
            del b[pos:]
        elif op == 6:
            b[pos] = rng.choice([0, 0xFF, 0x7F, 0x80])
        elif op == 7:
            b[pos:pos + 4] = struct.pack(">I", rng.choice([0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 0x80000000]))
        else:
            b[pos:pos + 8] = struct.pack("<d", rng.choice([math.nan, math.inf, -1.0, 1e300]))
    return bytes(b)


def _write(path: str, data: bytes | str) -> str:
    os.makedirs(osp.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    return path


def _text_edit(text: str, rng: random.Random) -> bytes:
    """Whole-file edits of a text file: a BOM, a non-UTF-8 byte, CRLF, empty, NUL."""
    kind = rng.choice(["bom", "latin1", "crlf", "empty", "nul", "tabs", "none"])
    if kind == "bom":
        return b"\xef\xbb\xbf" + text.encode()
    if kind == "latin1":
        lines = text.splitlines(keepends=True)
        i = rng.randrange(len(lines)) if lines else 0
        return "".join(lines[:i]).encode() + b"\xe9\xff" + "".join(lines[i:]).encode()
    if kind == "crlf":
        return text.replace("\n", "\r\n").encode()
    if kind == "empty":
        return b""
    if kind == "nul":
        return text.encode().replace(b",", b"\x00", 1).replace(b" ", b"\x00", 1)
    if kind == "tabs":
        return text.replace(" ", "\t").encode()
    return text.encode()


# --------------------------------------------------------------------------------- ONNX
def _onnx_struct_mutation(model, rng: random.Random) -> str:
    """One structure-level edit of an ``onnx.ModelProto`` in place; returns its name."""
    import onnx
    from onnx import TensorProto, helper

    g = model.graph
    nodes = list(g.node)
    kind = rng.choice(["drop_node", "dup_output", "op_type", "attr_type", "attr_value", "drop_attr",
                       "misspell_attr", "dims", "init_data", "unknown_rank", "constant_empty",
                       "constant_not_tensor", "dangling_input", "cycle", "dup_input", "output_nobody",
                       "init_dtype", "huge_shape", "drop_init", "opset", "empty_graph", "shape_mul_range"])
    if kind == "drop_node" and nodes:
        g.node.remove(g.node[rng.randrange(len(g.node))])
    elif kind == "dup_output" and len(nodes) > 1:
        a, b = rng.sample(range(len(nodes)), 2)
        if g.node[a].output and g.node[b].output:
            g.node[a].output[0] = g.node[b].output[0]
    elif kind == "op_type" and nodes:
        g.node[rng.randrange(len(nodes))].op_type = rng.choice(
            ["Conv", "Gemm", "Relu", "Foo", "", "Loop", "If", "Shape", "Range", "Concat", "Reshape",
             "MaxPool", "Split", "Resize", "Einsum", "Constant"])
    elif kind in ("attr_type", "attr_value", "drop_attr", "misspell_attr"):
        with_attrs = [n for n in g.node if n.attribute]
        if with_attrs:
            node = rng.choice(with_attrs)
            attr = rng.choice(list(node.attribute))
            if kind == "drop_attr":
                node.attribute.remove(attr)
            elif kind == "misspell_attr":
                attr.name = attr.name + rng.choice(["s", "_", "X"])
            elif kind == "attr_type":
                value = rng.choice([1.5, 7, "s", [1, 2], [1.0], b"x"])
                node.attribute.remove(attr)
                node.attribute.append(helper.make_attribute(attr.name, value))
            else:
                if attr.ints:
                    attr.ints[rng.randrange(len(attr.ints))] = rng.choice([0, -1, -7, 2 ** 62, 10 ** 12])
                elif attr.type == onnx.AttributeProto.INT:
                    attr.i = rng.choice([0, -1, 2 ** 62, 10 ** 12, 99])
                elif attr.type == onnx.AttributeProto.FLOAT:
                    attr.f = rng.choice([math.nan, math.inf, -1.0, 1e38])
    elif kind == "dims" and g.initializer:
        t = rng.choice(list(g.initializer))
        if t.dims:
            t.dims[rng.randrange(len(t.dims))] = rng.choice([0, -1, 1, 3, 2 ** 40, 10 ** 15])
    elif kind == "init_data" and g.initializer:
        t = rng.choice(list(g.initializer))
        if t.raw_data:
            t.raw_data = t.raw_data[: rng.randrange(len(t.raw_data) + 1)]
        else:
            t.int64_data.extend([rng.choice([-1, 0, 2 ** 40])])
    elif kind == "unknown_rank" and g.input:
        g.input[0].type.tensor_type.ClearField("shape")
    elif kind == "constant_empty":
        g.node.insert(0, helper.make_node("Constant", [], [], value=helper.make_tensor("c", TensorProto.INT64, [1], [1])))
    elif kind == "constant_not_tensor":
        node = helper.make_node("Constant", [], ["const_x"], value_float=rng.choice([1.0, math.nan]))
        g.node.insert(0, node)
        if len(g.node) > 1 and g.node[1].input:
            g.node[1].input.append("const_x")
    elif kind == "dangling_input" and nodes:
        node = g.node[rng.randrange(len(nodes))]
        if node.input:
            node.input[rng.randrange(len(node.input))] = rng.choice(["nowhere", "", node.output[0] if node.output else "x"])
    elif kind == "cycle" and len(nodes) > 2:
        a = g.node[rng.randrange(1, len(nodes))]
        if a.output and g.node[0].input:
            g.node[0].input[0] = a.output[0]
    elif kind == "dup_input" and g.input:
        g.input.append(g.input[0])
    elif kind == "output_nobody" and g.output:
        g.output[0].name = "produced_by_nobody"
    elif kind == "init_dtype" and g.initializer:
        rng.choice(list(g.initializer)).data_type = rng.choice([0, 8, 16, 99, TensorProto.INT64])
    elif kind == "huge_shape" and g.input:
        dims = g.input[0].type.tensor_type.shape.dim
        if dims:
            d = dims[rng.randrange(len(dims))]
            d.Clear()
            d.dim_value = rng.choice([2 ** 40, 10 ** 15, 0, 2 ** 62])
    elif kind == "drop_init" and g.initializer:
        g.initializer.remove(g.initializer[rng.randrange(len(g.initializer))])
    elif kind == "opset" and model.opset_import:
        model.opset_import[0].version = rng.choice([0, 1, 7, 99, -1])
    elif kind == "empty_graph":
        del g.node[:]
    elif kind == "shape_mul_range":
        # the 217-byte graph: Shape -> Mul -> Range of a huge length
        name = g.input[0].name if g.input else "input"
        big = helper.make_tensor("big", TensorProto.INT64, [1], [rng.choice([10 ** 6, 10 ** 9, 2 ** 40])])
        g.initializer.append(big)
        zero = helper.make_tensor("zero", TensorProto.INT64, [], [0])
        one = helper.make_tensor("one", TensorProto.INT64, [], [1])
        g.initializer.extend([zero, one])
        g.node.extend([helper.make_node("Shape", [name], ["shp"]),
                       helper.make_node("Mul", ["shp", "big"], ["len"]),
                       helper.make_node("ReduceMax", ["len"], ["lenmax"], keepdims=0),
                       helper.make_node("Range", ["zero", "lenmax", "one"], ["r"])])
        g.output.append(helper.make_tensor_value_info("r", TensorProto.INT64, None))
    return kind


def _checker_rejects(data: bytes) -> tuple[bool, str]:
    """Whether ``onnx.checker.check_model(full_check=True)`` rejects the bytes (parse errors
    included), and why."""
    import onnx

    try:
        model = onnx.load_model_from_string(data)
        onnx.checker.check_model(model, full_check=True)
    except Exception as e:  # noqa: BLE001
        return True, f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
    return False, ""


def _lenient_checker_accepts(data: bytes) -> bool:
    """Whether the checker accepts the model with ``from_onnx``'s two documented leniencies:
    graph outputs without a declared shape left out (their rank comes from inference, as in
    onnxruntime, so models after ``set_batch_size`` convert) and initializers without data
    taken as weight-stripped (NNLQP's files: declared as graph inputs of their shape)."""
    import onnx
    from onnx import helper

    try:
        model = onnx.load_model_from_string(data)
        g = model.graph
        shaped = [o for o in g.output if o.type.tensor_type.HasField("shape")]
        kept = [onnx.ValueInfoProto() for _ in shaped]
        for k, o in zip(kept, shaped):
            k.CopyFrom(o)
        del g.output[:]
        g.output.extend(kept)
        fields = ("raw_data", "float_data", "int32_data", "string_data", "int64_data", "double_data", "uint64_data")
        empty = [t for t in g.initializer if t.data_location != onnx.TensorProto.EXTERNAL
                 and not any(len(getattr(t, f)) for f in fields)]
        if empty:
            inputs = {vi.name for vi in g.input}
            full = [t for t in g.initializer if not any(t is e for e in empty)]
            g.input.extend(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
                           for t in empty if t.name not in inputs)
            copies = [onnx.TensorProto() for _ in full]
            for c, t in zip(copies, full):
                c.CopyFrom(t)
            del g.initializer[:]
            g.initializer.extend(copies)
        onnx.checker.check_model(model, full_check=True)
    except Exception:  # noqa: BLE001
        return False
    return True


# ============================================================================== categories
# Each maker builds an input under ``scratch`` from the base and returns its call: a JSON
# dict with the target's name and arguments (paths inside scratch). The workers run them;
# the main process runs the makers again to save reproducers.
def make_onnx_bytes(rng, base, scratch, marker):
    src = rng.choice(base["onnx"])
    with open(src, "rb") as f:
        data = mutate_bytes(f.read(), rng)
    path = _write(osp.join(scratch, "model.onnx"), data)
    return {"target": "from_onnx", "path": path, "batch_size": None, "onnx_check": True,
            "source": osp.basename(src)}


def make_onnx_struct(rng, base, scratch, marker):
    import onnx

    src = rng.choice(base["onnx"])
    model = onnx.load(src)
    kinds = [_onnx_struct_mutation(model, rng) for _ in range(rng.randint(1, 3))]
    path = _write(osp.join(scratch, "model.onnx"), model.SerializeToString())
    batch = rng.choice([None, None, None, 1, 4, 0, -1, 2 ** 31, 10 ** 30, 1.5, math.nan, math.inf, "8"])
    return {"target": "from_onnx", "path": path, "batch_size": batch, "onnx_check": True,
            "mutations": kinds, "source": osp.basename(src)}


def make_gt_rows(rng, base, scratch, marker):
    root = osp.join(scratch, "nnlqp")
    os.makedirs(root)
    os.symlink(osp.join(base["nnlqp"], "onnx"), osp.join(root, "onnx"))
    with open(osp.join(base["nnlqp"], "gt.txt")) as f:
        lines = f.read().splitlines()
    kinds = []
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(["latency", "batch", "graph_id", "path", "fields", "dup", "header",
                           "comment", "blank", "long", "type", "text", "swap"])
        kinds.append(kind)
        i = rng.randrange(len(lines)) if lines else 0
        parts = lines[i].split() if lines else []
        if kind == "latency" and len(parts) > 3:
            parts[3] = rng.choice(SPECIAL_NUMBERS)
        elif kind == "batch" and len(parts) > 2:
            parts[2] = rng.choice(["0", "-1", "1.5", "x", str(2 ** 31), str(10 ** 30), "65537", "8"])
        elif kind == "graph_id" and parts:
            parts[0] = rng.choice(["-1", "x", "1.5", str(10 ** 30), parts[0]])
        elif kind == "path" and len(parts) > 1:
            parts[1] = rng.choice(["onnx/none.onnx", "/etc/passwd", "../../outside.onnx", "onnx",
                                   "gt.txt", "onnx/plain/../plain/plain_0000.onnx", "", "onnx/%s" % ("a" * 300)])
        elif kind == "fields" and parts:
            parts = parts[: rng.randint(0, len(parts) - 1)] if rng.random() < 0.5 else parts + ["x"] * rng.randint(1, 3)
        elif kind == "dup" and lines:
            lines.insert(rng.randrange(len(lines) + 1), lines[i])
            continue
        elif kind == "header":
            lines.insert(0, rng.choice(["GraphID OnnxPath BatchSize Latency ModelType PlatformId",
                                        "id path bs lat type platform", "# a comment"]))
            continue
        elif kind == "comment" and lines:
            lines[i] = "#" + lines[i]
            continue
        elif kind == "blank":
            lines.insert(rng.randrange(len(lines) + 1), rng.choice(["", "   ", "\t"]))
            continue
        elif kind == "long" and parts:
            parts.append("y" * rng.choice([10 ** 3, 10 ** 5]))
        elif kind == "type" and len(parts) > 5:
            parts[rng.choice([4, 5])] = rng.choice(["", "ü", "a b", "\u200b", "x" * 500])
        elif kind == "swap":
            continue  # below: an ONNX file replaced after the first load
        if lines:
            lines[i] = " ".join(parts)
    text = "\n".join(lines) + "\n"
    data = _text_edit(text, rng) if rng.random() < 0.25 else text.encode()
    _write(osp.join(root, "gt.txt"), data)
    call = {"target": "nnlqp", "root": root, "mutations": kinds}
    if "swap" in kinds:
        call["swap"] = [osp.basename(p) for p in rng.sample(base["onnx"], 2)]
    return call


def _write_gzipped(path: str, text: str, rng, kinds: list) -> None:
    """Write ``text`` gzipped to ``path``: the text edited first one time in five, the gzip
    stream's bytes mutated one time in ten (recorded in ``kinds``)."""
    data = _text_edit(text, rng) if rng.random() < 0.2 else text.encode()
    packed = gzip.compress(data)
    if rng.random() < 0.1:
        packed = mutate_bytes(packed, rng, 2)
        kinds.append("gzip_bytes")
    _write(path, packed)


def make_csv_rows(rng, base, scratch, marker):
    import numpy as np

    which = rng.choice(["nb201", "nb201", "nasbench_graph", "nb201_latency"])
    raw = osp.join(scratch, "raw")
    shutil.copytree(base["raw"], raw)
    path = osp.join(raw, osp.relpath(base["raw_files"][which], base["raw"]))
    kinds = []
    if which == "nb201_latency":
        z = dict(np.load(path))
        key = f"lat_{NB201_DEVICE}"
        kind = rng.choice(["value", "dup_index", "length", "dtype", "object", "bytes", "missing", "payload"])
        kinds.append(kind)
        if kind == "value":
            z[key][rng.randrange(len(z[key]))] = rng.choice([math.nan, math.inf, -1.0, 0.0, 1e308])
        elif kind == "dup_index":
            z["index"][rng.randrange(1, len(z["index"]))] = z["index"][0]
        elif kind == "length":
            z[key] = z[key][:-1]
        elif kind == "dtype":
            z[key] = z[key].astype(str)
        elif kind == "missing":
            del z[rng.choice([key, "index", "arch_str"])]
        if kind == "bytes":
            with open(path, "rb") as f:
                _write(path, mutate_bytes(f.read(), rng))
        elif kind == "payload":
            _write(path, payload_bytes(marker, rng))
        elif kind == "object":
            z["arch_str"] = np.array([Payload(marker)] * len(z["arch_str"]), dtype=object)
            np.savez(path, **z, allow_pickle=True)
        else:
            os.remove(path)
            np.savez(path, **z)
    else:
        with gzip.open(path, "rt") as f:
            lines = f.read().splitlines()
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(["value", "dup", "dup_key", "arch", "columns", "short", "index", "swap"])
            kinds.append(kind)
            i = rng.randrange(1, len(lines))
            cells = lines[i].split(",")
            if kind == "value":
                cells[rng.randrange(2, len(cells))] = rng.choice(SPECIAL_NUMBERS)
            elif kind == "dup":
                lines.insert(rng.randrange(1, len(lines) + 1), lines[i])
                continue
            elif kind == "dup_key":
                cells[0] = lines[rng.randrange(1, len(lines))].split(",")[0]
            elif kind == "arch":
                j = 1 if which == "nb201" else rng.randrange(1, 9)
                cells[j] = rng.choice(["", "|conv~0|", "|none~0|+|none~0|none~1|+|none~0|none~1|none~9|",
                                       "|nor_conv_3x3~0|+", "9", "-1", "gat", "foo", cells[j] + "x"])
            elif kind == "columns":
                header = lines[0].split(",")
                header[rng.randrange(len(header))] = rng.choice(["", "x", header[0]])
                lines[0] = ",".join(header)
                continue
            elif kind == "short":
                cells = cells[: rng.randrange(len(cells))]
            elif kind == "index":
                cells[0] = rng.choice(["-1", "x", "1.5", str(10 ** 30), ""])
            elif kind == "swap":
                j = rng.randrange(1, len(lines))
                lines[i], lines[j] = lines[j], lines[i]
                continue
            lines[i] = ",".join(cells)
        _write_gzipped(path, "\n".join(lines) + "\n", rng, kinds)
    return {"target": "benchmark", "which": which, "raw": raw, "root": osp.join(scratch, "root"),
            "mutations": kinds}


def make_json_rows(rng, base, scratch, marker):
    raw = osp.join(scratch, "raw")
    shutil.copytree(base["raw"], raw)
    path = osp.join(raw, osp.relpath(base["raw_files"]["nb101"], base["raw"]))
    with gzip.open(path, "rt") as f:
        records = json.load(f)
    kinds = []
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(["label", "adjacency", "ops", "missing", "dup", "top", "record", "nest"])
        kinds.append(kind)
        k = rng.randrange(len(records)) if isinstance(records, list) and records else 0
        rec = records[k] if isinstance(records, list) and records and isinstance(records[k], dict) else None
        if kind == "label" and rec is not None:
            rec["val_accuracy"] = rng.choice(SPECIAL_JSON)
        elif kind == "adjacency" and rec is not None:
            adj = rec["adjacency"]
            choice = rng.randrange(6)
            if choice == 0 and adj:
                adj[rng.randrange(len(adj))].append(1)
            elif choice == 1 and adj:
                adj[-1][0] = 1
            elif choice == 2 and adj and adj[0]:
                adj[0][-1] = rng.choice(SPECIAL_JSON)
            elif choice == 3:
                rec["adjacency"] = rng.choice(SPECIAL_JSON)
            elif choice == 4:
                rec["adjacency"] = [[0] * 200 for _ in range(200)]
            else:
                rec["adjacency"] = adj[:-1]
        elif kind == "ops" and rec is not None:
            ops = rec["ops"]
            choice = rng.randrange(4)
            if choice == 0 and ops:
                ops[rng.randrange(len(ops))] = rng.choice(SPECIAL_JSON + ["conv9x9", "input"])
            elif choice == 1:
                rec["ops"] = rng.choice(SPECIAL_JSON)
            elif choice == 2:
                ops.append("output")
            else:
                rec["ops"] = ops[::-1]
        elif kind == "missing" and rec is not None:
            rec.pop(rng.choice(list(rec)), None)
        elif kind == "dup" and isinstance(records, list) and records:
            records.insert(rng.randrange(len(records) + 1), json.loads(json.dumps(records[k])))
        elif kind == "top":
            records = rng.choice([{}, "x", 1, None, [], [records[0]] if isinstance(records, list) and records else []])
        elif kind == "record" and isinstance(records, list) and records:
            records[k] = rng.choice(SPECIAL_JSON)
        elif kind == "nest":  # deeply nested (and possibly unbalanced) brackets
            records = "[" * rng.choice([100, 3000]) + "]" * rng.choice([100, 3000])
    _write_gzipped(path, records if isinstance(records, str) else json.dumps(records), rng, kinds)
    return {"target": "benchmark", "which": "nb101", "raw": raw, "root": osp.join(scratch, "root"),
            "mutations": kinds}


def make_cache(rng, base, scratch, marker):
    import torch

    which = rng.choice(["nnlqp", "nb201", "nb101"])
    if which == "nnlqp":
        root = osp.join(scratch, "nnlqp")
        shutil.copytree(base["nnlqp"], root, symlinks=True)
        call = {"target": "cache", "which": which, "root": root}
    else:
        root = osp.join(scratch, "cache")
        sub = {"nb201": "nasbench201", "nb101": "nasbench101"}[which]
        shutil.copytree(osp.join(base["cache"], sub), osp.join(root, sub))
        call = {"target": "cache", "which": which, "root": root}
    files = sorted(p for p in tree_hashes(root) if p.endswith("data.pt"))
    target = osp.join(root, rng.choice(files))
    kind = rng.choice(["truncate", "bytes", "random", "empty", "payload", "payload_signed", "foreign",
                       "slices", "labels", "index", "sidecar", "no_sidecar", "pre_transform", "dir"])
    call["mutation"] = kind
    with open(target, "rb") as f:
        data = f.read()

    def sign(path):
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        _write(path + ".json", json.dumps({"format": 1, "sha256": digest, "bytes": osp.getsize(path)}))

    if kind == "truncate":
        _write(target, data[: rng.randrange(len(data))])
    elif kind == "bytes":
        _write(target, mutate_bytes(data, rng))
        if rng.random() < 0.5:
            sign(target)
    elif kind == "random":
        _write(target, bytes(rng.randrange(256) for _ in range(rng.randint(1, 4096))))
    elif kind == "empty":
        _write(target, b"")
    elif kind in ("payload", "payload_signed"):
        _write(target, payload_bytes(marker, rng))
        if kind == "payload_signed":
            sign(target)
    elif kind == "foreign":
        buf = io.BytesIO()
        torch.save(rng.choice([{"a": torch.ones(3)}, [1, 2, 3], (1, 2, 3), torch.zeros(5)]), buf)
        _write(target, buf.getvalue())
        sign(target)
    elif kind in ("slices", "labels", "index"):
        raw, slices, cls = torch.load(target, weights_only=True)
        if kind == "slices":
            key = rng.choice(list(slices))
            s = slices[key].clone()
            # broken slices (negative or past the end): a shift that stays consistent and is
            # re-signed is a forgery no reader can tell from data (README: caches)
            s[rng.randrange(len(s))] = rng.choice([-1, 10 ** 6])
            slices[key] = s
        elif kind == "labels":
            y = raw["y"].clone()
            # out of range for every dataset (1e6 ms is a valid latency, 1e6 no accuracy)
            y[rng.randrange(len(y))] = rng.choice([math.nan, math.inf, -5.0, 1e6 if which != "nnlqp" else 2e9])
            raw["y"] = y
        else:
            ei = raw["edge_index"].clone()
            ei[rng.randrange(2), rng.randrange(ei.size(1))] = rng.choice([-1, 999, 2 ** 40])
            raw["edge_index"] = ei
        buf = io.BytesIO()
        torch.save((raw, slices, cls), buf)
        _write(target, buf.getvalue())
        sign(target)
    elif kind == "sidecar":
        _write(target + ".json", rng.choice(["", "{", "[]", '{"format": 1}', "\xff", '{"sha256": 5}']))
    elif kind == "no_sidecar":
        os.remove(target + ".json")
    elif kind == "pre_transform":
        for name in ("pre_transform.pt", "pre_filter.pt"):
            _write(osp.join(osp.dirname(target), name), payload_bytes(marker, rng))
    elif kind == "dir":
        os.remove(target)
        os.makedirs(target)
    return call


CONFIG_EDITS = ["huge", "negative", "zero", "type", "missing", "unknown", "class"]


def _json_object(path: str):
    """The JSON object in ``path``, or ``None`` when an earlier edit of this input left none
    there (the maker then edits what is there differently)."""
    try:
        with open(path) as fh:
            value = json.load(fh)
    except (OSError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def make_checkpoint(rng, base, scratch, marker):
    which = rng.choice(["nnlp", "narformer"])
    ck = osp.join(scratch, "ck")
    shutil.copytree(base["checkpoints"][which], ck)
    kinds = []
    for _ in range(rng.randint(1, 2)):
        f = rng.choice(["model.json", "model.json", "metrics.json", "vocab.json", "transform.json",
                        "model.pt", "model.pt", "legacy", "transform.txt", "text"])
        kinds.append(f)
        path = osp.join(ck, f)
        if f == "model.json" and isinstance(_json_object(path), dict) and isinstance(
                _json_object(path).get("config"), dict):
            meta = _json_object(path)
            edit = rng.choice(CONFIG_EDITS)
            kinds.append(edit)
            cfg = meta["config"]
            key = rng.choice(list(cfg)) if cfg else "x"
            if edit == "huge":
                cfg[key] = rng.choice([10 ** 9, 10 ** 30, 2 ** 31, 65536, [10 ** 6] * 3])
            elif edit == "negative":
                cfg[key] = rng.choice([-1, -10 ** 9, -0.5])
            elif edit == "zero":
                cfg[key] = 0
            elif edit == "type":
                cfg[key] = rng.choice(SPECIAL_JSON)
            elif edit == "missing":
                meta.pop(rng.choice(["class", "config"]))
            elif edit == "unknown":
                cfg["not_an_argument"] = 1
            else:
                meta["class"] = rng.choice(["os.system", "Linear", 5, None, "NARFormer", "NNLP", "FLOPsRegression"])
            _write(path, json.dumps(meta))
        elif f == "metrics.json" and _json_object(path) is not None:
            m = _json_object(path)
            key = rng.choice(["dataset", "task", "protocol", "train_size", "seed", "num_val",
                              "train_pool", "model"])
            if not isinstance(m.get("extra", {}), dict):
                m["extra"] = {}
            m.setdefault("extra", {})[key] = rng.choice(SPECIAL_JSON + ["nnlqp:/nowhere", "latency", "accuracy",
                                                                        "nasbench201", "narformer"])
            if rng.random() < 0.2:
                m = rng.choice([[], "x", {"metrics": 1}, {"extra": []}])
            _write(path, json.dumps(m))
        elif f == "vocab.json":
            _write(path, json.dumps(rng.choice([[1, 2], {}, "x", [], ["a"] * 3, None, [["Conv"]]])))
        elif f == "transform.json" and _json_object(path) is not None:
            spec = _json_object(path)
            edit = rng.randrange(6)
            if edit == 0:
                spec["transform"] = {"class": rng.choice(["os.system", "Payload", "eval", "Compose"]),
                                     "args": {"transforms": "x"} if rng.random() < 0.5 else {"command": "touch x"}}
            elif edit == 1:
                spec["transform"] = {"class": "Tokenize", "args": {"num_freqs": rng.choice(SPECIAL_JSON)}}
            elif edit == 2:
                spec["format"] = rng.choice([0, 2, "1", None])
            elif edit == 3:
                nested = {"class": "SymmetricAdjacency", "args": {}}
                for _ in range(rng.choice([5, 50, 2000])):
                    nested = {"class": "Compose", "args": {"transforms": [nested]}}
                spec["transform"] = nested
            elif edit == 4:
                spec = rng.choice(SPECIAL_JSON)
            else:
                spec["transform"] = {"class": "FlowConsistentShuffle", "args": {"seed": rng.choice(SPECIAL_JSON)}}
            try:
                _write(path, json.dumps(spec))
            except (ValueError, RecursionError):
                _write(path, "[" * 100000)
        elif f == "model.pt":
            with open(path, "rb") as fh:
                data = fh.read()
            edit = rng.choice(["bytes", "payload", "truncate", "foreign", "shapes"])
            kinds.append(edit)
            if edit == "bytes":
                _write(path, mutate_bytes(data, rng))
            elif edit == "payload":
                _write(path, payload_bytes(marker, rng))
            elif edit == "truncate":
                _write(path, data[: rng.randrange(len(data))])
            else:
                import torch
                try:
                    state = torch.load(path, weights_only=True)
                except Exception:  # noqa: BLE001  (an earlier edit of this input damaged it)
                    state = {}
                if not isinstance(state, dict) or not state:
                    edit = "foreign"
                if edit == "foreign":
                    state = rng.choice([[1, 2], {"x": 1}, torch.zeros(3), {}])
                else:
                    k = rng.choice(list(state))
                    state[k] = torch.zeros(rng.choice([(0,), (2, 2), (10 ** 3, 10 ** 3)]))
                buf = io.BytesIO()
                torch.save(state, buf)
                _write(path, buf.getvalue())
        elif f == "legacy":  # a 0.1.0 folder: pickled transform.pt, no transform.json
            if osp.isfile(osp.join(ck, "transform.json")):
                os.remove(osp.join(ck, "transform.json"))
            _write(osp.join(ck, "transform.pt"), payload_bytes(marker, rng))
            if rng.random() < 0.5 and osp.isfile(osp.join(ck, "transform.txt")):
                edit = rng.choice(["__import__('os').mkdir('x')", "Tokenize(num_freqs=10**9)", "",
                                   "Compose([SymmetricAdjacency(), eval('1')])", "(" * 5000,
                                   "Tokenize(num_freqs=99999)", "SymmetricAdjacency(1)"])
                _write(osp.join(ck, "transform.txt"), edit)
            if rng.random() < 0.3 and osp.isfile(osp.join(ck, "transform.txt")):
                os.remove(osp.join(ck, "transform.txt"))
        elif f == "transform.txt":
            _write(path, rng.choice(["", "\xff", "x" * 100000]))
        elif f == "text":
            target = rng.choice(["model.json", "metrics.json", "vocab.json", "transform.json"])
            p = osp.join(ck, target)
            if osp.isfile(p):
                with open(p) as fh:
                    text = fh.read()
                data = rng.choice([_text_edit(text, rng), mutate_bytes(text.encode(), rng),
                                   b"{", b"", b"[" * 100000, b"\x00" * 10, b"NaN"])
                _write(p, data)
    mode = rng.choice(["load", "predict", "predict", "evaluate"])
    call = {"target": "checkpoint", "checkpoint": ck, "which": which, "mode": mode, "mutations": kinds,
            "out": osp.join(scratch, "eval")}
    if mode == "predict":
        call["inputs"] = ([rng.choice(base["onnx"])] if which == "nnlp"
                          else ["|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|"])
    return call


def make_outputs(rng, base, scratch, marker):
    user = osp.join(scratch, "user")
    shutil.copytree(base["user"], user)
    existing_ck = osp.join(scratch, "old-ck")
    shutil.copytree(base["checkpoints"]["nnlp"], existing_ck)
    out = rng.choice([user, osp.join(user, "notes.txt"), osp.join(user, "notes.txt", "sub"),
                      existing_ck, osp.join(scratch, "new"), osp.join(scratch, "empty"),
                      osp.join(scratch, "link")])
    if out.endswith("empty"):
        os.makedirs(out)
    if out.endswith("link"):
        os.symlink(user, out)
    command = rng.choice(["train", "train", "evaluate", "save", "measure", "cli-train", "cli-evaluate"])
    return {"target": "outputs", "command": command, "out": out, "overwrite": rng.random() < 0.4,
            "user": user, "existing_checkpoint": existing_ck}


#: values tried as arguments of the public functions
ARG_VALUES = [None, True, False, 0, 1, -1, 2, 3, 0.5, 1.5, -0.5, math.nan, math.inf, -math.inf,
              10 ** 30, 2 ** 63, "", "x", "0.1", "narformer", [], [1], (1,), {}, {"a": 1}, b"x"]
API_TARGETS = {
    "pipeline.train": ["model", "dataset", "protocol", "train_size", "epochs", "seed", "num_val",
                       "train_pool", "progress", "model_kwargs", "cache", "out", "batch_size", "lr"],
    "pipeline.evaluate": ["split", "dataset", "out", "plot", "overwrite", "checkpoint"],
    "pipeline.predict": ["inputs", "batch_size", "checkpoint"],
    "pipeline.measure": ["per_family", "seed", "threads", "batch_sizes", "rounds", "families", "out"],
    "TrainConfig": ["epochs", "batch_size", "lr", "weight_decay", "warmup", "schedule", "ema_decay",
                    "loss", "sr_weight", "ac_weight", "margin", "grad_clip", "seed", "select_metric",
                    "eval_every", "eval_batch_size", "device", "progress"],
    "fit": ["config", "model", "train_dataset"],
    "training.predict": ["batch_size", "model"],
    "narformer_split": ["num_archs", "train_size", "num_val", "seed"],
    "flowerformer_split": ["num_archs", "train_ratio", "train_pool", "num_val", "seed"],
    "group_split": ["test_frac", "val_frac", "seed", "groups"],
    "Tokenize": ["num_freqs", "depth_freqs", "attr_freqs"],
    "TokenizeV2": ["network_features", "num_ops"],
    "FlowConsistentShuffle": ["seed"],
}


def make_api_args(rng, base, scratch, marker):
    target = rng.choice(sorted(API_TARGETS))
    names = API_TARGETS[target]
    args = {name: rng.choice(ARG_VALUES) for name in rng.sample(names, rng.randint(1, min(3, len(names))))}
    return {"target": "api", "function": target, "args": _jsonable_args(args), "scratch": scratch}


def _jsonable_args(args: dict) -> dict:
    out = {}
    for k, v in args.items():
        if isinstance(v, float) and not math.isfinite(v):
            out[k] = {"float": repr(v)}
        elif isinstance(v, (bytes, tuple)):
            out[k] = {type(v).__name__: list(v)}
        else:
            out[k] = v
    return out


def _args_from_json(args: dict) -> dict:
    out = {}
    for k, v in args.items():
        if isinstance(v, dict) and len(v) == 1 and next(iter(v)) in ("float", "bytes", "tuple"):
            kind, value = next(iter(v.items()))
            out[k] = float(value) if kind == "float" else (bytes(value) if kind == "bytes" else tuple(value))
        else:
            out[k] = v
    return out


MAKERS = {"onnx-bytes": make_onnx_bytes, "onnx-struct": make_onnx_struct, "gt-rows": make_gt_rows,
          "csv-rows": make_csv_rows, "json-rows": make_json_rows, "cache": make_cache,
          "checkpoint": make_checkpoint, "outputs": make_outputs, "api-args": make_api_args}


# ================================================================================= targets
class WrongResult(Exception):
    """An input accepted with a wrong result (a damaged cache served as if it were intact)."""


def _same_graphs(a, b) -> bool:
    import torch

    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        for key in ("y", "op", "edge_index"):
            u, v = getattr(x, key, None), getattr(y, key, None)
            if (u is None) != (v is None) or (u is not None and not torch.equal(u, v)):
                return False
    return True


def _dataset(which: str, raw: str, root: str):
    from pyg_nar.datasets import NASBench101, NASBench201, NASBench201Latency, NASBenchGraph

    if which == "nb201":
        return NASBench201(osp.join(root, "nasbench201"), raw_dir=raw)
    if which == "nb201_latency":
        return NASBench201Latency(osp.join(root, "nasbench201"), device=NB201_DEVICE, raw_dir=raw)
    if which == "nb101":
        return NASBench101(osp.join(root, "nasbench101"), raw_dir=raw)
    return NASBenchGraph(osp.join(root, "nasbench_graph"), "cora", raw_dir=raw)


_REFERENCE: dict = {}


def _reference(which: str, base: dict):
    """The intact dataset of a cache input (loaded once per worker)."""
    if which not in _REFERENCE:
        from pyg_nar.datasets import NNLQP
        from pyg_nar.recipes import RECIPES, DATASETS

        if which == "nnlqp":
            transform = RECIPES["nnlp"].transform("latency", DATASETS["nnlqp"])
            _REFERENCE[which] = NNLQP(base["nnlqp"], pre_transform=transform)
        else:
            _REFERENCE[which] = _dataset(which, base["raw"], base["cache"])
    return _REFERENCE[which]


def run_call(call: dict, base: dict, onnx_stage=None):
    """Run one input; returns a short note. Raises what the library raises."""
    import torch

    target = call["target"]
    if target == "from_onnx":
        from pyg_nar.networks import from_onnx

        return from_onnx(call["path"], batch_size=call["batch_size"]).num_nodes
    if target == "nnlqp":
        from pyg_nar.datasets import NNLQP

        ds = NNLQP(call["root"])
        if "swap" in call:  # replace one listed ONNX file by another: the dataset must follow
            from pyg_nar.networks import from_onnx

            first = ds.rows[0]
            onnx_link = osp.join(call["root"], "onnx")
            real = osp.realpath(onnx_link)
            os.remove(onnx_link)
            shutil.copytree(real, onnx_link)
            src = [p for p in base["onnx"] if osp.basename(p) == call["swap"][1]][0]
            dst = osp.join(call["root"], first["onnx_path"])
            if osp.isfile(dst):
                shutil.copyfile(src, dst)
                again = NNLQP(call["root"])
                want = from_onnx(dst, batch_size=first["batch_size"])
                if not torch.equal(again[0].op, want.op) or not torch.equal(again[0].edge_index, want.edge_index):
                    raise WrongResult(f"{dst} was replaced, and NNLQP served the old graph")
        return len(ds)
    if target == "benchmark":
        return len(_dataset(call["which"], call["raw"], call["root"]))
    if target == "cache":
        from pyg_nar.datasets import NNLQP
        from pyg_nar.recipes import DATASETS, RECIPES

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if call["which"] == "nnlqp":
                ds = NNLQP(call["root"], pre_transform=RECIPES["nnlp"].transform("latency", DATASETS["nnlqp"]))
            else:
                ds = _dataset(call["which"], base["raw"], call["root"])
        if not _same_graphs(ds, _reference(call["which"], base)):
            raise WrongResult("a damaged processed file was served as if it were intact")
        return len(ds)
    if target == "checkpoint":
        from pyg_nar import pipeline
        from pyg_nar.checkpoint import load_checkpoint

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if call["mode"] == "load":
                return type(load_checkpoint(call["checkpoint"])[0]).__name__
            if call["mode"] == "predict":
                return len(pipeline.predict(call["checkpoint"], call["inputs"]))
            return pipeline.evaluate(call["checkpoint"], out=call["out"], cache=base["cache"],
                                     plot=False)["num_archs"]
    if target == "outputs":
        return _run_outputs(call, base)
    if target == "api":
        return _run_api(call, base)
    raise ValueError(f"unknown target {target}")


def _run_outputs(call: dict, base: dict):
    from pyg_nar import pipeline
    from pyg_nar.checkpoint import save_checkpoint
    from pyg_nar.cli import main
    from pyg_nar.models import FLOPsRegression

    out, overwrite, cmd = call["out"], call["overwrite"], call["command"]
    nnlqp = f"nnlqp:{base['nnlqp']}"
    if cmd == "train":
        return pipeline.train("flops", nnlqp, out, protocol="flowerformer", train_size=0.5, num_val=2,
                              progress=False, overwrite=overwrite)["split_sizes"]["train"]
    if cmd == "evaluate":
        return pipeline.evaluate(call["existing_checkpoint"], out=out, plot=False, overwrite=overwrite,
                                 cache=base["cache"])["num_archs"]
    if cmd == "save":
        return save_checkpoint(out, FLOPsRegression(), overwrite=overwrite)
    if cmd == "measure":
        src = osp.join(osp.dirname(call["user"]), "src")
        os.makedirs(src, exist_ok=True)
        shutil.copyfile(base["onnx"][0], osp.join(src, "m.onnx"))
        return pipeline.measure(out, onnx_dir=src, rounds=1, round_ms=1.0, progress=False)
    argv = (["train", "flops", nnlqp, "--out", out, "--protocol", "flowerformer", "--train-size", "0.5",
             "--num-val", "2", "--quiet"] if cmd == "cli-train"
            else ["evaluate", call["existing_checkpoint"], "--out", out, "--cache", base["cache"]])
    if overwrite:
        argv.append("--overwrite")
    import contextlib
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        code = main(argv)
    if code == 1:
        from pyg_nar.errors import PygNarError
        raise PygNarError(f"pyg-nar exit 1: {err.getvalue().strip()[:200]}")
    return code


def _run_api(call: dict, base: dict):
    import torch

    from pyg_nar import pipeline, splits, training
    from pyg_nar.transforms import FlowConsistentShuffle, Tokenize, TokenizeV2

    fn, given = call["function"], _args_from_json(call["args"])
    scratch = call["scratch"]
    if fn == "pipeline.train":
        args = dict(model="flops", dataset=f"nnlqp:{base['nnlqp']}", out=osp.join(scratch, "out"),
                    protocol="flowerformer", train_size=0.5, num_val=2, progress=False, cache=base["cache"])
        args.update(given)
        return pipeline.train(**args)["split_sizes"]["train"]
    if fn == "pipeline.evaluate":
        args = dict(checkpoint=base["checkpoints"]["nnlp"], out=osp.join(scratch, "eval"), plot=False,
                    cache=base["cache"])
        args.update(given)
        return pipeline.evaluate(**args)["num_archs"]
    if fn == "pipeline.predict":
        args = dict(checkpoint=base["checkpoints"]["nnlp"], inputs=[base["onnx"][0]])
        args.update(given)
        return len(pipeline.predict(**args))
    if fn == "pipeline.measure":
        src = osp.join(scratch, "src")
        os.makedirs(src, exist_ok=True)
        shutil.copyfile(base["onnx"][0], osp.join(src, "m.onnx"))
        args = dict(out=osp.join(scratch, "measured"), onnx_dir=src, rounds=1, round_ms=1.0, progress=False)
        args.update(given)
        if args.get("rounds") not in (None, 1, 2, 3) and isinstance(args.get("rounds"), int):
            args["rounds"] = 1  # a valid but long measurement is not a finding
        return pipeline.measure(**args)
    if fn == "TrainConfig":
        return repr(training.TrainConfig(**given))[:10]
    if fn in ("fit", "training.predict"):
        from pyg_nar.models import NNLP
        reference = _reference("nnlqp", base)
        graphs = [reference[i] for i in range(4)]
        model = NNLP(len(reference.op_vocab), static_dim=graphs[0].static.size(-1), hidden=8)
        if fn == "fit":
            args = dict(model=model, train_dataset=graphs, config=training.TrainConfig(epochs=1, progress=False))
            args.update(given)
            return training.fit(args["model"], args["train_dataset"], None, args["config"]).best_epoch
        args = dict(model=model, data=graphs)
        args.update(given)
        return training.predict(**args).numel()
    if fn == "narformer_split":
        args = dict(num_archs=100, train_size=10, num_val=5, seed=0)
        args.update(given)
        return len(splits.narformer_split(**args)["train"])
    if fn == "flowerformer_split":
        args = dict(num_archs=100, train_ratio=0.5, train_pool=None, num_val=5, seed=0)
        args.update(given)
        return len(splits.flowerformer_split(**args)["train"])
    if fn == "group_split":
        args = dict(groups=torch.tensor([0, 0, 0, 1, 1, 1]), test_frac=0.2, val_frac=0.2, seed=0)
        args.update(given)
        return len(splits.group_split(**args)["train"])
    cls = {"Tokenize": Tokenize, "TokenizeV2": TokenizeV2, "FlowConsistentShuffle": FlowConsistentShuffle}[fn]
    return repr(cls(**given))


# ================================================================================== worker
def _named_errors():
    from pyg_nar.errors import PygNarError

    return (PygNarError, FileNotFoundError)


def _make(category: str, index: int, seed: int, base: dict, scratch: str, marker: str) -> dict:
    """The input of ``(category, index)``: a maker whose random edits do not fit what an
    earlier edit left (an empty list, a field it removed) is retried with the next stream
    (``Random(f"{seed}:{category}:{index}:{k}")``), at most 5 times; the library is not called
    until an input is made."""
    for k in range(6):
        rng = random.Random(f"{seed}:{category}:{index}" + (f":{k}" if k else ""))
        shutil.rmtree(scratch, ignore_errors=True)
        os.makedirs(scratch)
        try:
            return MAKERS[category](rng, base, scratch, marker)
        except (ValueError, IndexError, KeyError, TypeError, AttributeError):
            if k == 5:
                raise


def worker_main(base_path: str, memory_mb: int) -> None:
    """Read job lines (JSON) on stdin, answer result lines on a private copy of stdout."""
    import resource

    proto = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.environ["OMP_NUM_THREADS"] = "1"
    with open(base_path) as f:
        base = json.load(f)
    os.environ["PYG_NAR_DATA"] = base["raw"]
    warnings.simplefilter("ignore")
    import onnx  # noqa: F401  (every import before the memory limit)
    import torch

    import pyg_nar.checkpoint  # noqa: F401
    import pyg_nar.pipeline  # noqa: F401

    torch.set_num_threads(1)
    named = _named_errors()
    for which in ("nnlqp", "nb201", "nb101"):
        _reference(which, base)
    with open("/proc/self/status") as f:
        vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (vm + memory_mb * 2 ** 20, resource.RLIM_INFINITY))
    proto.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        job = json.loads(line)
        category, index, seed = job["category"], job["index"], job["seed"]
        scratch = tempfile.mkdtemp(prefix=f"{category}-{index}-", dir=job["scratch_root"])
        marker = osp.join(base["markers"], f"{category}-{index}")
        result = {"category": category, "index": index}
        user_before = None
        t0 = time.perf_counter()
        try:
            call = _make(category, index, seed, base, scratch, marker)
            result["call"] = {k: v for k, v in call.items() if k not in ("scratch",)}
            if call["target"] == "outputs":
                user_before = tree_hashes(call["user"])
            if call.get("onnx_check"):
                with open(call["path"], "rb") as f:
                    result["checker_rejects"], result["checker_says"] = _checker_rejects(f.read())
            proto.write(json.dumps({"stage": "target"}) + "\n")
            note = run_call(call, base)
            result.update(outcome="accepted", note=str(note)[:100])
            if result.get("checker_rejects"):
                with open(call["path"], "rb") as f:
                    result["leniency"] = _lenient_checker_accepts(f.read())
        except named as e:
            result.update(outcome="named error", error=type(e).__name__, message=str(e)[:300])
        except MemoryError:
            result.update(outcome="crash", error="MemoryError", message="the memory limit was hit",
                          traceback=traceback.format_exc()[-3000:])
        except Exception as e:  # noqa: BLE001  (the finding)
            result.update(outcome="crash", error=type(e).__name__, message=str(e)[:300],
                          traceback=traceback.format_exc()[-3000:])
        result["seconds"] = round(time.perf_counter() - t0, 3)
        result["executed"] = osp.exists(marker)
        if user_before is not None:
            result["overwritten"] = changed(user_before, tree_hashes(result["call"]["user"]))
        shutil.rmtree(scratch, ignore_errors=True)
        proto.write(json.dumps(result, default=str) + "\n")


# ==================================================================================== main
class Worker:
    def __init__(self, base_path: str, memory_mb: int, log: str):
        self.log = open(log, "ab")
        env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=REPO)
        self.proc = subprocess.Popen([sys.executable, osp.abspath(__file__), "--worker", base_path,
                                      "--memory-mb", str(memory_mb)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, env=env, cwd=REPO)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.buffer = b""
        self.ready = False
        self.job = None
        self.deadline = None
        self.done = 0

    def send(self, job: dict, timeout: float) -> None:
        self.job, self.deadline = job, None
        self.timeout = timeout
        self.proc.stdin.write((json.dumps(job) + "\n").encode())
        self.proc.stdin.flush()

    def lines(self) -> list[dict]:
        try:
            chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
        except BlockingIOError:
            return []
        if not chunk:
            return [{"eof": True}]
        self.buffer += chunk
        *complete, self.buffer = self.buffer.split(b"\n")
        return [json.loads(c) for c in complete if c.strip()]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.log.close()


def allocate(total: int, categories: list[str]) -> list[tuple[str, int]]:
    """``total`` jobs over ``categories`` by :data:`WEIGHTS`, interleaved."""
    weight = sum(WEIGHTS[c] for c in categories)
    counts = {c: total * WEIGHTS[c] // weight for c in categories}
    for c in categories[: total - sum(counts.values())]:
        counts[c] += 1
    jobs = [(c, i) for c in categories for i in range(counts[c])]
    random.Random(0).shuffle(jobs)
    return jobs


def run_fuzz(total: int, out: str, seed: int = 0, workers: int = 2, timeout: float = 10.0,
             memory_mb: int = 2048, categories: list[str] | None = None, work: str | None = None,
             log=print) -> dict:
    """Run ``total`` inputs; returns the summary (also written to ``out/summary.json``)."""
    categories = list(categories or CATEGORIES)
    os.makedirs(out, exist_ok=True)
    own_work = work is None
    work = osp.abspath(work or tempfile.mkdtemp(prefix="pyg-nar-fuzz-"))
    out = osp.abspath(out)
    t_start = time.perf_counter()
    base = build_base(work, seed) if not osp.isfile(osp.join(work, "base.json")) else json.load(open(osp.join(work, "base.json")))
    base_path = osp.join(work, "base.json")
    base_hashes = tree_hashes(base["base"])
    log(f"base inputs built in {time.perf_counter() - t_start:.1f} s ({work})")
    scratch_root = osp.join(work, "scratch")
    os.makedirs(scratch_root, exist_ok=True)
    jobs = allocate(total, categories)
    pending = list(reversed(jobs))
    results: list[dict] = []
    pool = [Worker(base_path, memory_mb, osp.join(work, f"worker{k}.log")) for k in range(workers)]
    sel = selectors.DefaultSelector()
    for w in pool:
        sel.register(w.proc.stdout, selectors.EVENT_READ, w)
    t_run = time.perf_counter()
    last_report, failed_starts = t_run, 0

    def restart(w: Worker) -> Worker:
        sel.unregister(w.proc.stdout)
        w.kill()
        fresh = Worker(base_path, memory_mb, osp.join(work, f"worker{pool.index(w)}.log"))
        pool[pool.index(w)] = fresh
        sel.register(fresh.proc.stdout, selectors.EVENT_READ, fresh)
        return fresh

    while pending or any(w.job for w in pool):  # noqa: C901  (one event loop)
        for w in list(pool):
            if w.ready and w.job is None and pending:
                c, i = pending.pop()
                w.send({"category": c, "index": i, "seed": seed, "scratch_root": scratch_root}, timeout)
        now = time.monotonic()
        waits = [w.deadline - now for w in pool if w.deadline]
        events = sel.select(timeout=max(0.05, min(waits)) if waits else 1.0)
        for key, _ in events:
            w = key.data
            for msg in w.lines():
                if msg.get("ready"):
                    w.ready = True
                elif msg.get("stage") == "target":
                    w.deadline = time.monotonic() + timeout
                elif msg.get("eof"):
                    if not w.ready:
                        failed_starts += 1
                        if failed_starts > 3:
                            for other in pool:
                                other.kill()
                            raise RuntimeError(f"fuzz workers do not start; see {work}/worker*.log")
                    if w.job is not None:
                        results.append({"category": w.job["category"], "index": w.job["index"],
                                        "outcome": "crash", "error": "WorkerDied",
                                        "message": f"the worker died (exit {w.proc.poll()}), e.g. a "
                                                   f"segfault or the memory limit"})
                        w.job = None
                    w = restart(w)
                    break
                elif "outcome" in msg:
                    results.append(msg)
                    w.job, w.deadline = None, None
                    w.done += 1
        now = time.monotonic()
        for w in list(pool):
            if w.deadline and now > w.deadline:
                results.append({"category": w.job["category"], "index": w.job["index"], "outcome": "hang",
                                "error": "Timeout", "message": f"still running after {timeout} s"})
                w.job = None
                restart(w)
        if time.perf_counter() - last_report > 30:
            last_report = time.perf_counter()
            log(f"  {len(results)}/{len(jobs)} inputs, {last_report - t_run:.0f} s")
    for w in pool:
        sel.unregister(w.proc.stdout)
        w.proc.stdin.close()
        w.kill()
    seconds = time.perf_counter() - t_run
    markers = sorted(os.listdir(base["markers"]))
    overwritten_base = changed(base_hashes, tree_hashes(base["base"]))
    summary = summarize(results, categories, markers, overwritten_base, seconds, len(jobs), workers)
    save_reproducers(results, base, out, seed)
    with open(osp.join(out, "results.jsonl"), "w") as f:
        for r in sorted(results, key=lambda r: (r["category"], r["index"])):
            f.write(json.dumps(r, default=str) + "\n")
    with open(osp.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    if own_work:
        shutil.rmtree(work, ignore_errors=True)
    return summary


def summarize(results, categories, markers, overwritten_base, seconds, total, workers) -> dict:
    table = {c: Counter() for c in categories}
    for r in results:
        t = table[r["category"]]
        t["inputs"] += 1
        t[r["outcome"]] += 1
        t["executions"] += bool(r.get("executed"))
        t["overwrites"] += len(r.get("overwritten") or [])
        if r.get("checker_rejects") and r["outcome"] == "accepted":
            t["leniency" if r.get("leniency") else "checker missed"] += 1
    executions = {m.rsplit("-", 1)[0] for m in markers}
    for c in categories:  # a marker no worker saw (the load happened in another step)
        table[c]["executions"] = max(table[c]["executions"], sum(m.startswith(c + "-") for m in markers))
    return {"inputs": len(results), "planned": total, "seconds": round(seconds, 1), "workers": workers,
            "table": {c: dict(t) for c, t in table.items()}, "markers": markers,
            "overwritten_base_files": overwritten_base, "categories_with_executions": sorted(executions)}


def is_finding(r: dict) -> bool:
    return (r["outcome"] in ("crash", "hang") or r.get("executed") or r.get("overwritten")
            or (r.get("checker_rejects") and r["outcome"] == "accepted" and not r.get("leniency")))


def save_reproducers(results, base, out, seed, limit_per_kind: int = 25) -> None:
    """For each finding: the input rebuilt by its maker under ``out/reproducers/<category>/``
    with ``call.json`` and ``error.txt`` (at most ``limit_per_kind`` per category and error)."""
    kept = Counter()
    for r in sorted(results, key=lambda r: (r["category"], r["index"])):
        if not is_finding(r):
            continue
        kind = (r["category"], r.get("error"), r["outcome"])
        kept[kind] += 1
        if kept[kind] > limit_per_kind:
            continue
        folder = osp.join(out, "reproducers", r["category"], f"{r['index']:06d}")
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        marker = osp.join(folder, "MARKER-if-this-exists-code-ran")
        try:
            call = _make(r["category"], r["index"], seed, base, folder, marker)
        except Exception as e:  # noqa: BLE001
            call = {"error": f"cannot rebuild: {e}"}
        with open(osp.join(folder, "call.json"), "w") as f:
            json.dump(call, f, indent=2, default=str)
        with open(osp.join(folder, "error.txt"), "w") as f:
            f.write(json.dumps({k: r.get(k) for k in ("outcome", "error", "message", "checker_says",
                                                      "executed", "overwritten")}, indent=2, default=str))
            f.write("\n\n" + (r.get("traceback") or ""))


def format_table(summary: dict) -> str:
    cols = ["inputs", *OUTCOMES, "executions", "overwrites", "checker missed", "leniency"]
    rows = [[c] + [str(t.get(k, 0)) for k in cols] for c, t in summary["table"].items()]
    totals = ["total"] + [str(sum(t.get(k, 0) for t in summary["table"].values())) for k in cols]
    rows.append(totals)
    header = ["category"] + cols
    width = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, width)) + " |",
             "|" + "|".join("-" * (w + 2) for w in width) + "|"]
    lines += ["| " + " | ".join(v.ljust(w) for v, w in zip(r, width)) + " |" for r in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--inputs", type=int, default=20000, help="inputs in all (default 20000)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds before an input is a hang")
    ap.add_argument("--memory-mb", type=int, default=2048, help="memory limit of a worker beyond "
                                                                "what its imports take (MB)")
    ap.add_argument("--out", default="fuzz-report", help="folder for the table, results and reproducers")
    ap.add_argument("--categories", help="comma-separated subset of: " + ", ".join(CATEGORIES))
    ap.add_argument("--work", help="work folder to build the base inputs in (kept; default: a "
                                   "temporary folder, removed)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker_main(args.worker, args.memory_mb)
        return 0
    categories = args.categories.split(",") if args.categories else None
    summary = run_fuzz(args.inputs, args.out, args.seed, args.workers, args.timeout, args.memory_mb,
                       categories, args.work)
    print(f"\n{summary['inputs']} inputs in {summary['seconds']} s on {summary['workers']} workers; "
          f"code executions: {len(summary['markers'])}; base files overwritten: "
          f"{len(summary['overwritten_base_files'])}")
    print(format_table(summary))
    print(f"results, summary and reproducers in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
