r"""Few-shot adaptation: a latency predictor for a new device from k measured architectures."""
from __future__ import annotations

from typing import Mapping, NamedTuple, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from pyg_nar.errors import ArchitectureError, PipelineError
from pyg_nar.fewshot.linear import cv_rmse, fit_linear
from pyg_nar.fewshot.model import MultiDeviceLatency, check_latencies

__all__ = ["FAMILIES", "AdaptedLatency", "FamilyFit", "adapt"]

#: The adaptation families: name -> (features, space of the fit, constraint).
#: ``log``: a linear model of log-latency; ``ms``: of latency in ms.
FAMILIES = {
    "heads": (("heads",), "log", "ridge"),
    "embedding": (("embedding",), "log", "ridge"),
    "heads_nonneg": (("heads",), "log", "nonneg"),
    "tables_costs_nonneg": (("tables", "costs"), "ms", "nonneg"),
    "costs_nonneg": (("costs",), "ms", "nonneg"),
    "flops": (("log_flops",), "log", "nonneg"),
}
LAMBDAS = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)


class FamilyFit(NamedTuple):
    """One family's fit: its name, penalty (``None`` for the non-negative fits), cross-validated
    RMSE of log-latency on the measured architectures, and coefficients."""
    family: str
    penalty: float | None
    cv_rmse: float
    weight: np.ndarray
    bias: float


def _design(features: Mapping[str, Tensor], family: str) -> np.ndarray:
    return torch.cat([features[k] for k in FAMILIES[family][0]], 1).numpy()


class AdaptedLatency(nn.Module):
    r"""A latency predictor for a new device: a :class:`~pyg_nar.fewshot.MultiDeviceLatency`
    plus, from :func:`adapt`, the linear read-outs of its features chosen for the device:

    .. math::
        \log \hat t(x) = \frac{1}{|F|} \sum_{f \in F} z_f(x), \qquad
        z_f(x) = \begin{cases} b_f + w_f^\top \phi_f(x) & \text{log families} \\
        \log \max(b_f + w_f^\top \phi_f(x),\ \epsilon) & \text{ms families} \end{cases}

    with :math:`\phi_f` the family's features (:data:`FAMILIES`) and :math:`\epsilon` a tenth of
    the smallest measured latency.

    Args:
        base (MultiDeviceLatency): the pre-trained model (kept frozen).
        fits (list[FamilyFit]): the chosen families' coefficients.
        floor (float): :math:`\epsilon`, in ms.
        name (str, optional): the device's name.

    Shapes:
        - **input:** a PyG batch of the space's graphs, or architectures
        - **output:** :math:`[N]` latencies in ms
    """

    def __init__(self, base: MultiDeviceLatency, fits: Sequence[FamilyFit], floor: float,
                 name: str = "target"):
        super().__init__()
        self.base = base
        self.name = name
        self.families = [f.family for f in fits]
        self.penalties = [f.penalty for f in fits]
        self.cv_rmse = [f.cv_rmse for f in fits]
        for i, f in enumerate(fits):
            self.register_buffer(f"weight_{i}", torch.as_tensor(f.weight, dtype=torch.float64))
        self.register_buffer("bias", torch.tensor([f.bias for f in fits], dtype=torch.float64))
        self.register_buffer("floor", torch.tensor(float(floor), dtype=torch.float64))
        #: measured architectures left out of the fit (index in ``measured``, reason)
        self.excluded: list[tuple[int, str]] = []
        #: every family's fit, best first (the adaptation's record)
        self.selection: list[FamilyFit] = list(fits)

    @property
    def config(self) -> dict:
        """What, with :meth:`state_dict`, rebuilds the predictor (:meth:`from_config`): plain
        JSON-able values (the base model's own ``config`` included)."""
        return {"name": self.name, "families": self.families, "penalties": self.penalties,
                "cv_rmse": self.cv_rmse, "sizes": [int(getattr(self, f"weight_{i}").numel())
                                                   for i in range(len(self.families))],
                "excluded": [list(e) for e in self.excluded], "base": self.base.config}

    @classmethod
    def from_config(cls, config: dict, state_dict: Mapping[str, Tensor] | None = None) -> "AdaptedLatency":
        """The predictor :attr:`config` describes, with the weights of ``state_dict`` (as from
        :meth:`state_dict`, base model included)."""
        base = MultiDeviceLatency(**config["base"])
        fits = [FamilyFit(f, p, r, np.zeros(n), 0.0) for f, p, r, n in
                zip(config["families"], config["penalties"], config["cv_rmse"], config["sizes"])]
        out = cls(base, fits, 1.0, config["name"])
        out.excluded = [tuple(e) for e in config.get("excluded", [])]
        if state_dict is not None:
            out.load_state_dict(state_dict)
        return out.eval()

    def log_latency(self, archs) -> Tensor:
        feats = self.base.features(archs)
        zs = []
        for i, family in enumerate(self.families):
            x = torch.cat([feats[k] for k in FAMILIES[family][0]], 1)
            z = self.bias[i] + x @ getattr(self, f"weight_{i}")
            if FAMILIES[family][1] == "ms":
                z = torch.log(torch.clamp(z, min=float(self.floor)))
            zs.append(z)
        return torch.stack(zs).mean(0)

    def forward(self, archs) -> Tensor:
        return torch.exp(self.log_latency(archs))

    def predict(self, archs) -> np.ndarray:
        """Latencies in ms, ``[N]``."""
        with torch.no_grad():
            return self(archs).numpy()

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.name!r}, space={self.base.space}, "
                f"families={self.families})")


