r"""NAR-Former V2's graph inputs: the symmetrised adjacency and node degrees."""
from __future__ import annotations

import torch
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform
from torch_geometric.utils import degree, remove_self_loops, to_undirected

from pyg_nar.transforms._common import edge_index_of, num_nodes_of

__all__ = ["NodeDegree", "SymmetricAdjacency"]


class SymmetricAdjacency(BaseTransform):
    r"""Adds ``adj_index`` ``[2, 2E]``: every edge in both directions, without self loops and
    duplicates, sorted by row then column - the :math:`A + A^\top` (no self loops) that
    NAR-Former V2's graph-aided attention masks its scores with. ``edge_index`` keeps its
    direction for the models that need it."""

    def forward(self, data: Data) -> Data:
        n = num_nodes_of(data, "SymmetricAdjacency")
        ei, _ = remove_self_loops(edge_index_of(data, "SymmetricAdjacency"))
        data.adj_index = to_undirected(ei, num_nodes=n)
        return data


class NodeDegree(BaseTransform):
    r"""Adds ``in_degree`` and ``out_degree`` ``[N]`` float: the number of edges entering and
    leaving each node (NAR-Former V2's degree gate, :math:`x \odot \sigma(W \deg)`, reads the
    degrees of the symmetrised graph, ``in_degree + out_degree`` on a DAG)."""

    def forward(self, data: Data) -> Data:
        n = num_nodes_of(data, "NodeDegree")
        ei = edge_index_of(data, "NodeDegree")
        data.in_degree = degree(ei[1], n, dtype=torch.float)
        data.out_degree = degree(ei[0], n, dtype=torch.float)
        return data
