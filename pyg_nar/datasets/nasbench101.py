"""NAS-Bench-101 (Ying et al., ICML 2019): cells with operations on nodes, up to 7 nodes."""
from __future__ import annotations

import json
import os.path as osp
from typing import Callable

import numpy as np
import torch
from torch_geometric.data import Data

from pyg_nar.data import ArchitectureError, arch_data, op_indices
from pyg_nar.datasets.base import BenchmarkDataset, DataFileError, check_label, read_json
from pyg_nar.datasets.paths import NB101_FILE

__all__ = ["NASBench101", "nb101_cell_graph", "NB101_VOCAB", "json_records"]

#: Operation vocabulary (NAR-Former's NB101 ids: input 0, conv1x1 1, conv3x3 2, maxpool 3, output 4).
NB101_VOCAB = ["input", "conv1x1-bn-relu", "conv3x3-bn-relu", "maxpool3x3", "output"]

#: Accepted spellings of a record's fields: the official API's ``module_adjacency`` /
#: ``module_operations`` and NASLib's ``adjacency`` / ``ops``.
_ADJ_KEYS = ("module_adjacency", "adjacency", "matrix")
_OPS_KEYS = ("module_operations", "ops", "operations")


def json_records(path: str, required: tuple[str, ...] = (), what: str = "record"):
    """Yield ``(where, record)`` for every object of the JSON list in ``path``, ``where``
    naming file and record; a :class:`DataFileError` for anything else or a missing field."""
    records = read_json(path)
    if not isinstance(records, list):
        raise DataFileError(f"{path}: expected a JSON list of {what}s")
    for k, rec in enumerate(records):
        where = f"{path}, record {k}"
        if not isinstance(rec, dict):
            raise DataFileError(f"{where}: not an object")
        missing = [f for f in required if f not in rec]
        if missing:
            raise DataFileError(f"{where}: needs {', '.join(repr(f) for f in required)} "
                                f"(missing {', '.join(missing)})")
        yield where, rec


def nb101_cell_graph(adjacency, ops: list[str], y: float | None = None, arch_id: int | None = None,
                     name: str = "NB101 cell") -> Data:
    """An NB101 cell (upper-triangular 0/1 adjacency, row = source, and one operation per
    vertex from :data:`NB101_VOCAB`) as a graph; vertex order is kept (it is topological)."""
    adj = np.asarray(adjacency)
    if adj.ndim != 2 or adj.shape[0] != adj.shape[1] or adj.shape[0] != len(ops):
        raise ArchitectureError(
            f"{name}: adjacency of shape {adj.shape} does not match {len(ops)} operations")
    if not np.isin(adj, (0, 1)).all():
        raise ArchitectureError(f"{name}: adjacency entries must be 0 or 1")
    if np.tril(adj).any():
        s, d = map(int, np.argwhere(np.tril(adj))[0])
        raise ArchitectureError(f"{name}: edge {s} -> {d} is not upper-triangular (cells are DAGs "
                                f"numbered input first, output last)")
    src, dst = np.nonzero(adj)
    return arch_data(op_indices(ops, NB101_VOCAB, name), torch.tensor(np.stack([src, dst])), y,
                     name=name, arch_id=arch_id)


