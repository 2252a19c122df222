from __future__ import annotations

from typing import Optional

import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn.inits import reset

__all__ = ["TransformerBlock"]


class TransformerBlock(nn.Module):
    r"""The pre-norm transformer block of `"NAR-Former: Neural Architecture Representation
    Learning towards Holistic Attributes Prediction" <https://arxiv.org/abs/2211.08024>`_
    (Sec. 3.3), as self-attention (its standard blocks) or cross-attention (its aggregation
    and fuse blocks):

    .. math::
        \mathbf{X} &\leftarrow \mathbf{X} + \mathrm{Drop}\big(\mathrm{MHA}(\mathrm{LN}(\mathbf{X}),
        \mathrm{LN}'(\mathbf{M}), \mathrm{LN}'(\mathbf{M}))\big) \\
        \mathbf{X} &\leftarrow \mathbf{X} + \mathrm{Drop}\big(\mathbf{W}_2\,
        \mathrm{Drop}(\mathrm{ReLU}(\mathbf{W}_1 \mathrm{LN}(\mathbf{X}) + \mathbf{b}_1))
        + \mathbf{b}_2\big)

    with memory :math:`\mathbf{M} = \mathbf{X}` and :math:`\mathrm{LN}' = \mathrm{LN}` for
    self-attention, or a given memory with its own LayerNorm :math:`\mathrm{LN}'` for
    cross-attention. Attention runs through
    :func:`torch.nn.functional.scaled_dot_product_attention`, with dropout on its weights.

    Equivalents (``tests/nn/test_library_equivalents.py`` compares them with the same
    weights): the self-attention block is :class:`torch.nn.TransformerEncoderLayer` with
    ``norm_first=True, batch_first=True`` and ReLU (``qkv_proj`` is its ``in_proj``); the
    attention of the cross-attention block is :class:`torch.nn.MultiheadAttention` with
    ``batch_first=True`` (``q_proj | kv_proj`` is its ``in_proj``). Written out for the
    cross-attention variant, whose memory has its own LayerNorm, and for one parameter layout
    in both variants.

    Args:
        dim (int): token width :math:`D`; divisible by ``heads``.
        heads (int): number of attention heads.
        ffn_ratio (float, optional): FFN hidden width over :math:`D`. (default: :obj:`4.0`)
        dropout (float, optional): dropout of the attention weights, the residual branches
            and the FFN. (default: :obj:`0.1`)
        cross (bool, optional): cross-attention over a memory instead of self-attention.
            (default: :obj:`False`)

    Shapes:
        - **input:** tokens :math:`(B, L_q, D)`; memory :math:`(B, L_k, D)` (cross-attention
          only); optional boolean ``attn_mask`` broadcastable to
          :math:`(B, \text{heads}, L_q, L_k)`, ``True`` where attention is allowed
        - **output:** tokens :math:`(B, L_q, D)`
    """

    def __init__(self, dim: int, heads: int, ffn_ratio: float = 4.0, dropout: float = 0.1,
                 cross: bool = False):
        super().__init__()
        if dim % heads:
            raise ValueError(f"TransformerBlock: dim {dim} is not divisible by {heads} heads")
        self.dim, self.heads, self.cross, self.dropout = dim, heads, cross, dropout
        self.ffn_ratio = ffn_ratio
        self.norm_q = nn.LayerNorm(dim)
        self.norm_kv = nn.LayerNorm(dim) if cross else None
        if cross:
            self.q_proj = nn.Linear(dim, dim)
            self.kv_proj = nn.Linear(dim, 2 * dim)
        else:
            self.qkv_proj = nn.Linear(dim, 3 * dim)
        self.out_proj = nn.Linear(dim, dim)
        hidden = int(dim * ffn_ratio)
        self.norm_ffn = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, dim))
        self.drop = nn.Dropout(dropout)

    def reset_parameters(self) -> None:
        projections = (self.q_proj, self.kv_proj) if self.cross else (self.qkv_proj,)
        for m in (self.norm_q, self.norm_kv, *projections, self.out_proj, self.norm_ffn, self.ffn):
            if m is not None:
                reset(m)

    def _split(self, t: Tensor) -> Tensor:  # [B, L, dim] -> [B, heads, L, head_dim]
        b, n, _ = t.shape
        return t.view(b, n, self.heads, -1).transpose(1, 2)

    def forward(self, x: Tensor, memory: Optional[Tensor] = None,
                attn_mask: Optional[Tensor] = None) -> Tensor:
        h = self.norm_q(x)
        if self.cross:
            if memory is None:
                raise ValueError("TransformerBlock: a cross-attention block needs a memory")
            q = self.q_proj(h)
            k, v = self.kv_proj(self.norm_kv(memory)).chunk(2, dim=-1)
        else:
            q, k, v = self.qkv_proj(h).chunk(3, dim=-1)
        out = F.scaled_dot_product_attention(
            self._split(q), self._split(k), self._split(v), attn_mask=attn_mask,
            dropout_p=self.dropout if self.training else 0.0)
        out = out.transpose(1, 2).reshape(x.shape)
        x = x + self.drop(self.out_proj(out))
        return x + self.drop(self.ffn(self.norm_ffn(x)))

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.dim}, heads={self.heads}, "
                f"ffn_ratio={self.ffn_ratio}, dropout={self.dropout}, cross={self.cross})")
