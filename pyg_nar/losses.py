r"""Every loss of the project's predictors, and :class:`PredictorLoss` that combines them.

* :func:`mse_loss` -- NAR-Former Eq. (12) (as a mean).
* :func:`sr_loss` -- NAR-Former's sequence-ranking loss, Eq. (13): under a random pairing
  ``I``, predicted differences ``yhat[I] - yhat`` should equal the true ones ``y[I] - y``.
  Eq. (13) sums the signed residuals (which cancel out); like the official code we take the
  **L1** of each residual, averaged: ``mean |(yhat[I]-yhat) - (y[I]-y)|``.
* :func:`ac_loss` -- architecture consistency, Eq. (11): ``mean |yhat - yhat'|`` between an
  architecture and its flow-consistent shuffle.
* :func:`hinge_ranking_loss` -- FlowerFormer's pairwise hinge:
  ``mean(max(0, m - sign(y_i - y_j) (s_i - s_j)))`` over all pairs ``i < j`` of the batch.
* :func:`relative_mse_loss` -- NNLQP / NAR-Former V2 latency loss ``mean((yhat / y - 1)^2)``.
* :func:`log_mse_loss` -- the default latency loss ``mean((log yhat - log y)^2)``: scale-free
  (the same in any unit, on 0.01 ms and 100 ms targets alike) and, unlike the relative MSE,
  without the trivial minimum ``yhat -> 0`` (whose relative error is 1 on every target,
  where training on targets spanning four decades collapses: ``pyg-nar train narformer-v2
  nb201-latency:raspi4`` ended at MAPE 101% with it).

:func:`screen_targets` says which targets a loss can learn from (finite; positive for the
latency losses; for the relative MSE, not near zero) and what is done with the others.

``PredictorLoss(base, sr_weight, ac_weight)`` is ``base + sr_weight * SR + ac_weight * AC``
(NAR-Former Eq. 10: ``mse``, 0.1, 0.5); when augmented predictions are given they also take
part in the base and SR terms, as the paper says (Sec. 3.5).
"""
from __future__ import annotations

import inspect
from typing import Callable, Optional

import torch
from torch import Tensor, nn

__all__ = ["mse_loss", "sr_loss", "ac_loss", "hinge_ranking_loss", "relative_mse_loss",
           "log_mse_loss", "BASE_LOSSES", "LATENCY_LOSSES", "PredictorLoss", "screen_targets",
           "NEAR_ZERO"]


def _check(pred: Tensor, target: Tensor, name: str) -> tuple[Tensor, Tensor]:
    pred, target = pred.reshape(-1), target.reshape(-1).to(pred.dtype)
    if pred.numel() != target.numel():
        raise ValueError(f"{name}: {pred.numel()} predictions but {target.numel()} targets")
    return pred, target


def mse_loss(pred: Tensor, target: Tensor) -> Tensor:
    """``mean((yhat - y)^2)`` (NAR-Former Eq. 12)."""
    pred, target = _check(pred, target, "mse_loss")
    return torch.mean((pred - target) ** 2)


def sr_loss(pred: Tensor, target: Tensor, perm: Optional[Tensor] = None,
            generator: Optional[torch.Generator] = None) -> Tensor:
    """Sequence-ranking loss (NAR-Former Eq. 13, L1 form of the official code).

    ``mean |(yhat[I] - yhat) - (y[I] - y)|`` with ``I = perm`` (default: a random
    permutation drawn from ``generator`` or the global RNG). Zero whenever the predicted
    differences equal the true ones, e.g. ``yhat = y + c``.
    """
    pred, target = _check(pred, target, "sr_loss")
    if perm is None:
        perm = torch.randperm(pred.numel(), generator=generator).to(pred.device)
    return torch.mean(torch.abs((pred[perm] - pred) - (target[perm] - target)))


def ac_loss(pred: Tensor, pred_aug: Tensor) -> Tensor:
    """Architecture-consistency loss ``mean |yhat - yhat'|`` (NAR-Former Eq. 11, as a mean)."""
    pred, pred_aug = _check(pred, pred_aug, "ac_loss")
    return torch.mean(torch.abs(pred - pred_aug))


