r"""Readable accuracy predictions: a monotone map from a predictor's ranking score to accuracy.

The accuracy predictors are trained to *rank* (pairwise hinge losses): their outputs are scores
on no particular scale (``872.2``, ``-1073.5``). :class:`AccuracyCalibration` turns a score into

* an accuracy: the isotonic regression (pool-adjacent-violators) of the training cells' true
  accuracies on their scores, read between its block centres by linear interpolation, so it
  is non-decreasing everywhere and strictly increasing between the first and the last block
  centre (the ends are held flat: no extrapolation past what the training cells showed);
* a percentile: where the score falls among the scores of all the benchmark's architectures
  (stored as 1,001 quantiles).

Ranking metrics (Kendall's tau, Spearman's rho, precision@K) are always computed on the raw
scores, so the map changes none of them. :func:`pyg_nar.pipeline.train` fits one for every
accuracy checkpoint (``calibration.json``, :mod:`pyg_nar.checkpoint`); ``pyg-nar predict``
prints its accuracy (%) and percentile, and ``pyg-nar evaluate`` plots predicted vs. true
accuracy and rank vs. rank.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["AccuracyCalibration", "isotonic_fit"]

#: Quantiles of the reference scores kept for percentiles (0%, 0.1%, ..., 100%).
NUM_QUANTILES = 1001


def isotonic_fit(x, y) -> tuple[np.ndarray, np.ndarray]:
    r"""Isotonic (non-decreasing) least-squares regression of ``y`` on ``x`` by
    pool-adjacent-violators.

    Args:
        x (array-like): scores, :math:`(n)`.
        y (array-like): targets, :math:`(n)`.

    Returns ``(centres, values)``: one entry per block of the fit, ``centres`` the mean score of
    the block (strictly increasing), ``values`` its fitted value (strictly increasing; blocks of
    equal value are merged). Equal scores always share a block.
    """
    x, y = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    if x.size != y.size or x.size == 0:
        raise ValueError(f"isotonic_fit: need as many scores as targets, at least one "
                         f"(got {x.size} and {y.size})")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("isotonic_fit: scores and targets must be finite")
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order]
    # equal scores start as one block
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    sums_x = np.add.reduceat(xs, starts)
    sums_y = np.add.reduceat(ys, starts)
    counts = np.diff(np.r_[starts, xs.size]).astype(np.float64)
    bx, by, bn = [], [], []      # blocks: sum of x, sum of y, count
    for sx, sy, n in zip(sums_x, sums_y, counts):
        bx.append(sx), by.append(sy), bn.append(n)
        while len(by) > 1 and by[-2] / bn[-2] >= by[-1] / bn[-1]:  # violator (or tie): pool
            sx, sy, n = bx.pop(), by.pop(), bn.pop()
            bx[-1] += sx
            by[-1] += sy
            bn[-1] += n
    n = np.asarray(bn)
    return np.asarray(bx) / n, np.asarray(by) / n


@dataclass
class AccuracyCalibration:
    r"""Monotone score -> accuracy map of one trained predictor, and the percentiles of its
    scores among a benchmark's architectures (module docstring).

    Build it with :meth:`fit`; it is saved as JSON (:meth:`to_dict` / :meth:`from_dict`),
    never pickled.

    Attributes:
        centres (list[float]): block centres of the isotonic fit (strictly increasing scores).
        values (list[float]): fitted accuracy of each block (strictly increasing), in the
            units of the dataset's ``y`` (a fraction for the NAS benchmarks).
        quantiles (list[float]): :data:`NUM_QUANTILES` quantiles of the reference scores.
        num_train (int): training cells the map was fitted on.
        num_reference (int): architectures behind the percentiles.
    """

    centres: list = field(default_factory=list)
    values: list = field(default_factory=list)
    quantiles: list = field(default_factory=list)
    num_train: int = 0
    num_reference: int = 0

    @classmethod
    def fit(cls, train_scores, train_accuracy, reference_scores) -> "AccuracyCalibration":
        """Isotonic map fitted on the training cells' ``(score, true accuracy)`` pairs, with
        the percentiles of ``reference_scores`` (the scores of every architecture of the
        benchmark)."""
        centres, values = isotonic_fit(train_scores, train_accuracy)
        ref = np.asarray(reference_scores, dtype=np.float64).ravel()
        if ref.size == 0 or not np.isfinite(ref).all():
            raise ValueError("AccuracyCalibration.fit: reference scores must be finite and not empty")
        q = np.quantile(ref, np.linspace(0.0, 1.0, NUM_QUANTILES))
        return cls(centres.tolist(), values.tolist(), q.tolist(), int(np.asarray(train_scores).size),
                   int(ref.size))

    def accuracy(self, scores) -> np.ndarray:
        """Predicted accuracy of each score (non-decreasing in the score)."""
        s = np.asarray(scores, dtype=np.float64)
        if len(self.centres) == 1:
            return np.full(s.shape, self.values[0])
        return np.interp(s, self.centres, self.values)

    def percentile(self, scores) -> np.ndarray:
        """Percentage (0-100) of the reference architectures whose score is below each score
        (interpolated between the stored quantiles)."""
        s = np.asarray(scores, dtype=np.float64)
        q = np.asarray(self.quantiles)
        levels = np.linspace(0.0, 100.0, q.size)
        return np.interp(s, q, levels, left=0.0, right=100.0)

    def to_dict(self) -> dict:
        return {"centres": list(self.centres), "values": list(self.values),
                "quantiles": list(self.quantiles), "num_train": self.num_train,
                "num_reference": self.num_reference}

    @classmethod
    def from_dict(cls, d: dict, where: str = "calibration") -> "AccuracyCalibration":
        """From :meth:`to_dict`'s output; a :class:`ValueError` naming ``where`` if a field
        is missing or the map is not increasing."""
        try:
            cal = cls([float(v) for v in d["centres"]], [float(v) for v in d["values"]],
                      [float(v) for v in d["quantiles"]], int(d["num_train"]),
                      int(d["num_reference"]))
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{where}: not a calibration map ({type(e).__name__}: {e})") from None
        c, v, q = np.asarray(cal.centres), np.asarray(cal.values), np.asarray(cal.quantiles)
        if (c.size == 0 or c.size != v.size or q.size < 2 or np.any(np.diff(c) <= 0)
                or np.any(np.diff(v) <= 0) or np.any(np.diff(q) < 0)):
            raise ValueError(f"{where}: the calibration map is not increasing or is empty")
        return cal

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(blocks={len(self.centres)}, num_train={self.num_train}, "
                f"num_reference={self.num_reference})")
