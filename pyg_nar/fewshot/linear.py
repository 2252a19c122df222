"""The linear fits of the few-shot predictor: least squares with a free intercept, ridge or
non-negative, and their cross-validated error."""
from __future__ import annotations

import numpy as np
from scipy.optimize import nnls

__all__ = ["fit_linear", "cv_folds", "cv_rmse", "to_log"]


def fit_linear(x: np.ndarray, y: np.ndarray, constraint: str = "ridge",
               lam: float | None = None) -> tuple[np.ndarray, float]:
    """``(w, b)`` of ``y ~ b + x @ w`` with a free intercept: ``"ridge"`` (penalty ``lam`` on
    ``w``) or ``"nonneg"`` (``w >= 0``, :func:`scipy.optimize.nnls` on centred data)."""
    xm, ym = x.mean(0), y.mean()
    xc, yc = x - xm, y - ym
    if constraint == "ridge":
        w = np.linalg.solve(xc.T @ xc + lam * np.eye(x.shape[1]), xc.T @ yc)
    elif constraint == "nonneg":
        w = nnls(xc, yc)[0] if len(y) > 1 else np.zeros(x.shape[1])
    else:
        raise ValueError(f"fit_linear: unknown constraint {constraint!r}")
    return w, float(ym - xm @ w)


def to_log(z: np.ndarray, space: str, floor: float) -> np.ndarray:
    """A fit's output as log-latency: unchanged for ``space="log"``, ``log(max(z, floor))`` for ms."""
    return z if space == "log" else np.log(np.maximum(z, floor))


def cv_folds(k: int) -> list[np.ndarray]:
    """Leave-one-out up to 50 points, else 10 folds of a fixed permutation."""
    if k <= 50:
        return [np.array([i]) for i in range(k)]
    return np.array_split(np.random.default_rng(0).permutation(k), 10)


def cv_rmse(x: np.ndarray, y: np.ndarray, logy: np.ndarray, space: str, constraint: str,
            lam: float | None, floor: float) -> float:
    """Cross-validated (:func:`cv_folds`) RMSE of log-latency of a fit of ``y`` on ``x``
    (``y`` is ``logy`` for ``space="log"``, milliseconds for ``"ms"``)."""
    err = []
    for held in cv_folds(len(y)):
        keep = np.ones(len(y), bool)
        keep[held] = False
        w, b = fit_linear(x[keep], y[keep], constraint, lam)
        err.append(to_log(b + x[held] @ w, space, floor) - logy[held])
    return float(np.sqrt(np.mean(np.concatenate(err) ** 2)))
