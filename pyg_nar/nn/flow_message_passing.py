"""Bidirectional asynchronous message passing (FlowerFormer's flow encode module).

FlowerFormer (Hwang et al., CVPR 2024), Sec. 4.1, Eqs. (1)-(4). With ``h_in`` the layer
input, the **forward flow** visits the topological generations in order and sets

.. math::
    m_i = \\sum_{j \\to i} \\mathrm{softmax}_j\\big(w^\\top [h^{in}_i \\,\\|\\, h^f_j] + b\\big)\\, h^f_j,
    \\qquad h^f_i = \\mathrm{GRUCell}(h^{in}_i, m_i),

reading the predecessors' *already updated* states :math:`h^f_j` (sources: :math:`m_i = 0`).
The **backward flow** does the same over the reversed graph, in reverse generation order
(sinks first), with :math:`h^f` as its input; the output is :math:`\\mathrm{ReLU}(h^b)`, as in
the official ``one_cell/async_mpnn.py`` (flow type ``fnb``).

Batched: one step per generation index for the whole batch, so a layer takes exactly
``2 * depth`` Python-level steps, ``depth`` the largest number of generations in the batch,
however many graphs the batch holds (:attr:`FlowMessagePassing.num_steps` counts them).
The grouping of nodes and edges by generation is computed once per model forward by
:func:`flow_schedule` and shared by all layers.

Notes on faithfulness:

* The official key adds a learned edge embedding of a single constant edge type
  (``DummyEdge`` -> ``Linear``). It shifts every edge's score by the same amount, which the
  softmax removes, so it can never change the output and is left out here.
* For the same reason the target term :math:`w_{dst}^\\top h^{in}_i + b` of the paper's score
  :math:`w^\\top [h^{in}_i \\| h^f_j] + b` is the same for all incoming edges of node ``i``
  and cancels in their softmax. The parameters are kept (``score_*`` is the paper's
  ``Linear(2d, 1)``; their target half always gets a zero gradient) but the term is not
  computed, which saves a gather per step; the outputs are exactly the paper's.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.utils import scatter, softmax

__all__ = ["FlowSchedule", "flow_schedule", "FlowMessagePassing"]


class FlowSchedule(NamedTuple):
    """Nodes and edges of a batch grouped by topological generation (see :func:`flow_schedule`).

    Nodes are reordered by generation (``perm``: sorted position -> node; ``pos``: node ->
    sorted position), so generation ``g`` is the contiguous slice ``bounds[g]:bounds[g + 1]``.
    ``forward_groups[g]`` = (sorted positions of the sources, sorted positions of the targets,
    rank of the target inside generation ``g``, ``one_each``) of the edges *into* generation
    ``g``, ordered by target; ``backward_groups[g]`` the same for the reversed edges *out of*
    generation ``g``. ``one_each`` is ``True`` when every node of the generation aggregates
    exactly one edge: its softmax weight is exactly 1, so the message is the source state
    itself and the step skips the softmax and the scatter (same values, same gradients).
    """

    perm: Tensor
    pos: Tensor
    bounds: list[int]
    forward_groups: list[tuple[Tensor, Tensor, Tensor, bool]]
    backward_groups: list[tuple[Tensor, Tensor, Tensor, bool]]

    @property
    def depth(self) -> int:
        """Number of generations (the longest path, in nodes)."""
        return len(self.bounds) - 1


def flow_schedule(edge_index: Tensor, node_gen: Tensor, num_nodes: int | None = None) -> FlowSchedule:
    """Group the nodes and edges of a (batched) DAG by topological generation, once.

    Args:
        edge_index: ``[2, E]`` directed edges ``source -> target``.
        node_gen: ``[N]`` generation of every node (sources 0), as added by
            ``pyg_nar.transforms.TopologicalGenerations``.
        num_nodes: ``N`` (defaults to ``node_gen.numel()``).

    Raises ``ValueError`` naming an edge whose generations do not increase (a ``node_gen``
    that does not belong to this ``edge_index``).
    """
    n = node_gen.numel() if num_nodes is None else int(num_nodes)
    if node_gen.dim() != 1 or node_gen.numel() != n:
        raise ValueError(f"flow_schedule: node_gen must have shape [{n}], got {tuple(node_gen.shape)}")
    if n == 0:
        raise ValueError("flow_schedule: the batch has no nodes")
    node_gen = node_gen.long()
    src, dst = edge_index[0], edge_index[1]
    if edge_index.numel():
        bad = node_gen[src] >= node_gen[dst]
        if bool(bad.any()):
            k = int(bad.nonzero()[0])
            s, d = int(src[k]), int(dst[k])
            raise ValueError(
                f"flow_schedule: edge {s} -> {d} goes from generation {int(node_gen[s])} to "
                f"generation {int(node_gen[d])}; node_gen does not match edge_index "
                f"(recompute it with TopologicalGenerations)")
    if int(node_gen.min()) < 0:
        raise ValueError("flow_schedule: node_gen has a negative generation")
    depth = int(node_gen.max()) + 1
    counts = torch.bincount(node_gen, minlength=depth)
    bounds_t = torch.zeros(depth + 1, dtype=torch.long, device=node_gen.device)
    bounds_t[1:] = counts.cumsum(0)
    perm = torch.argsort(node_gen, stable=True)
    pos = torch.empty_like(perm)
    pos[perm] = torch.arange(n, device=perm.device)
    rank = pos - bounds_t[node_gen]

    node_counts = counts.tolist()

    def groups(key: Tensor, a: Tensor, b: Tensor) -> list[tuple[Tensor, Tensor, Tensor, bool]]:
        # Edges grouped by the generation `key` of the aggregating node `b` (sorting by b's
        # sorted position sorts by generation, then rank); messages come from `a`.
        pb = pos[b]
        order = torch.argsort(pb, stable=True)
        pb, key = pb[order], key[order]
        sizes = torch.bincount(key, minlength=depth).tolist()
        repeated = torch.bincount(key[1:][pb[1:] == pb[:-1]], minlength=depth).tolist()
        one_each = [s == c and r == 0 for s, c, r in zip(sizes, node_counts, repeated)]
        return list(zip(pos[a][order].split(sizes), pb.split(sizes), rank[b][order].split(sizes),
                        one_each))

    return FlowSchedule(
        perm=perm,
        pos=pos,
        bounds=bounds_t.tolist(),
        forward_groups=groups(node_gen[dst], src, dst),
        backward_groups=groups(node_gen[src], dst, src),
    )


class FlowMessagePassing(nn.Module):
    """Bidirectional asynchronous message passing (FlowerFormer Eqs. (1)-(4), see module doc).

    Args:
        channels: node feature size ``d`` (input = output).
        dropout: dropout on the input of each flow (the official ``DAGLayer`` dropout; 0 in
            the paper configurations).

    Shapes: ``forward(x [N, d], edge_index [2, E], node_gen [N], edge_gen [E] = None,
    schedule = None) -> [N, d]``. Pass a precomputed :func:`flow_schedule` to share it
    between layers; ``edge_gen`` is accepted for symmetry with the transforms' fields
    (generations of the edges' targets) and is checked against ``node_gen`` when given.
    """

    def __init__(self, channels: int, dropout: float = 0.0):
        super().__init__()
        self.channels = channels
        self.dropout = dropout
        self.gru_forward = nn.GRUCell(channels, channels)
        self.score_forward = nn.Linear(2 * channels, 1)
        self.gru_backward = nn.GRUCell(channels, channels)
        self.score_backward = nn.Linear(2 * channels, 1)
        #: ``(direction, generation)`` of every step of the last call, in the order taken.
        self.visited: list[tuple[str, int]] = []

    def reset_parameters(self) -> None:
        for m in (self.gru_forward, self.score_forward, self.gru_backward, self.score_backward):
            m.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, node_gen: Tensor, edge_gen: Tensor | None = None,
                schedule: FlowSchedule | None = None, presorted: bool = False) -> Tensor:
        """``presorted=True``: ``x`` is already in the schedule's generation order
        (``x[schedule.perm]``) and the output stays in it, which saves two gathers per layer
        when a model keeps its node states in that order (``FlowerFormer`` does)."""
        if presorted and schedule is None:
            raise ValueError("FlowMessagePassing: presorted=True needs the schedule that sorted x")
        _, h_b, schedule = self._states(x, edge_index, node_gen, edge_gen, schedule, presorted)
        return h_b.relu() if presorted else h_b.relu().index_select(0, schedule.pos)

    def flow_states(self, x: Tensor, edge_index: Tensor, node_gen: Tensor, edge_gen: Tensor | None = None,
                    schedule: FlowSchedule | None = None) -> tuple[Tensor, Tensor]:
        """The forward-flow states ``h^f`` and backward-flow states ``h^b`` (before the ReLU),
        ``[N, d]`` each, in node order."""
        h_f, h_b, schedule = self._states(x, edge_index, node_gen, edge_gen, schedule)
        return h_f.index_select(0, schedule.pos), h_b.index_select(0, schedule.pos)

    def _states(self, x, edge_index, node_gen, edge_gen, schedule, presorted=False):
        if x.dim() != 2 or x.size(1) != self.channels:
            raise ValueError(f"FlowMessagePassing: x must have shape [N, {self.channels}], got {tuple(x.shape)}")
        if edge_gen is not None and edge_gen.numel() != edge_index.size(1):
            raise ValueError(f"FlowMessagePassing: edge_gen has {edge_gen.numel()} entries for "
                             f"{edge_index.size(1)} edges")
        if schedule is None:
            schedule = flow_schedule(edge_index, node_gen, x.size(0))
            if edge_gen is not None and edge_gen.numel() and not torch.equal(
                    edge_gen.long(), node_gen.long()[edge_index[1]]):
                raise ValueError("FlowMessagePassing: edge_gen is not the generation of each edge's target")
        self.visited = []
        h_in = F.dropout(x if presorted else x.index_select(0, schedule.perm), self.dropout, self.training)
        depth = schedule.depth
        h_f = self._flow(h_in, self.gru_forward, self.score_forward, schedule.forward_groups,
                         schedule.bounds, range(depth), "forward")
        h_f = F.dropout(h_f, self.dropout, self.training)
        h_b = self._flow(h_f, self.gru_backward, self.score_backward, schedule.backward_groups,
                         schedule.bounds, range(depth - 1, -1, -1), "backward")
        return h_f, h_b, schedule

    @property
    def num_steps(self) -> int:
        """Python-level generation steps taken by the last call (``2 * depth``)."""
        return len(self.visited)

    def _flow(self, h_in: Tensor, gru: nn.GRUCell, score: nn.Linear, groups, bounds, gens,
              direction: str) -> Tensor:
        """One direction: states are written generation by generation into a buffer, so a
        step reads only states that are final. ``h_in`` is in generation-sorted order."""
        d = self.channels
        gi = F.linear(h_in, gru.weight_ih, gru.bias_ih)  # the GRU's input half, for all nodes at once
        w_src = score.weight.view(-1)[d:]  # the target half of the score cancels in the softmax
        state = h_in.new_zeros(h_in.shape)
        for g in gens:
            lo, hi = bounds[g], bounds[g + 1]
            src, _, rank, one_each = groups[g]
            n = hi - lo
            if one_each:  # one edge per node, in node order: softmax weight exactly 1
                msg = state.index_select(0, src)
                gh = F.linear(msg, gru.weight_hh, gru.bias_hh)
            elif src.numel():
                h_src = state.index_select(0, src)
                alpha = softmax(h_src @ w_src, rank, num_nodes=n)
                msg = scatter(h_src * alpha.unsqueeze(-1), rank, 0, dim_size=n, reduce="sum")
                gh = F.linear(msg, gru.weight_hh, gru.bias_hh)
            else:  # every node of this generation starts a flow: GRUCell(h_in, 0)
                msg = h_in.new_zeros(n, d)
                gh = gru.bias_hh.expand(n, 3 * d)
            gi_g = gi[lo:hi]
            rz = torch.sigmoid(gi_g[:, :2 * d] + gh[:, :2 * d])
            cand = torch.tanh(torch.addcmul(gi_g[:, 2 * d:], rz[:, :d], gh[:, 2 * d:]))
            state[lo:hi] = torch.lerp(cand, msg, rz[:, d:])  # GRU: (1 - z) * n + z * h, h = msg
            self.visited.append((direction, g))
        return state

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.channels}, dropout={self.dropout})"