def _measured(base: MultiDeviceLatency, measured) -> tuple[Tensor, np.ndarray]:
    if isinstance(measured, Mapping):
        pairs = list(measured.items())
    else:
        try:
            pairs = [tuple(p) for p in measured]
        except TypeError:
            raise PipelineError("adapt: `measured` must be (architecture, latency in ms) pairs") from None
    if any(len(p) != 2 for p in pairs):
        raise PipelineError("adapt: `measured` must be (architecture, latency in ms) pairs")
    if len(pairs) < 2:
        raise PipelineError(f"adapt: at least 2 measured architectures are needed, got {len(pairs)}")
    rows = []
    for i, (arch, _) in enumerate(pairs):
        try:
            rows.append(base.choices([arch])[0])
        except ArchitectureError as e:
            raise ArchitectureError(f"adapt: measurement {i}: {str(e).removeprefix('architecture 0: ')}") from None
    lat = check_latencies([p[1] for p in pairs], "adapt: measurements")
    return torch.stack(rows), lat


def adapt(model: MultiDeviceLatency, measured, *, top: int = 3, lambdas: Sequence[float] = LAMBDAS,
          families: Sequence[str] | None = None, name: str = "target") -> AdaptedLatency:
    r"""Adapt a pre-trained model to a new device from k measured architectures.

    Each family of :data:`FAMILIES` is a linear model of the measured latencies on features of
    the pre-trained model: its per-device heads (ridge, or non-negative weights: "the new device is
    a positive mix of the sources"), its embedding (ridge), in milliseconds a non-negative
    combination of the sources' additive tables and the space's physical cost counts, or the
    network's FLOPs (a log-log line with a non-negative slope). Every
    family is scored by leave-one-out (10-fold above 50 measurements) RMSE of log-latency, ridge
    penalties chosen from ``lambdas`` the same way; the ``top`` best families are averaged in log
    space. NB201 cells with no input-to-output path are left out of the fit (their latency is
    device-specific: near zero where a runtime removes the dead network) and listed in
    ``excluded``; they are predicted like any cell.

    Args:
        model (MultiDeviceLatency): from :func:`~pyg_nar.fewshot.pretrain`.
        measured: ``(architecture, ms)`` pairs or an ``{architecture: ms}`` mapping; at least 2.
        top (int, optional): families averaged (default ``3``).
        lambdas (Sequence[float], optional): ridge penalties tried.
        families (Sequence[str], optional): the candidate families (default: all).
        name (str, optional): the device's name, for the record.

    Raises:
        PipelineError: fewer than 2 measurements, a latency that is not finite and positive.
        ArchitectureError: an architecture the space does not contain.
    """
    names = list(families or FAMILIES)
    unknown = [f for f in names if f not in FAMILIES]
    if unknown:
        raise PipelineError(f"adapt: unknown families {unknown} (known: {', '.join(FAMILIES)})")
    choices, lat = _measured(model, measured)
    degenerate = model.encoding.degenerate(choices).numpy()
    excluded = [(int(i), "no path from the cell input to its output") for i in np.flatnonzero(degenerate)]
    keep = ~degenerate
    if keep.sum() < 2:
        raise PipelineError(f"adapt: at least 2 usable measurements are needed; {len(lat)} given, "
                            f"{len(excluded)} of them degenerate cells (no input-to-output path)")
    choices, lat = choices[keep], lat[keep]
    feats = model.features(choices)
    logy = np.log(lat)
    floor = 0.1 * float(lat.min())
    fits = []
    for family in names:
        _, space, constraint = FAMILIES[family]
        x = _design(feats, family)
        y = logy if space == "log" else lat
        if constraint == "ridge":
            scores = [(cv_rmse(x, y, logy, space, constraint, lam, floor), lam) for lam in lambdas]
            rmse, lam = min(scores)
        else:
            rmse, lam = cv_rmse(x, y, logy, space, constraint, None, floor), None
        w, b = fit_linear(x, y, constraint, lam)
        fits.append(FamilyFit(family, lam, rmse, w, b))
    fits.sort(key=lambda f: f.cv_rmse)
    out = AdaptedLatency(model, fits[:max(1, top)], floor, name)
    out.excluded = excluded
    out.selection = fits
    return out
