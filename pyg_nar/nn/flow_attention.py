"""Flow-aware global attention (FlowerFormer Sec. 4.2, Eq. (5)).

Multi-head scaled dot-product attention in which node ``i`` attends only to the nodes ``j``
of the pairs ``(j, i)`` in ``flow_index`` -- the nodes joined to ``i`` by a directed path in
either direction, and ``i`` itself (``pyg_nar.transforms.FlowMask``):

.. math::
    \\alpha^{(h)}_{ij} = \\mathrm{softmax}_{j:(j,i)\\in P}\\Big(\\tfrac{(W_Q^{(h)} x_i)^\\top W_K^{(h)} x_j}{\\sqrt{d/H}}\\Big),
    \\qquad \\mathrm{out}_i = W_O \\,\\big\\Vert_h \\sum_j \\alpha^{(h)}_{ij} W_V^{(h)} x_j .

It is computed sparsely over the pairs (``O(P)`` memory, never an ``N x N`` mask), with
:func:`torch_geometric.utils.softmax`. As in the official ``dag_attention.py``: 8 heads, no
bias on the query/key/value projections, a biased output projection, dropout on the
attention weights.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch_geometric.utils import scatter, softmax

__all__ = ["FlowAttention"]


class FlowAttention(nn.Module):
    """Attention restricted to flow pairs (see module doc).

    Args:
        channels: feature size ``d`` (input = output); divisible by ``heads``.
        heads: number of attention heads (8 in the paper).
        attn_dropout: dropout on the attention weights (0.5 in the official NB201 config).

    ``forward(x [N, d], flow_index [2, P], return_attention_weights=False)`` returns
    ``[N, d]``, or ``(out, (flow_index, alpha [P, heads]))`` where ``alpha[p, h]`` is the
    weight node ``flow_index[1, p]`` gives to node ``flow_index[0, p]`` in head ``h``.
    """

    def __init__(self, channels: int, heads: int = 8, attn_dropout: float = 0.0):
        super().__init__()
        if channels % heads:
            raise ValueError(f"FlowAttention: channels ({channels}) must be divisible by heads ({heads})")
        self.channels = channels
        self.heads = heads
        self.attn_dropout = attn_dropout
        self.qkv = nn.Linear(channels, 3 * channels, bias=False)  # W_Q | W_K | W_V
        self.out_proj = nn.Linear(channels, channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for w in self.qkv.weight.chunk(3, 0):  # Xavier per projection, as the official code
            nn.init.xavier_uniform_(w)
        self.out_proj.reset_parameters()

    def forward(self, x: Tensor, flow_index: Tensor, return_attention_weights: bool = False):
        if flow_index.dim() != 2 or flow_index.size(0) != 2:
            raise ValueError(f"FlowAttention: flow_index must have shape [2, P], got {tuple(flow_index.shape)}")
        n, d, h = x.size(0), self.channels, self.heads
        qkv = self.qkv(x).view(n, 3, h, d // h)
        j, i = flow_index[0], flow_index[1]
        kv = qkv[:, 1:].index_select(0, j)  # keys and values of the attended nodes, one gather
        # per-head dot products as one [P, d] x [d, H] matmul with a 0/1 head-membership matrix
        # (much faster on CPU than a reduction over the short head dimension)
        prod = (qkv[:, 0].index_select(0, i) * kv[:, 0]).view(-1, d)
        score = prod @ self._head_sum(x) * (1.0 / math.sqrt(d // h))
        alpha = softmax(score, i, num_nodes=n)  # [P, H]
        a = torch.nn.functional.dropout(alpha, self.attn_dropout, self.training)
        out = scatter(kv[:, 1] * a.unsqueeze(-1), i, 0, dim_size=n, reduce="sum")
        out = self.out_proj(out.reshape(n, d))
        if return_attention_weights:
            return out, (flow_index, alpha)
        return out

    def _head_sum(self, x: Tensor) -> Tensor:
        d, h = self.channels, self.heads
        m = getattr(self, "_head_matrix", None)
        if m is None or m.dtype != x.dtype or m.device != x.device:
            m = torch.arange(d, device=x.device).div(d // h, rounding_mode="floor").unsqueeze(1) \
                .eq(torch.arange(h, device=x.device)).to(x.dtype)
            self._head_matrix = m
        return m

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.channels}, heads={self.heads}, "
                f"attn_dropout={self.attn_dropout})")
