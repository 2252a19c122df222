r"""NAR-Former V2's graph inputs: the symmetrised adjacency and node degrees."""
from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

from pyg_nar.transforms._common import edge_arrays, num_nodes_of

__all__ = ["NodeDegree", "SymmetricAdjacency"]


class SymmetricAdjacency(BaseTransform):
    r"""Adds ``adj_index`` ``[2, 2E]``: every edge in both directions, without self loops and
    duplicates, sorted by row then column - the :math:`A + A^\top` (no self loops) that
    NAR-Former V2's graph-aided attention masks its scores with. ``edge_index`` keeps its
    direction for the models that need it.

    The result is that of :func:`torch_geometric.utils.to_undirected` after
    :func:`~torch_geometric.utils.remove_self_loops`, computed in NumPy on the linear keys
    ``row * N + col`` (one ``np.unique`` sorts and deduplicates them): on an 8-node cell this
    is a fraction of the cost of the torch utilities' per-op dispatch.
    """

    def forward(self, data: Data) -> Data:
        n = num_nodes_of(data, "SymmetricAdjacency")
        src, dst = edge_arrays(data, "SymmetricAdjacency", n)
        keep = src != dst
        src, dst = src[keep], dst[keep]
        key = np.unique(np.concatenate([src * n + dst, dst * n + src]))
        data.adj_index = torch.from_numpy(np.stack([key // n, key % n]))
        return data


class NodeDegree(BaseTransform):
    r"""Adds ``in_degree`` and ``out_degree`` ``[N]`` float: the number of edges entering and
    leaving each node (NAR-Former V2's degree gate, :math:`x \odot \sigma(W \deg)`, reads the
    degrees of the symmetrised graph, ``in_degree + out_degree`` on a DAG).

    Same values as :func:`torch_geometric.utils.degree`, counted with ``np.bincount``."""

    def forward(self, data: Data) -> Data:
        n = num_nodes_of(data, "NodeDegree")
        src, dst = edge_arrays(data, "NodeDegree", n)
        data.in_degree = torch.from_numpy(np.bincount(dst, minlength=n).astype(np.float32))
        data.out_degree = torch.from_numpy(np.bincount(src, minlength=n).astype(np.float32))
        return data
