"""HELP's few-shot evaluation on the stored tables, with the baselines (the example's tables).

For each target device and k, ``draws`` random sets of k architectures are drawn from HELP's
pool of that device (:func:`~pyg_nar.fewshot.help.help_pools`); each set gives

* ``adapted`` -- :func:`~pyg_nar.fewshot.adapt` of the pre-trained model to the k measurements;
* ``scratch`` -- a ridge fit of log-latency on the one-hot choices of the k architectures alone
  (penalty by leave-one-out), no pre-training;
* ``flops`` -- the network's FLOPs (:meth:`~pyg_nar.fewshot.encoding.SpaceEncoding.flops`): the
  ranks (Spearman, Kendall) are those of the FLOPs themselves and need no measurement, the
  milliseconds (MAPE, Acc) come from a line in log-log space fitted to the k points with a
  non-negative slope;

and ``full`` -- the same encoder trained on all the device's architectures outside the query set
-- is the upper reference. Scores are on HELP's query set of the device: Spearman's rho,
Kendall's tau, MAPE and Acc(10%).
"""
from __future__ import annotations

import time
from typing import Sequence

import numpy as np
import torch

from pyg_nar.fewshot.adapt import LAMBDAS, adapt
from pyg_nar.fewshot.help import HELP_SPLITS, help_pools
from pyg_nar.fewshot.linear import cv_rmse, fit_linear
from pyg_nar.fewshot.model import MultiDeviceLatency, pretrain
from pyg_nar.metrics import acc_within, kendall_tau, mape, spearman_rho

__all__ = ["scores", "scratch_predict", "flops_predict", "flops_scores", "evaluate_device", "full_data_model"]


def scores(pred: np.ndarray, target: np.ndarray) -> dict[str, float]:
    return {"spearman": spearman_rho(pred, target), "kendall": kendall_tau(pred, target),
            "mape": mape(pred, target), "acc10": acc_within(pred, target, 0.1)}


def scratch_predict(x: np.ndarray, lat: np.ndarray, xq: np.ndarray) -> np.ndarray:
    """Ridge of log-latency on the one-hot choices of the measured architectures only."""
    logy = np.log(lat)
    lam = min(LAMBDAS, key=lambda l: cv_rmse(x, logy, logy, "log", "ridge", l, 0.0))
    w, b = fit_linear(x, logy, "ridge", lam)
    return np.exp(b + xq @ w)


def flops_predict(flops: np.ndarray, lat: np.ndarray, flops_q: np.ndarray) -> np.ndarray:
    """``a * FLOPs^b`` (``b >= 0``) fitted to the measured points in log-log space."""
    w, b = fit_linear(np.log(flops)[:, None], np.log(lat), "nonneg", None)
    return np.exp(b + np.log(flops_q) * w[0])


def flops_scores(flops: np.ndarray, lat: np.ndarray, flops_q: np.ndarray, target: np.ndarray) -> dict:
    """The FLOPs baseline's scores: ranks of the FLOPs, errors of :func:`flops_predict`."""
    pred = flops_predict(flops, lat, flops_q)
    return {"spearman": spearman_rho(flops_q, target), "kendall": kendall_tau(flops_q, target),
            "mape": mape(pred, target), "acc10": acc_within(pred, target, 0.1)}


def evaluate_device(model: MultiDeviceLatency, choices: torch.Tensor, latency: np.ndarray,
                    ks: Sequence[int] = (5, 10, 20), draws: int = 10, seed: int = 0,
                    full: MultiDeviceLatency | None = None, device: str = "target") -> dict:
    """Scores of every method for one target device (``latency`` over all the space's
    architectures, ``choices`` their choice matrix); returns ``{method: {k: [scores per draw]}}``
    (``full`` and ``flops`` ranks under k = ``None``) and the mean adaptation time in seconds."""
    space = model.space
    pool, query = help_pools(space, latency)
    enc = model.encoding
    onehot = enc.onehot(choices).double().numpy()
    flops = enc.flops(choices)
    yq = latency[query]
    out: dict = {"adapted": {}, "scratch": {}, "flops": {}, "seconds": []}
    for k in ks:
        for method in ("adapted", "scratch", "flops"):
            out[method][k] = []
        for draw in range(draws):
            pick = np.random.default_rng(seed + draw).choice(pool, k, replace=False)
            t = time.process_time()
            measured = [(enc.to_str(row), ms) for row, ms in zip(choices[pick].tolist(), latency[pick])]
            adapted = adapt(model, measured, name=device)
            pred = adapted.predict(choices[query])
            out["seconds"].append(time.process_time() - t)
            out["adapted"][k].append(scores(pred, yq))
            out["scratch"][k].append(scores(scratch_predict(onehot[pick], latency[pick], onehot[query]), yq))
            out["flops"][k].append(flops_scores(flops[pick], latency[pick], flops[query], yq))
    if full is not None:
        out["full"] = {None: [scores(full.predict(choices[query], full.devices[0]), yq)]}
    return out


def full_data_model(space: str, choices: torch.Tensor, latency: np.ndarray, **kw) -> MultiDeviceLatency:
    """The reference predictor: the encoder trained on the device's latencies of every
    architecture outside HELP's query set (NaN entries left out)."""
    split = HELP_SPLITS[space]
    lat = latency.copy()
    lat[split["pool"]:split["pool"] + split["query"]] = np.nan
    return pretrain(space, choices, {"target": lat}, **kw)
