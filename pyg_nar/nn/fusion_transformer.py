from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import Tensor, nn
from torch_geometric.nn.inits import reset
from torch_geometric.utils import to_dense_batch

from pyg_nar.nn.transformer_block import TransformerBlock

__all__ = ["FusionTransformer"]


class FusionTransformer(nn.Module):
    r"""The multi-stage fusion transformer of `"NAR-Former: Neural Architecture Representation
    Learning towards Holistic Attributes Prediction" <https://arxiv.org/abs/2211.08024>`_
    (Sec. 3.3, Fig. 3): a token sequence becomes one vector.

    The tokens :math:`\mathbf{T}` are encoded by standard (self-attention)
    :class:`TransformerBlock` s into :math:`\mathbf{H}`. Then, for each stage
    :math:`k = 1, \dots, K`, an aggregation block lets :math:`N_k` learnable queries
    :math:`\mathbf{Q}_k` attend to the previous stage's output, optional standard blocks
    refine them, and a fuse block uses them as queries over :math:`\mathbf{H}` again:

    .. math::
        \mathbf{H} &= \mathrm{Block}^{L}(\mathbf{T}), \qquad \mathbf{O}_0 = \mathbf{H} \\
        \mathbf{O}_k &= \mathrm{Fuse}_k\big(\mathrm{Block}_k^{S}(\mathrm{Agg}_k(\mathbf{Q}_k,
        \mathbf{O}_{k-1})), \mathbf{H}\big) \in \mathbb{R}^{N_k \times D} \\
        \mathbf{e} &= \mathrm{LN}(\mathbf{O}_K) \qquad (N_K = 1)

    With :math:`N_k = 4, 2, 1` (the paper) the last stage leaves one token, the vector
    :math:`\mathbf{e}`.

    Graphs of different sizes share one batch: node tokens come flat with PyG's ``batch``
    vector and are padded by :func:`torch_geometric.utils.to_dense_batch`; padded positions are
    excluded from every attention over :math:`\mathbf{H}` by a key-padding mask, so a graph's
    output does not depend on the other graphs of its batch. Optional per-graph ``extra``
    tokens (NAR-Former's depth and end tokens) are put first; there is no positional term in
    the attention (positions are part of the tokens), so their place does not matter.

    Args:
        dim (int, optional): token width :math:`D`. (default: :obj:`192`, the paper's)
        num_layers (int, optional): standard blocks :math:`L` that turn :math:`\mathbf{T}`
            into :math:`\mathbf{H}`. (default: :obj:`6`)
        head_dim (int, optional): width of one attention head (6 heads at :math:`D = 192`).
            (default: :obj:`32`)
        ffn_ratio (float, optional): FFN hidden width over :math:`D`. (default: :obj:`4.0`)
        dropout (float, optional): dropout of attention weights, residual branches and FFN.
            (default: :obj:`0.1`)
        query_tokens (Sequence[int], optional): :math:`N_k` of each fusion stage; must end with
            1. (default: :obj:`(4, 2, 1)`)
        stage_layers (int, optional): standard blocks :math:`S` between each stage's
            aggregation and fuse block (the official code's depths ``[6, 1, 1, 1]``).
            (default: :obj:`1`)

    Shapes:
        - **input:** node tokens :math:`(N, D)`, batch vector :math:`(N)` (optional),
          extra tokens :math:`(B, K, D)` (optional)
        - **output:** graph vectors :math:`(B, D)`, after a final LayerNorm
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
        self.num_layers, self.head_dim, self.stage_layers = num_layers, head_dim, stage_layers

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

    def reset_parameters(self) -> None:
        for q in self.queries:
            nn.init.normal_(q, std=0.02)
        for m in (self.encoder, self.aggregate, self.stage_blocks, self.fuse, self.norm):
            reset(m)

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
        padded = h.size(0) * h.size(1) != x.size(0)  # from the shapes: no wait for the device
        if extra is not None:
            if extra.dim() != 3 or extra.size(0) != h.size(0) or extra.size(-1) != self.dim:
                raise ValueError(f"FusionTransformer: extra tokens must have shape "
                                 f"[{h.size(0)}, K, {self.dim}], got {tuple(extra.shape)}")
            h = torch.cat([extra, h], dim=1)
            node_mask = torch.cat([node_mask.new_ones(extra.shape[:2]), node_mask], dim=1)
        # No mask at all when nothing is padded (e.g. every NB201 cell has 8 nodes).
        mask = node_mask[:, None, None, :] if padded else None
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

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.dim}, num_layers={self.num_layers}, "
                f"head_dim={self.head_dim}, query_tokens={self.query_tokens}, "
                f"stage_layers={self.stage_layers})")
