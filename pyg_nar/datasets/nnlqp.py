r"""NNLQP latency dataset (Liu et al., ICPP 2022): whole ONNX networks with measured latencies.

The folder layout is NNLQP's own, so a real NNLQP download and a folder built by
:func:`pyg_nar.networks.build_latency_dataset` load with the same class::

    root/
      gt.txt          GraphID OnnxPath BatchSize Latency(ms) ModelType PlatformId [Stage]
      onnx/...        the ONNX files (paths in gt.txt are relative to root; weights optional)
      processed/      written by this class

Each line becomes one graph from :func:`pyg_nar.networks.from_onnx` at the line's batch size,
with ``y`` = latency in ms, ``arch_id`` = GraphID, ``model_type`` ``[1]`` (index into
``dataset.model_types``) and ``platform`` ``[1]`` (index into ``dataset.platforms``).
"""
from __future__ import annotations

import json
import os
import os.path as osp
from typing import Callable, Iterable

import torch

from pyg_nar.datasets.base import LATENCY_RANGE_MS, BenchmarkDataset, check_label
from pyg_nar.errors import ArgumentError, DataFileError
from pyg_nar.networks.onnx_graph import from_onnx
from pyg_nar.networks.vocab import GRAPH_FORMAT_VERSION, ONNX_OP_VOCAB_VERSION, onnx_op_vocab
from pyg_nar.utils.arguments import MAX_BATCH_SIZE, check_int

__all__ = ["NNLQP", "read_gt", "read_input_shapes", "SHAPES_FILE"]

#: ``{onnx_path: {input name: shape}}`` next to ``gt.txt``: the input shapes the files with
#: symbolic dimensions were measured with (``pyg-nar measure --onnx-dir ... --input-shape``);
#: :class:`NNLQP` converts each file with its own.
SHAPES_FILE = "input_shapes.json"


def read_input_shapes(root: str) -> dict[str, dict[str, list[int]]]:
    """``root/input_shapes.json`` (:data:`SHAPES_FILE`), or ``{}`` when there is none; a file
    that is not such a mapping is a ``ValueError`` naming it."""
    path = osp.join(root, SHAPES_FILE)
    if not osp.isfile(path):
        return {}
    try:
        with open(path) as f:
            data = json.load(f)
        ok = isinstance(data, dict) and all(
            isinstance(v, dict) and all(isinstance(d, list) and all(isinstance(x, int) for x in d)
                                        for d in v.values()) for v in data.values())
    except ValueError as e:
        raise ValueError(f"{path}: not JSON ({e})") from None
    if not ok:
        raise ValueError(f"{path}: expected {{onnx_path: {{input name: [dims]}}}}")
    return data


GT_FIELDS = "GraphID OnnxPath BatchSize Latency(ms) ModelType PlatformId [Stage]"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _gt_int(text: str, what: str, where: str, low: int, high: int) -> int:
    try:
        value = int(text) if text.isascii() else None
    except ValueError:
        value = None
    if value is None:
        raise DataFileError(f"{where}: {what} must be an integer, got {text[:40]!r}")
    if not low <= value <= high:
        raise DataFileError(f"{where}: {what} is {value}, outside [{low}, {high}]")
    return value


