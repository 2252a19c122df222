from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from torch_geometric.utils import scatter

from pyg_nar.errors import ArchitectureError

__all__ = ["FlowSchedule", "flow_schedule"]

#: ``(sources, targets, target ranks, one_each)`` of the edges one flow step aggregates.
EdgeGroup = tuple[Tensor, Tensor, Tensor, bool]


class FlowSchedule(NamedTuple):
    r"""The nodes and edges of a (batched) DAG grouped by topological generation, as the
    asynchronous message passing of `"FlowerFormer: Empowering Neural Architecture Encoding
    using a Flow-aware Graph Transformer" <https://arxiv.org/abs/2403.12821>`_ (Sec. 4.1)
    visits them; built once per batch by :func:`flow_schedule` and shared by every
    :class:`~pyg_nar.nn.FlowMessagePassing` layer.

    With the generation of a node

    .. math::
        \mathrm{gen}(i) = \begin{cases} 0 & \text{if } i \text{ has no predecessor} \\
        1 + \max_{j \to i} \mathrm{gen}(j) & \text{otherwise,} \end{cases}

    the nodes are reordered by generation, so generation :math:`g` is the contiguous slice
    ``bounds[g]:bounds[g + 1]`` of the sorted order. The forward flow takes one step per
    generation :math:`g = 0, \dots, G - 1`, aggregating the edges *into* generation :math:`g`;
    the backward flow one step per generation :math:`g = G - 1, \dots, 0`, aggregating the
    reversed edges *out of* it (:attr:`steps`).

    Args:
        perm (torch.Tensor): sorted position :math:`\to` node.
        pos (torch.Tensor): node :math:`\to` sorted position (the inverse of ``perm``).
        bounds (list[int]): start of every generation in the sorted order, and :math:`N`.
        forward_groups (list[tuple]): for every generation :math:`g`, the edges into it,
            ordered by target: ``(sorted positions of the sources, sorted positions of the
            targets, rank of the target inside generation g, one_each)``. ``one_each`` is
            ``True`` when every node of the generation aggregates exactly one edge: its
            softmax weight is exactly 1, so a step may skip the softmax and the scatter.
        backward_groups (list[tuple]): the same for the reversed edges out of generation
            :math:`g`.

    Shapes:
        - **perm, pos:** :math:`(N)`
        - **bounds:** :math:`G + 1` integers
        - **forward_groups, backward_groups:** :math:`G` groups; the tensors of group
          :math:`g` have one entry per edge of the group
    """

    perm: Tensor
    pos: Tensor
    bounds: list[int]
    forward_groups: list[EdgeGroup]
    backward_groups: list[EdgeGroup]

    @property
    def depth(self) -> int:
        """Number of generations :math:`G` (the longest path, in nodes)."""
        return len(self.bounds) - 1

    def generations(self, direction: str) -> range:
        """The generations a flow visits, in order: ``0..G-1`` for ``"forward"``,
        ``G-1..0`` for ``"backward"``."""
        if direction == "forward":
            return range(self.depth)
        if direction == "backward":
            return range(self.depth - 1, -1, -1)
        raise ValueError(f"FlowSchedule: direction must be 'forward' or 'backward', got {direction!r}")

    @property
    def steps(self) -> list[tuple[str, int]]:
        """``(direction, generation)`` of every step a :class:`~pyg_nar.nn.FlowMessagePassing`
        layer takes over this schedule, in the order it takes them."""
        return [(d, g) for d in ("forward", "backward") for g in self.generations(d)]

    @property
    def num_steps(self) -> int:
        """Python-level steps of one :class:`~pyg_nar.nn.FlowMessagePassing` call:
        :math:`2G`, however many graphs the batch holds."""
        return 2 * self.depth


