r"""Predictors that read zero-cost proxies (the ``zc`` field of
:class:`pyg_nar.transforms.ZeroCostProxies`), and an ensemble of predictors.

* :class:`ZeroCostPredictor` - the zero-cost-proxy baseline: an MLP on the proxies alone.
* :class:`ProxyFusion` - any pyg_nar encoder with the proxies joined to its graph embedding
  (the input of its ``head``, :func:`pyg_nar.pretraining.graph_embedding`) before a new head.
* :class:`ScoreEnsemble` - the mean of several predictors' standardised scores.

Proxies span many orders of magnitude and NASLib marks a failed score with ``-1e8``, so every
model reads them through :func:`proxy_features`: :math:`\operatorname{sign}(z)\log(1 + |z|)`
(non-finite values as :math:`\pm 10^8`), then a :class:`~torch.nn.BatchNorm1d` without affine
parameters (batch statistics in training, running ones in evaluation).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from pyg_nar.models.common import require_field
from pyg_nar.models.base import Predictor
from pyg_nar.models.registry import model_class, register_model

__all__ = ["ZeroCostPredictor", "ProxyFusion", "ScoreEnsemble", "proxy_features"]


def proxy_features(zc: Tensor, num_proxies: int, who: str) -> Tensor:
    r"""``[B, P]`` signed-log proxies: :math:`\operatorname{sign}(z)\log(1 + |z|)`, with
    NaN/inf read as :math:`\mp 10^8` (NASLib's failure value)."""
    zc = zc.float().reshape(-1, zc.size(-1)) if zc.dim() > 1 else zc.float().view(1, -1)
    if zc.size(1) != num_proxies:
        raise ValueError(f"{who}: zc has {zc.size(1)} proxies per graph, expected {num_proxies}")
    zc = torch.nan_to_num(zc, nan=-1e8, posinf=1e8, neginf=-1e8)
    return torch.sign(zc) * torch.log1p(zc.abs())


@register_model
class ZeroCostPredictor(Predictor):
    r"""Zero-cost-proxy baseline: :math:`s = \mathrm{MLP}(\mathrm{BN}(\operatorname{slog}(\mathbf{z})))`,
    ``forward(batch) -> [B]`` from the batch's ``zc`` field only.

    Args:
        num_proxies (int): proxies per graph (the width of ``zc``).
        hidden (int, optional): hidden width; ``0`` gives a linear score. (default: ``64``)
        dropout (float, optional): dropout after the hidden layer. (default: ``0.0``)

    Shapes:
        - **input:** a batch with ``zc`` :math:`(B, P)`
        - **output:** :math:`(B)`
    """

    def __init__(self, num_proxies: int, hidden: int = 64, dropout: float = 0.0):
        super().__init__()
        self.num_proxies = num_proxies
        self.norm = nn.BatchNorm1d(num_proxies, affine=False)
        self.head = (nn.Linear(num_proxies, 1) if hidden == 0 else
                     nn.Sequential(nn.Linear(num_proxies, hidden), nn.ReLU(), nn.Dropout(dropout),
                                   nn.Linear(hidden, 1)))

    def forward(self, batch) -> Tensor:
        z = proxy_features(require_field(batch, "zc", "ZeroCostPredictor",
                                         "add the ZeroCostProxies transform"),
                           self.num_proxies, "ZeroCostPredictor")
        return self.head(self.norm(z)).view(-1)


@register_model
class ProxyFusion(Predictor):
    r"""An encoder's graph embedding :math:`\mathbf{g}` joined with the zero-cost proxies:
    :math:`s = \mathrm{MLP}([\mathbf{g} \,\|\, \mathrm{BN}(\operatorname{slog}(\mathbf{z}))])`.

    The encoder is any registered predictor (its own ``head`` still runs, but its output is
    not used); build one around an existing model with :meth:`wrap` (e.g. after
    :func:`~pyg_nar.pretraining.fgp_pretrain`).

    Args:
        encoder (str): registered class name of the encoder (e.g. ``"GNN"``).
        encoder_config (dict): its constructor arguments.
        num_proxies (int): width of ``zc``.
        hidden (int, optional): hidden width of the new head (default: the embedding width).

    Shapes:
        - **input:** the encoder's batch, with ``zc`` :math:`(B, P)`
        - **output:** :math:`(B)`
    """

    def __init__(self, encoder: str, encoder_config: dict, num_proxies: int,
                 hidden: int | None = None):
        super().__init__()
        self.encoder = model_class(encoder)(**encoder_config)
        self._setup(encoder, num_proxies, hidden)

    def _setup(self, encoder: str, num_proxies: int, hidden: int | None):
        head_in = self._embedding_width()
        hidden = head_in if hidden is None else hidden
        self.config = dict(encoder=encoder, encoder_config=dict(self.encoder.config),
                           num_proxies=num_proxies, hidden=hidden)
        self.num_proxies = num_proxies
        self.norm = nn.BatchNorm1d(num_proxies, affine=False)
        self.head = nn.Sequential(nn.Linear(head_in + num_proxies, hidden), nn.ReLU(),
                                  nn.Linear(hidden, 1))

    def _embedding_width(self) -> int:
        head = getattr(self.encoder, "head", None)
        linears = [m for m in head.modules() if isinstance(m, nn.Linear)] \
            if isinstance(head, nn.Module) else []
        if not linears:
            raise ValueError(f"ProxyFusion: {type(self.encoder).__name__} has no `head` that "
                             "starts with a Linear layer")
        return linears[0].in_features

    @classmethod
    def wrap(cls, model: nn.Module, num_proxies: int, hidden: int | None = None) -> "ProxyFusion":
        """A :class:`ProxyFusion` around ``model`` itself (its weights kept)."""
        self = cls.__new__(cls)
        Predictor.__init__(self)
        self.encoder = model
        self._setup(type(model).__name__, num_proxies, hidden)
        return self

    def forward(self, batch) -> Tensor:
        from pyg_nar.pretraining import graph_embedding

        g = graph_embedding(self.encoder, batch)
        z = proxy_features(require_field(batch, "zc", "ProxyFusion",
                                         "add the ZeroCostProxies transform"),
                           self.num_proxies, "ProxyFusion")
        return self.head(torch.cat([g, self.norm(z)], dim=-1)).view(-1)


@register_model
class ScoreEnsemble(Predictor):
    r"""The mean of its members' standardised scores,
    :math:`s = \frac{1}{M}\sum_m (s_m - \mu_m) / \sigma_m`, with :math:`\mu_m, \sigma_m` each
    member's score mean and deviation on the training cells (:meth:`calibrate`), so members
    of different scales weigh alike and a single architecture's score does not depend on the
    rest of its batch. :meth:`member_scores` gives the ``[M, B]`` standardised scores (their
    spread is the ensemble's disagreement).

    Args:
        members (Sequence[tuple[str, dict]]): ``(registered class name, constructor kwargs)``
            of every member; build one from trained models with :meth:`from_models`.

    Shapes:
        - **input:** a batch every member can read
        - **output:** :math:`(B)`
    """

    def __init__(self, members: Sequence[tuple[str, dict]]):
        super().__init__()
        if not members:
            raise ValueError("ScoreEnsemble: needs at least one member")
        self.members = nn.ModuleList(model_class(name)(**cfg) for name, cfg in members)
        self._finish()

    def _finish(self):
        self.config = dict(members=[(type(m).__name__, dict(m.config)) for m in self.members])
        self.register_buffer("mean", torch.zeros(len(self.members)))
        self.register_buffer("std", torch.ones(len(self.members)))

    @classmethod
    def from_models(cls, models: Sequence[nn.Module]) -> "ScoreEnsemble":
        """An ensemble of trained models (their weights kept); call :meth:`calibrate` next."""
        self = cls.__new__(cls)
        Predictor.__init__(self)
        self.members = nn.ModuleList(models)
        self._finish()
        return self

    @torch.no_grad()
    def calibrate(self, graphs, batch_size: int = 1024) -> "ScoreEnsemble":
        """Set every member's :math:`\\mu_m, \\sigma_m` from its scores on ``graphs`` (the
        training cells)."""
        from pyg_nar.training import predict

        for k, m in enumerate(self.members):
            s = predict(m, graphs, batch_size)
            self.mean[k] = s.mean()
            self.std[k] = s.std() if s.numel() > 1 and float(s.std()) > 0 else 1.0
        return self

    def member_scores(self, batch) -> Tensor:
        scores = torch.stack([m(batch).view(-1) for m in self.members])
        return (scores - self.mean[:, None]) / self.std[:, None]

    def forward(self, batch) -> Tensor:
        return self.member_scores(batch).mean(0)
