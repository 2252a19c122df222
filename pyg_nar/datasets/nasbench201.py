"""NAS-Bench-201 (Dong & Yang, ICLR 2020): all 15,625 cells as 8-node operation-on-node DAGs."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from torch_geometric.data import Data

from pyg_nar.data import ArchitectureError, arch_data, op_indices
from pyg_nar.datasets.base import (BenchmarkDataset, DataFileError, check_label, parse_float,
                                   read_csv_rows)
from pyg_nar.datasets.paths import (NB201_ACCURACY_FILE, NB201_LATENCY_FILE, NB201_NASLIB_FILE,
                                    NB201_TARGETS, nb201_files)
from pyg_nar.errors import ArgumentError
from pyg_nar.spaces.nasbench201 import NB201_OPS, parse_arch_str

__all__ = ["NASBench201", "NASBench201Latency", "nb201_cell_graph", "NB201_OPS", "NB201_EDGES"]

#: Operation vocabulary of the node-op graph (NAR-Former's NB201 ids: input 0, conv1x1 1,
#: conv3x3 2, avgpool 3, skip 4, none 5, output 6).
NB201_VOCAB = ["input", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3", "skip_connect", "none", "output"]

#: The 10 edges of every NB201 cell graph. Node 0 is the cell input, nodes 1..6 the six edge
#: operations in arch-string order (e01, e02, e12, e03, e13, e23), node 7 the cell output.
NB201_EDGES = torch.tensor([[0, 0, 0, 1, 1, 2, 3, 4, 5, 6],
                            [1, 2, 4, 3, 5, 6, 6, 7, 7, 7]])


def nb201_cell_graph(arch_str: str, y: float | None = None, arch_id: int | None = None) -> Data:
    """Turn an NB201 arch string into the 8-node cell graph of the papers (NAR-Former, FlowerFormer):
    operations on edges become nodes, between an input node 0 and an output node 7."""
    ops = ["input", *parse_arch_str(arch_str), "output"]
    return arch_data(op_indices(ops, NB201_VOCAB, arch_str), NB201_EDGES, y, name=arch_str,
                     arch_id=arch_id, arch_str=arch_str)


def _parse_index(value: str, path: str, line: int, column: str) -> int:
    try:
        i = int(value)
    except ValueError:
        raise DataFileError(f"{path}, line {line}: {column} {value!r} is not an integer") from None
    if i < 0 or i >= 2 ** 63:
        raise DataFileError(f"{path}, line {line}: {column} {i} is "
                            f"{'negative' if i < 0 else 'too large for an int64'}")
    return i


class NASBench201(BenchmarkDataset):
    r"""All 15,625 NAS-Bench-201 cells with their real accuracies.

    Each cell becomes the 8-node DAG of :func:`nb201_cell_graph` (``op_vocab``:
    :data:`NB201_VOCAB`), with ``y`` the chosen accuracy **as a fraction** (0..1),
    ``arch_id`` the official NB201 index and ``arch_str`` the official arch string.

    Targets (``target=``):

    * ``"cifar10_test_200ep"`` (default), ``"cifar100_test_200ep"``, ``"imagenet16_test_200ep"``:
      200-epoch test accuracy, mean over the benchmark's seeds;
    * ``"cifar10valid_valid_12ep"``, ``"cifar10_test_12ep"``, ``"cifar100_valid_12ep"``,
      ``"cifar100_test_12ep"``, ``"imagenet16_valid_12ep"``, ``"imagenet16_test_12ep"``:
      12-epoch (low-fidelity) accuracies;
    * ``"cifar10valid_1seed"``, ``"cifar100_1seed"``, ``"imagenet16_1seed"``: NASLib's single-seed
      200-epoch accuracies (seed 888; most likely ``cifar10-valid`` scored on ``ori-test``).

    Raw files: this class reads the compact CSVs of ``$PYG_NAR_DATA`` (``raw_dir``):
    ``nasbench201/nb201_accuracy.csv.gz`` and, for the ``*_1seed`` targets,
    ``naslib_zc_subsets/nb201_naslib_valacc_zen_full.csv.gz`` (see their READMEs). The official
    ``NAS-Bench-201-v1_*.pth`` files (several GB of pickled results) are not read; a user who
    has them can export ``index,arch_str,<target>`` rows (accuracy in percent) to a CSV with
    these column names and point ``raw_dir`` at it. The 200-epoch ``cifar10-valid`` validation
    accuracies that NAR-Former trains on are not in the compact files.
    """

    op_vocab = NB201_VOCAB
    name = "nasbench201"
    ACCURACY_FILE = NB201_ACCURACY_FILE
    NASLIB_FILE = NB201_NASLIB_FILE
    #: target name -> (file, column)
    TARGETS = NB201_TARGETS

    def __init__(self, root: str, target: str = "cifar10_test_200ep", raw_dir: str | None = None,
                 transform: Callable | None = None, pre_transform: Callable | None = None,
                 pre_filter: Callable | None = None, force_reload: bool = False):
        if target not in self.TARGETS:
            raise ArgumentError(f"NASBench201: unknown target {target!r}; choose one of {', '.join(self.TARGETS)}")
        self.target = target
        super().__init__(root, raw_dir, transform, pre_transform, pre_filter, force_reload)

    @property
    def raw_file_names(self) -> list[str]:
        return nb201_files(self.target)

    def options(self) -> str:
        return f"target={self.target}"

    def read_cells(self) -> tuple[list[int], list[str]]:
        """NB201 indices and arch strings, in file order."""
        path = self.raw_paths[0]
        ids, strs, seen_id, seen_arch = [], [], {}, {}
        for line, row in read_csv_rows(path, ["index", "arch_str"]):
            i = _parse_index(row["index"], path, line, "index")
            arch = row["arch_str"]
            for seen, key, what in ((seen_id, i, "index"), (seen_arch, arch, "arch_str")):
                if key in seen:
                    raise DataFileError(f"{path}, line {line}: duplicate {what} {str(key)[:80]!r} "
                                        f"(first on line {seen[key]})")
                seen[key] = line
            ids.append(i)
            strs.append(arch)
        return ids, strs

    def read_labels(self, ids: list[int], strs: list[str]) -> np.ndarray:
        """The target of every cell, aligned with ``ids`` (accuracy as a fraction)."""
        label_file, column = self.TARGETS[self.target]
        path = self.raw_paths[self.raw_file_names.index(label_file)]
        id_col = "index" if label_file == self.ACCURACY_FILE else "nb201_index"
        by_id, lines = {}, {}
        for line, row in read_csv_rows(path, [id_col, "arch_str", column]):
            i = _parse_index(row[id_col], path, line, id_col)
            if i in by_id:
                raise DataFileError(f"{path}, line {line}: duplicate {id_col} {i} (first on line "
                                    f"{lines[i]})")
            value = check_label(parse_float(row[column], path, line, column), f"{path}, line {line}",
                                column, 0.0, 100.0, "accuracy in percent")
            by_id[i], lines[i] = (row["arch_str"], value), line
        out = np.empty(len(ids))
        for k, (i, s) in enumerate(zip(ids, strs)):
            if i not in by_id:
                raise DataFileError(f"{path}: no row for NB201 index {i}")
            if by_id[i][0] != s:
                raise DataFileError(f"{path}: index {i} has arch {by_id[i][0]!r}, expected {s!r}")
            out[k] = by_id[i][1]
        return out / 100.0  # the files hold percent

    def process(self):
        ids, strs = self.read_cells()
        labels = self.read_labels(ids, strs)
        graphs = []
        for line, (i, s, y) in enumerate(zip(ids, strs, labels), start=2):
            try:
                graphs.append(nb201_cell_graph(s, float(y), i))
            except ArchitectureError as e:
                raise DataFileError(f"{self.raw_paths[0]}, line {line}: {e}") from None
        self._save_graphs(graphs)

    def label_range(self) -> tuple[float, float, bool]:
        return 0.0, 1.0, False  # accuracy as a fraction

    @property
    def arch_strs(self) -> list[str]:
        """Official arch strings of the cells, in dataset order."""
        return list(self._data.arch_str)


class NASBench201Latency(NASBench201):
    r"""NB201 cells with latencies measured on real devices (HELP, NeurIPS 2021).

    ``y`` is the latency in **milliseconds** of one forward pass at the device's batch size
    (the suffix ``_1``, ``_32``, ``_256`` of a GPU/CPU name). Reads
    ``latency_help/nasbench201_latency.npz`` of ``$PYG_NAR_DATA`` (README there);
    :meth:`devices` lists the 27 devices (e.g. ``"titan_rtx_256"``, ``"gold_6226"``,
    ``"pixel3"``). On ``pixel3`` and ``raspi4`` the cells without an input-to-output path hold
    near-zero values; pass ``pre_filter`` to drop them on purpose.
    """

    name = "nasbench201_latency"
    LATENCY_FILE = NB201_LATENCY_FILE
    #: the largest array read from the ``.npz`` (the real ones are 125 kB)
    MAX_ARRAY_BYTES = 2 ** 28

    def __init__(self, root: str, device: str = "titan_rtx_256", raw_dir: str | None = None,
                 transform: Callable | None = None, pre_transform: Callable | None = None,
                 pre_filter: Callable | None = None, force_reload: bool = False):
        self.device = device
        # only the arch strings of the accuracy file are used: its default target is never read
        super().__init__(root, "cifar10_test_200ep", raw_dir, transform, pre_transform, pre_filter,
                         force_reload)

    @property
    def raw_file_names(self) -> list[str]:
        return [self.ACCURACY_FILE, self.LATENCY_FILE]

    def options(self) -> str:
        return f"device={self.device}"

    @classmethod
    def devices(cls, raw_dir: str | None = None) -> list[str]:
        """Device names available in the latency file."""
        from pyg_nar.datasets.help_latency import help_devices

        return help_devices("nasbench201", raw_dir)

    def read_labels(self, ids: list[int], strs: list[str]) -> np.ndarray:
        path = self.raw_paths[1]
        from pyg_nar.datasets.help_latency import open_npz

        with open_npz(path) as z:
            key = f"lat_{self.device}"
            if key not in z.files:
                known = ", ".join(k[4:] for k in z.files if k.startswith("lat_"))
                raise ArgumentError(f"NASBench201Latency: unknown device {self.device!r}; known: {known}")
            for name in (key, "index", "arch_str"):
                if name not in z.files or z.zip.getinfo(f"{name}.npy").file_size > self.MAX_ARRAY_BYTES:
                    raise DataFileError(f"{path}: no array {name!r} of at most "
                                        f"{self.MAX_ARRAY_BYTES} bytes")
            try:
                lat, index, arch = z[key].astype(np.float64), z["index"], z["arch_str"]
            except Exception as e:  # noqa: BLE001  (a damaged archive raises many kinds)
                raise DataFileError(f"{path}: cannot be read as .npz ({type(e).__name__}: {e})") from None
        if lat.ndim != 1 or lat.shape != index.shape or index.shape != arch.shape:
            raise DataFileError(f"{path}: {key}, index and arch_str must be 1-D arrays of one length")
        pos = {}
        for k, i in enumerate(index.tolist()):
            if i in pos:
                raise DataFileError(f"{path}: duplicate NB201 index {i} (entries {pos[i]} and {k})")
            pos[i] = k
        out = np.empty(len(ids))
        for k, (i, s) in enumerate(zip(ids, strs)):
            if i not in pos or str(arch[pos[i]]) != s:
                raise DataFileError(f"{path}: NB201 index {i} ({s}) is missing or has another arch string")
            out[k] = check_label(float(lat[pos[i]]), f"{path}, {key}[{pos[i]}] (NB201 index {i})",
                                 "latency", 0.0, math.inf, "milliseconds", open_low=True)
        return out

    def label_range(self) -> tuple[float, float, bool]:
        return 0.0, math.inf, True  # milliseconds
