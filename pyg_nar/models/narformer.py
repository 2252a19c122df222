r"""NAR-Former (Yi et al., CVPR'23): tokenizer output -> multi-stage fusion transformer -> head."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import Tensor

from pyg_nar.models.base import Predictor
from pyg_nar.models.common import OutputMap, StaticEncoder, mlp, require_field, resolve_output
from pyg_nar.models.registry import register_model
from pyg_nar.nn.fusion_transformer import FusionTransformer

__all__ = ["NARFormer"]

_OUTPUTS = ("sigmoid", "linear", "exp")
_HINT = "apply pyg_nar.transforms.Tokenize"


@register_model
class NARFormer(Predictor):
    r"""The NAR-Former accuracy / latency predictor from the `"NAR-Former: Neural
    Architecture Representation Learning towards Holistic Attributes Prediction"
    <https://arxiv.org/abs/2211.08024>`_ paper (CVPR 2023, Sec. 3, Fig. 1).

    It reads the fields of :class:`pyg_nar.transforms.Tokenize`: node ``tokens``
    :math:`\mathbf{T} \in \mathbb{R}^{N \times D}`, the per-graph ``end_token`` and
    ``depth_enc`` :math:`f_{Dep}(N)`. The sequence

    .. math::
        \mathbf{S} = [\,\mathrm{ReLU}(\mathbf{W}_d f_{Dep}(N)) \;|\; \mathbf{T}\mathbf{W}
        \;|\; \mathbf{t}_{end}\mathbf{W}\,]

    (the depth token of Eq. 9 first, the shared input projection :math:`\mathbf{W}` for node
    and end tokens) goes through :class:`~pyg_nar.nn.FusionTransformer`, which returns one
    vector :math:`\mathbf{e}` per graph, and the head predicts

    .. math::
        \hat y = g(\mathbf{w}^\top [\,\mathbf{e} \;|\; \mathrm{ReLU}(\mathbf{W}_s
        \mathbf{s}_{enc})\,] + b)

    with the static part only for whole networks (supplement Sec. 1: batch size, FLOPs,
    parameters, memory access, encoded by the tokenizer as ``static_enc``) and :math:`g` the
    output map (:data:`pyg_nar.models.common.OUTPUT_MAPS`): :math:`\sigma` (paper, an
    accuracy as a fraction), the identity (``"linear"``, a ranking score or a latency) or
    :math:`e^z` (``"exp"``, a latency trained on its logarithm).

    :meth:`forward_augmented` predicts from ``aug_tokens``, the tokens of a flow-consistent
    shuffled copy (:class:`pyg_nar.transforms.FlowConsistentPair`), for the AC loss (Eq. 11).

    Args:
        token_dim (int): width :math:`D` of ``tokens`` (192 on NB101/NB201 cells, 480 on whole
            networks at 16 frequencies).
        depth_dim (int, optional): width of ``depth_enc``; :obj:`None` drops the depth token.
            (default: :obj:`None`)
        dim (int, optional): model width. (default: :obj:`192`, the paper's)
        num_layers (int, optional): encoder blocks. (default: :obj:`6`)
        head_dim (int, optional): width of an attention head. (default: :obj:`32`)
        ffn_ratio (float, optional): FFN width / ``dim``. (default: :obj:`4.0`)
        dropout (float, optional): dropout in the transformer. (default: :obj:`0.1`)
        query_tokens (Sequence[int], optional): learned queries of each fusion stage.
            (default: :obj:`(4, 2, 1)`)
        stage_layers (int, optional): layers per fusion stage. (default: :obj:`1`)
        end_token (bool, optional): append each graph's ``end_token``. (default: :obj:`True`)
        static_dim (int, optional): width of ``static_enc`` to join at the head; :obj:`None`:
            none. (default: :obj:`None`)
        output (str, optional): ``"sigmoid"`` (paper), ``"linear"`` or ``"exp"``.
            (default: :obj:`"sigmoid"`)

    Shapes:
        - **input:** a batch of :math:`B` graphs with ``tokens`` :math:`[N, D]`,
          ``end_token`` :math:`[B, D]`, ``depth_enc`` :math:`[B, D_d]` and, with
          ``static_dim``, ``static_enc`` :math:`[B, S]`
        - **output:** :math:`[B]`
    """

    LEGACY_KEYS = {"depth_token.0.": "depth_token.lins.0.", "static.0.": "static.mlp.lins.0."}

    def __init__(self, token_dim: int, depth_dim: Optional[int] = None, dim: int = 192,
                 num_layers: int = 6, head_dim: int = 32, ffn_ratio: float = 4.0,
                 dropout: float = 0.1, query_tokens: Sequence[int] = (4, 2, 1),
                 stage_layers: int = 1, end_token: bool = True, static_dim: Optional[int] = None,
                 output: str = "sigmoid"):
        super().__init__()
        self.token_dim, self.depth_dim, self.use_end_token = token_dim, depth_dim, end_token
        self.input = torch.nn.Linear(token_dim, dim)
        self.depth_token = (mlp([depth_dim, dim], plain_last=False)
                            if depth_dim is not None else None)
        self.transformer = FusionTransformer(dim, num_layers, head_dim, ffn_ratio, dropout,
                                             query_tokens, stage_layers)
        self.static = (StaticEncoder(static_dim, dim, field="static_enc", who="NARFormer")
                       if static_dim is not None else None)
        self.head = torch.nn.Linear(dim * (2 if static_dim is not None else 1), 1)
        self.output = OutputMap(output)

    @classmethod
    def resolve_config(cls, config: dict) -> dict:
        return {**config, "output": resolve_output(config["output"], _OUTPUTS, "NARFormer")}

    @classmethod
    def from_data(cls, data, **kwargs) -> "NARFormer":
        """Build with ``token_dim`` / ``depth_dim`` read off one tokenized graph."""
        tokens = require_field(data, "tokens", "NARFormer.from_data", _HINT)
        depth = getattr(data, "depth_enc", None)
        kwargs.setdefault("depth_dim", None if depth is None else depth.size(-1))
        return cls(token_dim=tokens.size(-1), **kwargs)

    def forward(self, batch, tokens_field: str = "tokens") -> Tensor:
        x = require_field(batch, tokens_field, "NARFormer", _HINT, self.token_dim)
        vec = getattr(batch, "batch", None)
        if vec is None:
            vec = x.new_zeros(x.size(0), dtype=torch.long)
        num_graphs = int(batch.num_graphs) if hasattr(batch, "num_graphs") else 1
        extra = []
        if self.depth_token is not None:
            depth = require_field(batch, "depth_enc", "NARFormer", _HINT, self.depth_dim)
            extra.append(self.depth_token(depth.view(num_graphs, 1, -1)))
        if self.use_end_token:
            end = require_field(batch, "end_token", "NARFormer", _HINT, self.token_dim)
            extra.append(self.input(end.view(num_graphs, 1, -1)))
        extra = torch.cat(extra, dim=1) if extra else None
        e = self.transformer(self.input(x), vec, extra, batch_size=num_graphs)
        if self.static is not None:
            e = torch.cat([e, self.static(batch, num_graphs)], dim=-1)
        return self.output(self.head(e).view(-1))

    def forward_augmented(self, batch) -> Tensor:
        """Predictions from ``aug_tokens`` (:class:`~pyg_nar.transforms.FlowConsistentPair`),
        with the graph's own end token and depth encoding."""
        require_field(batch, "aug_tokens", "NARFormer",
                      "apply pyg_nar.transforms.FlowConsistentPair")
        return self(batch, tokens_field="aug_tokens")
