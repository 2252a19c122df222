"""NAS-Bench-Graph (Qin et al., NeurIPS 2022 D&B): GNN architectures on 9 graph datasets."""
from __future__ import annotations

import math
from typing import Callable

from torch_geometric.data import Data

from pyg_nar.data import ArchitectureError, arch_data, op_indices
from pyg_nar.datasets.base import (BenchmarkDataset, DataFileError, check_label, parse_float,
                                   read_csv_rows)
from pyg_nar.datasets.paths import NASBENCH_GRAPH_DATASETS, nasbench_graph_file
from pyg_nar.errors import ArgumentError

__all__ = ["NASBenchGraph", "nasbench_graph_arch", "NASBENCH_GRAPH_VOCAB"]

#: Operation vocabulary: input, the benchmark's nine operations in its own order, output.
NASBENCH_GRAPH_VOCAB = ["input", "gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip", "output"]


def nasbench_graph_arch(links: list[int], ops: list[str], y: float | None = None,
                        arch_id: int | None = None, name: str = "NAS-Bench-Graph arch") -> Data:
    """The macro DAG of a NAS-Bench-Graph architecture: node 0 is the (preprocessed) input,
    nodes 1..4 the computing nodes with their operations, node 5 the output.

    ``links[i]`` is the input of computing node ``i + 1`` (0 = the raw input, ``j > 0`` =
    computing node ``j``); every computing node that feeds no other one feeds the output.
    """
    if len(links) != len(ops):
        raise ArchitectureError(f"{name}: {len(links)} links but {len(ops)} operations")
    n = len(ops)
    for i, j in enumerate(links):
        if not 0 <= j <= i:
            raise ArchitectureError(f"{name}: computing node {i + 1} takes input {j}, which is not "
                                    f"an earlier node (0..{i})")
    edges = [(j, i + 1) for i, j in enumerate(links)]
    used = set(links)
    edges += [(i, n + 1) for i in range(1, n + 1) if i not in used]
    return arch_data(op_indices(["input", *ops, "output"], NASBENCH_GRAPH_VOCAB, name),
                     sorted(edges), y, name=name, arch_id=arch_id)


class NASBenchGraph(BenchmarkDataset):
    r"""NAS-Bench-Graph: 26,206 unique GNN architectures (2,021 on ``proteins``) trained on a
    graph dataset, as macro DAGs (:func:`nasbench_graph_arch`, ``op_vocab``
    :data:`NASBENCH_GRAPH_VOCAB`).

    Args:
        dataset: the graph dataset the architectures were trained on: ``cora``, ``citeseer``,
            ``pubmed``, ``cs``, ``physics``, ``photo``, ``computers``, ``arxiv``, ``proteins``.
        target: ``"test_perf"`` (default) or ``"valid_perf"`` (fractions; ROC-AUC on proteins),
            ``"latency"`` (as stored, apparently seconds) or ``"params"`` (apparently millions).

    Reads ``nasbench_graph/<dataset>.csv.gz`` of ``$PYG_NAR_DATA`` (the benchmark's "light"
    files decoded from the ``nas-bench-graph`` 1.4.0 package; see that folder's README).
    ``arch_id`` is the benchmark's own hash key.
    """

    op_vocab = NASBENCH_GRAPH_VOCAB
    DATASETS = NASBENCH_GRAPH_DATASETS
    TARGETS = ("test_perf", "valid_perf", "latency", "params")
    #: what each target holds, as the file stores it
    UNITS = {"test_perf": "a fraction in [0, 1]", "valid_perf": "a fraction in [0, 1]",
             "latency": "seconds, as stored", "params": "millions, as stored"}

    def __init__(self, root: str, dataset: str = "cora", target: str = "test_perf",
                 raw_dir: str | None = None, transform: Callable | None = None,
                 pre_transform: Callable | None = None, pre_filter: Callable | None = None,
                 force_reload: bool = False):
        if dataset not in self.DATASETS:
            raise ArgumentError(f"NASBenchGraph: unknown dataset {dataset!r}; choose one of {', '.join(self.DATASETS)}")
        if target not in self.TARGETS:
            raise ArgumentError(f"NASBenchGraph: unknown target {target!r}; choose one of {', '.join(self.TARGETS)}")
        self.dataset, self.target = dataset, target
        self.name = f"nasbench_graph_{dataset}"
        super().__init__(root, raw_dir, transform, pre_transform, pre_filter, force_reload)

    @property
    def raw_file_names(self) -> list[str]:
        return [nasbench_graph_file(self.dataset)]

    def options(self) -> str:
        return f"dataset={self.dataset}, target={self.target}"

    def process(self):
        path = self.raw_paths[0]
        cols = ["hash"] + [f"link{i}" for i in range(4)] + [f"op{i}" for i in range(4)] + [self.target]
        graphs, seen_key, seen_arch = [], {}, {}
        low, high, open_low = self.label_range()
        for line, row in read_csv_rows(path, cols):
            try:
                links = [int(row[f"link{i}"]) for i in range(4)]
                key = int(row["hash"])
            except ValueError:
                raise DataFileError(f"{path}, line {line}: hash and links must be integers") from None
            arch = (*links, *(row[f"op{i}"] for i in range(4)))
            for seen, k, what in ((seen_key, key, f"hash {key}"), (seen_arch, arch, "architecture")):
                if k in seen:
                    raise DataFileError(f"{path}, line {line}: duplicate {what} (first on line {seen[k]})")
                seen[k] = line
            y = check_label(parse_float(row[self.target], path, line, self.target),
                            f"{path}, line {line}", self.target, low, high, self.UNITS[self.target],
                            open_low)
            try:
                graphs.append(nasbench_graph_arch(links, [row[f"op{i}"] for i in range(4)], y, key,
                                                  f"{path}, line {line}"))
            except ArchitectureError as e:
                raise DataFileError(str(e)) from None
        self._save_graphs(graphs)

    def label_range(self) -> tuple[float, float, bool]:
        if self.target in ("test_perf", "valid_perf"):
            return 0.0, 1.0, False
        return 0.0, math.inf, self.target == "latency"  # a latency is positive, params >= 0
