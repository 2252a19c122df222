r"""The multi-stage fusion transformer of NAR-Former (Yi et al., CVPR'23, Sec. 3.3, Fig. 3).

A token sequence ``T`` is first encoded by standard pre-norm transformer blocks into ``H``.
Then, stage by stage, an *aggregation block* lets ``N_k`` learnable query tokens ``Q_k``
attend to ``H`` (first stage) or to the previous stage's output, optional *standard blocks*
refine those ``N_k`` tokens, and a *fuse block* uses them as queries over ``H`` again.
With ``N_k = 4, 2, 1`` (the paper) the last stage leaves one token: the vector ``e``.

Graphs of different sizes share one batch: node tokens come as ``x [N_total, D]`` with PyG's
``batch`` vector and are padded by :func:`torch_geometric.utils.to_dense_batch`; padded
positions are excluded from every attention over ``H`` by a key-padding mask, so a graph's
output does not depend on the other graphs of its batch.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.utils import to_dense_batch

__all__ = ["TransformerBlock", "FusionTransformer"]


class TransformerBlock(nn.Module):
    r"""Pre-norm transformer block, self- or cross-attention.

    ``x <- x + Drop(Attn(LN(x), LN(m), LN(m)))``, ``x <- x + Drop(FFN(LN(x)))`` with
    ``m = x`` (self-attention) or a given memory (cross-attention: aggregation and fuse
    blocks). Attention is :func:`torch.nn.functional.scaled_dot_product_attention`.
    """

    def __init__(self, dim: int, heads: int, ffn_ratio: float = 4.0, dropout: float = 0.1,
                 cross: bool = False):
        super().__init__()
        if dim % heads:
            raise ValueError(f"TransformerBlock: dim {dim} is not divisible by {heads} heads")
        self.dim, self.heads, self.cross, self.dropout = dim, heads, cross, dropout
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

    def _split(self, t: Tensor) -> Tensor:  # [B, L, dim] -> [B, heads, L, head_dim]
        b, n, _ = t.shape
        return t.view(b, n, self.heads, -1).transpose(1, 2)

    def forward(self, x: Tensor, memory: Optional[Tensor] = None,
                attn_mask: Optional[Tensor] = None) -> Tensor:
        """``x`` [B, Lq, dim]; ``memory`` [B, Lk, dim] for cross-attention; ``attn_mask``
        a bool mask broadcastable to [B, heads, Lq, Lk], ``True`` where attention is allowed."""
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


class FusionTransformer(nn.Module):
    r"""NAR-Former's multi-stage fusion transformer (Sec. 3.3, Fig. 3): token sequence -> one vector.

    Args:
        dim: token width ``D`` (paper: 192).
        num_layers: standard blocks that turn ``T`` into ``H`` (paper: 6).
        head_dim: width of one attention head (paper: 32, so 6 heads at ``D = 192``).
        ffn_ratio: FFN hidden width over ``D`` (paper: 4).
        dropout: dropout of attention weights, residual branches and FFN (paper: 0.1).
        query_tokens: ``N_k`` of each fusion stage (paper: ``(4, 2, 1)``); must end with 1.
        stage_layers: optional standard blocks between each stage's aggregation and fuse block
            (the official code: 1, its depths ``[6, 1, 1, 1]``).

    Inputs of :meth:`forward`: node tokens ``x [N_total, D]``, the ``batch`` vector, and
    optionally per-graph ``extra`` tokens ``[B, K, D]`` (NAR-Former's depth and end tokens).
    There is no positional term in the attention (positions are part of the tokens), so
    the place of the extra tokens in the sequence does not matter; they are put first.
    Returns ``e [B, D]`` (after a final LayerNorm).
    """

    def __init__(self, dim: int = 192, num_layers: int = 6, head_dim: int = 32,
                 ffn_ratio: float = 4.0, dropout: float = 0.1,
                 query_tokens: Sequence[int] = (4, 2, 1), stage_layers: int = 1):
        super().__init__()
        if dim % head_dim:
            raise ValueError(f"FusionTransformer: dim {dim} is not a multiple of head_dim {head_dim}")
        query_tokens = tuple(int(n) for n in query_tokens)
        if not query_tokens or query_tokens[-1] != 1 or min(query_tokens) < 1:
            raise ValueError(f"FusionTransformer: query_tokens {query_tokens} must be positive "
                             "and end with 1 (the last stage yields one vector)")
        heads = dim // head_dim
        self.dim, self.query_tokens = dim, query_tokens

        def block(cross=False):
            return TransformerBlock(dim, heads, ffn_ratio, dropout, cross=cross)

        self.encoder = nn.ModuleList([block() for _ in range(num_layers)])
        self.queries = nn.ParameterList(
            [nn.Parameter(torch.randn(n, dim) * 0.02) for n in query_tokens])
        self.aggregate = nn.ModuleList([block(cross=True) for _ in query_tokens])
        self.stage_blocks = nn.ModuleList(
            [nn.ModuleList([block() for _ in range(stage_layers)]) for _ in query_tokens])
        self.fuse = nn.ModuleList([block(cross=True) for _ in query_tokens])
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor, batch: Optional[Tensor] = None, extra: Optional[Tensor] = None,
                batch_size: Optional[int] = None) -> Tensor:
        if x.dim() != 2 or x.size(-1) != self.dim:
            raise ValueError(f"FusionTransformer: node tokens must have shape [N, {self.dim}], "
                             f"got {tuple(x.shape)}")
        if batch is None:
            batch = x.new_zeros(x.size(0), dtype=torch.long)
        if batch_size is None and extra is not None:
            batch_size = extra.size(0)
        h, node_mask = to_dense_batch(x, batch, batch_size=batch_size)  # [B, Nmax, D]
        if extra is not None:
            if extra.dim() != 3 or extra.size(0) != h.size(0) or extra.size(-1) != self.dim:
                raise ValueError(f"FusionTransformer: extra tokens must have shape "
                                 f"[{h.size(0)}, K, {self.dim}], got {tuple(extra.shape)}")
            h = torch.cat([extra, h], dim=1)
            node_mask = torch.cat([node_mask.new_ones(extra.shape[:2]), node_mask], dim=1)
        # No mask at all when nothing is padded (e.g. every NB201 cell has 8 nodes).
        mask = None if bool(node_mask.all()) else node_mask[:, None, None, :]
        for blk in self.encoder:
            h = blk(h, attn_mask=mask)
        out, memory, memory_mask = h, h, mask
        for q, agg, stage, fuse in zip(self.queries, self.aggregate, self.stage_blocks, self.fuse):
            out = agg(q.expand(h.size(0), -1, -1), memory, attn_mask=memory_mask)
            for blk in stage:
                out = blk(out)
            out = fuse(out, h, attn_mask=mask)
            memory, memory_mask = out, None
        return self.norm(out[:, 0])
