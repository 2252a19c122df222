from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import scatter

from pyg_nar.nn.degree_gate import DegreeGate

__all__ = ["GraphAidedAttention"]


class GraphAidedAttention(MessagePassing):
    r"""The graph-aided attention of `"NAR-Former V2: Rethinking Transformer for Universal
    Neural Network Representation Learning" <https://arxiv.org/abs/2306.10792>`_ (NeurIPS
    2023; official code ``GNN_LinearAttn``), computed sparsely over the symmetric adjacency:

    .. math::
        \mathbf{S} &= \sigma(\mathbf{W}_{qk} \mathbf{x} + \mathbf{b}_{qk}) \qquad
        \text{(queries and keys share one projection)} \\
        e_{ij} &= \mathbf{S}_i^\top \mathbf{S}_j / \sqrt{D} \quad
        \text{for } j \in \mathcal{N}(i) \text{ only} \\
        \alpha_{ij} &= e_{ij} \,/\, \big(\textstyle\sum_{k \in \mathcal{N}(i)} e_{ik}
        + \epsilon\big) \\
        \mathbf{x}'_i &= \operatorname{L2norm}\big(\mathbf{W}_l \textstyle\sum_{j \in
        \mathcal{N}(i)} \alpha_{ij} \mathbf{x}_j + \mathbf{b}_l + \mathbf{W}_r \mathbf{x}_i\big)

    Since :math:`\mathbf{S} \in (0, 1)^D`, every score is positive and each row of
    :math:`\alpha` over a node's neighbours sums to (just under) one; non-adjacent pairs get
    weight zero.

    Paper vs. code: the abstract describes a Transformer whose attention is "aided" by the
    graph so as to inherit a GNN's inductive behaviour (only the abstract is available to the
    project; the official ``predictor/model.py`` is the complete description). In the code
    this is not softmax attention: there is a single head, no softmax (a sigmoid kernel
    normalised by its row sum), no value projection before aggregation
    (:math:`\mathbf{W}_l` acts after it) and a separate root term :math:`\mathbf{W}_r
    \mathbf{x}_i` as in GraphSAGE; self pairs are excluded from the attention (the root term
    plays their role). We implement the code's form. With ``degree_gating=True`` the
    :class:`DegreeGate` is applied to :math:`\mathbf{x}` first, as the code does inside this
    layer. The official code loops over graphs with dense :math:`N \times N` matrices; here
    whole batches run at once.

    Args:
        in_channels (int): input width :math:`D` (also the width of :math:`\mathbf{S}`).
        out_channels (int): output width.
        degree_gating (bool, optional): apply :class:`DegreeGate` to the input (the code's
            ``--use_degree``). (default: :obj:`True`)
        normalize (bool, optional): L2-normalise the output rows (the code always does).
            (default: :obj:`True`)
        eps (float, optional): :math:`\epsilon`, added to the row sums. (default:
            :obj:`1e-6`, the code's)

    Shapes:
        - **input:** node features :math:`(N, D)`, symmetric adjacency :math:`(2, 2E)`
          (edges in both directions, no self loops, as
          :class:`pyg_nar.transforms.SymmetricAdjacency` makes it; ``j -> i`` sends
          :math:`\mathbf{x}_j` to :math:`i`)
        - **output:** node features :math:`(N, \text{out\_channels})`, or, with
          ``return_attention_weights=True``, ``(out, (adj_index, alpha))`` with ``alpha``
          :math:`(2E)`
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

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.degree_gate is not None:
            self.degree_gate.reset_parameters()
        for lin in (self.lin_qk, self.lin_l, self.lin_r):
            lin.reset_parameters()

    def forward(self, x: Tensor, adj_index: Tensor, return_attention_weights: bool = False):
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
