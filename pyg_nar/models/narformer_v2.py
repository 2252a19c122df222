r"""NAR-Former V2 (Yi et al., NeurIPS 2023): a graph-aided Transformer for cells and whole
networks, batched over a PyG :class:`~torch_geometric.data.Batch` (no loop over graphs).

Pipeline (official code ``predictor/model.py``; see :mod:`pyg_nar.nn.graph_aided_attention`
for the layer and where our reading of the paper may differ from the code):

1. **Node tokens**: the ``tokens`` field, made by the :class:`pyg_nar.transforms.TokenizeV2`
   transform as V2's tokenizer builds them (cells: ``[PE_nerf32(op) | PE_nerf32(position)]``,
   128-d; whole networks: ``[one_hot(op) | PE_trans5(op_attrs) | PE_trans5(out_shape)]`` =
   ``num_ops + 120`` dims), or by :class:`pyg_nar.transforms.Tokenize` with ``tokens_dim=D``.

2. ``num_layers`` x :class:`~pyg_nar.nn.NARFormerV2Layer` over the symmetric adjacency
   ``adj_index`` (computed from ``edge_index`` if the batch lacks it).

3. **Readout**:

   * ``task="accuracy"``: the node mean after every layer, ``[B, L, D]``; an MLP
     (``L*D -> L*D/4 -> L``, sigmoid) gives per-layer weights; the output is the weighted sum
     of the layer means (code's ``fusion_mlp``).
   * ``task="latency"``: the node sum after the last layer (code's NNLQP path).

   If ``static_dim > 0`` the graph-level ``static`` features are encoded as in V2
   (``PE_trans5`` of each entry, times ``static_scale`` first) and joined as
   ``ReLU(Linear(static_pe))`` with dropout, width ``hidden``
   (:class:`~pyg_nar.models.common.StaticEncoder`).

4. **Head** ``MLP(.., head_hidden, head_hidden, 1)`` (ReLU, dropout), then the output map:
   ``"sigmoid"`` (accuracy as a fraction, default for ``task="accuracy"``),
   ``"neg_logsigmoid"`` (:math:`-\log\sigma(z) = \operatorname{softplus}(-z) > 0`, the code's
   output for both tasks and the class's default for latency), ``"exp"`` (:math:`e^z`, the
   latency recipe's: trained on log latency) or ``"linear"``.

Train latency with a relative-error loss (:mod:`pyg_nar.losses`), as V2 does
(``MSE(pred / y, 1)``).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn import global_add_pool, global_mean_pool
from torch_geometric.transforms import Compose

from pyg_nar.models.base import Predictor
from pyg_nar.models.common import (OutputMap, StaticEncoder, check_ops, mlp, node_graph_index,
                                   require_field, resolve_output, resolve_static_scale,
                                   symmetric_adjacency)
from pyg_nar.models.registry import register_model
from pyg_nar.nn import NARFormerV2Layer
from pyg_nar.transforms.tokenize_v2 import TRANS_FREQS, TokenizeV2, transformer_sinusoid

__all__ = ["NARFormerV2", "transformer_sinusoid"]

_TASKS = ("accuracy", "latency")
_OUTPUTS = ("sigmoid", "neg_logsigmoid", "linear", "exp")


@register_model
class NARFormerV2(Predictor):
    r"""The NAR-Former V2 predictor from the `"NAR-Former V2: Rethinking Transformer for
    Universal Neural Network Representation Learning" <https://arxiv.org/abs/2306.10792>`_
    paper (NeurIPS 2023).

    With :math:`\mathbf{X}^{(0)}` the node ``tokens`` (:class:`~pyg_nar.transforms.TokenizeV2`)
    and :math:`\mathbf{A}` the symmetrised adjacency, each layer is a graph-aided attention
    block (:class:`~pyg_nar.nn.NARFormerV2Layer`):
    :math:`\mathbf{X}^{(l+1)} = \mathrm{Layer}(\mathbf{X}^{(l)}, \mathbf{A})`. The graph
    vector is, for accuracy, the layer-weighted mean

    .. math::
        \mathbf{g} = \sum_{l=1}^{L} w_l \,\mathrm{mean}_v\, \mathbf{x}^{(l)}_v, \qquad
        \mathbf{w} = \sigma(\mathrm{MLP}([\mathrm{mean}_v \mathbf{x}^{(1)}_v | \dots |
        \mathrm{mean}_v \mathbf{x}^{(L)}_v]))

    and, for latency, :math:`\mathbf{g} = \sum_v \mathbf{x}^{(L)}_v`; then
    :math:`\hat y = g(\mathrm{MLP}([\mathbf{g} \,|\, \mathrm{StaticEncoder}(\mathbf{s})]))`
    with :math:`g` the output map (see the module doc).

    Args:
        num_ops (int): size of the dataset's operation vocabulary (``len(dataset.op_vocab)``).
        task (str, optional): ``"accuracy"`` (layer-weighted mean readout) or ``"latency"``
            (sum readout). (default: :obj:`"accuracy"`)
        network_features (bool, optional): the tokens are whole-network tokens
            (``TokenizeV2(network_features=True, num_ops=num_ops)``, width ``num_ops + 120``)
            rather than cell tokens (width 128). (default: :obj:`False`)
        static_dim (int, optional): width :math:`S` of the batch's ``static`` field to join
            at the head; 0: none. (default: :obj:`0`)
        static_scale (str or list[float], optional): factors that multiply ``static`` before
            its encoding: ``"nnlqp"`` turns the project's ``[batch, MFLOPs, Mparams,
            memory MB]`` into the GFLOPs / G units V2 encodes; :obj:`None` keeps the values; or
            one float per column. (default: :obj:`"nnlqp"`)
        tokens_dim (int, optional): the width of other tokens in the ``tokens`` field (e.g.
            from :class:`~pyg_nar.transforms.Tokenize`). (default: :obj:`None`: V2's own)
        hidden (int, optional): width of every layer. (default: :obj:`512`)
        num_layers (int, optional): number of V2 layers. (default: :obj:`None`: 6 for
            accuracy, 2 for latency, as the code's NB201 and NNLQP scripts)
        ffn_ratio (int, optional): grouped FFN width ratio. (default: :obj:`4`)
        groups (int, optional): FFN groups. (default: :obj:`8`)
        dropout (float, optional): dropout everywhere. (default: :obj:`0.05`)
        layer_scale_init (float, optional): initial LayerScale :math:`\gamma`.
            (default: :obj:`1e-4`)
        degree_gating (bool, optional): the degree gate ("type-aware enhancement", code
            ``--use_degree``). (default: :obj:`True`)
        head_hidden (int, optional): width of the prediction head. (default: :obj:`512`)
        output (str, optional): ``"sigmoid"``, ``"neg_logsigmoid"``, ``"exp"`` or ``"linear"``
            (``"identity"`` is read as ``"linear"``). (default: :obj:`None`: ``"sigmoid"``
            for accuracy, ``"neg_logsigmoid"`` for latency)

    Shapes:
        - **input:** a batch of :math:`B` graphs with ``tokens`` :math:`[N, D]`,
          ``edge_index`` :math:`[2, E]` (or ``adj_index``) and, with ``static_dim``,
          ``static`` :math:`[B, S]`; ``op`` :math:`[N]`, if present, is checked against
          ``num_ops``
        - **output:** :math:`[B]`
    """

    LEGACY_KEYS = {"layer_weights.0.": "layer_weights.lins.0.",
                   "layer_weights.2.": "layer_weights.lins.1.",
                   "static_proj.0.": "static_proj.mlp.lins.0.", "head.0.": "head.lins.0.",
                   "head.3.": "head.lins.1.", "head.6.": "head.lins.2."}

    def __init__(self, num_ops: int, task: str = "accuracy", network_features: bool = False,
                 static_dim: int = 0, static_scale: str | list[float] | None = "nnlqp",
                 tokens_dim: int | None = None, hidden: int = 512, num_layers: int | None = None,
                 ffn_ratio: int = 4, groups: int = 8, dropout: float = 0.05,
                 layer_scale_init: float = 1e-4, degree_gating: bool = True,
                 head_hidden: int = 512, output: str | None = None):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"NARFormerV2: num_layers must be >= 1, got {num_layers}")
        self.num_ops, self.task, self.static_dim = num_ops, task, static_dim
        self.network_features, self.tokens_dim = network_features, tokens_dim
        self.in_features = (int(tokens_dim) if tokens_dim is not None
                            else self.tokenizer().width)
        self.layers = nn.ModuleList(
            NARFormerV2Layer(self.in_features if i == 0 else hidden, hidden, ffn_ratio, groups,
                             dropout, layer_scale_init, degree_gating)
            for i in range(num_layers))
        if task == "accuracy":
            total = num_layers * hidden
            self.layer_weights = mlp([total, max(total // 4, 1), num_layers])
        if static_dim:
            self.static_proj = StaticEncoder(static_dim, hidden, dropout, static_scale,
                                             num_freqs=TRANS_FREQS, who="NARFormerV2")
        self.head = mlp([hidden + (hidden if static_dim else 0), head_hidden, head_hidden, 1],
                        dropout)
        self.output = OutputMap(output)

    @classmethod
    def resolve_config(cls, config: dict) -> dict:
        task = config["task"]
        if task not in _TASKS:
            raise ValueError(f"NARFormerV2: task must be one of {_TASKS}, got {task!r}")
        num_layers = config["num_layers"]
        output = config["output"]
        return {**config,
                "num_layers": (6 if task == "accuracy" else 2) if num_layers is None else num_layers,
                "output": resolve_output(
                    output or ("sigmoid" if task == "accuracy" else "neg_logsigmoid"),
                    _OUTPUTS, "NARFormerV2"),
                "static_scale": resolve_static_scale(config["static_scale"],
                                                     config["static_dim"], "NARFormerV2")}

    def tokenizer(self) -> TokenizeV2 | None:
        """The :class:`~pyg_nar.transforms.TokenizeV2` whose ``tokens`` this model reads
        (``None`` with ``tokens_dim``: the tokens come from elsewhere)."""
        if self.tokens_dim is not None:
            return None
        return TokenizeV2(self.network_features, self.num_ops if self.network_features else None)

    def upgrade_transform(self, transform):
        """Checkpoints of pyg_nar 0.1.0 built the tokens inside the model and saved a
        transform without :class:`~pyg_nar.transforms.TokenizeV2`: append it."""
        tokenizer = self.tokenizer()
        if transform is None or tokenizer is None:
            return transform
        parts = transform.transforms if isinstance(transform, Compose) else [transform]
        if any(isinstance(t, TokenizeV2) for t in parts):
            return transform
        return Compose([*parts, tokenizer])

    # -- forward -----------------------------------------------------------------------------
    def forward(self, batch) -> Tensor:
        who = type(self).__name__
        hint = ("add the Tokenize transform" if self.tokens_dim is not None
                else f"add the transform {self.tokenizer()!r}")
        x = require_field(batch, "tokens", who, hint, self.in_features).float()
        op = getattr(batch, "op", None)
        if op is not None:
            check_ops(op, self.num_ops, who)
        adj = symmetric_adjacency(batch)
        b, num_graphs = node_graph_index(batch)
        layer_means = []
        for layer in self.layers:
            x = layer(x, adj)
            if self.task == "accuracy":
                layer_means.append(global_mean_pool(x, b, size=num_graphs))
        if self.task == "accuracy":
            means = torch.stack(layer_means, dim=1)  # [B, L, D]
            weights = torch.sigmoid(self.layer_weights(means.flatten(1)))  # [B, L]
            g = (means * weights.unsqueeze(-1)).sum(1)
        else:
            g = global_add_pool(x, b, size=num_graphs)
        if self.static_dim:
            g = torch.cat([g, self.static_proj(batch, num_graphs)], dim=-1)
        return self.output(self.head(g).squeeze(-1))
