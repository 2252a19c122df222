r"""Measure ONNX models' latency with onnxruntime and build NNLQP-layout latency datasets.

* :func:`measure_latency` -- median milliseconds of one forward pass of a batch (CPU,
  fixed intra/inter-op threads, warm-up, repeats).
* :func:`build_latency_dataset` -- sample models from :mod:`pyg_nar.networks.zoo`, export them to ONNX,
  measure them and append NNLQP's ``gt.txt`` lines as it goes (resumable), so the folder
  loads with :class:`pyg_nar.datasets.NNLQP`.
* :func:`measure_onnx_folder` -- the same for a folder of the user's own ONNX files.
* :func:`measurement_noise` -- re-measure a sample of a dataset and report the MAPE between the
  two measurements of the same models: the floor under any latency predictor on this machine.

Needs ``onnxruntime`` (``pip install pyg-nar[latency]``); it is imported only when used.
"""
from __future__ import annotations

import json
import math
import os
import os.path as osp
import random
import statistics
import time
from typing import Iterable, Sequence

import numpy as np

from pyg_nar.datasets.nnlqp import SHAPES_FILE, read_gt, read_input_shapes
from pyg_nar.errors import OnnxGraphError
from pyg_nar.networks import zoo
from pyg_nar.networks.onnx_graph import (floating_types, input_shapes_for, input_shapes_of,
                                         load_onnx, set_batch_size, strip_weights)

__all__ = ["build_latency_dataset", "measure_onnx_folder", "measure_latency", "measurement_noise",
           "prepare_for_runtime"]

GT_FILE = "gt.txt"
CONFIGS_FILE = "configs.jsonl"



def _ort():
    try:
        import onnxruntime
    except ImportError:
        raise ImportError(
            "measuring latency needs onnxruntime: pip install 'pyg-nar[latency]' "
            "(or pip install onnxruntime)") from None
    return onnxruntime


def _has_data(t) -> bool:
    return bool(t.raw_data or t.float_data or t.double_data or t.int32_data or t.int64_data
                or t.uint64_data or t.string_data)


def prepare_for_runtime(model_or_path, seed: int = 0):
    """An ``onnx.ModelProto`` ready for onnxruntime: external data is loaded when its files
    exist, and every floating-point initializer without data (weight-stripped models, as NNLQP
    ships them, or missing external files) is filled with random normal values of scale 0.05
    (seeded). Latency does not depend on the values as long as they are finite and not
    denormal. An integer initializer without data (a shape) cannot be invented: that is an
    error."""
    import onnx
    from onnx import numpy_helper

    model, name = load_onnx(model_or_path)
    base = osp.dirname(os.fspath(model_or_path)) if not isinstance(model_or_path, onnx.ModelProto) else ""
    rng = np.random.default_rng(seed)
    floating = floating_types()
    for t in model.graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            info = {e.key: e.value for e in t.external_data}
            if base and osp.isfile(osp.join(base, info.get("location", ""))):
                onnx.external_data_helper.load_external_data_for_tensor(t, base)
                t.data_location = onnx.TensorProto.DEFAULT
                del t.external_data[:]
                continue
            del t.external_data[:]
            t.data_location = onnx.TensorProto.DEFAULT
        if _has_data(t) or math.prod(t.dims) == 0:
            continue
        if t.data_type not in floating:
            raise OnnxGraphError(
                f"{name}: initializer {t.name!r} ({onnx.TensorProto.DataType.Name(t.data_type)}) "
                f"has no data, and only floating-point weights can be filled at random")
        dtype = onnx.helper.tensor_dtype_to_np_dtype(t.data_type)
        values = (rng.standard_normal(tuple(t.dims)) * 0.05).astype(dtype)
        t.CopyFrom(numpy_helper.from_array(values, t.name))
    return model


