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
import math
import os.path as osp
from typing import Callable, Iterable

import torch

from pyg_nar.datasets.base import BenchmarkDataset
from pyg_nar.errors import ArgumentError
from pyg_nar.networks.onnx_graph import from_onnx
from pyg_nar.networks.vocab import GRAPH_FORMAT_VERSION, ONNX_OP_VOCAB_VERSION, onnx_op_vocab

__all__ = ["NNLQP", "read_gt"]


def read_gt(path: str) -> list[dict]:
    """Parse an NNLQP ``gt.txt``: ``GraphID OnnxPath BatchSize Latency(ms) ModelType PlatformId
    [Stage]`` per line (whitespace-separated; blank lines and ``#`` comments skipped).
    Paths are relative to the folder of ``gt.txt``. A malformed line is a ``ValueError``
    naming the file and line."""
    rows = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts or parts[0].startswith("#"):
                continue
            if len(parts) < 6:
                raise ValueError(
                    f"{path}:{lineno}: expected 'GraphID OnnxPath BatchSize Latency(ms) ModelType "
                    f"PlatformId [Stage]', got {line.strip()!r}")
            try:
                rows.append({"graph_id": int(parts[0]), "onnx_path": parts[1],
                             "batch_size": int(parts[2]), "latency_ms": float(parts[3]),
                             "model_type": parts[4], "platform": parts[5],
                             "stage": parts[6] if len(parts) > 6 else None})
            except ValueError as e:
                if not rows and lineno == 1:  # a header line
                    continue
                raise ValueError(f"{path}:{lineno}: {e} in {line.strip()!r}") from None
    return rows


def _convert(job):
    path, batch_size = job
    return from_onnx(path, batch_size=batch_size)


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

    Processed files are fingerprinted as every :class:`BenchmarkDataset`'s: by ``gt.txt``, the
    filters, the vocabulary and graph-format versions of :mod:`pyg_nar.networks.vocab` and the
    ``pre_transform``: they are reused while those stay the same and rebuilt when ``gt.txt``
    changes.
    """

    def __init__(self, root: str, model_types: Iterable[str] | None = None,
                 platforms: Iterable[str] | None = None, gt_file: str = "gt.txt",
                 transform: Callable | None = None, pre_transform: Callable | None = None,
                 pre_filter: Callable | None = None, force_reload: bool = False,
                 num_workers: int = 1):
        self.gt_file = gt_file
        self.name = f"nnlqp_{osp.splitext(gt_file)[0]}"
        self.num_workers = int(num_workers)
        self.model_type_filter = sorted(model_types) if model_types is not None else None
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
                                key=lambda p: (0, int(p), "") if p.isdigit() else (1, 0, p))
        self.rows = [r for r in all_rows if self._keep(r)]
        if not self.rows:
            raise ArgumentError(f"{gt_path}: no line matches model_types={self.model_type_filter} "
                             f"platforms={self.platform_filter}")
        stages = [r["stage"] for r in self.rows]
        self.stages = stages if any(s is not None for s in stages) else None
        self.op_vocab = onnx_op_vocab()
        # NNLQP's layout: gt.txt and onnx/ directly under root, which is also the raw folder
        super().__init__(root, osp.expanduser(root), transform, pre_transform, pre_filter,
                         force_reload, log=True)

    def _keep(self, row) -> bool:
        return ((self.model_type_filter is None or row["model_type"] in self.model_type_filter)
                and (self.platform_filter is None or row["platform"] in self.platform_filter))

    @property
    def raw_file_names(self) -> list[str]:
        return [self.gt_file]

    def options(self) -> str:
        return json.dumps({"model_types": self.model_type_filter, "platforms": self.platform_filter,
                           "vocab": ONNX_OP_VOCAB_VERSION, "graph_format": GRAPH_FORMAT_VERSION})

    def process(self):
        mt = {m: i for i, m in enumerate(self.model_types)}
        pf = {p: i for i, p in enumerate(self.platforms)}
        # one conversion per (file, batch size): multi-platform files list each model per platform
        keys = sorted({(r["onnx_path"], r["batch_size"]) for r in self.rows})
        jobs = [(osp.join(self.root, path), bs) for path, bs in keys]
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
        return 0.0, math.inf, True  # milliseconds

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({len(self)}, model_types={self.model_types})"
