"""Transformer blocks shared by the zoo's attention families (ViT, BERT, MobileViT).

Every block works on token tensors ``(B, N, C)`` whose token count ``N`` is known when the
block is built, so each reshape exports with a constant target shape (``-1`` for the batch):
the ONNX files keep a dynamic batch and no shape arithmetic besides what the attention
implementation itself emits.
"""
from __future__ import annotations

import math

import torch.nn.functional as F
from torch import nn

__all__ = ["ATTENTION_IMPLS", "sample_heads", "SelfAttention", "MLP", "EncoderBlock"]

#: How attention is computed: ``"matmul"`` (explicit ``MatMul`` / ``Softmax`` / ``MatMul``)
#: or ``"sdpa"`` (:func:`torch.nn.functional.scaled_dot_product_attention`, which the
#: TorchScript exporter decomposes into the same operators plus its scale arithmetic).
ATTENTION_IMPLS = ("matmul", "sdpa")


def sample_heads(r, dim: int, head_dims=(16, 32, 64)) -> int:
    """A number of heads for width ``dim``: ``dim / head_dim`` for a head width drawn from
    those of ``head_dims`` that divide ``dim`` (at least one head)."""
    return dim // r.choice([h for h in head_dims if dim % h == 0 and h <= dim] or [dim])


class SelfAttention(nn.Module):
    r"""Multi-head self-attention (Vaswani et al., NeurIPS 2017) with a fused QKV projection:
    :math:`\mathrm{softmax}(QK^\top/\sqrt{d})V` per head, then an output projection.

    Args:
        dim (int): token width ``C`` (a multiple of ``heads``).
        heads (int): number of heads.
        tokens (int): token count ``N``.
        impl (str): ``"matmul"`` or ``"sdpa"`` (:data:`ATTENTION_IMPLS`).

    Shapes:
        input ``(B, N, C)``, output ``(B, N, C)``.
    """

    def __init__(self, dim: int, heads: int, tokens: int, impl: str = "matmul"):
        super().__init__()
        if dim % heads or impl not in ATTENTION_IMPLS:
            raise ValueError(f"SelfAttention: dim {dim} must be a multiple of heads {heads} "
                             f"and impl one of {ATTENTION_IMPLS}, got {impl!r}")
        self.heads, self.tokens, self.dim, self.impl = heads, tokens, dim, impl
        self.scale = 1.0 / math.sqrt(dim // heads)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        n, h = self.tokens, self.heads
        q, k, v = self.qkv(x).reshape(-1, n, 3, h, self.dim // h).permute(2, 0, 3, 1, 4).unbind(0)
        if self.impl == "sdpa":
            o = F.scaled_dot_product_attention(q, k, v)
        else:
            o = (q @ k.transpose(-2, -1) * self.scale).softmax(-1) @ v
        return self.proj(o.transpose(1, 2).reshape(-1, n, self.dim))


class MLP(nn.Sequential):
    """The transformer's feed-forward block: ``Linear(dim, hidden)``, ``act`` (GELU by
    default, exported as its ``Erf`` form below opset 20), ``Linear(hidden, dim)``."""

    def __init__(self, dim: int, hidden: int, act: str = "gelu"):
        super().__init__(nn.Linear(dim, hidden), nn.SiLU() if act == "silu" else nn.GELU(),
                         nn.Linear(hidden, dim))


class EncoderBlock(nn.Module):
    r"""A transformer encoder block: self-attention and an MLP, each with a residual
    connection and a LayerNorm -- before the sub-block (``pre_norm``, ViT:
    :math:`x + f(\mathrm{LN}(x))`) or after the residual sum (post-LN, BERT:
    :math:`\mathrm{LN}(x + f(x))`).

    Args:
        dim (int): token width ``C``.
        heads (int): attention heads.
        mlp_ratio (float): MLP hidden width over ``dim``.
        tokens (int): token count ``N``.
        pre_norm (bool, optional): pre-LN (default) or post-LN.
        impl (str, optional): attention implementation (:data:`ATTENTION_IMPLS`).
        act (str, optional): MLP activation, ``"gelu"`` (default) or ``"silu"``.

    Shapes:
        input ``(B, N, C)``, output ``(B, N, C)``.
    """

    def __init__(self, dim: int, heads: int, mlp_ratio: float, tokens: int, pre_norm: bool = True,
                 impl: str = "matmul", act: str = "gelu"):
        super().__init__()
        self.pre_norm = pre_norm
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads, tokens, impl)
        self.mlp = MLP(dim, int(dim * mlp_ratio), act)

    def forward(self, x):
        if self.pre_norm:
            x = x + self.attn(self.norm1(x))
            return x + self.mlp(self.norm2(x))
        x = self.norm1(x + self.attn(x))
        return self.norm2(x + self.mlp(x))
