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

Before training, graphs whose targets the loss cannot learn from are dropped (NaN; zero or
negative latencies; near-zero ones under the relative MSE), and a diverging loss is rolled back
at a lower learning rate (:mod:`pyg_nar.guards`); each such step is said in a
:class:`~pyg_nar.errors.TrainingNote` warning and listed in :attr:`FitResult.notes`.

The training graphs are read once into memory (their dataset transforms applied once, so a
random augmentation is drawn once per graph, as in NAR-Former's code) and batched by the stock
:class:`torch_geometric.loader.DataLoader` in the main process: no worker processes, no
per-epoch checkpoint files. With the same ``seed`` a CPU run is repeatable.

Where and how it runs (:mod:`pyg_nar.devices`): ``TrainConfig.device`` (``"cpu"``,
``"cuda"``, ``"cuda:N"``, ``"auto"``), ``amp`` (bf16 / fp16 autocast of the forward passes),
``compile`` (:func:`torch.compile` of the model's compile regions; the seconds spent
compiling are in each epoch's ``compile_seconds`` and :attr:`FitResult.compile_seconds`).
Under ``torchrun`` with more than one process, :func:`fit` trains data-parallel
(:mod:`pyg_nar.distributed`: one global batch sharded over the processes, the loss on the
gathered predictions, DistributedDataParallel gradients, validation on all graphs).
The loop itself waits for the device once per epoch (the loss sums stay on the device), not
once per step.
"""
from __future__ import annotations

import math
import random
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Optional, Union

import numpy as np
import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch_geometric.data.data import BaseData
from torch_geometric.loader import DataLoader
from tqdm.auto import tqdm

import warnings

from pyg_nar import distributed as D
from pyg_nar import metrics as M
from pyg_nar.devices import (AMP_CHOICES, COMPILE_MODES, autocast, compile_model, compile_seconds,
                             grad_scaler, resolve_amp, resolve_device)
from pyg_nar.errors import ArgumentError, DeviceError, TrainingDivergedError, TrainingNote
from pyg_nar.guards import DivergenceGuard, screen_graphs
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
    divergence_factor: Optional[float] = 4.0  #: epoch loss over its lowest that is divergence; None = off
    max_restarts: int = 3               #: rollbacks at half the learning rate before giving up
    seed: int = 0
    select_metric: str = "kendall_tau"  #: "kendall_tau", "spearman_rho" or "mape"
    eval_every: int = 1                 #: validate every this many epochs (and after the last)
    eval_batch_size: int = 1024
    device: str = "cpu"                 #: "cpu", "cuda", "cuda:N" or "auto" (pyg_nar.devices)
    amp: Optional[str] = None           #: None, "bf16" or "fp16" (CUDA) autocast
    compile: Union[bool, str] = False   #: torch.compile: False, True or a mode ("reduce-overhead")
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
        if self.amp == "none":
            self.amp = None
        if self.amp is not None and self.amp not in AMP_CHOICES:
            raise DeviceError(f"TrainConfig: amp must be None, 'bf16' or 'fp16', got {self.amp!r}")
        if not (isinstance(self.compile, bool) or self.compile in COMPILE_MODES):
            raise DeviceError(f"TrainConfig: compile must be True, False or one of "
                              f"{', '.join(COMPILE_MODES)}, got {self.compile!r}")

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
    compile_seconds: Optional[float] = None  #: seconds spent compiling (None: not compiled)
    device: str = "cpu"            #: where it trained
    world_size: int = 1            #: processes that trained it together
    notes: list = field(default_factory=list)  #: what fit did on its own (TrainingNote texts)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and every CUDA device) random generators."""
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)  # seeds the CUDA generators too


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


class _TrainStep(nn.Module):
    """One training forward: the predictions and, for the AC loss, those of the augmented
    copies, in one call (DistributedDataParallel wraps this, so a step is one forward)."""

    def __init__(self, model: nn.Module, augmented: bool):
        super().__init__()
        self.model, self.augmented = model, augmented

    def forward(self, batch):
        pred = self.model(batch)
        return pred, (self.model.forward_augmented(batch) if self.augmented else None)


def _model_device(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    if p is None:
        p = next(model.buffers(), None)
    return p.device if p is not None else torch.device("cpu")


def predict(model: nn.Module, data, batch_size: int = 1024, device=None, amp: Optional[str] = None,
            sharded: bool = False, **forward_kwargs) -> Tensor:
    """Predictions ``[num_graphs]`` (float32, on the CPU) in dataset order (or the loader's
    order, if ``data`` is a DataLoader), computed in eval mode under
    :func:`torch.inference_mode`.

    Args:
        model (torch.nn.Module): the predictor.
        data: a dataset, a list of graphs or a DataLoader.
        batch_size (int, optional): graphs per forward. (default: :obj:`1024`)
        device (str or torch.device, optional): where to run (:func:`pyg_nar.devices.
            resolve_device`); the model is moved there. (default: :obj:`None`: where the
            model is)
        amp (str, optional): ``"bf16"`` or ``"fp16"`` autocast. (default: :obj:`None`)
        sharded (bool, optional): inside a process group (:mod:`pyg_nar.distributed`), every
            process predicts a contiguous share of the graphs and all get all predictions;
            every process must call it. (default: :obj:`False`)
    """
    check_int(batch_size, "batch_size", "predict", 1, 2 ** 31 - 1)
    if not isinstance(model, nn.Module):
        raise ArgumentError(f"predict: model must be a torch.nn.Module, got {type(model).__name__}")
    if device is None:
        device = _model_device(model)
    else:
        device = resolve_device(device)
        model.to(device)
    amp_ctx = autocast(device, amp)
    if isinstance(data, torch.utils.data.DataLoader):
        if sharded and D.is_distributed():
            raise ValueError("predict: sharded=True takes a dataset or a list, not a DataLoader")
        loader, sizes = data, None
    else:
        items = data if not sharded or not D.is_distributed() else list(data)
        sizes = None
        if sharded and D.is_distributed():
            sizes = D.shard_sizes(len(items))
            lo, hi = D.shard_range(len(items))
            items = items[lo:hi]
        loader = DataLoader(items, batch_size=batch_size, shuffle=False)
    was_training = model.training
    model.eval()
    outs = []
    try:
        with torch.inference_mode(), amp_ctx:
            for batch in loader:
                outs.append(model(batch.to(device), **forward_kwargs).reshape(-1).float())
    finally:
        model.train(was_training)
    if sizes is not None:
        local = torch.cat(outs) if outs else torch.zeros(0, device=device)
        with torch.inference_mode():
            out = D.gather_rows(local, sizes)
    elif not outs:
        raise ArgumentError("predict: no graphs to predict")
    else:
        out = torch.cat(outs)
    return out.cpu()


def fit(model: nn.Module, train_dataset, val_dataset=None,
        config: Optional[TrainConfig] = None) -> FitResult:
    """Train ``model`` on ``train_dataset``, select on ``val_dataset`` (``config.select_metric``),
    load the selected weights into ``model`` (left in eval mode) and return a :class:`FitResult`.

    Without a validation set the final weights (the EMA ones, with EMA) are kept. Inside a
    process group of several processes (``torchrun``, :func:`pyg_nar.distributed.
    init_distributed`) it trains data-parallel, every process calling it with the same
    arguments; every process ends with the same selected weights.

    A loss that becomes NaN or infinite stops the run at the end of that epoch with a
    :class:`~pyg_nar.errors.TrainingDivergedError` naming the first such step, the device and
    precision, and the fix (non-finite targets; fp16's overflow: ``amp="bf16"`` or none; a
    lower ``lr`` or ``grad_clip``). The check costs no extra wait for the device.
    """
    if not isinstance(model, nn.Module):
        raise ArgumentError(f"fit: model must be a torch.nn.Module, got {type(model).__name__}")
    if config is not None and not isinstance(config, TrainConfig):
        raise ArgumentError(f"fit: config must be a TrainConfig, got {type(config).__name__}")
    config = config or TrainConfig()
    start = time.perf_counter()
    distributed, world, rank = D.is_distributed(), D.world_size(), D.rank()
    seed_everything(config.seed + rank)  # dropout differs per process; the batches do not
    device = resolve_device(config.device)
    scaler = grad_scaler(device, config.amp)  # also rejects an amp the device cannot do
    amp_ctx = autocast(device, config.amp)
    model.to(device)
    train_list = _materialize(train_dataset, "training")
    val_list = _materialize(val_dataset, "validation")
    loss_fn = config.build_loss()
    notes: list[str] = []

    def note(message: str) -> None:
        notes.append(message)
        warnings.warn(message, TrainingNote, stacklevel=3)

    train_list, message = screen_graphs(train_list, loss_fn, "training")
    if message:
        note(message)
    val_list, message = screen_graphs(val_list, loss_fn, "validation")
    if message:
        note(message)
    if loss_fn.needs_aug and not callable(getattr(model, "forward_augmented", None)):
        raise ArgumentError(f"fit: ac_weight > 0 needs a model with a forward_augmented method "
                         f"(pyg_nar.models.Predictor); {type(model).__name__} has none")
    if distributed and device.type == "cuda":
        model = _sync_batchnorm(model)

    order = torch.Generator().manual_seed(config.seed)  # the same batches on every process
    if distributed:
        batches = torch.utils.data.BatchSampler(
            torch.utils.data.RandomSampler(train_list, generator=order), config.batch_size, False)
        # the loader draws from `order` as the one-process loader does: the same batches
        loader = DataLoader(train_list, batch_sampler=D.ShardedBatchSampler(batches), generator=order)
    else:
        loader = DataLoader(train_list, batch_size=config.batch_size, shuffle=True, generator=order)
    total_steps = config.epochs * len(loader)
    optimizer = torch.optim.AdamW(param_groups(model, config.weight_decay), lr=config.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _lr_lambda(config.schedule, total_steps, round(config.warmup * total_steps)))
    ema = (AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay),
                         use_buffers=True) if config.ema_decay is not None else None)
    compile_start = compile_seconds() if config.compile else None
    if config.compile:
        compile_model(model, config.compile)
        if ema is not None:
            compile_model(ema.module, config.compile)
    runner = _TrainStep(model, loss_fn.needs_aug)
    if distributed:
        from torch.nn.parallel import DistributedDataParallel
        runner = DistributedDataParallel(
            runner, device_ids=[device.index] if device.type == "cuda" else None, static_graph=True)
    # the SR term's random pairing must be the same on every process (None: the global RNG)
    loss_rng = torch.Generator().manual_seed(config.seed) if distributed else None
    metric_fn, higher = SELECT_METRICS[config.select_metric]
    val_y = torch.cat([d.y.reshape(-1) for d in val_list]) if val_list else None

    guard = (DivergenceGuard(config.divergence_factor, config.max_restarts)
             if config.divergence_factor is not None else None)
    best_state, best_metric, best_epoch, history = None, None, 0, []
    bar = tqdm(range(1, config.epochs + 1), disable=not config.progress or not D.is_main_process(),
               desc="fit", dynamic_ncols=True)
    for epoch in bar:
        t0 = time.perf_counter()
        c0 = compile_seconds() if config.compile else None
        model.train()
        sums: dict[str, Tensor] = {}
        seen, remaining = 0, len(train_list)
        # the first step whose loss is not finite, and whether its targets were: on the
        # device, read with the epoch's sums (no wait per step)
        first_bad = torch.full((), len(loader) + 1, dtype=torch.long, device=device)
        bad_target = torch.zeros((), dtype=torch.bool, device=device)
        for step, batch in enumerate(loader, 1):
            batch = batch.to(device, non_blocking=True)
            with amp_ctx:
                pred, pred_aug = runner(batch)
            target = batch.y.reshape(-1)
            if distributed:  # the loss of the whole global batch, on every process
                n = min(config.batch_size, remaining)
                sizes = D.shard_sizes(n)
                mine = sizes[rank]
                local = [pred.reshape(-1)[:mine].float(), target[:mine].to(torch.float32)]
                if pred_aug is not None:
                    local.append(pred_aug.reshape(-1)[:mine].float())
                rows = D.gather_rows(torch.stack(local, 1), sizes)
                keep_graph = pred.reshape(-1).sum() * 0.0  # every process's backward reaches DDP
                pred, target = rows[:, 0], rows[:, 1]
                pred_aug = rows[:, 2] if pred_aug is not None else None
            else:
                n = target.numel()
            remaining -= n
            total, parts = loss_fn(pred.float(), target,
                                   pred_aug.float() if pred_aug is not None else None,
                                   generator=loss_rng)
            finite = torch.isfinite(total.detach())
            first_bad = torch.where(finite | (first_bad <= step), first_bad, step)
            bad_target = bad_target | (~finite & ~torch.isfinite(target).all())
            # DDP averages the processes' gradients: world x the loss gives the full gradient
            backward = total * world + keep_graph if distributed else total
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(backward).backward()
            if config.grad_clip is not None:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            if ema is not None:
                ema.update_parameters(model)
            seen += n
            for k, v in (("loss", total), *parts.items()):
                v = v.detach() * n
                sums[k] = sums[k] + v if k in sums else v
        values = torch.stack([*sums.values(), first_bad.double(), bad_target.double()]).tolist()
        sums = dict(zip(sums, values))  # the one wait for the device per epoch
        if values[-2] <= len(loader):
            if guard is None or not guard.can_recover:
                raise _diverged(config, device, epoch, int(values[-2]), len(loader), bool(values[-1]))
            sums, seen = {"loss": float("nan")}, 1  # the guard rolls the epoch back below
        record: dict[str, Any] = {"epoch": epoch, **{k: v / seen for k, v in sums.items()},
                                  "lr": optimizer.param_groups[0]["lr"]}
        if guard is not None:
            if guard.diverged(record["loss"]):
                note(guard.recover(epoch, record["loss"], model, optimizer, scheduler, ema))
                record["rolled_back_to"] = guard.best_epoch
            else:
                guard.observe(epoch, record["loss"], model, optimizer, scheduler, ema)
        evaluated = ema.module if ema is not None else model
        if val_list and (epoch % config.eval_every == 0 or epoch == config.epochs):
            D.broadcast_buffers(evaluated)  # one model on every process
            value = metric_fn(predict(evaluated, val_list, config.eval_batch_size, device,
                                      amp=config.amp, sharded=True), val_y)
            record[f"val_{config.select_metric}"] = value
            if best_metric is None or (value > best_metric if higher else value < best_metric) \
                    or math.isnan(best_metric):
                best_metric, best_epoch, best_state = value, epoch, _state_copy(evaluated)
        if c0 is not None:
            record["compile_seconds"] = compile_seconds() - c0
        record["seconds"] = time.perf_counter() - t0
        history.append(record)
        if config.progress:
            post = {"loss": f"{record['loss']:.4g}"}
            if best_metric is not None:
                post[f"best_{config.select_metric}"] = f"{best_metric:.4f}"
            bar.set_postfix(post)
    bar.close()
    if best_state is None:  # no validation set: keep the final (EMA) weights
        evaluated = ema.module if ema is not None else model
        D.broadcast_buffers(evaluated)
        best_state, best_epoch = _state_copy(evaluated), config.epochs
    model.load_state_dict(best_state)
    model.eval()
    return FitResult(best_metric=best_metric, best_epoch=best_epoch, history=history,
                     wall_time=time.perf_counter() - start, config=asdict(config),
                     compile_seconds=(compile_seconds() - compile_start
                                      if compile_start is not None else None),
                     device=str(device), world_size=world, notes=notes)


