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
project's ``[batch, MFLOPs, Mparams, memory MB]`` (:data:`pyg_nar.onnx.STATIC_FIELDS`) to them.
The project's ``perm`` slot is one number (``[0, 2, 3, 1]`` -> 231) where NNLQP encodes 8
digits, so a Transpose node gets a large normalised value there. Train it with a relative-error loss (``MSE(pred / y, 1)`` in NNLQP).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import SAGEConv
from torch_geometric.utils import scatter

from pyg_nar.models.registry import register_model
from pyg_nar.models.common import (check_ops, node_graph_index, require_field,
                                   resolve_static_scale, symmetric_adjacency)

__all__ = ["NNLP"]

#: NNLQP's centre / scale of the 8 attribute slots (output padding's scale changed to 1).
ATTR_CENTER = (2.53, 1.16, 0.75, 1.00, 15.08, 0.77, 1.78, 0.0)
ATTR_SCALE = (56.0, 56.0, 6.0, 1.0, 6144.0, 1.0, 4.0, 1.0)
#: NNLQP's centre / scale of the output shape (N, C, H, W).
SHAPE_CENTER = (12.25, 286.96, 32.62, 31.80)
SHAPE_SCALE = (1024.0, 2496.0, 256.0, 256.0)


@register_model
class NNLP(nn.Module):
    """NNLQP's GraphSAGE latency predictor; ``forward(batch) -> [B]`` positive latencies.

    Args:
        num_ops: size of the operation vocabulary.
        static_dim: width of the batch's ``static`` field (4 in NNLQP); 0 ignores it.
        static_scale: factors multiplying ``static`` first: ``"nnlqp"`` (default) turns the
            project's ``[batch, MFLOPs, Mparams, memory MB]`` into NNLQP's GFLOPs / G units,
            ``None`` keeps the values, or one float per column.
        hidden: GNN and head width (512).
        num_layers: number of SAGEConv layers (2).
        dropout: 0.05.
    """

    def __init__(self, num_ops: int, static_dim: int = 4,
                 static_scale: str | list[float] | None = "nnlqp",
                 hidden: int = 512, num_layers: int = 2, dropout: float = 0.05):
        super().__init__()
        static_scale = resolve_static_scale(static_scale, static_dim, "NNLP")
        self.config = dict(num_ops=num_ops, static_dim=static_dim, static_scale=static_scale,
                           hidden=hidden, num_layers=num_layers, dropout=dropout)
        self.num_ops, self.static_dim = num_ops, static_dim
        self.register_buffer("attr_center", torch.tensor(ATTR_CENTER), persistent=False)
        self.register_buffer("attr_scale", torch.tensor(ATTR_SCALE), persistent=False)
        self.register_buffer("shape_center", torch.tensor(SHAPE_CENTER), persistent=False)
        self.register_buffer("shape_scale", torch.tensor(SHAPE_SCALE), persistent=False)
        if static_scale is not None:
            self.register_buffer("static_scale", torch.tensor(static_scale), persistent=False)
        else:
            self.static_scale = None
        in_features = num_ops + len(ATTR_CENTER) + len(SHAPE_CENTER)
        self.convs = nn.ModuleList(
            SAGEConv(in_features if i == 0 else hidden, hidden, normalize=True)
            for i in range(num_layers))
        self.dropout = nn.Dropout(dropout)
        if static_dim:
            self.static_proj = nn.Sequential(nn.Linear(static_dim, hidden), nn.Dropout(dropout),
                                             nn.ReLU())
        self.head = nn.Sequential(
            nn.Linear(hidden * (2 if static_dim else 1), hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 1))

    def node_features(self, batch) -> Tensor:
        """``[N, num_ops + 12]``: one-hot op, normalised attributes, normalised output shape."""
        hint = "whole-network graphs from pyg_nar.onnx carry it"
        op = require_field(batch, "op", "NNLP")
        check_ops(op, self.num_ops, "NNLP")
        attrs = require_field(batch, "op_attrs", "NNLP", hint).float()
        shape = require_field(batch, "out_shape", "NNLP", hint).float()
        return torch.cat([F.one_hot(op, self.num_ops).float(),
                          (attrs - self.attr_center) / self.attr_scale,
                          (shape - self.shape_center) / self.shape_scale], dim=-1)

    def forward(self, batch) -> Tensor:
        x = self.node_features(batch)
        adj = symmetric_adjacency(batch)
        for conv in self.convs:
            x = self.dropout(F.relu(conv(x, adj)))
        b, num_graphs = node_graph_index(batch)
        g = scatter(x, b, 0, dim_size=num_graphs, reduce="sum")
        if self.static_dim:
            static = require_field(batch, "static", "NNLP", f"static_dim={self.static_dim}")
            static = static.float().view(num_graphs, -1)
            if static.size(1) != self.static_dim:
                raise ValueError(f"NNLP: static has {static.size(1)} features per graph, "
                                 f"expected static_dim={self.static_dim}")
            if self.static_scale is not None:
                static = static * self.static_scale
            g = torch.cat([g, self.static_proj(static)], dim=-1)
        return -F.logsigmoid(self.head(g).squeeze(-1))
