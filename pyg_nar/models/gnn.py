r"""A plain PyG GNN accuracy predictor: the ResGatedGCN / GIN encoders FGP pre-trains.

`FGP (Kim et al., NeurIPS 2025) <https://arxiv.org/abs/2510.18360>`_ shows that a plain
message-passing encoder pre-trained on the flow surrogate (:mod:`pyg_nar.pretraining`)
ranks NB201 cells as well as the flow-aware FlowerFormer at a fraction of its cost. Its
ResGatedGCN encoder (Bresson & Laurent, 2017, :class:`torch_geometric.nn.ResGatedGraphConv`)
runs on the undirected cell graph:

.. math::
    \mathbf{h}^{(0)} = \mathrm{Emb}(\mathrm{op}), \qquad
    \mathbf{h}^{(l+1)} = \mathrm{Dropout}\Big(\mathrm{ReLU}\big(\beta\, \mathbf{h}^{(0)} +
    (1 - \beta)\, \mathrm{Conv}^{(l)}(\mathbf{h}^{(l)}, A + A^\top)\big)\Big)

with :math:`\beta = 0.2`, then :math:`\mathbf{g} = \mathrm{mean}_v\, \mathbf{h}^{(L)}_v` and
``head`` = ``Linear -> ReLU -> Linear`` gives the score.
"""
from __future__ import annotations

from torch import Tensor, nn
from torch_geometric.nn import MLP, GINConv, ResGatedGraphConv, global_mean_pool

from pyg_nar.models.common import check_ops, node_graph_index, require_field, symmetric_adjacency
from pyg_nar.models.base import Predictor
from pyg_nar.models.registry import register_model

__all__ = ["GNN"]

_CONVS = ("resgated", "gin")


@register_model
class GNN(Predictor):
    r"""Plain GNN ranking predictor; ``forward(batch) -> [B]`` scores.

    Args:
        num_ops (int): size of the operation vocabulary (``len(dataset.op_vocab)``).
        channels (int, optional): hidden width. (default: ``128``, FGP's NB201 value)
        num_layers (int, optional): message-passing layers. (default: ``3``)
        conv (str, optional): ``"resgated"`` (:class:`~torch_geometric.nn.ResGatedGraphConv`)
            or ``"gin"`` (:class:`~torch_geometric.nn.GINConv` with a 2-layer MLP).
            (default: ``"resgated"``)
        dropout (float, optional): dropout after every layer. (default: ``0.1``)
        residual (float, optional): weight :math:`\beta` of the input embedding added to every
            layer's output. (default: ``0.2``)
        directed (bool, optional): pass messages along ``edge_index`` only instead of the
            undirected graph. (default: ``False``)

    Shapes:
        - **input:** a batch with ``op`` :math:`(N)` and ``edge_index`` :math:`(2, E)`
        - **output:** :math:`(B)`
    """

    def __init__(self, num_ops: int, channels: int = 128, num_layers: int = 3,
                 conv: str = "resgated", dropout: float = 0.1, residual: float = 0.2,
                 directed: bool = False):
        super().__init__()
        if conv not in _CONVS:
            raise ValueError(f"GNN: conv must be one of {_CONVS}, got {conv!r}")
        if num_layers < 1:
            raise ValueError(f"GNN: num_layers must be >= 1, got {num_layers}")
        self.num_ops, self.residual, self.directed = num_ops, residual, directed
        self.embed = nn.Embedding(num_ops, channels)
        self.convs = nn.ModuleList(
            ResGatedGraphConv(channels, channels) if conv == "resgated"
            else GINConv(MLP([channels, channels, channels], norm=None))
            for _ in range(num_layers))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Sequential(nn.Linear(channels, channels), nn.ReLU(), nn.Linear(channels, 1))

    def node_embedding(self, batch) -> Tensor:
        """The ``[N, channels]`` node states after the last layer."""
        op = require_field(batch, "op", "GNN")
        check_ops(op, self.num_ops, "GNN")
        edge_index = batch.edge_index if self.directed else symmetric_adjacency(batch)
        x0 = self.embed(op)
        x = x0
        for conv in self.convs:
            x = self.dropout((self.residual * x0 + (1 - self.residual) * conv(x, edge_index)).relu())
        return x

    def forward(self, batch) -> Tensor:
        index, num_graphs = node_graph_index(batch)
        g = global_mean_pool(self.node_embedding(batch), index, size=num_graphs)
        return self.head(g).view(-1)
