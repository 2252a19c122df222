r"""The one training loop of every predictor: :func:`fit` and :func:`predict`.

A predictor is an ``nn.Module`` with ``forward(batch) -> [B]``. :func:`fit` trains it with
AdamW (no weight decay on norms and biases, NAR-Former supp. Sec. 2), a per-step learning-rate
schedule (``"linear"``: warm-up then linear decay to 0, NAR-Former; ``"cosine"``: warm-up then
cosine decay, FlowerFormer), an optional EMA of the weights (NAR-Former's timm EMA), a loss
from :class:`pyg_nar.losses.PredictorLoss`, and model selection on the validation split. With
the architecture-consistency term on (``ac_weight > 0``) each step also predicts the batch's
augmented copies through the model's :meth:`~pyg_nar.models.Predictor.forward_augmented`.
The selected weights are an independent copy taken when they were best (the official
FlowerFormer code kept a live reference, so its "best" model was the last one); they are
loaded into the model at the end.

The training graphs are read once into memory (their dataset transforms applied once, so a
random augmentation is drawn once per graph, as in NAR-Former's code) and batched by the stock
:class:`torch_geometric.loader.DataLoader` in the main process: no worker processes, no
per-epoch checkpoint files. With the same ``seed`` a CPU run is repeatable.
"""
from __future__ import annotations

import math
import random
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Optional

import numpy as np
import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch_geometric.data.data import BaseData
from torch_geometric.loader import DataLoader
from tqdm.auto import tqdm

from pyg_nar import metrics as M
from pyg_nar.errors import ArgumentError
from pyg_nar.losses import BASE_LOSSES, PredictorLoss
from pyg_nar.utils.arguments import check_arguments, check_int, check_number

__all__ = ["TrainConfig", "FitResult", "fit", "predict", "seed_everything", "param_groups",
           "SELECT_METRICS"]

#: Validation metrics for model selection: name -> (function, higher is better).
SELECT_METRICS = {
    "kendall_tau": (M.kendall_tau, True),
    "spearman_rho": (M.spearman_rho, True),
    "mape": (M.mape, False),
}


