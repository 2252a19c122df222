r"""Few-shot adaptation: a latency predictor for a new device from k measured architectures."""
from __future__ import annotations

from typing import Mapping, NamedTuple, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from pyg_nar.errors import ArchitectureError, PipelineError
from pyg_nar.fewshot.linear import cv_rmse, fit_linear
from pyg_nar.fewshot.model import MultiDeviceLatency, check_latencies
from pyg_nar.models.registry import register_model

__all__ = ["FAMILIES", "AdaptedLatency", "FamilyFit", "FamilyReadouts", "adapt", "fit_families"]

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


def fit_families(features: Mapping[str, Tensor], lat: np.ndarray, table: Mapping[str, tuple],
                 names: Sequence[str], lambdas: Sequence[float] = LAMBDAS) -> tuple[list[FamilyFit], float]:
    """Fit each family ``names`` of ``table`` (name -> (feature keys, ``"log"`` or ``"ms"``,
    ``"ridge"`` or ``"nonneg"``), as :data:`FAMILIES`) to the latencies ``lat`` (ms) on the
    ``features`` of the measured architectures; ridge penalties from ``lambdas``, all scored
    by cross-validated RMSE of log-latency (:func:`~pyg_nar.fewshot.linear.cv_rmse`).
    Returns the fits, best first, and the floor (a tenth of the smallest latency)."""
    logy = np.log(lat)
    floor = 0.1 * float(lat.min())
    fits = []
    for family in names:
        keys, space, constraint = table[family]
        x = torch.cat([features[k] for k in keys], 1).numpy()
        y = logy if space == "log" else lat
        if constraint == "ridge":
            rmse, lam = min((cv_rmse(x, y, logy, space, constraint, lam, floor), lam) for lam in lambdas)
        else:
            rmse, lam = cv_rmse(x, y, logy, space, constraint, None, floor), None
        w, b = fit_linear(x, y, constraint, lam)
        fits.append(FamilyFit(family, lam, rmse, w, b))
    fits.sort(key=lambda f: f.cv_rmse)
    return fits, floor


def read_out(module: nn.Module, features: Mapping[str, Tensor], table: Mapping[str, tuple]) -> Tensor:
    """``[N]`` log-latency: the mean over ``module.families`` of their fits (``weight_i``,
    ``bias``, ``floor`` buffers) on ``features``; ms families are floored, then logged."""
    zs = []
    for i, family in enumerate(module.families):
        keys, space, _ = table[family]
        x = torch.cat([features[k] for k in keys], 1)
        z = module.bias[i] + x @ getattr(module, f"weight_{i}")
        if space == "ms":
            z = torch.log(torch.clamp(z, min=float(module.floor)))
        zs.append(z)
    return torch.stack(zs).mean(0)


class FamilyReadouts(nn.Module):
    """What the adapted predictors share: the chosen families of :attr:`TABLE` (name ->
    (feature keys, space, constraint)) with their coefficients as buffers (``weight_i``,
    ``bias``, ``floor``), a frozen ``base`` model, and the record of the fits."""

    #: the families this predictor chooses from
    TABLE: Mapping[str, tuple] = FAMILIES

    def _add_readouts(self, families: list, penalties: list, cv_rmse: list, sizes: list) -> None:
        unknown = [f for f in families if f not in self.TABLE]
        if unknown or not (len(families) == len(penalties) == len(cv_rmse) == len(sizes) > 0):
            raise PipelineError(f"{type(self).__name__}: families must be a non-empty list of known "
                                f"families ({', '.join(self.TABLE)}), one penalty, cv_rmse and size each")
        self.families = list(families)
        self.penalties = list(penalties)
        self.cv_rmse = list(cv_rmse)
        for i, n in enumerate(sizes):
            self.register_buffer(f"weight_{i}", torch.zeros(int(n), dtype=torch.float64))
        self.register_buffer("bias", torch.zeros(len(families), dtype=torch.float64))
        self.register_buffer("floor", torch.ones((), dtype=torch.float64))
        #: every family's fit, best first (the adaptation's record; the adapt function sets it)
        self.selection: list[FamilyFit] = []

    @staticmethod
    def _fit_arguments(fits: Sequence[FamilyFit]) -> tuple[list, list, list, list]:
        return ([f.family for f in fits], [f.penalty for f in fits], [float(f.cv_rmse) for f in fits],
                [int(np.size(f.weight)) for f in fits])

    def _load_fits(self, base: nn.Module, fits: Sequence[FamilyFit], floor: float):
        """Copy ``base``'s weights and the coefficients of ``fits``; returns ``self`` (eval)."""
        self.base.load_state_dict(base.state_dict())
        with torch.no_grad():
            for i, f in enumerate(fits):
                getattr(self, f"weight_{i}").copy_(torch.as_tensor(f.weight, dtype=torch.float64))
            self.bias.copy_(torch.tensor([f.bias for f in fits], dtype=torch.float64))
            self.floor.fill_(float(floor))
        self.selection = list(fits)
        return self.eval()

    def log_readout(self, features: Mapping[str, Tensor]) -> Tensor:
        return read_out(self, features, self.TABLE)


