from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.utils import scatter, softmax

from pyg_nar.nn.flow_schedule import FlowSchedule, flow_schedule

__all__ = ["FlowMessagePassing"]


def gru_update(gi: Tensor, gh: Tensor, h: Tensor) -> Tensor:
    r"""The update of :class:`torch.nn.GRUCell` from its two projections, computed outside:
    ``gru_update(F.linear(x, w_ih, b_ih), F.linear(h, w_hh, b_hh), h) == GRUCell(x, h)``
    (gate order ``r | z | n``, as PyTorch's).

    .. math::
        r, z = \sigma(g_i^{rz} + g_h^{rz}), \qquad
        n = \tanh(g_i^{n} + r \odot g_h^{n}), \qquad h' = (1 - z) \odot n + z \odot h

    :class:`FlowMessagePassing` projects the input half of every node in one matmul per flow
    (instead of one per generation step) and skips the hidden matmul where :math:`h = 0`.

    The result has ``h``'s dtype: under mixed-precision autocast the projections are bf16 /
    fp16 and the recurrent state stays float32.
    """
    d = h.size(-1)
    rz = torch.sigmoid(gi[:, :2 * d] + gh[:, :2 * d])
    cand = torch.tanh(torch.addcmul(gi[:, 2 * d:], rz[:, :d], gh[:, 2 * d:]))
    return torch.lerp(cand.to(h.dtype), h, rz[:, d:].to(h.dtype))


