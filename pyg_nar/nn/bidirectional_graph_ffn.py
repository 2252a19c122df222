"""NN-Former's bidirectional graph-isomorphism feed-forward network (:class:`BidirectionalGraphFFN`)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.utils import scatter

__all__ = ["BidirectionalGraphFFN"]


class BidirectionalGraphFFN(nn.Module):
    r"""NN-Former's bidirectional graph-isomorphism feed-forward network (BGIFFN)
    (`NN-Former, Xu et al., CVPR 2025 <https://arxiv.org/abs/2507.00880>`_): the FFN's
    hidden layer also sums, GIN-style, the projected states of the successors (first half of
    the hidden units) and of the predecessors (second half):

    .. math::
        \mathbf{y}_i = W_2\, \mathrm{Dropout}\Big(\mathrm{ReLU}\Big(W_1 \mathbf{x}_i +
        \Big[\sum_{i \to j} W_s \mathbf{x}_j \;\Big\Vert\; \sum_{j \to i} W_p \mathbf{x}_j
        \Big]\Big)\Big)

    (:math:`[W_s; W_p]` is one ``Linear(d, hidden)``; no biases.)

    Args:
        channels (int): input and output width :math:`d`.
        hidden (int): hidden width (even). (default: ``4 * channels`` if ``None``)
        dropout (float, optional): dropout after the activation and on the output.
            (default: ``0.0``)

    Shapes:
        - **input:** node features :math:`(N, d)`, ``edge_index`` :math:`(2, E)` (the DAG,
          ``source -> target``)
        - **output:** :math:`(N, d)`
    """

    def __init__(self, channels: int, hidden: int | None = None, dropout: float = 0.0):
        super().__init__()
        hidden = 4 * channels if hidden is None else hidden
        if hidden % 2:
            raise ValueError(f"BidirectionalGraphFFN: hidden must be even, got {hidden}")
        self.channels, self.hidden, self.dropout = channels, hidden, dropout
        self.fc1 = nn.Linear(channels, hidden, bias=False)
        self.graph = nn.Linear(channels, hidden, bias=False)
        self.fc2 = nn.Linear(hidden, channels, bias=False)

    def reset_parameters(self) -> None:
        for lin in (self.fc1, self.graph, self.fc2):
            lin.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        n = x.size(0)
        src, dst = edge_index
        to_succ, to_pred = self.graph(x).chunk(2, dim=-1)
        from_succ = scatter(to_succ[dst], src, 0, dim_size=n, reduce="sum")   # A x
        from_pred = scatter(to_pred[src], dst, 0, dim_size=n, reduce="sum")   # A^T x
        h = F.relu(self.fc1(x) + torch.cat([from_succ, from_pred], dim=-1))
        h = F.dropout(h, self.dropout, self.training)
        return F.dropout(self.fc2(h), self.dropout, self.training)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.channels}, hidden={self.hidden})"
