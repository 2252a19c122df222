"""One NN-Former block (:class:`NNFormerLayer`): sibling attention and the bidirectional
graph feed-forward, pre-norm."""
from __future__ import annotations

from torch import Tensor, nn

from pyg_nar.nn.bidirectional_graph_ffn import BidirectionalGraphFFN
from pyg_nar.nn.sibling_attention import SiblingAttention, sibling_pairs

__all__ = ["NNFormerLayer"]


class NNFormerLayer(nn.Module):
    r"""One NN-Former block (`NN-Former, Xu et al., CVPR 2025 <https://arxiv.org/abs/2507.00880>`_), pre-norm:

    .. math::
        \mathbf{x} \leftarrow \mathbf{x} + \mathrm{ASMA}(\mathrm{LN}(\mathbf{x})), \qquad
        \mathbf{x} \leftarrow \mathbf{x} + \mathrm{BGIFFN}(\mathrm{LN}(\mathbf{x}))

    (:class:`SiblingAttention`, :class:`BidirectionalGraphFFN`, LayerNorm per node).

    Args:
        channels (int): width :math:`d`.
        heads (int, optional): attention heads, a multiple of 4. (default: ``4``)
        ffn_ratio (int, optional): FFN hidden width over :math:`d`. (default: ``4``)
        dropout (float, optional): dropout of both sub-layers. (default: ``0.0``)

    Shapes:
        - **input:** :math:`(N, d)`, ``edge_index`` :math:`(2, E)`, optionally ``pairs``
          (:func:`sibling_pairs` of ``edge_index``)
        - **output:** :math:`(N, d)`
    """

    def __init__(self, channels: int, heads: int = 4, ffn_ratio: int = 4, dropout: float = 0.0):
        super().__init__()
        self.norm_attn = nn.LayerNorm(channels)
        self.attn = SiblingAttention(channels, heads, dropout)
        self.norm_ffn = nn.LayerNorm(channels)
        self.ffn = BidirectionalGraphFFN(channels, ffn_ratio * channels, dropout)
        self.channels, self.heads, self.ffn_ratio = channels, heads, ffn_ratio

    def reset_parameters(self) -> None:
        for m in (self.norm_attn, self.attn, self.norm_ffn, self.ffn):
            m.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor,
                pairs: tuple[Tensor, Tensor] | None = None) -> Tensor:
        if pairs is None:
            pairs = sibling_pairs(edge_index, x.size(0))
        x = x + self.attn(self.norm_attn(x), edge_index, pairs)
        return x + self.ffn(self.norm_ffn(x), edge_index)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.channels}, heads={self.heads}, "
                f"ffn_ratio={self.ffn_ratio})")