def hinge_ranking_loss(pred: Tensor, target: Tensor, margin: float = 0.5) -> Tensor:
    """FlowerFormer's pairwise hinge ranking loss over all pairs ``i < j`` of the batch:
    ``mean(max(0, m - sign(y_i - y_j) * (s_i - s_j)))`` (tied targets cost ``m``)."""
    pred, target = _check(pred, target, "hinge_ranking_loss")
    if pred.numel() < 2:
        return pred.sum() * 0.0
    i, j = torch.triu_indices(pred.numel(), pred.numel(), offset=1, device=pred.device)
    ds = pred[i] - pred[j]
    dy = torch.sign(target[i] - target[j])
    return torch.mean(torch.clamp(margin - dy * ds, min=0.0))


def relative_mse_loss(pred: Tensor, target: Tensor) -> Tensor:
    """``mean((yhat / y - 1)^2)`` (NNLQP, NAR-Former V2 latency); targets must be non-zero."""
    pred, target = _check(pred, target, "relative_mse_loss")
    if bool((target == 0).any()):
        raise ValueError("relative_mse_loss: a target is zero, so its relative error is undefined")
    return torch.mean((pred / target - 1.0) ** 2)


def log_mse_loss(pred: Tensor, target: Tensor) -> Tensor:
    """``mean((log yhat - log y)^2)``, the default latency loss; targets must be positive, and
    so must predictions (a positive output map: ``"exp"`` or ``"neg_logsigmoid"``). A
    prediction that underflowed to 0 counts as 1e-30."""
    pred, target = _check(pred, target, "log_mse_loss")
    if bool((target <= 0).any()):
        raise ValueError("log_mse_loss: a target is <= 0, which has no logarithm "
                         "(pyg_nar.losses.screen_targets drops such targets)")
    if bool((pred < 0).any()):
        raise ValueError("log_mse_loss: a prediction is negative; the log loss needs a model "
                         "with a positive output map ('exp' or 'neg_logsigmoid')")
    return torch.mean((torch.log(pred.clamp_min(1e-30)) - torch.log(target)) ** 2)


#: Base losses by name (``TrainConfig.loss``). Each is ``fn(pred, target, **options)``: the
#: options are keyword arguments with defaults, and :class:`PredictorLoss` passes each loss
#: those of its own options that its signature names (``margin``: the hinge loss's).
BASE_LOSSES: dict[str, Callable[..., Tensor]] = {
    "mse": mse_loss,
    "relative_mse": relative_mse_loss,
    "log_mse": log_mse_loss,
    "hinge": hinge_ranking_loss,
}
#: The losses of latency targets: a target <= 0 has no relative error and no logarithm.
LATENCY_LOSSES = ("relative_mse", "log_mse")
#: A target below this fraction of the median target is "near zero" (raspi4's and pixel3's
#: NB201 cells without an input-to-output path: 0.011 ms against a median of 25.7 ms).
NEAR_ZERO = 0.01