def _inputs(session, batch_size: int, name: str, rng) -> dict:
    feeds = {}
    for inp in session.get_inputs():
        shape = list(inp.shape)
        if shape:
            shape[0] = batch_size
        for pos, d in enumerate(shape):
            if not isinstance(d, int):
                raise ValueError(f"{name}: input {inp.name!r} has an unknown dimension {pos} ({d}); "
                                 f"measure_latency needs fixed input shapes besides the batch")
        if "float" in inp.type:
            dtype = np.float16 if "float16" in inp.type else np.float32
            feeds[inp.name] = rng.standard_normal(shape).astype(dtype)
        elif "int64" in inp.type:
            feeds[inp.name] = rng.integers(0, 2, shape).astype(np.int64)
        elif "int32" in inp.type:
            feeds[inp.name] = rng.integers(0, 2, shape).astype(np.int32)
        else:
            raise ValueError(f"{name}: cannot make data for input {inp.name!r} of type {inp.type}")
    return feeds


def measure_latency(onnx_path, batch_size: int = 1, threads: int = 1, warmup: int = 5,
                    repeats: int = 20, seed: int = 0,
                    input_shapes: dict | None = None) -> float:
    """Median latency in milliseconds of one forward pass of a ``batch_size`` batch.

    onnxruntime's CPU provider with ``threads`` intra-op threads and one inter-op thread
    (sequential execution, all graph optimisations), ``warmup`` untimed runs, then the median
    of ``repeats`` timed runs (``time.perf_counter``). The model goes through
    :func:`prepare_for_runtime` first (weight-stripped models get random weights); the first
    dimension of its data inputs is declared ``batch_size`` (a file exported at batch 1 runs at
    any batch size unless it hard-codes it); inputs are random. ``input_shapes`` gives the
    shapes of inputs with unknown dimensions, as for :func:`~pyg_nar.networks.from_onnx`
    (``batch_size`` still sets their first dimension).
    """
    ort = _ort()
    model = prepare_for_runtime(onnx_path, seed)
    name = os.fspath(onnx_path) if isinstance(onnx_path, (str, os.PathLike)) else "<onnx model>"
    from pyg_nar.networks.onnx_shapes import declare_input_shapes

    # unresolved symbolic dims: the converter's error, with the --input-shape text that fixes it
    declare_input_shapes(model.graph, input_shapes_of(model, int(batch_size), input_shapes, name))
    set_batch_size(model.graph, int(batch_size))
    so = ort.SessionOptions()
    so.intra_op_num_threads = int(threads)
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    try:
        session = ort.InferenceSession(model.SerializeToString(), so,
                                       providers=["CPUExecutionProvider"])
    except Exception as e:
        raise ValueError(f"{name}: onnxruntime cannot load the model: {e}") from None
    feeds = _inputs(session, int(batch_size), name, np.random.default_rng(seed))
    try:
        session.run(None, feeds)
    except Exception as e:
        raise ValueError(f"{name}: onnxruntime cannot run the model at batch size {batch_size} "
                         f"(does it hard-code another batch size?): {e}") from None
    for _ in range(warmup):
        session.run(None, feeds)
    times = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        session.run(None, feeds)
        times.append(time.perf_counter() - t0)
    return 1000.0 * statistics.median(times)


