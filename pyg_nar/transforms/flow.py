r"""Flow pairs: the attention mask of FlowerFormer's flow-aware global attention."""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

from pyg_nar.transforms._common import arch_name, edge_index_of, num_nodes_of
from pyg_nar.utils.dag import descendant_matrix

__all__ = ["FlowMask", "descendant_matrix", "flow_pairs"]


def flow_pairs(edge_index: Tensor, num_nodes: int, name: str = "architecture") -> Tensor:
    r"""All ordered pairs ``(u, v)`` joined by a directed path in either direction, plus
    ``(v, v)`` for every node, as a ``[2, P]`` long tensor sorted by ``u`` then ``v``."""
    closure = descendant_matrix(edge_index, num_nodes, name)
    mask = closure | closure.T
    mask.flat[::num_nodes + 1] = True                                   # (v, v) pairs
    return torch.from_numpy(np.stack(np.nonzero(mask)))


class FlowMask(BaseTransform):
    r"""Adds ``flow_index`` ``[2, P]``: every ordered pair ``(u, v)`` such that a directed path
    joins ``u`` and ``v`` in either direction, plus ``(v, v)`` for every node - FlowerFormer's
    flow-aware attention mask (each node attends to its ancestors, its descendants and itself).

    That is the DAG's transitive closure made undirected (the DAGformer convention that
    FlowerFormer follows) with self pairs added, computed by :func:`descendant_matrix`; pairs
    are sorted by ``u`` then ``v``. The name ends in ``_index``, so PyG batching offsets it
    like ``edge_index``. A cyclic graph raises :class:`~pyg_nar.data.ArchitectureError`.
    """

    def forward(self, data: Data) -> Data:
        n = num_nodes_of(data, "FlowMask")
        ei = edge_index_of(data, "FlowMask")
        data.flow_index = flow_pairs(ei, n, arch_name(data))  # checks the node range
        return data
