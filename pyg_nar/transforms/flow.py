r"""Flow pairs: the attention mask of FlowerFormer's flow-aware global attention."""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

from pyg_nar.transforms._common import arch_name, edge_index_of, num_nodes_of
from pyg_nar.transforms.generations import _segments, topological_generations

__all__ = ["FlowMask", "descendants_bitsets", "flow_pairs"]


def descendants_bitsets(edge_index: Tensor, num_nodes: int, name: str = "architecture",
                        node_gen: Tensor | None = None) -> np.ndarray:
    r"""Transitive closure of a DAG as packed bit rows: bit ``v`` of row ``u`` (``np.unpackbits``
    order) is set iff a directed path of length >= 1 leads from ``u`` to ``v``.

    Rows are filled one topological generation at a time, last generation first: the row of
    ``u`` is the OR over its out-edges ``u -> v`` of (row of ``v`` | bit ``v``), all targets
    lying in later generations. Each generation is one vectorised ``bitwise_or.reduceat``;
    memory is :math:`N^2/8` bytes (0.5 MB for 2,000 nodes). A cycle raises
    :class:`~pyg_nar.data.ArchitectureError` naming a node on it.
    """
    gen = (topological_generations(edge_index, num_nodes, name) if node_gen is None
           else node_gen).cpu().numpy()
    ei = edge_index.detach().cpu().numpy().astype(np.int64, copy=False)
    width = (num_nodes + 7) // 8
    reach = np.zeros((num_nodes, width), dtype=np.uint8)
    if ei.size == 0:
        return reach
    # bit of each node in its own row position
    own_byte = np.arange(num_nodes) >> 3
    own_bit = (np.uint8(128) >> (np.arange(num_nodes) & 7).astype(np.uint8)).astype(np.uint8)
    # edges grouped by the generation of their source, then by source
    src, dst = ei[0], ei[1]
    order = np.lexsort((src, gen[src]))
    src, dst = src[order], dst[order]
    src_gen = gen[src]
    num_gen = int(gen.max()) + 1
    gptr = np.searchsorted(src_gen, np.arange(num_gen + 1))
    for g in range(num_gen - 1, -1, -1):
        lo, hi = gptr[g], gptr[g + 1]
        if lo == hi:
            continue
        s, d = src[lo:hi], dst[lo:hi]
        rows = reach[d]                                          # targets are already final
        rows[np.arange(d.size), own_byte[d]] |= own_bit[d]
        starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
        reach[s[starts]] = np.bitwise_or.reduceat(rows, starts, axis=0)
    return reach


def flow_pairs(edge_index: Tensor, num_nodes: int, name: str = "architecture",
               node_gen: Tensor | None = None) -> Tensor:
    r"""All ordered pairs ``(u, v)`` joined by a directed path in either direction, plus
    ``(v, v)`` for every node, as a ``[2, P]`` long tensor sorted by ``u`` then ``v``."""
    reach = descendants_bitsets(edge_index, num_nodes, name, node_gen)
    closure = np.unpackbits(reach, axis=1, count=num_nodes).view(bool)
    mask = closure | closure.T
    np.fill_diagonal(mask, True)
    return torch.from_numpy(mask).nonzero().t().contiguous()


class FlowMask(BaseTransform):
    r"""Adds ``flow_index`` ``[2, P]``: every ordered pair ``(u, v)`` such that a directed path
    joins ``u`` and ``v`` in either direction, plus ``(v, v)`` for every node - FlowerFormer's
    flow-aware attention mask (each node attends to its ancestors, its descendants and itself).

    That is the DAG's transitive closure made undirected (the DAGformer convention that
    FlowerFormer follows) with self pairs added; pairs are sorted by ``u`` then ``v``.
    Computed with :func:`descendants_bitsets` (reuses ``node_gen`` when
    :class:`TopologicalGenerations` ran first). The name ends in ``_index``, so PyG batching
    offsets it like ``edge_index``. A cyclic graph raises
    :class:`~pyg_nar.data.ArchitectureError`.
    """

    def forward(self, data: Data) -> Data:
        n = num_nodes_of(data, "FlowMask")
        ei = edge_index_of(data, "FlowMask")
        gen = getattr(data, "node_gen", None)
        if gen is not None and gen.numel() != n:
            gen = None
        data.flow_index = flow_pairs(ei, n, arch_name(data), gen)
        return data