def _diverged(config: TrainConfig, device: torch.device, epoch: int, step: int, steps: int,
              bad_target: bool) -> TrainingDivergedError:
    """The error of a loss that stopped being finite, with what to change."""
    where = (f"fit: the loss became NaN or infinite at step {step} of {steps} in epoch {epoch} "
             f"(device {device}, amp {config.amp or 'none'}, lr {config.lr:g})")
    if bad_target:
        fix = "the batch's targets (y) are NaN or infinite: clean the dataset"
    elif config.amp == "fp16":
        fix = ("fp16 overflows beyond 65,504 (a large input feature, logit or target): train "
               "with amp='bf16' (float32's range) or without amp")
    else:
        fix = (f"lower the learning rate (lr={config.lr:g}), set grad_clip (now "
               f"{config.grad_clip}), or train without amp" if config.amp else
               f"lower the learning rate (lr={config.lr:g}) or set grad_clip (now {config.grad_clip})")
    return TrainingDivergedError(f"{where}; {fix}", epoch=epoch, step=step)


def _sync_batchnorm(model: nn.Module) -> nn.Module:
    """Batch norm synchronised over the processes (CUDA only in torch), in place: the same
    parameters and buffers, so the ``state_dict`` is unchanged."""
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    if converted is not model:
        raise DeviceError(f"fit: {type(model).__name__} is itself a batch norm; wrap it in a model")
    return model
