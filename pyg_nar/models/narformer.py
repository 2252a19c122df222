r"""NAR-Former (Yi et al., CVPR'23): tokenizer output -> multi-stage fusion transformer -> head."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import Tensor, nn

from pyg_nar.models.registry import register_model
from pyg_nar.nn.fusion_transformer import FusionTransformer

__all__ = ["NARFormer"]


@register_model
class NARFormer(nn.Module):
    r"""NAR-Former accuracy / latency predictor (Sec. 3, Fig. 1).

    Reads the fields of :class:`pyg_nar.transforms.Tokenize`: node ``tokens`` ``[N, D]``,
    the per-graph ``end_token`` ``[1, D]`` and ``depth_enc`` ``[1, Dd]``. The sequence is
    ``[depth token | Linear(tokens) | Linear(end_token)]`` with the depth token
    ``ReLU(FC(depth_enc))`` (Sec. 3.2, Eq. 3); :class:`~pyg_nar.nn.FusionTransformer` turns it
    into one vector ``e`` and the head predicts ``sigmoid(Linear(e))`` (an accuracy as a
    fraction) or ``Linear(e)`` (``output="linear"``, e.g. latency).

    Args:
        token_dim: width ``D`` of ``tokens`` (192 on NB101/NB201, 480 on whole networks).
        depth_dim: width of ``depth_enc``; ``None`` drops the depth token.
        dim, num_layers, head_dim, ffn_ratio, dropout, query_tokens, stage_layers: see
            :class:`~pyg_nar.nn.FusionTransformer` (defaults: the paper's sizes).
        end_token: append the ``end_token`` of each graph.
        output: ``"sigmoid"`` (paper) or ``"linear"``.

    ``model(batch, tokens_field="aug_tokens")`` predicts from the flow-consistent shuffled
    copy (:class:`pyg_nar.transforms.FlowConsistentPair`), for the AC loss (Eq. 11).
    """

    def __init__(self, token_dim: int, depth_dim: Optional[int] = None, dim: int = 192,
                 num_layers: int = 6, head_dim: int = 32, ffn_ratio: float = 4.0,
                 dropout: float = 0.1, query_tokens: Sequence[int] = (4, 2, 1),
                 stage_layers: int = 1, end_token: bool = True, output: str = "sigmoid"):
        super().__init__()
        if output not in ("sigmoid", "linear"):
            raise ValueError(f"NARFormer: output must be 'sigmoid' or 'linear', got {output!r}")
        self.config = dict(token_dim=token_dim, depth_dim=depth_dim, dim=dim,
                           num_layers=num_layers, head_dim=head_dim, ffn_ratio=ffn_ratio,
                           dropout=dropout, query_tokens=list(query_tokens),
                           stage_layers=stage_layers, end_token=end_token, output=output)
        self.token_dim, self.depth_dim, self.use_end_token, self.output = (
            token_dim, depth_dim, end_token, output)
        self.input = nn.Linear(token_dim, dim)
        self.depth_token = (nn.Sequential(nn.Linear(depth_dim, dim), nn.ReLU())
                            if depth_dim is not None else None)
        self.transformer = FusionTransformer(dim, num_layers, head_dim, ffn_ratio, dropout,
                                             query_tokens, stage_layers)
        self.head = nn.Linear(dim, 1)

    @classmethod
    def from_data(cls, data, **kwargs) -> "NARFormer":
        """Build with ``token_dim`` / ``depth_dim`` read off one tokenized graph."""
        for f in ("tokens",):
            if getattr(data, f, None) is None:
                raise ValueError(f"NARFormer.from_data: the graph has no '{f}' field "
                                 "(apply pyg_nar.transforms.Tokenize first)")
        depth = getattr(data, "depth_enc", None)
        kwargs.setdefault("depth_dim", None if depth is None else depth.size(-1))
        return cls(token_dim=data.tokens.size(-1), **kwargs)

    def _field(self, batch, name: str, width: int) -> Tensor:
        value = getattr(batch, name, None)
        if value is None:
            raise ValueError(f"NARFormer: the batch has no '{name}' field "
                             "(apply pyg_nar.transforms.Tokenize)")
        if value.size(-1) != width:
            raise ValueError(f"NARFormer: '{name}' has width {value.size(-1)}, the model expects "
                             f"{width}")
        return value

    def forward(self, batch, tokens_field: str = "tokens") -> Tensor:
        x = self._field(batch, tokens_field, self.token_dim)
        vec = getattr(batch, "batch", None)
        if vec is None:
            vec = x.new_zeros(x.size(0), dtype=torch.long)
        num_graphs = int(batch.num_graphs) if hasattr(batch, "num_graphs") else 1
        extra = []
        if self.depth_token is not None:
            depth = self._field(batch, "depth_enc", self.depth_dim).view(num_graphs, 1, -1)
            extra.append(self.depth_token(depth))
        if self.use_end_token:
            end = self._field(batch, "end_token", self.token_dim).view(num_graphs, 1, -1)
            extra.append(self.input(end))
        extra = torch.cat(extra, dim=1) if extra else None
        e = self.transformer(self.input(x), vec, extra, batch_size=num_graphs)
        out = self.head(e).view(-1)
        return torch.sigmoid(out) if self.output == "sigmoid" else out
