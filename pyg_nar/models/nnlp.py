r"""NNLP, the latency predictor of NNLQP (Liu et al., ICPP 2022), batched over a PyG batch.

Node features (44-d in NNLQP, ``num_ops + 12`` here): ``[one_hot(op) | (op_attrs - c_a) / s_a |
(out_shape - c_s) / s_s]`` with NNLQP's centres and scales (``feature_utils.py``,
``node_feature.py``):

* attributes (kernel, stride, padding, dilation, groups, has-bias, perm, output padding):
  ``c_a = [2.53, 1.16, 0.75, 1.00, 15.08, 0.77, 1.78, 0]``,
  ``s_a = [56, 56, 6, 1, 6144, 1, 4, 1]``. NNLQP uses ``s = 1e-5`` for output padding,
  which maps a padding of 1 to 1e5; we use 1. NNLQP packs each operation's attributes into the
  first slots and leaves unused slots at 0 *after* normalisation, while our ``op_attrs`` has
  fixed slots with 0 for absent attributes, so absent slots become ``-c/s`` here. That offset
  depends only on the operation, so the first layer can absorb it (through the one-hot part).
* output shape (N, C, H, W): ``c_s = [12.25, 286.96, 32.62, 31.80]``,
  ``s_s = [1024, 2496, 256, 256]``.

Model: ``SAGEConv(F, 512, normalize=True) -> ReLU -> Dropout(0.05)`` twice over the
symmetrised graph (``adj_index``), global sum pooling, concatenation with
``ReLU(Dropout(Linear(S, 512)(static)))``, then ``512 -> 512 -> 1`` (ReLU, dropout) and
:math:`-\log\sigma(z)` so the prediction is positive. NNLQP's static features are
``[batch size, GFLOPs, Gparams, G memory access]``; ``static_scale="nnlqp"`` converts the
project's ``[batch, MFLOPs, Mparams, memory MB]`` (:data:`pyg_nar.networks.STATIC_FIELDS`) to them.
The project's ``perm`` slot is one number (``[0, 2, 3, 1]`` -> 231) where NNLQP encodes 8
digits, so a Transpose node gets a large normalised value there. Train it with a relative-error loss (``MSE(pred / y, 1)`` in NNLQP).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import SAGEConv, global_add_pool

from pyg_nar.models.base import Predictor
from pyg_nar.models.common import (OutputMap, StaticEncoder, check_ops, mlp, node_graph_index,
                                   require_field, resolve_static_scale, symmetric_adjacency)
from pyg_nar.models.registry import register_model

__all__ = ["NNLP"]

#: NNLQP's centre / scale of the 8 attribute slots (output padding's scale changed to 1).
ATTR_CENTER = (2.53, 1.16, 0.75, 1.00, 15.08, 0.77, 1.78, 0.0)
ATTR_SCALE = (56.0, 56.0, 6.0, 1.0, 6144.0, 1.0, 4.0, 1.0)
#: NNLQP's centre / scale of the output shape (N, C, H, W).
SHAPE_CENTER = (12.25, 286.96, 32.62, 31.80)
SHAPE_SCALE = (1024.0, 2496.0, 256.0, 256.0)
#: What adds the whole-network fields NNLP reads.
_HINT = "whole-network graphs from pyg_nar.networks carry it"


@register_model
class NNLP(Predictor):
    r"""NNLQP's GraphSAGE latency predictor from the `"NNLQP: A Multi-Platform Neural Network
    Latency Query and Prediction System with An Evolving Database"
    <https://doi.org/10.1145/3545008.3545051>`_ paper (ICPP 2022), batched over a PyG batch.

    With :math:`\mathbf{x}_v` the normalised node features of the module doc and
    :math:`\mathcal{N}(v)` the neighbours in the symmetrised graph (``adj_index``):

    .. math::
        \mathbf{h}_v^{(l+1)} &= \mathrm{Dropout}(\mathrm{ReLU}(\ell_2(\mathbf{W}_1
        \mathbf{h}_v^{(l)} + \mathbf{W}_2 \,\mathrm{mean}_{u \in \mathcal{N}(v)}
        \mathbf{h}_u^{(l)}))) \qquad \text{(SAGEConv, normalize=True)} \\
        \hat y &= -\log\sigma\big(\mathrm{MLP}([\,\textstyle\sum_v \mathbf{h}_v^{(L)}
        \;|\; \mathrm{Dropout}(\mathrm{ReLU}(\mathbf{W}_s (\mathbf{c} \odot
        \mathbf{s})))\,])\big) > 0

    with :math:`\mathbf{s}` the graph's ``static`` row, :math:`\mathbf{c}` ``static_scale``
    and the MLP ``2 hidden -> hidden -> hidden -> 1`` (ReLU, dropout).

    Args:
        num_ops (int): size of the operation vocabulary.
        static_dim (int, optional): width of the batch's ``static`` field (4 in NNLQP); 0
            ignores it. (default: :obj:`4`)
        static_scale (str or list[float], optional): factors multiplying ``static`` first:
            ``"nnlqp"`` turns the project's ``[batch, MFLOPs, Mparams, memory MB]`` into
            NNLQP's GFLOPs / G units, :obj:`None` keeps the values, or one float per column.
            (default: :obj:`"nnlqp"`)
        hidden (int, optional): GNN and head width. (default: :obj:`512`)
        num_layers (int, optional): number of SAGEConv layers. (default: :obj:`2`)
        dropout (float, optional): dropout everywhere. (default: :obj:`0.05`)

    Shapes:
        - **input:** a batch with ``op`` :math:`[N]`, ``op_attrs`` :math:`[N, 8]`,
          ``out_shape`` :math:`[N, 4]`, ``edge_index`` :math:`[2, E]` (or ``adj_index``) and,
          with ``static_dim``, ``static`` :math:`[B, S]`
        - **output:** :math:`[B]`, positive
    """

    LEGACY_KEYS = {"static_proj.0.": "static_proj.mlp.lins.0.", "head.0.": "head.lins.0.",
                   "head.3.": "head.lins.1.", "head.6.": "head.lins.2."}

    def __init__(self, num_ops: int, static_dim: int = 4,
                 static_scale: str | list[float] | None = "nnlqp",
                 hidden: int = 512, num_layers: int = 2, dropout: float = 0.05):
        super().__init__()
        self.num_ops, self.static_dim = num_ops, static_dim
        self.register_buffer("attr_center", torch.tensor(ATTR_CENTER), persistent=False)
        self.register_buffer("attr_scale", torch.tensor(ATTR_SCALE), persistent=False)
        self.register_buffer("shape_center", torch.tensor(SHAPE_CENTER), persistent=False)
        self.register_buffer("shape_scale", torch.tensor(SHAPE_SCALE), persistent=False)
        in_features = num_ops + len(ATTR_CENTER) + len(SHAPE_CENTER)
        self.convs = nn.ModuleList(
            SAGEConv(in_features if i == 0 else hidden, hidden, normalize=True)
            for i in range(num_layers))
        self.dropout = nn.Dropout(dropout)
        if static_dim:
            self.static_proj = StaticEncoder(static_dim, hidden, dropout, static_scale, who="NNLP")
        self.head = mlp([hidden * (2 if static_dim else 1), hidden, hidden, 1], dropout)
        self.output = OutputMap("neg_logsigmoid")

    @classmethod
    def resolve_config(cls, config: dict) -> dict:
        scale = resolve_static_scale(config["static_scale"], config["static_dim"], "NNLP")
        return {**config, "static_scale": scale}

    def node_features(self, batch) -> Tensor:
        """``[N, num_ops + 12]``: one-hot op, normalised attributes, normalised output shape."""
        op = require_field(batch, "op", "NNLP")
        check_ops(op, self.num_ops, "NNLP")
        attrs = require_field(batch, "op_attrs", "NNLP", _HINT).float()
        shape = require_field(batch, "out_shape", "NNLP", _HINT).float()
        return torch.cat([F.one_hot(op, self.num_ops).float(),
                          (attrs - self.attr_center) / self.attr_scale,
                          (shape - self.shape_center) / self.shape_scale], dim=-1)

    def forward(self, batch) -> Tensor:
        x = self.node_features(batch)
        adj = symmetric_adjacency(batch)
        for conv in self.convs:
            x = self.dropout(F.relu(conv(x, adj)))
        b, num_graphs = node_graph_index(batch)
        g = global_add_pool(x, b, size=num_graphs)
        if self.static_dim:
            g = torch.cat([g, self.static_proj(batch, num_graphs)], dim=-1)
        return self.output(self.head(g).squeeze(-1))
