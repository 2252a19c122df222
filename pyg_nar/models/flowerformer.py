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
the output (see :func:`official_parameter_count`): the unused ``to_tqk`` projection of every
attention layer (9 x 8,192), and the constant-edge-type embedding (64) and its per-flow
projection (2 x 9 x 4,160) whose contribution to every edge score is the same constant, which
the softmax removes.
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import global_mean_pool

from pyg_nar.nn import FlowAttention, FlowMessagePassing, flow_schedule
from pyg_nar.nn.flow_message_passing import FlowSchedule
from pyg_nar.models.registry import register_model

__all__ = ["FlowerFormer", "FlowerFormerLayer", "official_parameter_count"]


class FlowerFormerLayer(nn.Module):
    """One FlowerFormer layer: flow encode + flow-aware attention, summed, then an FFN."""

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
        h_flow = self.flow(h, edge_index, node_gen, schedule=schedule, presorted=schedule is not None)
        h_flow = self.norm_flow(h + F.dropout(h_flow, self.dropout, self.training))
        h_glob = self.attn(h, flow_index)
        h_glob = self.norm_attn(h + F.dropout(h_glob, self.dropout, self.training))
        s = h_flow + h_glob
        return self.norm_out(s + self.ffn(s))


@register_model
class FlowerFormer(nn.Module):
    """FlowerFormer accuracy predictor: ``forward(batch) -> [B]`` scores.

    Args:
        num_ops: size of the operation vocabulary (``len(dataset.op_vocab)``; 7 on NB201).
        channels: hidden size ``d`` (64 on NB101/NB201).
        num_layers: number of layers (9 on NB101/NB201).
        heads: attention heads (8).
        dropout: dropout after the flow encoder, the attention and in the FFN (0.0 official).
        attn_dropout: dropout on the attention weights (0.5 official).
        output: ``"linear"`` (the paper: a ranking score) or ``"neg_logsigmoid"``
            (``-logsigmoid(z) > 0``, for latency, as NNLQP's and NAR-Former V2's heads).

    The batch needs ``op``, ``edge_index``, ``node_gen`` and ``flow_index``.
    """

    def __init__(self, num_ops: int, channels: int = 64, num_layers: int = 9, heads: int = 8,
                 dropout: float = 0.0, attn_dropout: float = 0.5, output: str = "linear"):
        super().__init__()
        if output not in ("linear", "neg_logsigmoid"):
            raise ValueError(f"FlowerFormer: output must be 'linear' or 'neg_logsigmoid', got {output!r}")
        self.config = dict(num_ops=num_ops, channels=channels, num_layers=num_layers, heads=heads,
                           dropout=dropout, attn_dropout=attn_dropout, output=output)
        self.output = output
        self.num_ops = num_ops
        self.pre_lin = nn.Linear(num_ops, channels, bias=False)
        self.pre_norm = nn.BatchNorm1d(channels)
        self.layers = nn.ModuleList(
            FlowerFormerLayer(channels, heads, dropout, attn_dropout) for _ in range(num_layers))
        self.head = nn.Linear(channels, 1)

    def forward(self, batch) -> Tensor:
        for field, transform in (("node_gen", "TopologicalGenerations"), ("flow_index", "FlowMask")):
            if getattr(batch, field, None) is None:
                raise ValueError(f"FlowerFormer: the batch has no '{field}' field; apply "
                                 f"pyg_nar.transforms.{transform} to the dataset")
        op = batch.op
        if op.numel() and (int(op.min()) < 0 or int(op.max()) >= self.num_ops):
            raise ValueError(f"FlowerFormer: operation index {int(op.max())} outside the "
                             f"vocabulary of {self.num_ops} operations (num_ops)")
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
        return -F.logsigmoid(out) if self.output == "neg_logsigmoid" else out

    @property
    def num_steps(self) -> int:
        """Generation steps taken by the flow encoders in the last forward (2 x depth x layers)."""
        return sum(layer.flow.num_steps for layer in self.layers)


def official_parameter_count(model: FlowerFormer) -> int:
    """The parameter count the official code reports for the same configuration.

    Adds the parameters that exist there but cannot change the output: per layer the unused
    ``to_tqk`` projection (``d x 2d``) and, per flow direction, the ``Linear(d, d)`` of the
    constant edge embedding; plus that embedding (``d``).
    """
    d, layers = model.config["channels"], model.config["num_layers"]
    ours = sum(p.numel() for p in model.parameters())
    return ours + layers * (d * 2 * d + 2 * (d * d + d)) + d
