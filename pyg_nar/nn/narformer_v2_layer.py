from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pyg_nar.nn.graph_aided_attention import GraphAidedAttention
from pyg_nar.nn.grouped_feed_forward import GroupedFeedForward

__all__ = ["NARFormerV2Layer"]


class NARFormerV2Layer(nn.Module):
    r"""One block of `"NAR-Former V2: Rethinking Transformer for Universal Neural Network
    Representation Learning" <https://arxiv.org/abs/2306.10792>`_ (NeurIPS 2023), as in the
    official ``predictor/model.py``:

    .. math::
        \mathbf{x} &\leftarrow \mathrm{Drop}\big(\mathrm{ReLU}(\mathrm{GAA}(\mathbf{x},
        \mathbf{A}))\big) \\
        \mathbf{x} &\leftarrow \mathbf{x} + \boldsymbol{\gamma} \odot
        \mathrm{GroupedFFN}(\mathrm{LN}(\mathbf{x}))

    with :class:`GraphAidedAttention` (GAA, including the :class:`DegreeGate`),
    :class:`GroupedFeedForward` and a LayerScale vector :math:`\boldsymbol{\gamma}`
    initialised to ``layer_scale_init``. The attention has no residual connection, so
    ``in_channels`` may differ from ``channels`` (the first layer maps the raw token width
    to the hidden width).

    Args:
        in_channels (int): input width.
        channels (int): hidden (output) width :math:`D`; divisible by ``groups``.
        ffn_ratio (int, optional): hidden width of the FFN over :math:`D`. (default: :obj:`4`)
        groups (int, optional): groups of the FFN's :class:`GroupedLinear` maps.
            (default: :obj:`8`)
        dropout (float, optional): dropout after the attention and inside the FFN.
            (default: :obj:`0.05`)
        layer_scale_init (float, optional): initial value of every entry of
            :math:`\boldsymbol{\gamma}`. (default: :obj:`1e-4`, the code's)
        degree_gating (bool, optional): :class:`DegreeGate` inside the attention.
            (default: :obj:`True`)

    Shapes:
        - **input:** node features :math:`(N, \text{in\_channels})`, symmetric adjacency
          :math:`(2, 2E)`
        - **output:** node features :math:`(N, D)`
    """

    def __init__(self, in_channels: int, channels: int, ffn_ratio: int = 4, groups: int = 8,
                 dropout: float = 0.05, layer_scale_init: float = 1e-4,
                 degree_gating: bool = True):
        super().__init__()
        self.in_channels, self.channels = in_channels, channels
        self.layer_scale_init = float(layer_scale_init)
        self.attn = GraphAidedAttention(in_channels, channels, degree_gating=degree_gating)
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(channels)
        self.ffn = GroupedFeedForward(channels, ffn_ratio, groups, dropout)
        self.gamma = nn.Parameter(torch.full((channels,), self.layer_scale_init))

    def reset_parameters(self) -> None:
        self.attn.reset_parameters()
        self.norm.reset_parameters()
        self.ffn.reset_parameters()
        nn.init.constant_(self.gamma, self.layer_scale_init)

    def forward(self, x: Tensor, adj_index: Tensor) -> Tensor:
        x = self.dropout(F.relu(self.attn(x, adj_index)))
        return x + self.gamma * self.ffn(self.norm(x))

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, {self.channels}, "
                f"groups={self.ffn.groups}, degree_gating={self.attn.degree_gate is not None})")
