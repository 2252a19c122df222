r"""Flow pairs: the attention mask of FlowerFormer's flow-aware global attention."""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

from pyg_nar.transforms._common import arch_name, edge_index_of, num_nodes_of
from pyg_nar.transforms.generations import kahn_generations

__all__ = ["FlowMask", "descendant_matrix", "flow_pairs"]


def descendant_matrix(edge_index: Tensor, num_nodes: int, name: str = "architecture") -> np.ndarray:
    r"""Transitive closure of a DAG as an ``[N, N]`` boolean array: ``R[u, v]`` iff a directed
    path of length >= 1 leads from ``u`` to ``v``.

    Dynamic programming over a reverse topological order, one bitset per node (Python ints,
    whose OR runs word-parallel in C): :math:`\mathrm{desc}(u) = \bigcup_{u \to v}
    \mathrm{desc}(v) \cup \{v\}`, i.e. :math:`E` bitset ORs of :math:`N/64` words, and
    :math:`N^2/8` bytes. The bitsets are unpacked to the boolean matrix in one NumPy call.
    A cycle raises :class:`~pyg_nar.data.ArchitectureError` naming a node on it.
    """
    order, _, succ = kahn_generations(edge_index, num_nodes, name)
    reach = [0] * num_nodes
    for u in reversed(order):
        r = 0
        for v in succ[u]:
            r |= reach[v] | (1 << v)
        reach[u] = r
    width = (num_nodes + 7) // 8
    packed = np.frombuffer(b"".join(r.to_bytes(width, "little") for r in reach), dtype=np.uint8)
    return np.unpackbits(packed.reshape(num_nodes, width), axis=1, count=num_nodes,
                         bitorder="little").view(bool)


def flow_pairs(edge_index: Tensor, num_nodes: int, name: str = "architecture") -> Tensor:
    r"""All ordered pairs ``(u, v)`` joined by a directed path in either direction, plus
    ``(v, v)`` for every node, as a ``[2, P]`` long tensor sorted by ``u`` then ``v``."""
    closure = descendant_matrix(edge_index, num_nodes, name)
    mask = closure | closure.T
    np.fill_diagonal(mask, True)
    return torch.from_numpy(mask).nonzero().t().contiguous()


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
        data.flow_index = flow_pairs(edge_index_of(data, "FlowMask"), n, arch_name(data))
        return data
