r"""Layers of NAR-Former V2 (Yi et al., NeurIPS 2023): graph-aided attention, the degree
gate ("type-aware enhancement"), and the grouped graph feed-forward network.

The V2 paper is only available to this project as its abstract ("we incorporate the inductive
representation learning capability of GNN into Transformer ... a series of simple yet effective
modifications"). The layers below follow the official code (``predictor/model.py``,
``GNN_LinearAttn`` + ``GroupedFeedForward``), which is the only complete description we have;
each docstring says where our reading of the paper's names may differ from that code.

Everything works on a flat node matrix ``x`` ``[N, D]`` of a PyG batch and the symmetric
adjacency ``adj_index`` ``[2, 2E]`` (edges in both directions, no self loops, see
:class:`pyg_nar.transforms.SymmetricAdjacency`), so whole batches run at once; the official
code loops over graphs one at a time with dense ``[N, N]`` matrices.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import degree, scatter

__all__ = ["DegreeGate", "GraphAidedAttention", "GroupedLinear", "GroupedFeedForward",
           "NARFormerV2Layer"]


class DegreeGate(nn.Module):
    r"""Degree gating, our reading of V2's *type-aware enhancement*:
    :math:`x_i \leftarrow x_i \odot \sigma(W_d\, d_i + b_d)`, with :math:`d_i` the number of
    neighbours of node :math:`i` in the symmetric adjacency (the row sum of
    :math:`A + A^\top`).

    The official code has exactly one switchable "enhancement" besides the attention itself,
    ``--use_degree``, and every training script turns it on; we read "type-aware" as "aware of
    the node's structural role" (a branching point, a merge, a plain chain link), which the
    degree encodes. Operation-type information enters through the node embedding (one-hot or
    sinusoid of ``op``) rather than through this gate. This attribution is our inference; the
    reference notes mark it as unconfirmed.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.lin = nn.Linear(1, channels)

    def forward(self, x: Tensor, adj_index: Tensor) -> Tensor:
        deg = degree(adj_index[1], x.size(0), dtype=x.dtype).unsqueeze(-1)
        return x * torch.sigmoid(self.lin(deg))


class GraphAidedAttention(MessagePassing):
    r"""Graph-aided attention (V2, code ``GNN_LinearAttn``), computed sparsely over ``adj_index``.

    .. math::
        S &= \sigma(W_{qk} x) \qquad \text{(queries and keys share one projection)} \\
        e_{ij} &= S_i^\top S_j / \sqrt{D} \quad \text{for } j \in \mathcal{N}(i) \text{ only} \\
        \alpha_{ij} &= e_{ij} \,/\, \big(\textstyle\sum_{k \in \mathcal{N}(i)} e_{ik} + 10^{-6}\big) \\
        h_i &= \operatorname{L2norm}\big(W_l \textstyle\sum_{j} \alpha_{ij} x_j + W_r x_i\big)

    Since :math:`S \in (0, 1)^D`, every score is positive and each row of :math:`\alpha` over
    a node's neighbours sums to (just under) one; non-adjacent pairs get weight zero.

    Paper vs. code: the abstract describes a Transformer whose attention is "aided" by the graph
    so as to inherit a GNN's inductive behaviour. In the code this is not softmax attention:
    there is a single head, no softmax (a sigmoid kernel normalised by its row sum), no value
    projection before aggregation (:math:`W_l` acts after it) and a separate root term
    :math:`W_r x_i` as in GraphSAGE; self pairs are excluded from the attention (the root term
    plays their role). We implement the code's form. With ``degree_gating=True`` the
    :class:`DegreeGate` is applied to ``x`` first, as the code does inside this layer.

    Args:
        in_channels: input width :math:`D` (also the width of :math:`S`).
        out_channels: output width.
        degree_gating: apply :class:`DegreeGate` to the input (code's ``--use_degree``).
        normalize: L2-normalise the output rows (the code always does).
        eps: added to the row sums (1e-6 in the code).
    """

    def __init__(self, in_channels: int, out_channels: int, degree_gating: bool = True,
                 normalize: bool = True, eps: float = 1e-6):
        super().__init__(aggr="add", node_dim=0)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.normalize, self.eps = normalize, eps
        self.degree_gate = DegreeGate(in_channels) if degree_gating else None
        self.lin_qk = nn.Linear(in_channels, in_channels)
        self.lin_l = nn.Linear(in_channels, out_channels)
        self.lin_r = nn.Linear(in_channels, out_channels, bias=False)
        self._alpha: Tensor | None = None

    def forward(self, x: Tensor, adj_index: Tensor, return_attention_weights: bool = False):
        """``x`` ``[N, in]``, ``adj_index`` ``[2, E]`` (``j -> i`` sends ``x_j`` to ``i``).

        Returns ``[N, out]``, or ``(out, (adj_index, alpha))`` with ``alpha`` ``[E]`` when
        ``return_attention_weights`` is set.
        """
        if self.degree_gate is not None:
            x = self.degree_gate(x, adj_index)
        s = torch.sigmoid(self.lin_qk(x))
        agg = self.propagate(adj_index, x=x, s=s)
        out = self.lin_l(agg) + self.lin_r(x)
        if self.normalize:
            out = F.normalize(out, p=2.0, dim=-1)
        alpha, self._alpha = self._alpha, None
        if return_attention_weights:
            return out, (adj_index, alpha)
        return out

    def message(self, x_j: Tensor, s_i: Tensor, s_j: Tensor, index: Tensor,
                size_i: int | None) -> Tensor:
        score = (s_i * s_j).sum(-1) / math.sqrt(s_i.size(-1))
        rowsum = scatter(score, index, dim=0, dim_size=size_i, reduce="sum")
        alpha = score / (rowsum[index] + self.eps)
        self._alpha = alpha
        return alpha.unsqueeze(-1) * x_j

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
                f"degree_gating={self.degree_gate is not None})")


