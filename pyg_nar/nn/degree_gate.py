from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.utils import degree

__all__ = ["DegreeGate"]


class DegreeGate(nn.Module):
    r"""Degree gating, our reading of the *type-aware enhancement* of `"NAR-Former V2:
    Rethinking Transformer for Universal Neural Network Representation Learning"
    <https://arxiv.org/abs/2306.10792>`_ (NeurIPS 2023):

    .. math::
        \mathbf{x}'_i = \mathbf{x}_i \odot \sigma(\mathbf{w}_d\, d_i + \mathbf{b}_d),

    with :math:`d_i` the number of neighbours of node :math:`i` in the symmetric adjacency
    (the row sum of :math:`\mathbf{A} + \mathbf{A}^\top`).

    The official code (``predictor/model.py``) has exactly one switchable "enhancement"
    besides the attention itself, ``--use_degree``, and every training script turns it on; we
    read "type-aware" as "aware of the node's structural role" (a branching point, a merge, a
    plain chain link), which the degree encodes. Operation-type information enters through
    the node embedding rather than through this gate. This attribution is our inference (only
    the V2 abstract is available to the project); the reference notes mark it as unconfirmed.

    The degree is counted from ``adj_index`` inside the layer with
    :func:`torch_geometric.utils.degree` (on a DAG without duplicate edges it equals
    ``in_degree + out_degree`` of :class:`pyg_nar.transforms.NodeDegree`), so the layer needs
    no extra field.

    Args:
        channels (int): node feature size :math:`D` (input = output).

    Shapes:
        - **input:** node features :math:`(N, D)`, symmetric adjacency :math:`(2, 2E)`
        - **output:** node features :math:`(N, D)`
    """

    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels
        self.lin = nn.Linear(1, channels)

    def reset_parameters(self) -> None:
        self.lin.reset_parameters()

    def forward(self, x: Tensor, adj_index: Tensor) -> Tensor:
        deg = degree(adj_index[1], x.size(0), dtype=x.dtype).unsqueeze(-1)
        return x * torch.sigmoid(self.lin(deg))

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.channels})"