class NASBench101(BenchmarkDataset):
    r"""NAS-Bench-101 cells with their accuracy at 108 epochs, **as a fraction** (0..1).

    Records are read from a JSON (or ``.json.gz``) list of objects, each with an adjacency
    (``module_adjacency`` / ``adjacency``: upper-triangular 0/1 matrix, row = source), its
    operations (``module_operations`` / ``ops``, names from :data:`NB101_VOCAB`) and accuracy
    fields (``target=``: ``"val_accuracy"`` by default; the official API's
    ``validation_accuracy`` / ``test_accuracy`` means over the three 108-epoch runs work the
    same). A file whose largest value exceeds 1 is read as percent, otherwise as fractions.

    **The official file.** ``raw_file="nasbench_only108.tfrecord"`` (or any NB101 ``.tfrecord``,
    e.g. the full ``nasbench_full.tfrecord`` with ``epochs=4, 12, 36`` or ``108``) is read
    directly, without TensorFlow (:mod:`pyg_nar.datasets.tfrecord`: TFRecord framing with its
    CRC-32C checks, JSON rows, base64 protobuf metrics). Its runs are grouped by module hash
    (one graph per cell, in the file's order of first appearance; ``module_hash`` is kept on
    each graph) and ``y`` is the mean over the cell's runs at ``epochs`` of the final
    ``target``: ``"validation_accuracy"`` (the default ``"val_accuracy"`` means it here),
    ``"test_accuracy"``, ``"train_accuracy"``, or ``"halfway_validation_accuracy"`` /
    ``"halfway_test_accuracy"`` (at half of the epochs).

    Without it, NASLib's real 500-cell subset is read
    (``naslib_zc_subsets/nb101_zc_subset.json.gz`` of ``$PYG_NAR_DATA``, the default
    ``raw_file``, a JSON list as above): the full benchmark (423,624 cells, 499 MB) is not in the
    data available here.
    """

    op_vocab = NB101_VOCAB
    name = "nasbench101"
    DEFAULT_FILE = NB101_FILE

    #: targets of a tfrecord: (evaluation, field); "val_accuracy" is an alias of the first
    TFRECORD_TARGETS = {"validation_accuracy": ("final", "validation_accuracy"),
                        "test_accuracy": ("final", "test_accuracy"),
                        "train_accuracy": ("final", "train_accuracy"),
                        "halfway_validation_accuracy": ("halfway", "validation_accuracy"),
                        "halfway_test_accuracy": ("halfway", "test_accuracy")}

    def __init__(self, root: str, target: str = "val_accuracy", raw_file: str | None = None,
                 raw_dir: str | None = None, transform: Callable | None = None,
                 pre_transform: Callable | None = None, pre_filter: Callable | None = None,
                 force_reload: bool = False, epochs: int = 108):
        self.target, self.epochs = target, epochs
        self.raw_file = raw_file or self.DEFAULT_FILE
        if osp.isabs(self.raw_file):
            raw_dir, self.raw_file = osp.dirname(self.raw_file), osp.basename(self.raw_file)
        super().__init__(root, raw_dir, transform, pre_transform, pre_filter, force_reload)

    @property
    def raw_file_names(self) -> list[str]:
        return [self.raw_file]

    def options(self) -> str:
        if self.raw_file.endswith(".tfrecord"):
            return f"target={self.target}, epochs={self.epochs}"
        return f"target={self.target}"

    def process(self):
        path = self.raw_paths[0]
        if path.endswith(".tfrecord"):
            return self._process_tfrecord(path)
        graphs, labels, seen = [], [], {}
        for k, (where, rec) in enumerate(json_records(path, what="cell record")):
            adj = next((rec[a] for a in _ADJ_KEYS if a in rec), None)
            ops = next((rec[a] for a in _OPS_KEYS if a in rec), None)
            if adj is None or ops is None:
                raise DataFileError(f"{where}: needs an adjacency ({'/'.join(_ADJ_KEYS)}) and "
                                    f"operations ({'/'.join(_OPS_KEYS)})")
            if self.target not in rec:
                raise DataFileError(f"{where}: no field {self.target!r}")
            value = rec[self.target]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise DataFileError(f"{where}: {self.target} is not a number: {str(value)[:40]!r}")
            labels.append(check_label(float(value), where, self.target, 0.0, 100.0,
                                      "accuracy, a fraction or a percent"))
            if not isinstance(ops, list) or not all(isinstance(o, str) for o in ops):
                raise DataFileError(f"{where}: the operations must be a list of names")
            try:
                graphs.append(nb101_cell_graph(adj, list(ops), None, k, where))
            except (ValueError, TypeError) as e:  # ArchitectureError, or a ragged adjacency
                raise DataFileError(str(e) if isinstance(e, ArchitectureError)
                                    else f"{where}: the adjacency is not a square 0/1 matrix") from None
            spec = json.dumps([adj, ops])
            if spec in seen:
                raise DataFileError(f"{where}: duplicate cell (the same as record {seen[spec]})")
            seen[spec] = k
        # one unit for the whole file: percent if any value exceeds 1, else fractions
        scale = 100.0 if labels and max(labels) > 1 else 1.0
        for g, y in zip(graphs, labels):
            g.y = torch.tensor([y], dtype=torch.float)
            if scale != 1.0:
                g.y = g.y / scale
        self._save_graphs(graphs)

    def label_range(self) -> tuple[float, float, bool]:
        return 0.0, 1.0, False  # accuracy as a fraction

    def _process_tfrecord(self, path: str):
        from pyg_nar.datasets.tfrecord import read_nasbench101_tfrecord

        target = "validation_accuracy" if self.target == "val_accuracy" else self.target
        if target not in self.TFRECORD_TARGETS:
            raise ValueError(f"NASBench101: unknown tfrecord target {self.target!r}; choose one of "
                             f"val_accuracy, {', '.join(self.TFRECORD_TARGETS)}")
        part, key = self.TFRECORD_TARGETS[target]
        cells: dict[str, list] = {}  # hash -> [adjacency, operations, values]
        epochs_seen = set()
        for run in read_nasbench101_tfrecord(path):
            epochs_seen.add(run.epochs)
            if run.epochs != self.epochs:
                continue
            cell = cells.setdefault(run.module_hash, [run.adjacency, run.operations, []])
            cell[2].append(getattr(run, part)[key])
        if not cells:
            raise DataFileError(f"{path}: no run at epochs={self.epochs} (the file has "
                                f"{sorted(epochs_seen) or 'no runs'})")
        graphs = []
        for k, (module_hash, (adj, ops, values)) in enumerate(cells.items()):
            where = f"{path}, cell {module_hash}"
            try:
                g = nb101_cell_graph(adj, ops, float(np.mean(values)), k, where)
            except ArchitectureError as e:
                raise DataFileError(str(e)) from None
            g.module_hash = module_hash
            graphs.append(g)
        self._save_graphs(graphs)