@register_model
class AdaptedLatency(FamilyReadouts):
    r"""A latency predictor for a new device: a :class:`~pyg_nar.fewshot.MultiDeviceLatency`
    plus, from :func:`adapt`, the linear read-outs of its features chosen for the device:

    .. math::
        \log \hat t(x) = \frac{1}{|F|} \sum_{f \in F} z_f(x), \qquad
        z_f(x) = \begin{cases} b_f + w_f^\top \phi_f(x) & \text{log families} \\
        \log \max(b_f + w_f^\top \phi_f(x),\ \epsilon) & \text{ms families} \end{cases}

    with :math:`\phi_f` the family's features (:data:`FAMILIES`) and :math:`\epsilon` a tenth of
    the smallest measured latency (the buffer ``floor``).

    :func:`adapt` builds it (:meth:`from_fits`); the constructor takes what describes it as plain
    JSON values (recorded as ``config``, :func:`~pyg_nar.models.register_model`), so that
    :func:`~pyg_nar.checkpoint.save_checkpoint` / :func:`~pyg_nar.checkpoint.load_checkpoint`
    store and rebuild it: the coefficients, ``floor`` and the base model's weights are its
    ``state_dict``.

    Args:
        base (dict): the ``config`` of the pre-trained :class:`~pyg_nar.fewshot.MultiDeviceLatency`
            (kept frozen).
        families (list[str]): the chosen families (:data:`FAMILIES`), best first.
        penalties (list[float | None]): their ridge penalties (``None``: non-negative fits).
        cv_rmse (list[float]): their cross-validated RMSE of log-latency on the measurements.
        sizes (list[int]): their numbers of features.
        name (str, optional): the device's name (default ``"target"``).
        excluded (list, optional): ``[index, reason]`` of the measurements left out of the fit.

    Shapes:
        - **input:** a PyG batch of the space's graphs, or architectures
        - **output:** :math:`[N]` latencies in ms
    """

    def __init__(self, base: dict, families: list[str], penalties: list[float | None],
                 cv_rmse: list[float], sizes: list[int], name: str = "target",
                 excluded: list[list] = ()):
        super().__init__()
        self.base = MultiDeviceLatency(**base)
        self.name = name
        self._add_readouts(families, penalties, cv_rmse, sizes)
        #: measured architectures left out of the fit (index in ``measured``, reason)
        self.excluded: list[tuple[int, str]] = [tuple(e) for e in excluded]

    @classmethod
    def from_fits(cls, base: MultiDeviceLatency, fits: Sequence[FamilyFit], floor: float,
                  name: str = "target", excluded: Sequence[tuple[int, str]] = ()) -> "AdaptedLatency":
        """The predictor of ``base`` (its weights copied) with the fitted families ``fits``."""
        out = cls(base.config, *cls._fit_arguments(fits), name, [list(e) for e in excluded])
        return out._load_fits(base, fits, floor)

    @classmethod
    def from_config(cls, config: dict, state_dict: Mapping[str, Tensor] | None = None) -> "AdaptedLatency":
        """The predictor :attr:`config` describes, with the weights of ``state_dict`` (as from
        :meth:`state_dict`, base model included)."""
        out = cls(**config)
        if state_dict is not None:
            out.load_state_dict(state_dict)
        return out.eval()

    def log_latency(self, archs) -> Tensor:
        return self.log_readout(self.base.features(archs))

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
    fits, floor = fit_families(model.features(choices), lat, FAMILIES, names, lambdas)
    out = AdaptedLatency.from_fits(model, fits[:max(1, top)], floor, name, excluded)
    out.selection = fits
    return out