def build_latency_dataset(out_dir: str, families: Sequence[str] | None = None,
                          per_family: int = 10, seed: int = 0,
                          batch_sizes: Iterable[int] = (1,), threads: int = 1,
                          warmup: int = 5, repeats: int = 20, platform: str | None = None,
                          strip: bool = True, progress: bool = True) -> str:
    """Build (or resume) an NNLQP-layout latency dataset from the :mod:`pyg_nar.networks.zoo` families.

    Writes ``out_dir/onnx/<family>/<family>_<i>.onnx`` (weight-stripped if ``strip``, like
    NNLQP's files), appends one ``gt.txt`` line per (model, batch size) as soon as it is
    measured, and one line per model to ``configs.jsonl`` (``{"onnx_path", "config"}``).
    Model ``i`` of a family is sampled from ``random.Random(f"{seed}-{family}-{i}")``, so a
    re-run skips what ``gt.txt`` already holds and continues with identical models; raising
    ``per_family`` extends a dataset. A folder that holds only ``gt.txt`` and ``configs.jsonl``
    (a stored measurement) gets its ONNX files re-exported from the configs, nothing is
    re-measured. Families are interleaved (model 0 of every family,
    then model 1, ...) so an interrupted run stays balanced. Returns ``out_dir``.
    """
    import onnx


    _ort()
    families = list(families or zoo.FAMILIES)
    batch_sizes = list(batch_sizes)
    platform = platform or f"cpu-ort-{threads}t"
    os.makedirs(out_dir, exist_ok=True)
    gt_path = osp.join(out_dir, GT_FILE)
    done, next_id = _measured(gt_path)
    todo = [(i, fam) for i in range(per_family) for fam in families]
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(todo) * len(batch_sizes), desc="latency dataset", unit="meas")
    configs = _configs(osp.join(out_dir, CONFIGS_FILE))
    with open(gt_path, "a") as gt, open(osp.join(out_dir, CONFIGS_FILE), "a") as cfg_file:
        for i, fam in todo:
            rel = f"onnx/{fam}/{fam}_{i:04d}.onnx"
            missing = [b for b in batch_sizes if (rel, b, platform) not in done]
            if bar is not None:
                bar.update(len(batch_sizes) - len(missing))
            path = osp.join(out_dir, rel)
            if not missing and (osp.isfile(path) or rel not in configs):
                continue
            if not osp.isfile(path):  # new, or measured before and only its config kept
                cfg = configs.get(rel) or zoo.sample_config(fam, random.Random(f"{seed}-{fam}-{i}"))
                os.makedirs(osp.dirname(path), exist_ok=True)
                tmp = path + ".tmp"
                zoo.export_onnx(zoo.build_model(cfg), tmp, cfg["input_size"])
                if strip:
                    onnx.save(strip_weights(onnx.load(tmp)), tmp)
                if rel not in configs:
                    # config first, then the file: an existing file always has its config line
                    cfg_file.write(json.dumps({"onnx_path": rel, "config": cfg}) + "\n")
                    cfg_file.flush()
                    configs[rel] = cfg
                os.replace(tmp, path)  # a half-written file never looks finished
            for b in missing:
                next_id = _measure_line(gt, next_id, path, rel, b, fam, platform, threads, warmup, repeats)
                if bar is not None:
                    bar.update(1)
    if bar is not None:
        bar.close()
    return out_dir


def _measure_line(gt, graph_id: int, path: str, rel: str, batch_size: int, model_type: str,
                  platform: str, threads: int, warmup: int, repeats: int,
                  input_shapes: dict | None = None) -> int:
    """Measure ``path`` and append its ``gt.txt`` line at once; returns the next GraphID."""
    try:
        ms = measure_latency(path, batch_size, threads=threads, warmup=warmup, repeats=repeats,
                             input_shapes=input_shapes)
    except OnnxGraphError:
        raise
    except Exception as e:  # noqa: BLE001  (onnxruntime raises many kinds)
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ValueError(f"{path}: cannot be run by onnxruntime at batch size {batch_size}: {first}") from None
    gt.write(f"{graph_id} {rel} {batch_size} {ms:.6f} {model_type} {platform}\n")
    gt.flush()
    return graph_id + 1


def _configs(path: str) -> dict:
    """``configs.jsonl`` as ``{onnx_path: config}`` (empty if there is none)."""
    out = {}
    if osp.isfile(path):
        with open(path) as f:
            for k, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    out[row["onnx_path"]] = row["config"]
                except (ValueError, KeyError, TypeError):
                    raise ValueError(f"{path}, line {k}: not a {{\"onnx_path\", \"config\"}} JSON line") from None
    return out


def _measured(gt_path: str) -> tuple[set, int]:
    """What ``gt_path`` already holds: ``{(onnx_path, batch_size, platform)}`` and the next GraphID."""
    done, next_id = set(), 0
    if osp.isfile(gt_path):
        for row in read_gt(gt_path):
            done.add((row["onnx_path"], row["batch_size"], row["platform"]))
            next_id = max(next_id, row["graph_id"] + 1)
    return done, next_id


