r"""NNLQP latency dataset (Liu et al., ICPP 2022): whole ONNX networks with measured latencies.

The folder layout is NNLQP's own, so a real NNLQP download and a folder built by
:func:`pyg_nar.latency.build_latency_dataset` load with the same class::

    root/
      gt.txt          GraphID OnnxPath BatchSize Latency(ms) ModelType PlatformId [Stage]
      onnx/...        the ONNX files (paths in gt.txt are relative to root; weights optional)
      processed/      written by this class

Each line becomes one graph from :func:`pyg_nar.onnx.from_onnx` at the line's batch size, with
``y`` = latency in ms, ``arch_id`` = GraphID, ``model_type`` ``[1]`` (index into
``dataset.model_types``) and ``platform`` ``[1]`` (index into ``dataset.platforms``).
"""
from __future__ import annotations

import hashlib
import json
import math
import os.path as osp
from typing import Callable, Iterable

import torch
from torch_geometric.data import InMemoryDataset

from pyg_nar.datasets.base import SafeCache
from pyg_nar.errors import ArgumentError
from pyg_nar.latency import read_gt
from pyg_nar.onnx import GRAPH_FORMAT_VERSION, ONNX_OP_VOCAB_VERSION, from_onnx, onnx_op_vocab

__all__ = ["NNLQP"]


def _convert(job):
    path, batch_size = job
    return from_onnx(path, batch_size=batch_size)


class NNLQP(SafeCache, InMemoryDataset):
    r"""Latency dataset over an NNLQP-layout folder (``gt.txt`` + ONNX files).

    Args:
        root: the folder holding ``gt.txt`` (NNLQP's ``dataset/unseen_structure`` or a folder
            from :func:`~pyg_nar.latency.build_latency_dataset`).
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

    Processed files are keyed by a hash of ``gt.txt``, the filters and the vocabulary and
    graph-format versions of :mod:`pyg_nar.onnx`:
    they are reused while those stay the same and rebuilt when ``gt.txt`` changes.
    """

    def __init__(self, root: str, model_types: Iterable[str] | None = None,
                 platforms: Iterable[str] | None = None, gt_file: str = "gt.txt",
                 transform: Callable | None = None, pre_transform: Callable | None = None,
                 pre_filter: Callable | None = None, force_reload: bool = False,
                 num_workers: int = 1):
        self.gt_file = gt_file
        self.num_workers = int(num_workers)
        self.model_type_filter = sorted(model_types) if model_types is not None else None
        self.platform_filter = sorted(str(p) for p in platforms) if platforms is not None else None
        gt_path = osp.join(osp.expanduser(root), gt_file)
        if not osp.isfile(gt_path):
            raise FileNotFoundError(
                f"{gt_path} not found: NNLQP needs a folder with {gt_file} and the ONNX files it "
                f"lists (NNLQP's dataset/unseen_structure, or build one with "
                f"pyg_nar.latency.build_latency_dataset)")
        with open(gt_path, "rb") as f:
            digest = hashlib.sha1(f.read())
        digest.update(json.dumps([self.model_type_filter, self.platform_filter,
                                  ONNX_OP_VOCAB_VERSION, GRAPH_FORMAT_VERSION,
                                  repr(pre_transform)]).encode())
        self._key = digest.hexdigest()[:16]
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
        super().__init__(root, transform, pre_transform, pre_filter, force_reload=force_reload)
        self.load(self.processed_paths[0])

    def _keep(self, row) -> bool:
        return ((self.model_type_filter is None or row["model_type"] in self.model_type_filter)
                and (self.platform_filter is None or row["platform"] in self.platform_filter))

    @property
    def raw_dir(self) -> str:
        return self.root  # NNLQP's layout: gt.txt and onnx/ directly under root

    @property
    def raw_file_names(self) -> list[str]:
        return [self.gt_file]

    @property
    def processed_dir(self) -> str:
        # one folder per key, so each pre_transform keeps its own processed graphs
        return osp.join(self.root, "processed", f"nnlqp_{osp.splitext(self.gt_file)[0]}_{self._key}")

    @property
    def processed_file_names(self) -> list[str]:
        return ["data.pt"]

    def download(self):
        raise FileNotFoundError(f"{osp.join(self.root, self.gt_file)} not found")

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
            if self.pre_filter is not None and not self.pre_filter(data):
                continue
            if self.pre_transform is not None:
                data = self.pre_transform(data)
            data_list.append(data)
        self.save(data_list, self.processed_paths[0])

    def label_range(self) -> tuple[float, float, bool]:
        return 0.0, math.inf, True  # milliseconds

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({len(self)}, model_types={self.model_types})"