def read_gt(path: str) -> list[dict]:
    """Parse an NNLQP ``gt.txt``: ``GraphID OnnxPath BatchSize Latency(ms) ModelType PlatformId
    [Stage]`` per line (whitespace-separated; blank lines and ``#`` comments skipped; UTF-8,
    a byte-order mark allowed). Paths are relative to the folder of ``gt.txt``.

    The first line that is neither blank nor a comment may be a header, recognised as such
    only if none of its GraphID, BatchSize and Latency fields is a number. Every other line
    is checked: a non-negative integer GraphID, a BatchSize in ``1 ..``
    :data:`~pyg_nar.utils.arguments.MAX_BATCH_SIZE`, a latency in milliseconds within
    :data:`~pyg_nar.datasets.base.LATENCY_RANGE_MS` (no NaN, infinity, zero or negative
    value), and no second line measuring the same file at the same batch size on the same
    platform. Anything else is a
    :class:`~pyg_nar.errors.DataFileError` naming the file and line. Each row holds
    ``graph_id``, ``onnx_path``, ``batch_size``, ``latency_ms``, ``model_type``, ``platform``,
    ``stage`` (``None`` without the 7th column) and ``line``.
    """
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise
    except OSError as e:
        raise DataFileError(f"{path}: cannot be read ({e.strerror or e})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise DataFileError(f"{path}:{line}: not UTF-8 text (byte {e.start}: {raw[e.start:e.start + 1]!r})") from None
    rows, seen, first = [], {}, True
    for lineno, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        header, first = first and not any(_is_number(parts[k]) for k in (0, 2, 3) if k < len(parts)), False
        if header:
            continue
        where = f"{path}:{lineno}"
        if not 6 <= len(parts) <= 7:
            raise DataFileError(f"{where}: expected '{GT_FIELDS}', got {line.strip()[:120]!r}")
        graph_id = _gt_int(parts[0], "GraphID", where, 0, 2 ** 63 - 1)
        batch_size = _gt_int(parts[2], "BatchSize", where, 1, MAX_BATCH_SIZE)
        if not _is_number(parts[3]):
            raise DataFileError(f"{where}: Latency(ms) must be a number, got {parts[3][:40]!r}")
        latency = check_label(float(parts[3]), where, "Latency(ms)", *LATENCY_RANGE_MS, "milliseconds")
        key = (parts[1], batch_size, parts[5])
        if key in seen:
            raise DataFileError(f"{where}: {parts[1]} at batch size {batch_size} on platform "
                                f"{parts[5]} is measured again (first on line {seen[key]})")
        seen[key] = lineno
        rows.append({"graph_id": graph_id, "onnx_path": parts[1], "batch_size": batch_size,
                     "latency_ms": latency, "model_type": parts[4], "platform": parts[5],
                     "stage": parts[6] if len(parts) > 6 else None, "line": lineno})
    return rows


def _convert(job):
    path, batch_size, shapes = job
    return from_onnx(path, batch_size=batch_size, input_shapes=shapes)


class NNLQP(BenchmarkDataset):
    r"""Latency dataset over an NNLQP-layout folder (``gt.txt`` + ONNX files).

    Args:
        root: the folder holding ``gt.txt`` (NNLQP's ``dataset/unseen_structure`` or a folder
            from :func:`~pyg_nar.networks.build_latency_dataset`).
        model_types: keep only these model types (5th column, e.g. ``["resnet", "vgg"]``).
        platforms: keep only these platform ids (6th column).
        gt_file: the ground-truth file name (``"gt_stage.txt"`` for NNLQP's staged split).
        transform, pre_transform, pre_filter, force_reload: as in PyG.
        num_workers: processes converting ONNX files on first use (NNLQP's 20,000 files take
            a while on one core). Each (file, batch size) pair is converted once.

    Attributes: ``op_vocab`` (the ONNX operator vocabulary ``op`` indexes), ``model_types`` and
    ``platforms`` (names that ``data.model_type`` / ``data.platform`` index; they list every
    name in ``gt.txt``, filtered or not, so indices agree across filtered views), ``stages``
    (the optional 7th column of each kept line, before ``pre_filter``, or ``None``).

    Processed files are fingerprinted as every :class:`BenchmarkDataset`'s: by the contents of
    ``gt.txt`` and of every ONNX file it lists, the filters, the vocabulary and graph-format
    versions of :mod:`pyg_nar.networks.vocab` and the ``pre_transform``: they are reused while
    those stay the same and rebuilt when ``gt.txt`` or an ONNX file changes. ``gt.txt`` is
    checked line by line (:func:`read_gt`), and every ONNX file it lists must exist.
    """

    def __init__(self, root: str, model_types: Iterable[str] | None = None,
                 platforms: Iterable[str] | None = None, gt_file: str = "gt.txt",
                 transform: Callable | None = None, pre_transform: Callable | None = None,
                 pre_filter: Callable | None = None, force_reload: bool = False,
                 num_workers: int = 1):
        where = "NNLQP"
        if not isinstance(root, (str, os.PathLike)):
            raise ArgumentError(f"{where}: root must be a folder path, got {type(root).__name__}")
        if not isinstance(gt_file, str) or osp.basename(gt_file) != gt_file or not gt_file:
            raise ArgumentError(f"{where}: gt_file must be a file name in root, got {gt_file!r}")
        for name, value in (("model_types", model_types), ("platforms", platforms)):
            if value is not None and (isinstance(value, (str, bytes)) or not all(
                    isinstance(v, (str, int)) and not isinstance(v, bool) for v in value)):
                raise ArgumentError(f"{where}: {name} must be a list of names, got {value!r}")
        check_int(num_workers, "num_workers", where, 1, 1024)
        root = os.fspath(root)
        self.gt_file = gt_file
        self.name = f"nnlqp_{osp.splitext(gt_file)[0]}"
        self.num_workers = num_workers
        self.model_type_filter = sorted(str(m) for m in model_types) if model_types is not None else None
        self.platform_filter = sorted(str(p) for p in platforms) if platforms is not None else None
        gt_path = osp.join(osp.expanduser(root), gt_file)
        if not osp.isfile(gt_path):
            raise FileNotFoundError(
                f"{gt_path} not found: NNLQP needs a folder with {gt_file} and the ONNX files it "
                f"lists (NNLQP's dataset/unseen_structure, or build one with "
                f"pyg_nar.networks.build_latency_dataset)")
        all_rows = read_gt(gt_path)
        # names index over the whole file, so filtered views (leave-one-family-out) agree
        self.model_types = sorted({r["model_type"] for r in all_rows})
        self.platforms = sorted({r["platform"] for r in all_rows},
                                key=lambda p: (0, int(p), "") if p.isascii() and p.isdigit() else (1, 0, p))
        self.rows = [r for r in all_rows if self._keep(r)]
        if not all_rows:
            raise DataFileError(f"{gt_path}: no measurements (every line is blank, a comment or "
                                f"a header)")
        if not self.rows:
            raise ArgumentError(f"{gt_path}: no line matches model_types={self.model_type_filter} "
                                f"platforms={self.platform_filter}")
        root_dir = osp.expanduser(root)
        for r in self.rows:
            if not osp.isfile(osp.join(root_dir, r["onnx_path"])):
                raise DataFileError(f"{gt_path}:{r['line']}: {r['onnx_path']} is not a file "
                                    f"(paths are relative to {root_dir})")
        stages = [r["stage"] for r in self.rows]
        self.stages = stages if any(s is not None for s in stages) else None
        self.op_vocab = onnx_op_vocab()
        self.input_shapes = read_input_shapes(osp.expanduser(root))
        # NNLQP's layout: gt.txt and onnx/ directly under root, which is also the raw folder
        super().__init__(root, osp.expanduser(root), transform, pre_transform, pre_filter,
                         force_reload, log=True)

    def _keep(self, row) -> bool:
        return ((self.model_type_filter is None or row["model_type"] in self.model_type_filter)
                and (self.platform_filter is None or row["platform"] in self.platform_filter))

    @property
    def raw_file_names(self) -> list[str]:
        return [self.gt_file]

    def fingerprint_paths(self) -> list[str]:
        """``gt.txt`` and every ONNX file a kept line names: replacing a file rebuilds."""
        return [*self.raw_paths, *sorted({osp.join(self.raw_dir, r["onnx_path"]) for r in self.rows})]

    def options(self) -> str:
        opts = {"model_types": self.model_type_filter, "platforms": self.platform_filter,
                "vocab": ONNX_OP_VOCAB_VERSION, "graph_format": GRAPH_FORMAT_VERSION}
        if self.input_shapes:  # their digest: they change the graphs
            import hashlib

            text = json.dumps(self.input_shapes, sort_keys=True).encode()
            opts["input_shapes"] = hashlib.sha1(text).hexdigest()[:12]
        return json.dumps(opts)

    def process(self):
        mt = {m: i for i, m in enumerate(self.model_types)}
        pf = {p: i for i, p in enumerate(self.platforms)}
        # one conversion per (file, batch size): multi-platform files list each model per platform
        keys = sorted({(r["onnx_path"], r["batch_size"]) for r in self.rows})
        jobs = [(osp.join(self.root, path), bs, self.input_shapes.get(path)) for path, bs in keys]
        if self.num_workers > 1 and len(jobs) > 1:
            from concurrent.futures import ProcessPoolExecutor
            with ProcessPoolExecutor(self.num_workers) as pool:
                graphs = list(pool.map(_convert, jobs, chunksize=16))
        else:
            graphs = [_convert(job) for job in jobs]
        converted = dict(zip(keys, graphs))
        data_list = []
        for row in self.rows:
            data = converted[(row["onnx_path"], row["batch_size"])].clone()
            data.y = torch.tensor([row["latency_ms"]], dtype=torch.float)
            data.arch_id = torch.tensor([row["graph_id"]], dtype=torch.long)
            data.model_type = torch.tensor([mt[row["model_type"]]], dtype=torch.long)
            data.platform = torch.tensor([pf[row["platform"]]], dtype=torch.long)
            data_list.append(data)
        self._save_graphs(data_list)

    def label_range(self) -> tuple[float, float, bool]:
        return 0.0, LATENCY_RANGE_MS[1], True  # milliseconds, positive in float32

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({len(self)}, model_types={self.model_types})"
