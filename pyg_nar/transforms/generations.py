r"""Topological generations of a DAG (the schedule of FlowerFormer's flow encoder)."""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

from pyg_nar.data import ArchitectureError, topological_order
from pyg_nar.transforms._common import arch_name, edge_index_of, num_nodes_of

__all__ = ["TopologicalGenerations", "topological_generations"]


def _segments(ptr: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """Positions ``ptr[v] .. ptr[v+1]-1`` of every ``v`` in ``nodes``, concatenated."""
    starts, ends = ptr[nodes], ptr[nodes + 1]
    counts = ends - starts
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.cumsum(counts) + counts, counts)
    return offsets + np.arange(total)


def topological_generations(edge_index: Tensor, num_nodes: int,
                            name: str = "architecture") -> Tensor:
    r"""Generation of every node: 0 for sources, else 1 + the largest generation of its
    predecessors (the layers of :func:`networkx.topological_generations`).

    Kahn's algorithm one frontier at a time, vectorised over each frontier's out-edges, so
    the cost is :math:`O(N + E)` plus one NumPy round per generation. A cycle raises
    :class:`~pyg_nar.data.ArchitectureError` naming a node on it.
    """
    ei = edge_index.detach().cpu().numpy().astype(np.int64, copy=False)
    if ei.size and (ei.min() < 0 or ei.max() >= num_nodes):
        raise ArchitectureError(f"{name}: edge_index refers to a node outside 0..{num_nodes - 1}")
    src, dst = ei[0], ei[1]
    order = np.argsort(src, kind="stable")
    dst_by_src = dst[order]
    ptr = np.zeros(num_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=num_nodes), out=ptr[1:])
    indeg = np.bincount(dst, minlength=num_nodes)
    gen = np.full(num_nodes, -1, dtype=np.int64)
    frontier = np.flatnonzero(indeg == 0)
    g = 0
    while frontier.size:
        gen[frontier] = g
        targets = dst_by_src[_segments(ptr, frontier)]
        if targets.size == 0:
            break
        np.subtract.at(indeg, targets, 1)
        ready = targets[indeg[targets] == 0]
        if ready.size > 1:  # a node reached by several frontier edges appears once
            ready.sort()
            ready = ready[np.r_[True, ready[1:] != ready[:-1]]]
        frontier = ready
        g += 1
    if (gen < 0).any():
        topological_order(num_nodes, edge_index, name)  # raises, naming a node on the cycle
        raise ArchitectureError(f"{name}: the graph has a cycle")  # pragma: no cover
    return torch.from_numpy(gen)


class TopologicalGenerations(BaseTransform):
    r"""Adds the topological generations of a DAG (FlowerFormer's flow-encoder schedule).

    * ``node_gen`` ``[N]`` long: 0 for source nodes, else 1 + the largest generation of the
      node's predecessors (:func:`networkx.topological_generations`).
    * ``edge_gen`` ``[E]`` long: the generation of each edge's target, so the edges of
      generation :math:`g` are exactly the incoming edges of the nodes of generation :math:`g`.
    * ``depth`` ``[1]`` long: the number of generations, ``node_gen.max() + 1``.

    A cyclic graph raises :class:`~pyg_nar.data.ArchitectureError` naming a node on the cycle.
    """

    def forward(self, data: Data) -> Data:
        n = num_nodes_of(data, "TopologicalGenerations")
        ei = edge_index_of(data, "TopologicalGenerations")
        gen = topological_generations(ei, n, arch_name(data))
        data.node_gen = gen
        data.edge_gen = gen[ei[1]]
        data.depth = gen.max().view(1) + 1
        return data