def screen_targets(target: Tensor, loss: str) -> tuple[Tensor, str | None]:
    """Which targets the base loss ``loss`` can learn from: ``(keep mask, message)``.

    * for the latency losses (:data:`LATENCY_LOSSES`) only (a NaN accuracy or score is left
      to :func:`~pyg_nar.training.fit`'s error, which says to clean the dataset): not finite
      (NaN, inf) dropped; ``<= 0`` (zero, negative) dropped,
      they have no relative error and no logarithm; near zero (below :data:`NEAR_ZERO` times
      the median of the positive targets) dropped too: a latency a hundred times below the
      median is a measurement artefact (raspi4's and pixel3's NB201 cells without an
      input-to-output path: 0.011 ms against 25.7 ms) whose relative error outweighs all
      the others' (relative MSE, MAPE) and whose logarithm pulls a log-loss fit away from the
      rest (NAR-Former V2 on raspi4: MAPE 1664% on them, 15% on the others).

    ``message`` names how many targets of each kind there were and what was done, or is
    :obj:`None` when every target is kept.
    """
    y = target.reshape(-1).double()
    keep = torch.ones_like(y, dtype=torch.bool)
    if loss not in LATENCY_LOSSES:  # a NaN score stays: fit's error names it (clean the data)
        return keep, None
    keep = torch.isfinite(y)
    parts = []
    bad = int((~keep).sum())
    if bad:
        parts.append(f"{bad} not finite (NaN or inf)")
    nonpos = keep & (y <= 0)
    if int(nonpos.sum()):
        zero = int((nonpos & (y == 0)).sum())
        parts.append(f"{int(nonpos.sum())} <= 0 ({zero} zero, {int(nonpos.sum()) - zero} "
                     f"negative)")
        keep &= ~nonpos
    if bool(keep.any()):
        median = float(y[keep].median())
        near = keep & (y < NEAR_ZERO * median)
        if int(near.sum()):
            parts.append(f"{int(near.sum())} near zero (< {NEAR_ZERO:g} x the median "
                         f"{median:.4g}; smallest {float(y[near].min()):.4g})")
            keep &= ~near
    if not parts:
        return keep, None
    return keep, f"{len(y)} targets: {'; '.join(parts)}: dropped, {int(keep.sum())} kept"


class PredictorLoss(nn.Module):
    r"""``base + sr_weight * SR + ac_weight * AC`` (NAR-Former Eq. 10 with ``base="mse"``,
    ``sr_weight=0.1``, ``ac_weight=0.5``; FlowerFormer: ``base="hinge"``; NNLQP:
    ``base="relative_mse"``).

    ``forward(pred, target, pred_aug=None, generator=None) -> (total, parts)`` where
    ``parts`` maps each term's name to its (detached) value. With ``pred_aug`` the augmented
    predictions join the base and SR terms (targets repeated) and AC compares the two;
    ``generator`` draws the SR term's random pairing (default: the global RNG).
    """

    def __init__(self, base: str = "mse", sr_weight: float = 0.0, ac_weight: float = 0.0,
                 margin: float = 0.5):
        super().__init__()
        if base not in BASE_LOSSES:
            raise ValueError(f"unknown loss {base!r} (known: {', '.join(BASE_LOSSES)})")
        self.base, self.sr_weight, self.ac_weight, self.margin = base, sr_weight, ac_weight, margin
        accepted = inspect.signature(BASE_LOSSES[base]).parameters
        self.base_options = {k: v for k, v in dict(margin=margin).items() if k in accepted}

    def screen(self, target: Tensor) -> tuple[Tensor, str | None]:
        """:func:`screen_targets` for this loss's base."""
        return screen_targets(target, self.base)

    @property
    def needs_aug(self) -> bool:
        """Whether the AC term is on (the loop then also predicts the augmented copies)."""
        return self.ac_weight > 0

    def forward(self, pred: Tensor, target: Tensor, pred_aug: Optional[Tensor] = None,
                generator: Optional[torch.Generator] = None):
        if self.needs_aug and pred_aug is None:
            raise ValueError("PredictorLoss: ac_weight > 0 needs the predictions of the "
                             "augmented architectures (the model's forward_augmented, e.g. "
                             "NARFormer on the 'aug_tokens' field)")
        pred, target = pred.reshape(-1), target.reshape(-1)
        all_pred, all_target = pred, target
        if pred_aug is not None:
            all_pred = torch.cat([pred, pred_aug.reshape(-1)])
            all_target = torch.cat([target, target])
        base = BASE_LOSSES[self.base](all_pred, all_target, **self.base_options)
        total, parts = base, {self.base: base.detach()}
        if self.sr_weight:
            sr = sr_loss(all_pred, all_target, generator=generator)
            total = total + self.sr_weight * sr
            parts["sr"] = sr.detach()
        if self.ac_weight and pred_aug is not None:
            ac = ac_loss(pred, pred_aug)
            total = total + self.ac_weight * ac
            parts["ac"] = ac.detach()
        return total, parts

    def extra_repr(self) -> str:
        return (f"base={self.base!r}, sr_weight={self.sr_weight}, ac_weight={self.ac_weight}, "
                f"margin={self.margin}")