class GroupedLinear(nn.Module):
    r"""Grouped linear map (V2's ``GroupLinear``, after the pyramidal recurrent unit): the
    input is split into ``groups`` equal chunks, chunk :math:`g` is mapped by its own weight
    :math:`W_g`, and (optionally) each output chunk is layer-normalised with one shared
    :class:`~torch.nn.LayerNorm` over the chunk width, as the code's ``glt_norm=LN`` does.
    Uses ``in*out/groups`` weights instead of ``in*out``.
    """

    def __init__(self, in_channels: int, out_channels: int, groups: int = 8,
                 bias: bool = True, norm: bool = True):
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"GroupedLinear: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must both be divisible by groups ({groups})")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        gi, go = in_channels // groups, out_channels // groups
        self.weight = nn.Parameter(torch.empty(groups, gi, go))
        self.bias = nn.Parameter(torch.zeros(groups, go)) if bias else None
        self.norm = nn.LayerNorm(go) if norm else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for w in self.weight:
            nn.init.xavier_uniform_(w)
        if self.bias is not None:
            nn.init.zeros_(self.bias)
        if self.norm is not None:
            self.norm.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        lead = x.shape[:-1]
        x = x.reshape(-1, self.groups, self.in_channels // self.groups)
        x = torch.einsum("ngi,gio->ngo", x, self.weight)
        if self.bias is not None:
            x = x + self.bias
        if self.norm is not None:
            x = self.norm(x)
        return x.reshape(*lead, self.out_channels)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
                f"groups={self.groups}, norm={self.norm is not None})")


class GroupedFeedForward(nn.Module):
    r"""V2's grouped feed-forward network: ``GroupedLinear(D, rD) -> ReLU -> Dropout ->
    GroupedLinear(rD, D) -> Dropout`` (code ``GroupedFeedForward``, 8 groups, ratio 4).

    It is node-wise: no neighbourhood aggregation happens here (the graph enters only through
    :class:`GraphAidedAttention`). We read the paper's "graph feed-forward" as this block.
    """

    def __init__(self, channels: int, ratio: int = 4, groups: int = 8, dropout: float = 0.05,
                 norm: bool = True):
        super().__init__()
        self.net = nn.Sequential(
            GroupedLinear(channels, channels * ratio, groups, norm=norm), nn.ReLU(),
            nn.Dropout(dropout),
            GroupedLinear(channels * ratio, channels, groups, norm=norm), nn.Dropout(dropout))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class NARFormerV2Layer(nn.Module):
    r"""One NAR-Former V2 block:

    .. math::
        x &\leftarrow \operatorname{Dropout}(\operatorname{ReLU}(\operatorname{GAA}(x, A))) \\
        x &\leftarrow x + \gamma \odot \operatorname{GroupedFFN}(\operatorname{LN}(x))

    with :class:`GraphAidedAttention` (including the :class:`DegreeGate`) and a LayerScale
    vector :math:`\gamma` initialised to ``layer_scale_init`` (1e-4 in the code). The
    attention has no residual connection, so ``in_channels`` may differ from ``channels``
    (the first layer maps the raw token width to the hidden width).
    """

    def __init__(self, in_channels: int, channels: int, ffn_ratio: int = 4, groups: int = 8,
                 dropout: float = 0.05, layer_scale_init: float = 1e-4,
                 degree_gating: bool = True):
        super().__init__()
        self.attn = GraphAidedAttention(in_channels, channels, degree_gating=degree_gating)
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(channels)
        self.ffn = GroupedFeedForward(channels, ffn_ratio, groups, dropout)
        self.gamma = nn.Parameter(torch.full((channels,), float(layer_scale_init)))

    def forward(self, x: Tensor, adj_index: Tensor) -> Tensor:
        x = self.dropout(F.relu(self.attn(x, adj_index)))
        return x + self.gamma * self.ffn(self.norm(x))
