from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch_geometric.utils import scatter, softmax

__all__ = ["FlowAttention"]


class FlowAttention(nn.Module):
    r"""The flow-aware global attention of `"FlowerFormer: Empowering Neural Architecture
    Encoding using a Flow-aware Graph Transformer" <https://arxiv.org/abs/2403.12821>`_
    (Sec. 4.2, Eq. (5)): multi-head scaled dot-product attention in which node :math:`i`
    attends only to the nodes :math:`j` of the pairs :math:`(j, i) \in \mathcal{P}` of
    ``flow_index`` -- the nodes joined to :math:`i` by a directed path in either direction,
    and :math:`i` itself (:class:`pyg_nar.transforms.FlowMask`):

    .. math::
        \alpha^{(h)}_{ij} &= \mathrm{softmax}_{j:(j,i)\in\mathcal{P}}\left(
        \frac{(\mathbf{W}_Q^{(h)} \mathbf{x}_i)^\top \mathbf{W}_K^{(h)} \mathbf{x}_j}
        {\sqrt{d/H}}\right) \\
        \mathbf{x}'_i &= \mathbf{W}_O \, \big\Vert_{h=1}^{H} \sum_{j:(j,i)\in\mathcal{P}}
        \alpha^{(h)}_{ij} \mathbf{W}_V^{(h)} \mathbf{x}_j + \mathbf{b}_O

    As in the official ``dag_attention.py``: no bias on the query/key/value projections, a
    biased output projection, dropout on the attention weights. Computed sparsely over the
    pairs (:math:`O(|\mathcal{P}|)` memory, never an :math:`N \times N` mask).

    Equivalent: ``FlowAttention(d, heads=H)`` computes ``out_proj(TransformerConv(d, d // H,
    heads=H, root_weight=False, bias=False)(x, flow_index))`` of
    :class:`torch_geometric.nn.conv.TransformerConv` with the same weights (its
    ``lin_query | lin_key | lin_value`` are the three row blocks of ``qkv``;
    ``tests/nn/test_library_equivalents.py`` compares them). It is written out to keep the
    official code's parameter layout (one fused ``qkv`` projection, Xavier-initialised per
    block) and the checkpoints made with it.

    Args:
        channels (int): feature size :math:`d` (input = output); divisible by ``heads``.
        heads (int, optional): number of attention heads :math:`H` (8 in the paper).
            (default: :obj:`8`)
        attn_dropout (float, optional): dropout on the attention weights (0.5 in the official
            NB201 configuration). (default: :obj:`0.0`)

    Shapes:
        - **input:** node features :math:`(N, d)`, flow pairs :math:`(2, |\mathcal{P}|)`
        - **output:** node features :math:`(N, d)`, or, with
          ``return_attention_weights=True``, ``(out, (flow_index, alpha))`` with
          ``alpha`` :math:`(|\mathcal{P}|, H)`: ``alpha[p, h]`` is the weight node
          ``flow_index[1, p]`` gives to node ``flow_index[0, p]`` in head :math:`h`
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
        """The ``[d, H]`` 0/1 matrix that sums each head's ``d / H`` channels (cached)."""
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
