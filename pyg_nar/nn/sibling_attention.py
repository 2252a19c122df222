r"""NN-Former's layers (Xu et al., CVPR 2025, `arXiv:2507.00880 <https://arxiv.org/abs/2507.00880>`_):
adjacency-sibling multi-head attention (:class:`SiblingAttention`; the feed-forward is
:class:`~pyg_nar.nn.BidirectionalGraphFFN`, the block :class:`~pyg_nar.nn.NNFormerLayer`).

NN-Former's observation: in a DAG of operations, *siblings* (nodes sharing a parent, such as
the branches of a residual block, or sharing a child, such as the inputs of an addition) carry
as much of the architecture's design as adjacency, while long-range pairs mostly mix unrelated
operations. With the adjacency :math:`A` (:math:`A_{ij} = 1` for an edge :math:`i \to j`) its
four relations are

==============================  ==========================================  =========
relation                        :math:`R_{ij} > 0` iff                      ``rel``
==============================  ==========================================  =========
:math:`A`                       :math:`j` is a successor of :math:`i`       0
:math:`A^\top`                  :math:`j` is a predecessor of :math:`i`     1
:math:`A^\top A`                :math:`i, j` share a parent                 2
:math:`A A^\top`                :math:`i, j` share a child                  3
==============================  ==========================================  =========

each with the self pair :math:`(i, i)` added. :func:`sibling_pairs` lists them once per graph
batch; every layer reuses the list.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.utils import coalesce, scatter, softmax

__all__ = ["SiblingAttention", "sibling_pairs", "NUM_RELATIONS"]

#: Number of relations of :func:`sibling_pairs` (:math:`A, A^\top, A^\top A, A A^\top`).
NUM_RELATIONS = 4


def _sharing_pairs(key: Tensor, other: Tensor, num_nodes: int) -> Tensor:
    """Pairs ``(other[a], other[b])`` over all edge pairs ``a, b`` with ``key[a] == key[b]``
    (both orders, ``a == b`` included): the non-zeros of :math:`A^\top A` for ``key`` = sources,
    ``other`` = targets, and of :math:`A A^\top` the other way round."""
    if key.numel() == 0:
        return key.new_zeros(2, 0)
    perm = torch.argsort(key, stable=True)
    key, other = key[perm], other[perm]
    counts = torch.bincount(key, minlength=num_nodes)
    start = torch.cumsum(counts, 0) - counts
    rep = counts[key]                                    # each edge pairs with its whole group
    a = torch.repeat_interleave(torch.arange(key.numel(), device=key.device), rep)
    offset = torch.arange(a.numel(), device=key.device) - torch.repeat_interleave(
        torch.cumsum(rep, 0) - rep, rep)
    b = start[key[a]] + offset
    return torch.stack([other[a], other[b]])


def sibling_pairs(edge_index: Tensor, num_nodes: int) -> tuple[Tensor, Tensor]:
    r"""The attention pairs of NN-Former's four relations (module docstring) with self pairs.

    Returns ``pair_index`` ``[2, P]`` (row 0 the query node :math:`i`, row 1 the key node
    :math:`j`) and ``rel`` ``[P]`` (the relation, 0..3), sorted by relation, then query, then
    key, without duplicates inside a relation. Works on a batch of graphs: pairs never cross
    graphs since every relation is a product of within-graph edges.

    Args:
        edge_index (torch.Tensor): the DAG edges ``source -> target``, :math:`(2, E)`.
        num_nodes (int): number of nodes :math:`N`.
    """
    edge_index = coalesce(edge_index.long(), num_nodes=num_nodes)
    loops = torch.arange(num_nodes, device=edge_index.device).repeat(2, 1)
    flipped = edge_index.flip(0)
    relations = [edge_index, flipped,
                 _sharing_pairs(edge_index[0], edge_index[1], num_nodes),   # A^T A: share a parent
                 _sharing_pairs(edge_index[1], edge_index[0], num_nodes)]   # A A^T: share a child
    pairs, rels = [], []
    for r, ei in enumerate(relations):
        ei = coalesce(torch.cat([ei.to(loops.device), loops], dim=1), num_nodes=num_nodes)
        pairs.append(ei)
        rels.append(torch.full((ei.size(1),), r, dtype=torch.long, device=ei.device))
    return torch.cat(pairs, dim=1), torch.cat(rels)


class SiblingAttention(nn.Module):
    r"""Adjacency-sibling multi-head attention (NN-Former's ASMA) (`NN-Former, Xu et al., CVPR 2025 <https://arxiv.org/abs/2507.00880>`_).

    The heads are split evenly over the four relations of :func:`sibling_pairs`; head
    :math:`h` of relation :math:`r(h)` attends only to the pairs of that relation:

    .. math::
        \alpha^{h}_{ij} = \operatorname*{softmax}_{j:\, R^{r(h)}_{ij} > 0 \,\lor\, i = j}
            \frac{\mathbf{q}^h_i \cdot \mathbf{k}^h_j}{\sqrt{d_h}}, \qquad
        \mathbf{o}_i = W_O \big\Vert_h \sum_j \alpha^h_{ij}\, \mathbf{v}^h_j

    with :math:`[\mathbf{q}, \mathbf{k}, \mathbf{v}] = W_{QKV}\mathbf{x}` (no biases, no
    positional encoding: the masks are the only structure the layer sees). The softmax is
    :func:`torch_geometric.utils.softmax` over each query's pairs, so the cost is linear in the
    number of pairs, not quadratic in the graph size.

    Args:
        channels (int): input and output width :math:`d`.
        heads (int, optional): number of heads, a multiple of 4. (default: ``4``)
        dropout (float, optional): dropout on the attention weights and on the output.
            (default: ``0.0``)

    Shapes:
        - **input:** node features :math:`(N, d)`, ``edge_index`` :math:`(2, E)` (the DAGs of
          a batch), optionally ``pairs`` = :func:`sibling_pairs` of it (computed if ``None``;
          pass it to share it between layers)
        - **output:** :math:`(N, d)`
    """

    def __init__(self, channels: int, heads: int = 4, dropout: float = 0.0):
        super().__init__()
        if heads % NUM_RELATIONS or channels % heads:
            raise ValueError(f"SiblingAttention: heads ({heads}) must be a multiple of "
                             f"{NUM_RELATIONS} and divide channels ({channels})")
        self.channels, self.heads, self.dropout = channels, heads, dropout
        self.head_dim = channels // heads
        self.qkv = nn.Linear(channels, 3 * channels, bias=False)
        self.proj = nn.Linear(channels, channels, bias=False)

    def reset_parameters(self) -> None:
        self.qkv.reset_parameters()
        self.proj.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor,
                pairs: tuple[Tensor, Tensor] | None = None) -> Tensor:
        n = x.size(0)
        pair_index, rel = sibling_pairs(edge_index, n) if pairs is None else pairs
        q, k, v = self.qkv(x).view(n, 3, self.heads, self.head_dim).unbind(1)
        out = x.new_zeros(n, self.heads, self.head_dim)
        per = self.heads // NUM_RELATIONS
        scale = 1.0 / math.sqrt(self.head_dim)
        for r in range(NUM_RELATIONS):
            i, j = pair_index[:, rel == r]
            hs = slice(r * per, (r + 1) * per)
            score = (q[i, hs] * k[j, hs]).sum(-1) * scale            # [P_r, per]
            alpha = softmax(score, i, num_nodes=n)
            alpha = F.dropout(alpha, self.dropout, self.training)
            out[:, hs] = scatter(alpha.unsqueeze(-1) * v[j, hs], i, 0, dim_size=n, reduce="sum")
        return F.dropout(self.proj(out.reshape(n, self.channels)), self.dropout, self.training)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.channels}, heads={self.heads})"