def measure_onnx_folder(src_dir: str, out_dir: str, batch_sizes: Iterable[int] = (1,),
                        threads: int = 1, warmup: int = 5, repeats: int = 20,
                        platform: str | None = None, progress: bool = True,
                        input_shapes: dict | None = None) -> str:
    """Measure every ``*.onnx`` file below ``src_dir`` (the user's own models) into an
    NNLQP-layout ``out_dir/gt.txt``, resumably: lines already there are kept and skipped.

    The files stay where they are: ``gt.txt`` names them relative to ``out_dir``. A file's
    model type (5th column) is the name of its folder below ``src_dir`` (``"onnx"`` at the top).
    ``input_shapes`` (``{input name: shape}``, ``--input-shape``) applies to every file that
    has such an input; what each file was measured with is recorded in
    ``out_dir/input_shapes.json`` (:data:`SHAPES_FILE`), so
    :class:`~pyg_nar.datasets.NNLQP` converts it the same. Resuming with other shapes for a
    file already measured is an error. Returns ``out_dir``.
    """
    import glob

    _ort()
    files = sorted(glob.glob(osp.join(src_dir, "**", "*.onnx"), recursive=True))
    if not files:
        raise FileNotFoundError(f"{src_dir}: no .onnx files found")
    for f in files:
        if any(c.isspace() for c in osp.relpath(f, out_dir)):
            raise ValueError(f"{f}: gt.txt is whitespace-separated, so ONNX paths cannot contain spaces")
    batch_sizes = list(batch_sizes)
    platform = platform or f"cpu-ort-{threads}t"
    os.makedirs(out_dir, exist_ok=True)
    gt_path = osp.join(out_dir, GT_FILE)
    done, next_id = _measured(gt_path)
    shapes_path = osp.join(out_dir, SHAPES_FILE)
    recorded = read_input_shapes(out_dir)
    for f in files:
        rel = osp.relpath(f, out_dir)
        shapes = {k: list(v) for k, v in input_shapes_for(f, input_shapes).items()}
        old = recorded.get(rel)
        if shapes and old != shapes and any(r[0] == rel for r in done):
            raise ValueError(f"{f} was measured with input shapes {old or 'as declared'} "
                             f"({shapes_path}); now {shapes} are given: measure into another "
                             f"folder")
        if shapes:  # else: as recorded (a resumed run need not repeat --input-shape)
            recorded[rel] = shapes
    if recorded:
        with open(shapes_path + ".tmp", "w") as fh:
            json.dump(recorded, fh, indent=1, sort_keys=True)
        os.replace(shapes_path + ".tmp", shapes_path)
    from tqdm.auto import tqdm

    bar = tqdm(total=len(files) * len(batch_sizes), desc="measuring", unit="meas", disable=not progress)
    with open(gt_path, "a") as gt:
        for f in files:
            rel = osp.relpath(f, out_dir)
            parent = osp.dirname(osp.relpath(f, src_dir))
            model_type = parent.replace(os.sep, "/").split("/")[0] if parent else "onnx"
            for b in batch_sizes:
                if (rel, b, platform) not in done:
                    next_id = _measure_line(gt, next_id, f, rel, b, model_type, platform, threads,
                                            warmup, repeats, recorded.get(rel))
                bar.update(1)
    bar.close()
    return out_dir


def measurement_noise(root: str, num_samples: int = 20, seed: int = 0, threads: int = 1,
                      warmup: int = 5, repeats: int = 20) -> dict:
    """Re-measure ``num_samples`` random rows of ``root/gt.txt`` twice, back to back.

    Returns ``{"mape": mean |new - recorded| / recorded, "mape_back_to_back": the same between
    the two new measurements, "pairs": [(recorded, new), ...], "paths": [...]}``. The MAPE
    between two measurements of the same models is the noise floor for any latency predictor
    trained on these labels: ``mape`` includes the drift of the machine's load since the
    dataset was built, ``mape_back_to_back`` only the noise of the moment."""
    rows = read_gt(osp.join(root, GT_FILE))
    if not rows:
        raise ValueError(f"{osp.join(root, GT_FILE)}: no measurements to re-measure")
    sample = random.Random(seed).sample(rows, min(num_samples, len(rows)))
    pairs, again = [], []
    for row in sample:
        path = osp.join(root, row["onnx_path"])
        kw = dict(threads=threads, warmup=warmup, repeats=repeats)
        new = measure_latency(path, row["batch_size"], **kw)
        again.append((new, measure_latency(path, row["batch_size"], **kw)))
        pairs.append((row["latency_ms"], new))
    return {"mape": float(np.mean([abs(n - o) / o for o, n in pairs])),
            "mape_back_to_back": float(np.mean([abs(b - a) / a for a, b in again])),
            "pairs": pairs, "paths": [r["onnx_path"] for r in sample]}
