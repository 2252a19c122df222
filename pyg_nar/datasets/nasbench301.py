"""NAS-Bench-301 (Siems et al., 2020, `arXiv:2008.09777 <https://arxiv.org/abs/2008.09777>`_):
DARTS-space architectures, a normal and a reduction cell each."""
from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch_geometric.data import Data

from pyg_nar.data import ArchitectureError, arch_data, op_indices
from pyg_nar.datasets.base import BenchmarkDataset, DataFileError
from pyg_nar.datasets.nasbench101 import json_records
from pyg_nar.datasets import paths

__all__ = ["NASBench301", "darts_cell_edges", "darts_arch_graph", "NB301_VOCAB", "DARTS_OPS"]

#: DARTS's seven operations (``none`` is not part of a genotype).
DARTS_OPS = ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
             "dil_conv_3x3", "dil_conv_5x5")
#: Node vocabulary: the cell inputs, DARTS's operations, the cell output.
NB301_VOCAB = ["input", *DARTS_OPS, "output"]
#: Nodes of one cell graph: two inputs, eight operations, one output.
CELL_NODES = 11


def darts_cell_edges(genotype: Sequence, name: str = "DARTS cell") -> tuple[list[str], list[tuple[int, int]]]:
    """A DARTS cell (eight ``[op, input]`` pairs, two per intermediate node 2..5; inputs 0 and 1
    are the cell inputs) as an operation-on-node DAG: node 0 and 1 the inputs, node ``2 + k``
    the ``k``-th operation, node 10 the output. An operation reading intermediate node ``j``
    reads both operations of ``j``, whose sum it is; the output concatenates the four
    intermediate nodes, so every operation feeds it."""
    if len(genotype) != 8:
        raise ArchitectureError(f"{name}: a DARTS cell has 8 [op, input] pairs, got {len(genotype)}")
    ops, edges = ["input", "input"], []
    for k, pair in enumerate(genotype):
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2):
            raise ArchitectureError(f"{name}: pair {k} is not [op, input]: {pair!r}")
        op, src = pair
        if op not in DARTS_OPS:
            raise ArchitectureError(f"{name}: pair {k} has unknown operation {op!r} "
                                    f"(known: {', '.join(DARTS_OPS)})")
        node = k // 2 + 2  # the intermediate node this operation belongs to
        if not (isinstance(src, int) and 0 <= src < node):
            raise ArchitectureError(f"{name}: pair {k} (of node {node}) reads node {src!r}, which "
                                    f"is not an earlier node 0..{node - 1}")
        ops.append(op)
        preds = [src] if src < 2 else [2 + 2 * (src - 2), 3 + 2 * (src - 2)]
        edges += [(p, 2 + k) for p in preds]
    edges += [(2 + k, CELL_NODES - 1) for k in range(8)]
    return ops + ["output"], edges


def darts_arch_graph(normal: Sequence, reduce: Sequence, y: float | None = None,
                     arch_id: int | None = None, name: str = "DARTS architecture") -> Data:
    """A DARTS architecture as one graph: the normal cell's 11 nodes, then the reduction
    cell's (two components, no edge between them), with ``cell`` ``[N]`` = 0 / 1 telling them
    apart - FlowerFormer's two-cell reading, whose layers are shared by both cells."""
    ops_n, edges_n = darts_cell_edges(normal, f"{name}, normal cell")
    ops_r, edges_r = darts_cell_edges(reduce, f"{name}, reduction cell")
    edges = edges_n + [(s + CELL_NODES, d + CELL_NODES) for s, d in edges_r]
    return arch_data(op_indices(ops_n + ops_r, NB301_VOCAB, name), torch.tensor(edges).t(), y,
                     name=name, arch_id=arch_id,
                     cell=torch.cat([torch.zeros(CELL_NODES, dtype=torch.long),
                                     torch.ones(CELL_NODES, dtype=torch.long)]))


class NASBench301(BenchmarkDataset):
    r"""DARTS-space architectures with their CIFAR-10 accuracy **as a fraction** (0..1).

    Each architecture becomes :func:`darts_arch_graph` (``op_vocab``: :data:`NB301_VOCAB`):
    22 nodes, the normal and the reduction cell as two components marked by ``cell``.
    ``arch_id`` is the record's index in the file.

    Reads NASLib's 725 cells of ``naslib_zc_subsets/nb301_zc_subset.json.gz`` of
    ``$PYG_NAR_DATA`` (``normal``, ``reduce``: eight ``[op, input]`` pairs each;
    ``val_accuracy`` in percent). **Caveat** (the file's README): the accuracies carry many
    decimal digits, so they are probably NAS-Bench-301 *surrogate predictions*, not trained
    results; NASLib does not say. Treat rankings learned on them as rankings of the surrogate.
    The NAS-Bench-301 training data and surrogate themselves are not in the data available here.
    """

    op_vocab = NB301_VOCAB
    name = "nasbench301"
    DEFAULT_FILE = paths.NB301_FILE

    def __init__(self, root: str, raw_dir: str | None = None, transform: Callable | None = None,
                 pre_transform: Callable | None = None, pre_filter: Callable | None = None,
                 force_reload: bool = False):
        super().__init__(root, raw_dir, transform, pre_transform, pre_filter, force_reload)

    @property
    def raw_file_names(self) -> list[str]:
        return [self.DEFAULT_FILE]

    def process(self):
        graphs = []
        fields = ("normal", "reduce", "val_accuracy")
        for k, (where, rec) in enumerate(json_records(self.raw_paths[0], fields, "architecture record")):
            try:
                y = float(rec["val_accuracy"]) / 100.0
                graphs.append(darts_arch_graph(rec["normal"], rec["reduce"], y, k, where))
            except (TypeError, ValueError) as e:
                raise DataFileError(f"{where}: {e}") from None
        self._save_graphs(graphs)
