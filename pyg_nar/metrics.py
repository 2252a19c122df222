"""Metrics of architecture-attribute prediction.

Ranking quality (accuracy predictors): :func:`kendall_tau`, :func:`spearman_rho`,
:func:`precision_at_k`. Regression quality (latency predictors): :func:`mape`,
:func:`acc_within` (NNLQP's "error bound accuracy", Acc(delta)).
All take 1-D tensors or arrays of predictions and targets.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["kendall_tau", "spearman_rho", "mape", "acc_within", "precision_at_k"]


def _as_1d(pred, target, name: str) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred.detach().cpu() if hasattr(pred, "detach") else pred, dtype=np.float64).reshape(-1)
    t = np.asarray(target.detach().cpu() if hasattr(target, "detach") else target, dtype=np.float64).reshape(-1)
    if p.shape != t.shape:
        raise ValueError(f"{name}: predictions ({p.size}) and targets ({t.size}) differ in length")
    if p.size == 0:
        raise ValueError(f"{name}: no predictions")
    if not (np.isfinite(p).all() and np.isfinite(t).all()):
        raise ValueError(f"{name}: predictions or targets contain NaN or inf")
    return p, t


def kendall_tau(pred, target) -> float:
    """Kendall's tau-b between predictions and targets (:func:`scipy.stats.kendalltau`)."""
    p, t = _as_1d(pred, target, "kendall_tau")
    return float(stats.kendalltau(p, t).statistic)


def spearman_rho(pred, target) -> float:
    """Spearman's rank correlation (:func:`scipy.stats.spearmanr`)."""
    p, t = _as_1d(pred, target, "spearman_rho")
    return float(stats.spearmanr(p, t).statistic)


def mape(pred, target) -> float:
    """Mean absolute percentage error, as a fraction: ``mean(|pred - y| / |y|)``."""
    p, t = _as_1d(pred, target, "mape")
    if (t == 0).any():
        raise ValueError("mape: a target is zero, so its relative error is undefined")
    return float(np.mean(np.abs(p - t) / np.abs(t)))


def acc_within(pred, target, delta: float = 0.1) -> float:
    """Acc(delta): the fraction of predictions whose relative error is at most ``delta``."""
    p, t = _as_1d(pred, target, "acc_within")
    if (t == 0).any():
        raise ValueError("acc_within: a target is zero, so its relative error is undefined")
    return float(np.mean(np.abs(p - t) / np.abs(t) <= delta))


def precision_at_k(pred, target, k: int) -> float:
    """Top-K overlap: the fraction of the K best predicted that are among the K truly best.

    "Best" means largest; ties at the K-th place are broken by position (stable sort).
    """
    p, t = _as_1d(pred, target, "precision_at_k")
    if not 0 < k <= p.size:
        raise ValueError(f"precision_at_k: k={k} must be in 1..{p.size}")
    top_p = np.argsort(-p, kind="stable")[:k]
    top_t = np.argsort(-t, kind="stable")[:k]
    return len(np.intersect1d(top_p, top_t)) / k
