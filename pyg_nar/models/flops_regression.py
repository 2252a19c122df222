r"""The FLOPs baseline: latency as a function of FLOPs alone, fitted in closed form.

``space="linear"`` (default): :math:`y = a F + b`, by least squares weighted by :math:`1/y`,
i.e. minimising :math:`\sum_k ((a F_k + b - y_k) / y_k)^2`, the relative MSE the neural
predictors are trained with (an unweighted fit would be dominated by the slowest networks).

``space="log"``: :math:`\log y = a \log F + b`, i.e. :math:`y = e^b F^a`, by least squares on
the logs (squared log error is, to first order, squared relative error).

The default, ``"linear"``, is the better of the two on the project's measured zoo (the
stored ``examples/data/zoo_cpu_b16``, 500 models, README): MAPE 0.233 (linear) vs 0.286 (log)
in-domain over all ten families, 0.244 vs 0.265 mean over the ten leave-one-family-out
splits (``examples/latency_prediction.py --zoo``). In-domain, log space was better on
EfficientNet, MnasNet, MobileNetV2 and the NB201 networks, linear on the other six
families. ``pyg-nar train flops`` uses the default.

No training loop: :meth:`FLOPsRegression.fit` solves one :func:`torch.linalg.lstsq`.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.loader import DataLoader

from pyg_nar.errors import ArgumentError, FieldError
from pyg_nar.models.base import Predictor
from pyg_nar.models.common import node_graph_index, require_field
from pyg_nar.models.registry import register_model

__all__ = ["FLOPsRegression"]


@register_model
class FLOPsRegression(Predictor):
    r"""The FLOPs baseline of latency prediction: a closed-form fit of latency on FLOPs alone,
    :math:`\hat y = a F + b` (``space="linear"``, least squares weighted by :math:`1 / y`) or
    :math:`\hat y = e^b F^a` (``space="log"``, least squares on the logs); see the module doc.

    No training loop: :meth:`fit` solves one :func:`torch.linalg.lstsq`.

    Args:
        space (str, optional): ``"linear"`` or ``"log"``. (default: :obj:`"linear"`)
        flops_index (int, optional): which column of ``static`` holds the FLOPs (1 in the
            project's layout ``[batch size, FLOPs, params, memory access]``).
            (default: :obj:`1`)

    Shapes:
        - **input:** a batch with ``static`` :math:`[B, S]`
        - **output:** :math:`[B]`

    Example::

        model = FLOPsRegression().fit(train_dataset)
        pred = model(batch)
    """

    def __init__(self, space: str = "linear", flops_index: int = 1):
        super().__init__()
        if space not in ("log", "linear"):
            raise ValueError(f"FLOPsRegression: space must be 'log' or 'linear', got {space!r}")
        self.space, self.flops_index = space, flops_index
        # (slope a, intercept b); NaN until fitted, so an unfitted model cannot pass silently.
        self.register_buffer("coef", torch.full((2,), float("nan"), dtype=torch.float64))
        # whether coef is known to be fitted (no NaN): cleared by fit and load_state_dict and
        # checked on the next forward, once (one wait for the device) rather than in every one
        self._fitted: bool | None = None
        self.register_load_state_dict_post_hook(_forget_fitted)

    def _flops(self, batch, num_graphs: int) -> Tensor:
        static = require_field(batch, "static", "FLOPsRegression",
                               "whole-network graphs carry [batch size, FLOPs, params, memory]")
        static = static.view(num_graphs, -1)
        if static.size(1) <= self.flops_index:
            raise FieldError(f"FLOPsRegression: static has {static.size(1)} columns, no FLOPs "
                             f"column {self.flops_index}")
        return static[:, self.flops_index].to(torch.float64)

    @torch.no_grad()
    def fit(self, dataset, batch_size: int = 4096) -> "FLOPsRegression":
        """Fit ``coef`` on a dataset (or any iterable of graphs with ``static`` and ``y``)."""
        flops, ys = [], []
        for batch in DataLoader(dataset, batch_size=batch_size):
            _, num_graphs = node_graph_index(batch)
            flops.append(self._flops(batch, num_graphs))
            ys.append(require_field(batch, "y", "FLOPsRegression").view(-1).to(torch.float64))
        if not flops:
            raise ArgumentError("FLOPsRegression.fit: the dataset is empty")
        f, y = torch.cat(flops), torch.cat(ys)
        if f.numel() < 2:
            raise ArgumentError("FLOPsRegression.fit: needs at least 2 graphs")
        if bool((y <= 0).any()):
            raise ArgumentError("FLOPsRegression.fit: a target latency is <= 0")
        if self.space == "log":
            if bool((f <= 0).any()):
                k = int((f <= 0).nonzero()[0])
                raise ArgumentError(f"FLOPsRegression.fit: graph {k} has FLOPs {float(f[k])} <= 0, "
                                 f"which has no logarithm; use space='linear'")
            design = torch.stack([f.log(), torch.ones_like(f)], dim=1)
            target = y.log()
        else:
            w = 1.0 / y  # relative-error weights
            design = torch.stack([f, torch.ones_like(f)], dim=1) * w.unsqueeze(1)
            target = y * w
        sol = torch.linalg.lstsq(design, target.unsqueeze(1), driver="gelsd").solution.view(-1)
        self.coef.copy_(sol.to(self.coef.device))
        self._fitted = None
        return self

    def forward(self, batch) -> Tensor:
        if not self._fitted:
            self._fitted = not bool(torch.isnan(self.coef).any())
            if not self._fitted:
                raise RuntimeError("FLOPsRegression: call fit(train_dataset) before predicting")
        _, num_graphs = node_graph_index(batch)
        f = self._flops(batch, num_graphs)
        a, b = self.coef[0], self.coef[1]
        if self.space == "log":
            pred = torch.exp(a * f.clamp_min(1e-30).log() + b)
        else:
            pred = a * f + b
        return pred.to(torch.float32)


def _forget_fitted(module: FLOPsRegression, incompatible_keys) -> None:
    module._fitted = None  # new coefficients: check them again