def flow_schedule(edge_index: Tensor, node_gen: Tensor, num_nodes: int | None = None) -> FlowSchedule:
    r"""Groups the nodes and edges of a (batched) DAG by topological generation, once
    (see :class:`FlowSchedule`).

    Args:
        edge_index (torch.Tensor): directed edges ``source -> target``, :math:`(2, E)`.
        node_gen (torch.Tensor): generation of every node (sources 0), :math:`(N)`, as added
            by :class:`pyg_nar.transforms.TopologicalGenerations`.
        num_nodes (int, optional): :math:`N` (default: ``node_gen.numel()``).

    Raises :class:`~pyg_nar.errors.ArchitectureError` naming an edge whose generations do not
    increase (a ``node_gen`` that does not belong to this ``edge_index``).

    On a GPU it waits for the device twice (its checks and the depth; then all group sizes,
    which the host needs to slice the generations), however many generations and graphs
    the batch holds.
    """
    n = node_gen.numel() if num_nodes is None else int(num_nodes)
    if node_gen.dim() != 1 or node_gen.numel() != n:
        raise ValueError(f"flow_schedule: node_gen must have shape [{n}], got {tuple(node_gen.shape)}")
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"flow_schedule: edge_index must have shape [2, E], got {tuple(edge_index.shape)}")
    if n == 0:
        raise ArchitectureError("flow_schedule: the batch has no nodes")
    node_gen = node_gen.long()
    src, dst = edge_index[0], edge_index[1]
    # One wait for the device for the checks and the depth, one for all the group sizes: the
    # host needs them to slice the generations (the loop over generations runs in Python).
    bad = node_gen[src] >= node_gen[dst]
    lowest, highest, any_bad = torch.stack([node_gen.min(), node_gen.max(),
                                            bad.any().long()]).tolist()
    if any_bad:
        k = int(bad.nonzero()[0])
        s, d = int(src[k]), int(dst[k])
        raise ArchitectureError(
            f"flow_schedule: edge {s} -> {d} goes from generation {int(node_gen[s])} to "
            f"generation {int(node_gen[d])}; node_gen does not match edge_index "
            f"(recompute it with TopologicalGenerations)")
    if lowest < 0:
        raise ArchitectureError("flow_schedule: node_gen has a negative generation")
    depth = highest + 1
    perm = torch.argsort(node_gen, stable=True)
    pos = torch.empty_like(perm)
    pos[perm] = torch.arange(n, device=perm.device)

    def per_generation(key: Tensor, values: Tensor | None = None) -> Tensor:
        # counts by generation, as a scatter (torch.bincount would wait for the device)
        values = torch.ones_like(key) if values is None else values.long()
        return scatter(values, key, 0, dim_size=depth, reduce="sum")

    def sorted_by_aggregator(key: Tensor, b: Tensor):
        # Edges grouped by the generation `key` of the aggregating node `b` (sorting by b's
        # sorted position sorts by generation, then rank).
        pb = pos[b]
        order = torch.argsort(pb, stable=True)
        pb, key = pb[order], key[order]
        return order, pb, per_generation(key), per_generation(key[1:], pb[1:] == pb[:-1])

    forward_edges = sorted_by_aggregator(node_gen[dst], dst)
    backward_edges = sorted_by_aggregator(node_gen[src], src)
    counts = per_generation(node_gen)
    sizes = torch.stack([counts, *forward_edges[2:], *backward_edges[2:]]).tolist()
    node_counts = sizes[0]
    bounds = [0]
    for c in node_counts:
        bounds.append(bounds[-1] + c)
    first = torch.tensor(bounds[:-1], device=node_gen.device)
    rank = pos - first[node_gen]

    def groups(edges, a: Tensor, b: Tensor, edge_sizes: list[int], repeated: list[int]) -> list[EdgeGroup]:
        # messages come from `a`; `one_each`: every node of the generation aggregates one edge
        order, pb = edges[0], edges[1]
        one_each = [e == c and r == 0 for e, c, r in zip(edge_sizes, node_counts, repeated)]
        return list(zip(pos[a][order].split(edge_sizes), pb.split(edge_sizes),
                        rank[b][order].split(edge_sizes), one_each))

    return FlowSchedule(
        perm=perm,
        pos=pos,
        bounds=bounds,
        forward_groups=groups(forward_edges, src, dst, sizes[1], sizes[2]),
        backward_groups=groups(backward_edges, dst, src, sizes[3], sizes[4]),
    )
