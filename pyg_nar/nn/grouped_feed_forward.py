from __future__ import annotations

from torch import Tensor, nn
from torch_geometric.nn.inits import reset

from pyg_nar.nn.grouped_linear import GroupedLinear

__all__ = ["GroupedFeedForward"]


class GroupedFeedForward(nn.Module):
    r"""The grouped feed-forward network of `"NAR-Former V2: Rethinking Transformer for
    Universal Neural Network Representation Learning" <https://arxiv.org/abs/2306.10792>`_
    (official code ``GroupedFeedForward``), two :class:`GroupedLinear` maps:

    .. math::
        \mathbf{x}' = \mathrm{Drop}\Big(\mathrm{GL}_2\big(\mathrm{Drop}(\mathrm{ReLU}(
        \mathrm{GL}_1(\mathbf{x})))\big)\Big), \qquad
        \mathrm{GL}_1: D \to rD, \quad \mathrm{GL}_2: rD \to D

    It is node-wise: no neighbourhood aggregation happens here (the graph enters only through
    :class:`GraphAidedAttention`). We read the paper's "graph feed-forward" as this block.

    Args:
        channels (int): node feature size :math:`D` (input = output); divisible by ``groups``.
        ratio (int, optional): hidden width :math:`r` over :math:`D`. (default: :obj:`4`)
        groups (int, optional): groups of both :class:`GroupedLinear` maps. (default: :obj:`8`)
        dropout (float, optional): dropout after the ReLU and at the output.
            (default: :obj:`0.05`)
        norm (bool, optional): per-group LayerNorm inside each :class:`GroupedLinear`.
            (default: :obj:`True`)

    Shapes:
        - **input:** :math:`(*, D)`
        - **output:** :math:`(*, D)`
    """

    def __init__(self, channels: int, ratio: int = 4, groups: int = 8, dropout: float = 0.05,
                 norm: bool = True):
        super().__init__()
        self.channels, self.ratio, self.groups, self.dropout = channels, ratio, groups, dropout
        self.net = nn.Sequential(
            GroupedLinear(channels, channels * ratio, groups, norm=norm), nn.ReLU(),
            nn.Dropout(dropout),
            GroupedLinear(channels * ratio, channels, groups, norm=norm), nn.Dropout(dropout))

    def reset_parameters(self) -> None:
        reset(self.net)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.channels}, ratio={self.ratio}, "
                f"groups={self.groups}, dropout={self.dropout})")
