r"""What keeps :func:`pyg_nar.training.fit` from training on targets its loss cannot take, or
from running on with a diverging loss.

* :func:`screen_graphs` -- drop the graphs whose targets the loss cannot learn from
  (:func:`pyg_nar.losses.screen_targets`: NaN, zero, negative and, for the relative MSE,
  near-zero latencies), with one message naming how many of each and what was done.
* :class:`DivergenceGuard` -- watch the epoch losses; when one becomes non-finite or grows
  beyond ``factor`` times the lowest so far, roll the model, optimiser and schedule back to
  the lowest-loss epoch and go on at ``lr_drop`` times the learning rate; after
  ``max_restarts`` such restarts, raise :class:`~pyg_nar.errors.TrainingDivergedError`.
"""
from __future__ import annotations

import copy
import math

import torch
from torch import nn

from pyg_nar.errors import TrainingDivergedError

__all__ = ["screen_graphs", "DivergenceGuard"]


def screen_graphs(graphs: list, loss, what: str) -> tuple[list, str | None]:
    """The graphs of ``graphs`` (each with ``y``) whose targets ``loss`` (a
    :class:`~pyg_nar.losses.PredictorLoss`) can learn from, and a message (``None`` if
    nothing is to be said) that starts with ``what`` (``"training"``, ``"validation"``)."""
    if not graphs:
        return graphs, None
    y = torch.cat([g.y.reshape(-1)[:1].double() for g in graphs])
    keep, message = loss.screen(y)
    if message is None:
        return graphs, None
    kept = [g for g, k in zip(graphs, keep.tolist()) if k]
    if not kept:
        raise ValueError(f"fit: no {what} graph is left: {message}")
    return kept, f"fit, {what} {message}"


class DivergenceGuard:
    r"""Detects a diverging training loss and recovers from it by a rollback.

    An epoch diverged when a step's loss was not finite, or when the epoch's mean loss is
    above ``factor`` times the lowest epoch mean so far. Then the model, the optimiser and
    the schedule go back to their state at the end of that lowest epoch, every learning rate
    of the schedule is multiplied by ``lr_drop``, and training goes on from there; after
    ``max_restarts`` restarts a further divergence raises
    :class:`~pyg_nar.errors.TrainingDivergedError`.

    Args:
        factor (float): growth of the epoch loss over the lowest one that counts as
            divergence. (default: :obj:`4.0`)
        max_restarts (int): rollbacks before giving up. (default: :obj:`3`)
        lr_drop (float): learning-rate factor at each rollback. (default: :obj:`0.5`)
    """

    def __init__(self, factor: float = 4.0, max_restarts: int = 3, lr_drop: float = 0.5):
        if factor <= 1 or not 0 < lr_drop < 1 or max_restarts < 0:
            raise ValueError(f"DivergenceGuard: needs factor > 1, 0 < lr_drop < 1 and "
                             f"max_restarts >= 0, got {factor}, {lr_drop}, {max_restarts}")
        self.factor, self.max_restarts, self.lr_drop = factor, max_restarts, lr_drop
        self.best_loss = math.inf
        self.best_epoch = 0
        self.restarts = 0
        self.events: list[str] = []
        self._state = None

    @property
    def can_recover(self) -> bool:
        """Whether a sound epoch was seen, so a diverged one can be rolled back (or, once the
        restarts are spent, be reported with them)."""
        return self._state is not None

    def diverged(self, loss: float) -> bool:
        """Whether an epoch whose mean loss is ``loss`` diverged."""
        return not math.isfinite(loss) or (math.isfinite(self.best_loss)
                                           and loss > self.factor * self.best_loss)

    def observe(self, epoch: int, loss: float, model: nn.Module, optimizer, scheduler,
                extra: nn.Module | None = None) -> None:
        """After a sound epoch: keep a copy of everything if its loss is the lowest so far
        (``extra``: another module to roll back with the model, e.g. its EMA)."""
        if loss < self.best_loss:
            self.best_loss, self.best_epoch = loss, epoch
            self._state = copy.deepcopy((model.state_dict(), optimizer.state_dict(),
                                         scheduler.state_dict(),
                                         extra.state_dict() if extra is not None else None))

    def recover(self, epoch: int, loss: float, model: nn.Module, optimizer, scheduler,
                extra: nn.Module | None = None) -> str:
        """Roll back after a diverged epoch; returns the message saying so. Raises
        :class:`~pyg_nar.errors.TrainingDivergedError` when no restart is left, or when no
        epoch was sound yet."""
        what = (f"the loss became {loss}" if not math.isfinite(loss)
                else f"the loss rose to {loss:.4g}, over {self.factor:g} x its lowest "
                     f"{self.best_loss:.4g} (epoch {self.best_epoch})")
        if self._state is None or self.restarts >= self.max_restarts:
            tried = "; ".join(self.events) if self.events else "no restart"
            why = ("before any epoch finished soundly" if self._state is None
                   else f"after {self.restarts} restarts")
            raise TrainingDivergedError(
                f"fit: training diverged at epoch {epoch}: {what}, {why} ({tried}); lower "
                f"the learning rate, or use a scale-free loss (loss='log_mse')", epoch=epoch)
        self.restarts += 1
        model_state, opt_state, sched_state, extra_state = copy.deepcopy(self._state)
        model.load_state_dict(model_state)
        optimizer.load_state_dict(opt_state)
        scheduler.load_state_dict(sched_state)
        if extra is not None and extra_state is not None:
            extra.load_state_dict(extra_state)
        scheduler.base_lrs = [lr * self.lr_drop ** self.restarts for lr in scheduler.base_lrs]
        for group, lr in zip(optimizer.param_groups, scheduler.get_last_lr()):
            group["lr"] = lr * self.lr_drop ** self.restarts
        message = (f"fit: epoch {epoch} diverged ({what}); rolled back to epoch "
                   f"{self.best_epoch} and went on at {self.lr_drop ** self.restarts:g} x the "
                   f"learning rate (restart {self.restarts} of {self.max_restarts})")
        self.events.append(f"epoch {epoch}: {what}")
        return message