class FlowMessagePassing(nn.Module):
    r"""The bidirectional asynchronous message passing (the *flow encode module*) of
    `"FlowerFormer: Empowering Neural Architecture Encoding using a Flow-aware Graph
    Transformer" <https://arxiv.org/abs/2403.12821>`_ (Sec. 4.1, Eqs. (1)-(4)).

    With :math:`\mathbf{h}^{in}` the layer input, the forward flow visits the topological
    generations in order and sets

    .. math::
        \mathbf{m}_i &= \sum_{j \to i} \mathrm{softmax}_j\big(\mathbf{w}^\top
        [\mathbf{h}^{in}_i \,\Vert\, \mathbf{h}^f_j] + b\big)\, \mathbf{h}^f_j \\
        \mathbf{h}^f_i &= \mathrm{GRUCell}(\mathbf{h}^{in}_i, \mathbf{m}_i),

    reading the predecessors' *already updated* states :math:`\mathbf{h}^f_j` (sources:
    :math:`\mathbf{m}_i = \mathbf{0}`). The backward flow does the same over the reversed
    graph, in reverse generation order (sinks first), with its own parameters and
    :math:`\mathbf{h}^f` as its input; the output is :math:`\mathrm{ReLU}(\mathbf{h}^b)`, as in
    the official ``one_cell/async_mpnn.py`` (flow type ``fnb``).

    Batched: one step per generation for the whole batch, so a call takes
    :attr:`FlowSchedule.num_steps` :math:`= 2G` Python-level steps (in the order of
    :attr:`FlowSchedule.steps`), :math:`G` the largest number of generations in the batch,
    however many graphs it holds. The grouping by generation is computed by
    :func:`~pyg_nar.nn.flow_schedule`, once per model forward if passed as ``schedule``.

    Equivalents: each step equals :class:`torch.nn.GRUCell` (``gru_forward``,
    ``gru_backward``) applied to the step's nodes, the GRU's gates being inlined
    (:func:`gru_update`) so that its input projection runs once per flow rather than once
    per step; the message is :func:`torch_geometric.utils.softmax` weighting with
    :func:`torch_geometric.utils.scatter` (``tests/nn/test_flow_message_passing.py``
    compares both with a per-generation reference built from those modules).

    Faithfulness: the official key adds a learned embedding of a single constant edge type,
    which shifts every edge score by the same amount and so cannot change the output; it is
    left out. For the same reason the target term :math:`\mathbf{w}_{dst}^\top
    \mathbf{h}^{in}_i + b` of the score is the same for all edges into node :math:`i` and
    cancels in their softmax: the parameters are kept (``score_*`` is the paper's
    ``Linear(2d, 1)``; its target half always gets a zero gradient, its bias none) but the
    term is not computed. The outputs are exactly the paper's.

    Args:
        channels (int): node feature size :math:`d` (input = output).
        dropout (float, optional): dropout on the input of each flow (the official
            ``DAGLayer`` dropout; 0 in the paper's configurations). (default: :obj:`0.0`)

    Shapes:
        - **input:** node features :math:`(N, d)`, and either edge indices
          :math:`(2, E)` and node generations :math:`(N)` or a :class:`FlowSchedule`
        - **output:** node features :math:`(N, d)`
    """

    def __init__(self, channels: int, dropout: float = 0.0):
        super().__init__()
        self.channels = channels
        self.dropout = dropout
        self.gru_forward = nn.GRUCell(channels, channels)
        self.score_forward = nn.Linear(2 * channels, 1)
        self.gru_backward = nn.GRUCell(channels, channels)
        self.score_backward = nn.Linear(2 * channels, 1)

    def reset_parameters(self) -> None:
        for m in (self.gru_forward, self.score_forward, self.gru_backward, self.score_backward):
            m.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor | None = None, node_gen: Tensor | None = None, *,
                schedule: FlowSchedule | None = None, presorted: bool = False) -> Tensor:
        r"""Pass either ``edge_index`` :math:`(2, E)` and ``node_gen`` :math:`(N)` (the
        schedule is computed here) or a precomputed ``schedule``, which already holds the
        graph (to share it between layers).

        ``presorted=True`` (with a ``schedule``): ``x`` is already in the schedule's
        generation order (``x[schedule.perm]``) and the output stays in it, which saves two
        gathers per layer when a model keeps its node states in that order
        (:class:`~pyg_nar.models.FlowerFormer` does).
        """
        _, h_b, schedule = self._states(x, edge_index, node_gen, schedule, presorted)
        return h_b.relu() if presorted else h_b.relu().index_select(0, schedule.pos)

    def flow_states(self, x: Tensor, edge_index: Tensor | None = None, node_gen: Tensor | None = None, *,
                    schedule: FlowSchedule | None = None) -> tuple[Tensor, Tensor]:
        r"""The forward-flow states :math:`\mathbf{h}^f` and backward-flow states
        :math:`\mathbf{h}^b` (before the ReLU), :math:`(N, d)` each, in node order; the
        graph is given as to :meth:`forward`."""
        h_f, h_b, schedule = self._states(x, edge_index, node_gen, schedule)
        return h_f.index_select(0, schedule.pos), h_b.index_select(0, schedule.pos)

    def _schedule(self, x: Tensor, edge_index: Tensor | None, node_gen: Tensor | None,
                  schedule: FlowSchedule | None, presorted: bool) -> FlowSchedule:
        if x.dim() != 2 or x.size(1) != self.channels:
            raise ValueError(f"FlowMessagePassing: x must have shape [N, {self.channels}], got {tuple(x.shape)}")
        if schedule is None:
            if presorted:
                raise ValueError("FlowMessagePassing: presorted=True needs the schedule that sorted x")
            if edge_index is None or node_gen is None:
                raise ValueError("FlowMessagePassing: pass edge_index and node_gen, or a schedule")
            return flow_schedule(edge_index, node_gen, x.size(0))
        if edge_index is not None or node_gen is not None:
            raise ValueError("FlowMessagePassing: pass edge_index and node_gen or a schedule, not "
                             "both (the schedule already holds the graph)")
        if schedule.pos.numel() != x.size(0):
            raise ValueError(f"FlowMessagePassing: the schedule has {schedule.pos.numel()} nodes, "
                             f"x has {x.size(0)}")
        return schedule

    def _states(self, x, edge_index, node_gen, schedule, presorted=False):
        schedule = self._schedule(x, edge_index, node_gen, schedule, presorted)
        h_in = F.dropout(x if presorted else x.index_select(0, schedule.perm), self.dropout, self.training)
        h_f = self._flow(h_in, self.gru_forward, self.score_forward, schedule, "forward")
        h_f = F.dropout(h_f, self.dropout, self.training)
        h_b = self._flow(h_f, self.gru_backward, self.score_backward, schedule, "backward")
        return h_f, h_b, schedule

    def _flow(self, h_in: Tensor, gru: nn.GRUCell, score: nn.Linear, schedule: FlowSchedule,
              direction: str) -> Tensor:
        """One direction: states are written generation by generation into a buffer, so a
        step reads only states that are final. ``h_in`` is in generation-sorted order."""
        d = self.channels
        gi = F.linear(h_in, gru.weight_ih, gru.bias_ih)  # the GRU's input half, for all nodes at once
        w_src = score.weight.view(-1)[d:]  # the target half of the score cancels in the softmax
        groups = schedule.forward_groups if direction == "forward" else schedule.backward_groups
        bounds = schedule.bounds
        state = h_in.new_zeros(h_in.shape)
        for g in schedule.generations(direction):
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
            state[lo:hi] = gru_update(gi[lo:hi], gh, msg)
        return state

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.channels}, dropout={self.dropout})"
