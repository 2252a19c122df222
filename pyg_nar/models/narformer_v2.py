r"""NAR-Former V2 (Yi et al., NeurIPS 2023): a graph-aided Transformer for cells and whole
networks, batched over a PyG :class:`~torch_geometric.data.Batch` (no loop over graphs).

Pipeline (official code ``predictor/model.py``; see :mod:`pyg_nar.nn.graph_aided_attention`
for the layer and where our reading of the paper may differ from the code):

1. **Node tokens** (:meth:`NARFormerV2.node_features`), as V2's tokenizer builds them:

   * cells (``network_features=False``): ``[PE_nerf32(op) | PE_nerf32(position)]``, 128-d;
     the position is the node's index inside its graph. No topology is in the token: the graph
     enters only through the attention's adjacency.
   * whole networks (``network_features=True``): ``[one_hot(op) | PE_trans5(op_attrs) |
     PE_trans5(out_shape)]`` = ``num_ops + 80 + 40`` dims (V2's 152-d token with 32 op slots).
   * ``tokens_dim=D``: use the batch's ``tokens`` field (e.g. from
     :class:`pyg_nar.transforms.Tokenize`) instead.

2. ``num_layers`` x :class:`~pyg_nar.nn.NARFormerV2Layer` over the symmetric adjacency
   ``adj_index`` (computed from ``edge_index`` if the batch lacks it).

3. **Readout**:

   * ``task="accuracy"``: the node mean after every layer, ``[B, L, D]``; an MLP
     (``L*D -> L*D/4 -> L``, sigmoid) gives per-layer weights; the output is the weighted sum
     of the layer means (code's ``fusion_mlp``).
   * ``task="latency"``: the node sum after the last layer (code's NNLQP path).

   If ``static_dim > 0`` the graph-level ``static`` features are encoded as in V2
   (``PE_trans5`` of each entry, times ``static_scale`` first) and joined as
   ``ReLU(Dropout(Linear(static_pe)))``, width ``hidden``.

4. **Head** ``Linear(.., head_hidden) -> ReLU -> Dropout -> Linear -> ReLU -> Dropout ->
   Linear(.., 1)``, then the output map: ``"sigmoid"`` (accuracy as a fraction, default for
   ``task="accuracy"``), ``"neg_logsigmoid"`` (:math:`-\log\sigma(z) = \operatorname{softplus}(-z)
   > 0`, the code's output for both tasks and our default for latency), or ``"identity"``.

Train latency with a relative-error loss (:mod:`pyg_nar.losses`), as V2 does
(``MSE(pred / y, 1)``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.utils import scatter

from pyg_nar.models.registry import register_model
from pyg_nar.models.common import (check_ops, node_graph_index, require_field,
                                   resolve_static_scale, symmetric_adjacency)
from pyg_nar.nn.graph_aided_attention import NARFormerV2Layer
from pyg_nar.transforms import sinusoid_encoding

__all__ = ["NARFormerV2", "transformer_sinusoid"]

_TASKS = ("accuracy", "latency")
_OUTPUTS = ("sigmoid", "neg_logsigmoid", "identity")


def transformer_sinusoid(values: Tensor, num_freqs: int) -> Tensor:
    r"""V2's ``'trans'`` encoding of every entry of ``values``: ``[..., K] -> [..., K * 2L]``,
    :math:`[\sin(x / 10000^{j/L}), \cos(x / 10000^{j/L})]_{j=0..L-1}` interleaved
    (``get_embedder(L, 'trans')`` of the V2 code, used for ``op_attrs``, ``out_shape`` and
    ``static`` with ``L = 5``). Computed in float64, returned as float32. (The ``'nerf'``
    encoding of op and position is :func:`pyg_nar.transforms.sinusoid_encoding`.)
    """
    freqs = 1.0 / (10000.0 ** (torch.arange(num_freqs, dtype=torch.float64,
                                            device=values.device) / num_freqs))
    arg = values.to(torch.float64).unsqueeze(-1) * freqs  # [..., K, L]
    out = torch.stack([torch.sin(arg), torch.cos(arg)], dim=-1)  # [..., K, L, 2]
    return out.flatten(-3).to(torch.float32)


@register_model
class NARFormerV2(nn.Module):
    r"""NAR-Former V2 predictor; ``forward(batch) -> [B]``.

    Args:
        num_ops: size of the dataset's operation vocabulary (``len(dataset.op_vocab)``).
        task: ``"accuracy"`` (layer-weighted mean readout) or ``"latency"`` (sum readout).
        network_features: build tokens from ``op_attrs`` / ``out_shape`` (whole networks)
            instead of the cell tokens ``[PE(op) | PE(position)]``.
        static_dim: width ``S`` of the batch's ``static`` field to join at the head (0: none).
        static_scale: factors that multiply ``static`` before its encoding: ``"nnlqp"``
            (default) turns the project's ``[batch, MFLOPs, Mparams, memory MB]`` into the
            GFLOPs / G units V2 encodes; ``None`` keeps the values; or one float per column.
        tokens_dim: if set, read node tokens of this width from the batch's ``tokens`` field.
        hidden: width of every layer (512).
        num_layers: number of V2 layers (default 6 for accuracy, 2 for latency, as the code's
            NB201 and NNLQP scripts).
        ffn_ratio, groups: grouped FFN width ratio (4) and groups (8).
        dropout: dropout everywhere (0.05).
        layer_scale_init: initial LayerScale :math:`\gamma` (1e-4).
        degree_gating: the degree gate ("type-aware enhancement", code ``--use_degree``).
        head_hidden: width of the prediction head (512).
        output: ``"sigmoid"``, ``"neg_logsigmoid"`` or ``"identity"``; default by task.
    """

    def __init__(self, num_ops: int, task: str = "accuracy", network_features: bool = False,
                 static_dim: int = 0, static_scale: str | list[float] | None = "nnlqp",
                 tokens_dim: int | None = None, hidden: int = 512, num_layers: int | None = None,
                 ffn_ratio: int = 4, groups: int = 8, dropout: float = 0.05,
                 layer_scale_init: float = 1e-4, degree_gating: bool = True,
                 head_hidden: int = 512, output: str | None = None):
        super().__init__()
        if task not in _TASKS:
            raise ValueError(f"NARFormerV2: task must be one of {_TASKS}, got {task!r}")
        if num_layers is None:
            num_layers = 6 if task == "accuracy" else 2
        if output is None:
            output = "sigmoid" if task == "accuracy" else "neg_logsigmoid"
        if output not in _OUTPUTS:
            raise ValueError(f"NARFormerV2: output must be one of {_OUTPUTS}, got {output!r}")
        static_scale = resolve_static_scale(static_scale, static_dim, "NARFormerV2")
        if num_layers < 1:
            raise ValueError(f"NARFormerV2: num_layers must be >= 1, got {num_layers}")
        self.config = dict(num_ops=num_ops, task=task, network_features=network_features,
                           static_dim=static_dim, static_scale=static_scale,
                           tokens_dim=tokens_dim, hidden=hidden, num_layers=num_layers,
                           ffn_ratio=ffn_ratio, groups=groups, dropout=dropout,
                           layer_scale_init=layer_scale_init, degree_gating=degree_gating,
                           head_hidden=head_hidden, output=output)
        self.num_ops, self.task, self.output = num_ops, task, output
        self.network_features, self.tokens_dim = network_features, tokens_dim
        self.static_dim = static_dim
        if static_scale is not None:
            self.register_buffer("static_scale", torch.tensor(static_scale), persistent=False)
        else:
            self.static_scale = None

        self.in_features = self._input_width()
        self.layers = nn.ModuleList(
            NARFormerV2Layer(self.in_features if i == 0 else hidden, hidden, ffn_ratio, groups,
                             dropout, layer_scale_init, degree_gating)
            for i in range(num_layers))
        if task == "accuracy":
            total = num_layers * hidden
            self.layer_weights = nn.Sequential(
                nn.Linear(total, max(total // 4, 1)), nn.ReLU(),
                nn.Linear(max(total // 4, 1), num_layers), nn.Sigmoid())
        if static_dim:
            self.static_proj = nn.Sequential(nn.Linear(static_dim * 10, hidden),
                                             nn.Dropout(dropout), nn.ReLU())
        self.head = nn.Sequential(
            nn.Linear(hidden + (hidden if static_dim else 0), head_hidden), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(head_hidden, head_hidden), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(head_hidden, 1))

    # -- input stage -------------------------------------------------------------------------
    def _input_width(self) -> int:
        if self.tokens_dim is not None:
            return int(self.tokens_dim)
        if self.network_features:
            return self.num_ops + 8 * 10 + 4 * 10
        return 64 + 64

    def node_features(self, batch) -> Tensor:
        """The ``[N, in_features]`` node tokens the first layer reads (see the module doc)."""
        who = type(self).__name__
        if self.tokens_dim is not None:
            tokens = require_field(batch, "tokens", who, "add the Tokenize transform")
            if tokens.dim() != 2 or tokens.size(1) != self.tokens_dim:
                raise ValueError(f"{who}: tokens have shape {tuple(tokens.shape)}, expected "
                                 f"[N, {self.tokens_dim}] (tokens_dim)")
            return tokens.float()
        op = require_field(batch, "op", who)
        check_ops(op, self.num_ops, who)
        if self.network_features:
            hint = "whole-network graphs from pyg_nar.onnx carry it"
            attrs = require_field(batch, "op_attrs", who, hint)
            shape = require_field(batch, "out_shape", who, hint)
            return torch.cat([F.one_hot(op, self.num_ops).float(), transformer_sinusoid(attrs, 5),
                              transformer_sinusoid(shape, 5)], dim=-1)
        b, num_graphs = node_graph_index(batch)
        counts = torch.bincount(b, minlength=num_graphs)
        start = torch.cumsum(counts, 0) - counts
        position = torch.arange(b.numel(), device=b.device) - start[b]
        return torch.cat([sinusoid_encoding(op.cpu(), 32).to(op.device),
                          sinusoid_encoding(position.cpu(), 32).to(op.device)], dim=-1)

    def static_features(self, batch, num_graphs: int) -> Tensor:
        who = type(self).__name__
        static = require_field(batch, "static", who, f"static_dim={self.static_dim}").float()
        static = static.view(num_graphs, -1)
        if static.size(1) != self.static_dim:
            raise ValueError(f"{who}: static has {static.size(1)} features per graph, "
                             f"expected static_dim={self.static_dim}")
        if self.static_scale is not None:
            static = static * self.static_scale
        return self.static_proj(transformer_sinusoid(static, 5))

    # -- forward -----------------------------------------------------------------------------
    def forward(self, batch) -> Tensor:
        x = self.node_features(batch)
        adj = symmetric_adjacency(batch)
        b, num_graphs = node_graph_index(batch)
        layer_means = []
        for layer in self.layers:
            x = layer(x, adj)
            if self.task == "accuracy":
                layer_means.append(scatter(x, b, 0, dim_size=num_graphs, reduce="mean"))
        if self.task == "accuracy":
            means = torch.stack(layer_means, dim=1)  # [B, L, D]
            weights = self.layer_weights(means.flatten(1))  # [B, L]
            g = (means * weights.unsqueeze(-1)).sum(1)
        else:
            g = scatter(x, b, 0, dim_size=num_graphs, reduce="sum")
        if self.static_dim:
            g = torch.cat([g, self.static_features(batch, num_graphs)], dim=-1)
        z = self.head(g).squeeze(-1)
        if self.output == "sigmoid":
            return torch.sigmoid(z)
        if self.output == "neg_logsigmoid":
            return -F.logsigmoid(z)
        return z