@dataclass
class TrainConfig:
    """Everything :func:`fit` needs besides the model and data.

    The defaults are NAR-Former's NB201 recipe (supp. Sec. 2.2, official scripts) except for
    ``epochs`` (paper: 4000); :meth:`narformer` and :meth:`flowerformer` give the two papers'
    recipes.
    """

    epochs: int = 100
    batch_size: int = 128
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup: float = 0.1                 #: fraction of all steps spent warming up
    schedule: str = "linear"            #: "linear", "cosine" or "constant"
    ema_decay: Optional[float] = None   #: e.g. 0.99 (NAR-Former); None = no EMA
    loss: str = "mse"                   #: a key of pyg_nar.losses.BASE_LOSSES
    sr_weight: float = 0.0              #: lambda_1 of NAR-Former Eq. 10
    ac_weight: float = 0.0              #: lambda_2 of NAR-Former Eq. 10 (model.forward_augmented)
    margin: float = 0.5                 #: hinge-loss margin
    grad_clip: Optional[float] = None   #: max gradient norm; None = no clipping
    seed: int = 0
    select_metric: str = "kendall_tau"  #: "kendall_tau", "spearman_rho" or "mape"
    eval_every: int = 1                 #: validate every this many epochs (and after the last)
    eval_batch_size: int = 1024
    device: str = "cpu"
    progress: bool = True               #: tqdm progress bar over epochs

    @classmethod
    def narformer(cls, **overrides) -> "TrainConfig":
        """NAR-Former (NB201): AdamW 1e-4, wd 0.01, 10% warm-up + linear decay, batch 128,
        EMA 0.99, MSE + 0.1 SR + 0.5 AC, 4000 epochs."""
        base = dict(epochs=4000, batch_size=128, lr=1e-4, weight_decay=0.01, warmup=0.1,
                    schedule="linear", ema_decay=0.99, loss="mse", sr_weight=0.1, ac_weight=0.5)
        return cls(**{**base, **overrides})

    @classmethod
    def flowerformer(cls, **overrides) -> "TrainConfig":
        """FlowerFormer (NB201): AdamW 8e-4, wd 6e-5, cosine with 30/200 warm-up epochs,
        batch 32, hinge margin 0.5, gradient clipping 1."""
        base = dict(epochs=200, batch_size=32, lr=8e-4, weight_decay=6e-5, warmup=0.15,
                    schedule="cosine", loss="hinge", margin=0.5, grad_clip=1.0)
        return cls(**{**base, **overrides})

    def __post_init__(self):
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        check_arguments(TrainConfig, values, "TrainConfig")  # types, from the annotations
        for name, lo, hi in (("epochs", 1, 10 ** 7), ("batch_size", 1, 2 ** 31 - 1),
                             ("eval_every", 1, None), ("eval_batch_size", 1, 2 ** 31 - 1),
                             ("seed", 0, 2 ** 63 - 1)):
            check_int(values[name], name, "TrainConfig", lo, hi)
        check_number(self.lr, "lr", "TrainConfig", 0, None, open_low=True)
        for name in ("weight_decay", "sr_weight", "ac_weight", "margin"):
            check_number(values[name], name, "TrainConfig", 0)
        check_number(self.grad_clip, "grad_clip", "TrainConfig", 0, none=True, open_low=True)
        if self.schedule not in ("linear", "cosine", "constant"):
            raise ArgumentError(f"TrainConfig: schedule must be 'linear', 'cosine' or 'constant', "
                             f"got {self.schedule!r}")
        if self.loss not in BASE_LOSSES:
            raise ArgumentError(f"TrainConfig: unknown loss {self.loss!r} (known: {', '.join(BASE_LOSSES)})")
        if self.select_metric not in SELECT_METRICS:
            raise ArgumentError(f"TrainConfig: unknown select_metric {self.select_metric!r} "
                             f"(known: {', '.join(SELECT_METRICS)})")
        if not 0 <= self.warmup < 1:
            raise ArgumentError(f"TrainConfig: warmup is a fraction of the steps in [0, 1), got {self.warmup}")
        if self.ema_decay is not None and not 0 < self.ema_decay < 1:
            raise ArgumentError(f"TrainConfig: ema_decay must be in (0, 1), got {self.ema_decay}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ArgumentError("TrainConfig: epochs and batch_size must be positive")

    def build_loss(self) -> PredictorLoss:
        return PredictorLoss(self.loss, self.sr_weight, self.ac_weight, self.margin)


@dataclass
class FitResult:
    """What :func:`fit` returns; the model itself already holds the selected weights."""

    best_metric: Optional[float]   #: validation metric of the selected weights (None: no val)
    best_epoch: int                #: 1-based epoch of the selected weights
    history: list = field(default_factory=list)  #: one dict per epoch
    wall_time: float = 0.0         #: seconds spent in fit
    config: dict = field(default_factory=dict)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) random generators."""
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """AdamW groups: weight decay on weight matrices (and other >= 2-D tensors such as learned
    queries), none on norms and biases (every 1-D / 0-D parameter), as NAR-Former's paper says.
    (Its official code's no-decay filter matched no parameter name.)"""
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.ndim >= 2 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def _lr_lambda(schedule: str, total: int, warmup: int):
    def f(step: int) -> float:
        if schedule == "constant":
            return 1.0 if step >= warmup else (step + 1) / warmup
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        if schedule == "linear":
            return max(0.0, 1.0 - progress)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return f


def _materialize(dataset, what: str) -> list:
    """The graphs of ``dataset`` as a list, each read (and transformed) once."""
    if dataset is None:
        return []
    if isinstance(dataset, (str, bytes, dict, BaseData)) or not hasattr(dataset, "__iter__"):
        raise ArgumentError(f"fit: the {what} dataset must be a dataset or a list of graphs, got "
                            f"{type(dataset).__name__}")
    items = list(dataset) if not hasattr(dataset, "__getitem__") else [dataset[i] for i in range(len(dataset))]
    if not all(isinstance(g, BaseData) for g in items):
        raise ArgumentError(f"fit: the {what} dataset must hold graphs (torch_geometric Data)")
    if not items:
        raise ArgumentError(f"fit: the {what} dataset is empty")
    if getattr(items[0], "y", None) is None:
        raise ArgumentError(f"fit: the {what} graphs have no 'y' target")
    return items


def _state_copy(module: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def predict(model: nn.Module, data, batch_size: int = 1024, device: Optional[str] = None,
            **forward_kwargs) -> Tensor:
    """Predictions ``[num_graphs]`` in dataset order (or the loader's order, if ``data`` is a
    DataLoader), computed in eval mode under :func:`torch.inference_mode`, on CPU."""
    check_int(batch_size, "batch_size", "predict", 1, 2 ** 31 - 1)
    if not isinstance(model, nn.Module):
        raise ArgumentError(f"predict: model must be a torch.nn.Module, got {type(model).__name__}")
    if device is None:
        p = next(model.parameters(), None)
        device = p.device if p is not None else "cpu"
    loader = data if isinstance(data, torch.utils.data.DataLoader) else DataLoader(
        data if isinstance(data, (list, tuple)) else data, batch_size=batch_size, shuffle=False)
    was_training = model.training
    model.eval()
    outs = []
    try:
        with torch.inference_mode():
            for batch in loader:
                outs.append(model(batch.to(device), **forward_kwargs).reshape(-1).float().cpu())
    finally:
        model.train(was_training)
    if not outs:
        raise ArgumentError("predict: no graphs to predict")
    return torch.cat(outs)


def fit(model: nn.Module, train_dataset, val_dataset=None,
        config: Optional[TrainConfig] = None) -> FitResult:
    """Train ``model`` on ``train_dataset``, select on ``val_dataset`` (``config.select_metric``),
    load the selected weights into ``model`` (left in eval mode) and return a :class:`FitResult`.

    Without a validation set the final weights (the EMA ones, with EMA) are kept.
    """
    if not isinstance(model, nn.Module):
        raise ArgumentError(f"fit: model must be a torch.nn.Module, got {type(model).__name__}")
    if config is not None and not isinstance(config, TrainConfig):
        raise ArgumentError(f"fit: config must be a TrainConfig, got {type(config).__name__}")
    config = config or TrainConfig()
    start = time.perf_counter()
    seed_everything(config.seed)
    device = torch.device(config.device)
    model.to(device)
    train_list = _materialize(train_dataset, "training")
    val_list = _materialize(val_dataset, "validation")
    loss_fn = config.build_loss()
    if loss_fn.needs_aug and not callable(getattr(model, "forward_augmented", None)):
        raise ArgumentError(f"fit: ac_weight > 0 needs a model with a forward_augmented method "
                         f"(pyg_nar.models.Predictor); {type(model).__name__} has none")

    loader = DataLoader(train_list, batch_size=config.batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(config.seed))
    total_steps = config.epochs * len(loader)
    optimizer = torch.optim.AdamW(param_groups(model, config.weight_decay), lr=config.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _lr_lambda(config.schedule, total_steps, round(config.warmup * total_steps)))
    ema = (AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay),
                         use_buffers=True) if config.ema_decay is not None else None)
    metric_fn, higher = SELECT_METRICS[config.select_metric]
    val_y = torch.cat([d.y.reshape(-1) for d in val_list]) if val_list else None

    best_state, best_metric, best_epoch, history = None, None, 0, []
    bar = tqdm(range(1, config.epochs + 1), disable=not config.progress, desc="fit",
               dynamic_ncols=True)
    for epoch in bar:
        t0 = time.perf_counter()
        model.train()
        sums: dict[str, float] = {}
        seen = 0
        for batch in loader:
            batch = batch.to(device)
            pred = model(batch)
            pred_aug = model.forward_augmented(batch) if loss_fn.needs_aug else None
            total, parts = loss_fn(pred, batch.y, pred_aug)
            value = float(total.detach())
            if not math.isfinite(value):
                raise FloatingPointError(f"fit: the loss became {value} at epoch {epoch}")
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            if config.grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            scheduler.step()
            if ema is not None:
                ema.update_parameters(model)
            n = int(batch.num_graphs)
            seen += n
            sums["loss"] = sums.get("loss", 0.0) + value * n
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + float(v) * n
        record: dict[str, Any] = {"epoch": epoch, **{k: v / seen for k, v in sums.items()},
                                  "lr": optimizer.param_groups[0]["lr"]}
        evaluated = ema.module if ema is not None else model
        if val_list and (epoch % config.eval_every == 0 or epoch == config.epochs):
            value = metric_fn(predict(evaluated, val_list, config.eval_batch_size, device), val_y)
            record[f"val_{config.select_metric}"] = value
            if best_metric is None or (value > best_metric if higher else value < best_metric) \
                    or math.isnan(best_metric):
                best_metric, best_epoch, best_state = value, epoch, _state_copy(evaluated)
        record["seconds"] = time.perf_counter() - t0
        history.append(record)
        if config.progress:
            post = {"loss": f"{record['loss']:.4g}"}
            if best_metric is not None:
                post[f"best_{config.select_metric}"] = f"{best_metric:.4f}"
            bar.set_postfix(post)
    bar.close()
    if best_state is None:  # no validation set: keep the final (EMA) weights
        best_state, best_epoch = _state_copy(ema.module if ema is not None else model), config.epochs
    model.load_state_dict(best_state)
    model.eval()
    return FitResult(best_metric=best_metric, best_epoch=best_epoch, history=history,
                     wall_time=time.perf_counter() - start, config=asdict(config))
