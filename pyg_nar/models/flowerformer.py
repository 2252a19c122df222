"""FlowerFormer (Hwang et al., CVPR 2024): a flow-aware graph transformer predictor.

Per layer (paper Sec. 4, official ``one_cell/flowerformer.py``)::

    h_flow = Norm(h + FlowMessagePassing(h))            # Eqs. (1)-(4)
    h_glob = Norm(h + Dropout(FlowAttention(h)))         # Eq. (5)
    s      = h_flow + h_glob
    h      = Norm(s + FFN(s)),   FFN: d -> 2d -> d, ReLU

Input: one-hot ``op`` -> pre-MP ``L2Normalize(ReLU(BN(Linear(one_hot, bias=False))))`` (the
graphgym ``GNNPreMP`` the official code builds). Readout: ``global_mean_pool`` -> ``Linear``.
Norm is :class:`torch.nn.BatchNorm1d` over all nodes of the batch, as in the official code
(so in training mode a graph's output depends on the rest of its batch; in eval mode, with
running statistics, it does not).

Needs the fields of ``pyg_nar.transforms.TopologicalGenerations`` (``node_gen``) and
``FlowMask`` (``flow_index``).

Parameters: the paper configuration (9 layers, d = 64, 7 NB201 ops) has 752,915, the
official code reports 901,587. The 148,672 difference is parameters that cannot influence
the output (counted in ``tests/test_flowerformer.py``): the unused ``to_tqk`` projection of
every attention layer (9 x 8,192), and the constant-edge-type embedding (64) and its per-flow
projection (2 x 9 x 4,160) whose contribution to every edge score is the same constant, which
the softmax removes.
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import global_mean_pool

from pyg_nar.models.base import Predictor
from pyg_nar.models.common import OutputMap, check_ops, require_field, resolve_output
from pyg_nar.models.registry import register_model
from pyg_nar.nn import FlowAttention, FlowMessagePassing, FlowSchedule, flow_schedule

__all__ = ["FlowerFormer", "FlowerFormerLayer"]

_OUTPUTS = ("linear", "neg_logsigmoid", "exp")


class FlowerFormerLayer(nn.Module):
    r"""One FlowerFormer layer (see :class:`FlowerFormer` for the equations): the flow
    encoder (:class:`~pyg_nar.nn.FlowMessagePassing`) and the flow-aware attention
    (:class:`~pyg_nar.nn.FlowAttention`), each with a residual and batch norm, summed, then an
    FFN ``d -> 2d -> d`` (ReLU, dropout) with a residual and batch norm.

    Args:
        channels (int): width :math:`d`.
        heads (int, optional): attention heads. (default: :obj:`8`)
        dropout (float, optional): dropout after both branches and in the FFN.
            (default: :obj:`0.0`)
        attn_dropout (float, optional): dropout on the attention weights. (default: :obj:`0.5`)

    Shapes:
        - **input:** ``h`` :math:`[N, d]`, ``edge_index`` :math:`[2, E]`, ``node_gen``
          :math:`[N]`, ``flow_index`` :math:`[2, P]`
        - **output:** :math:`[N, d]`
    """

    def __init__(self, channels: int, heads: int = 8, dropout: float = 0.0, attn_dropout: float = 0.5):
        super().__init__()
        self.flow = FlowMessagePassing(channels, dropout=dropout)
        self.attn = FlowAttention(channels, heads=heads, attn_dropout=attn_dropout)
        self.norm_flow = nn.BatchNorm1d(channels)
        self.norm_attn = nn.BatchNorm1d(channels)
        self.ffn = nn.Sequential(nn.Linear(channels, 2 * channels), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(2 * channels, channels), nn.Dropout(dropout))
        self.norm_out = nn.BatchNorm1d(channels)
        self.dropout = dropout

    def forward(self, h: Tensor, edge_index: Tensor, node_gen: Tensor, flow_index: Tensor,
                schedule: FlowSchedule | None = None) -> Tensor:
        """With a ``schedule``, ``h`` and ``flow_index`` are in its generation order."""
        if schedule is None:
            h_flow = self.flow(h, edge_index, node_gen)
        else:
            h_flow = self.flow(h, schedule=schedule, presorted=True)
        h_flow = self.norm_flow(h + F.dropout(h_flow, self.dropout, self.training))
        h_glob = self.attn(h, flow_index)
        h_glob = self.norm_attn(h + F.dropout(h_glob, self.dropout, self.training))
        s = h_flow + h_glob
        return self.norm_out(s + self.ffn(s))


@register_model
class FlowerFormer(Predictor):
    r"""The FlowerFormer accuracy predictor from the `"FlowerFormer: Empowering Neural
    Architecture Encoding using a Flow-aware Graph Transformer"
    <https://arxiv.org/abs/2403.12821>`_ paper (CVPR 2024, Sec. 4).

    The one-hot operation becomes :math:`\mathbf{h}^{(0)} = \ell_2(\mathrm{ReLU}(\mathrm{BN}
    (\mathbf{W}\,\mathrm{onehot}(\mathrm{op}))))`; each of the ``num_layers``
    :class:`FlowerFormerLayer` s computes (BN over all nodes of the batch)

    .. math::
        \mathbf{h}_{flow} &= \mathrm{BN}(\mathbf{h} + \mathrm{FlowMP}(\mathbf{h}))
        \qquad \text{(Eqs. 1-4, asynchronous forward then backward flow)} \\
        \mathbf{h}_{glob} &= \mathrm{BN}(\mathbf{h} + \mathrm{FlowAttn}(\mathbf{h}))
        \qquad \text{(Eq. 5, attention over ancestor / descendant pairs)} \\
        \mathbf{h} &\leftarrow \mathrm{BN}(\mathbf{s} + \mathrm{FFN}(\mathbf{s})),
        \quad \mathbf{s} = \mathbf{h}_{flow} + \mathbf{h}_{glob}

    and the readout is :math:`\hat y = g(\mathbf{w}^\top \mathrm{mean}_{v}\,\mathbf{h}_v + b)`
    with :math:`g` the identity (the paper: a ranking score) or :math:`-\log\sigma`
    (a positive latency, as NNLQP's and NAR-Former V2's heads).

    Args:
        num_ops (int): size of the operation vocabulary (``len(dataset.op_vocab)``; 7 on NB201).
        channels (int, optional): hidden size :math:`d`. (default: :obj:`64`, NB101/NB201)
        num_layers (int, optional): number of layers. (default: :obj:`9`, NB101/NB201)
        heads (int, optional): attention heads. (default: :obj:`8`)
        dropout (float, optional): dropout after the flow encoder, the attention and in the
            FFN. (default: :obj:`0.0`, official)
        attn_dropout (float, optional): dropout on the attention weights.
            (default: :obj:`0.5`, official)
        output (str, optional): ``"linear"``, ``"neg_logsigmoid"`` or ``"exp"``.
            (default: :obj:`"linear"`)

    Shapes:
        - **input:** a batch with ``op`` :math:`[N]`, ``edge_index`` :math:`[2, E]`,
          ``node_gen`` :math:`[N]` (:class:`~pyg_nar.transforms.TopologicalGenerations`) and
          ``flow_index`` :math:`[2, P]` (:class:`~pyg_nar.transforms.FlowMask`)
        - **output:** :math:`[B]`
    """

    def __init__(self, num_ops: int, channels: int = 64, num_layers: int = 9, heads: int = 8,
                 dropout: float = 0.0, attn_dropout: float = 0.5, output: str = "linear"):
        super().__init__()
        self.num_ops = num_ops
        self.pre_lin = nn.Linear(num_ops, channels, bias=False)
        self.pre_norm = nn.BatchNorm1d(channels)
        self.layers = nn.ModuleList(
            FlowerFormerLayer(channels, heads, dropout, attn_dropout) for _ in range(num_layers))
        self.head = nn.Linear(channels, 1)
        self.output = OutputMap(output)

    @classmethod
    def resolve_config(cls, config: dict) -> dict:
        return {**config, "output": resolve_output(config["output"], _OUTPUTS, "FlowerFormer")}

    def compile_regions(self) -> list[nn.Module]:
        """The layers: the generation schedule (host-side grouping, computed once per batch in
        :meth:`forward`) stays eager; the nine layers share one compiled graph."""
        return list(self.layers)

    def forward(self, batch) -> Tensor:
        for field, transform in (("node_gen", "TopologicalGenerations"), ("flow_index", "FlowMask")):
            require_field(batch, field, "FlowerFormer",
                          f"apply pyg_nar.transforms.{transform} to the dataset")
        op = require_field(batch, "op", "FlowerFormer")
        check_ops(op, self.num_ops, "FlowerFormer")
        schedule = flow_schedule(batch.edge_index, batch.node_gen, op.numel())  # once, for all layers
        # Node states are kept in generation order throughout (one permutation, not two per layer).
        op = op.index_select(0, schedule.perm)
        flow_index = schedule.pos[batch.flow_index]
        h = self.pre_lin.weight.t().index_select(0, op)  # == Linear(one_hot(op)) without bias
        h = F.normalize(F.relu(self.pre_norm(h)), p=2.0, dim=-1)
        for layer in self.layers:
            h = layer(h, batch.edge_index, batch.node_gen, flow_index, schedule)
        index = getattr(batch, "batch", None)
        index = op.new_zeros(op.numel()) if index is None else index.index_select(0, schedule.perm)
        out = self.head(global_mean_pool(h, index, size=getattr(batch, "num_graphs", None))).view(-1)
        return self.output(out)

