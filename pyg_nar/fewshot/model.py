r"""Multi-device pre-training: one latency predictor for many devices at once."""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import torch
from torch import Tensor, nn
from torch_geometric.nn import MLP

from pyg_nar.errors import PipelineError
from pyg_nar.fewshot.encoding import SpaceEncoding, space_encoding
from pyg_nar.fewshot.linear import fit_linear
from pyg_nar.models.registry import register_model

__all__ = ["MultiDeviceLatency", "pretrain", "check_latencies"]


@register_model
class MultiDeviceLatency(nn.Module):
    r"""A latency predictor pre-trained on :math:`S` source devices, the base of few-shot
    adaptation (:func:`~pyg_nar.fewshot.adapt`).

    Two views of every architecture :math:`x` (its choice vector,
    :mod:`pyg_nar.fewshot.encoding`) are learned from the sources:

    * an ensemble of :math:`E` encoders :math:`h_e = \mathrm{MLP}_e(\mathrm{onehot}(x))`, each with
      a linear head per device, fitted jointly to the standardized log-latencies of all sources:
      :math:`g_{e,s}(x) = w_{e,s}^\top h_e(x) + b_{e,s} \approx (\log t_s(x) - \mu_s) / \sigma_s`;
    * an additive table per device, a ridge fit in milliseconds on the one-hot choices:
      :math:`l_s(x) = (a_s^\top \mathrm{onehot}(x) + c_s) \approx t_s(x) / \bar t_s`.

    :meth:`features` returns them for the adaptation: ``heads`` :math:`G = \frac1E \sum_e g_e`
    ``[N, S]``, ``embedding`` :math:`H = [h_1 \| \dots \| h_E]` ``[N, E d]``, ``tables``
    :math:`L` ``[N, S]`` and ``costs`` ``[N, P]`` (the space's physical cost counts).
    :meth:`forward` predicts every source device's latency in ms.

    Args:
        space (str): ``"nasbench201"`` or ``"fbnet"``.
        devices (list[str]): the source devices, in head order.
        hidden (int, optional): encoder width (default ``128``).
        embed (int, optional): embedding size :math:`d` (default ``64``).
        num_layers (int, optional): encoder layers (default ``3``).
        ensemble (int, optional): :math:`E`, encoders trained from different seeds (default ``3``).

    Shapes:
        - **input:** a PyG batch of the space's graphs, or architectures (``archs`` of
          :meth:`~pyg_nar.fewshot.encoding.SpaceEncoding.choice_matrix`)
        - **output:** :math:`[N, S]` latencies in ms
    """

    def __init__(self, space: str, devices: Sequence[str], hidden: int = 128, embed: int = 64,
                 num_layers: int = 3, ensemble: int = 3):
        super().__init__()
        self.encoding: SpaceEncoding = space_encoding(space)
        self.space = self.encoding.name
        self.devices = list(devices)
        in_dim = self.encoding.onehot_dim
        s = len(self.devices)
        self.encoders = nn.ModuleList(
            MLP([in_dim] + [hidden] * (num_layers - 1) + [embed], norm=None) for _ in range(ensemble))
        self.heads = nn.ModuleList(nn.Linear(embed, s) for _ in range(ensemble))
        self.register_buffer("log_mean", torch.zeros(s))
        self.register_buffer("log_std", torch.ones(s))
        self.register_buffer("table_weight", torch.zeros(s, in_dim))
        self.register_buffer("table_bias", torch.ones(s))
        self.register_buffer("table_scale", torch.ones(s))

    def choices(self, archs) -> Tensor:
        """Choice vectors of ``archs`` (graphs, or the space's written forms)."""
        return self.encoding.choice_matrix(archs)

    def _heads(self, x: Tensor) -> tuple[Tensor, Tensor]:
        hs = [enc(x) for enc in self.encoders]
        g = torch.stack([head(h) for head, h in zip(self.heads, hs)]).mean(0)
        return g, torch.cat(hs, 1)

    @torch.no_grad()
    def features(self, archs) -> dict[str, Tensor]:
        """The adaptation features of ``archs`` (class docstring), as float64 tensors."""
        c = self.choices(archs)
        x = self.encoding.onehot(c)
        g, h = self._heads(x)
        tables = x @ self.table_weight.t() + self.table_bias
        return {"heads": g.double(), "embedding": h.double(), "tables": tables.double(),
                "costs": self.encoding.costs(c).double(),
                "log_flops": torch.as_tensor(np.log(self.encoding.flops(c)))[:, None], "choices": c}

    def forward(self, archs) -> Tensor:
        g, _ = self._heads(self.encoding.onehot(self.choices(archs)))
        return torch.exp(self.log_mean + self.log_std * g)

    def predict(self, archs, device: str | None = None) -> np.ndarray:
        """Latencies in ms on one source device (``[N]``) or on all of them (``[N, S]``)."""
        with torch.no_grad():
            out = self(archs).numpy().astype(np.float64)
        if device is None:
            return out
        if device not in self.devices:
            raise PipelineError(f"{self.space} latency model: unknown device {device!r}; "
                                f"known: {', '.join(self.devices)}")
        return out[:, self.devices.index(device)]


def check_latencies(values, what: str, allow_missing: bool = False) -> np.ndarray:
    """Latencies as float64; a non-positive or infinite value (or NaN unless ``allow_missing``)
    is a :class:`~pyg_nar.errors.PipelineError` naming the entry."""
    try:
        v = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise PipelineError(f"{what}: latencies must be numbers (milliseconds)") from None
    bad = ~(np.isfinite(v) & (v > 0))
    if allow_missing:
        bad &= ~np.isnan(v)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise PipelineError(f"{what}: entry {i} has latency {float(v[i])!r}; latencies must be finite "
                            f"and positive (milliseconds){' (NaN marks a missing one)' if allow_missing else ''}")
    return v


def pretrain(space: str, archs, latencies: Mapping[str, Sequence[float]], *, ensemble: int = 3,
             hidden: int = 128, embed: int = 64, num_layers: int = 3, steps: int = 2000,
             batch_size: int = 256, lr: float = 2e-3, weight_decay: float = 1e-4,
             table_ridge: float = 1e-2, seed: int = 0) -> MultiDeviceLatency:
    r"""Pre-train a :class:`MultiDeviceLatency` on many devices' measured latencies.

    Each encoder of the ensemble (seed ``seed + e``) is trained with AdamW and a one-cycle
    schedule for ``steps`` steps on the mean squared error of the standardized log-latencies of
    all devices at once (missing values left out); each device's additive table is a ridge fit
    (penalty ``table_ridge``) in ms / mean ms.

    Args:
        space (str): ``"nasbench201"`` or ``"fbnet"``.
        archs: the :math:`N` architectures (written forms, graphs or a ``[N, positions]`` choice
            matrix).
        latencies (Mapping[str, Sequence[float]]): device -> :math:`N` latencies in ms; NaN marks
            an architecture not measured on that device. Non-positive or infinite values are a
            :class:`~pyg_nar.errors.PipelineError`.

    Returns:
        the trained :class:`MultiDeviceLatency` (eval mode).
    """
    if not latencies:
        raise PipelineError("pretrain: no source devices given")
    model = MultiDeviceLatency(space, list(latencies), hidden, embed, num_layers, ensemble)
    c = model.choices(archs)
    n = c.size(0)
    y = np.stack([check_latencies(latencies[d], f"pretrain: device {d!r}", allow_missing=True)
                  for d in model.devices], 1)
    if y.shape[0] != n:
        raise PipelineError(f"pretrain: {n} architectures but {y.shape[0]} latencies per device")
    mask = ~np.isnan(y)
    few = [d for d, m in zip(model.devices, mask.sum(0)) if m < 2]
    if few:
        raise PipelineError(f"pretrain: device(s) {', '.join(few)} have fewer than 2 latencies")
    logy = np.log(np.where(mask, y, 1.0))
    mu = np.array([logy[m, j].mean() for j, m in enumerate(mask.T)])
    sd = np.array([max(logy[m, j].std(), 1e-6) for j, m in enumerate(mask.T)])
    x = model.encoding.onehot(c)
    xs = x.double().numpy()
    for j, m in enumerate(mask.T):
        scale = y[m, j].mean()
        w, b = fit_linear(xs[m], y[m, j] / scale, "ridge", table_ridge)
        model.table_weight[j] = torch.as_tensor(w)
        model.table_bias[j] = b
        model.table_scale[j] = scale
    model.log_mean.copy_(torch.as_tensor(mu))
    model.log_std.copy_(torch.as_tensor(sd))
    target = torch.as_tensor(np.where(mask, (logy - mu) / sd, 0.0), dtype=torch.float)
    weight = torch.as_tensor(mask, dtype=torch.float)
    per_epoch = math.ceil(n / batch_size)
    for e, (enc, head) in enumerate(zip(model.encoders, model.heads)):
        torch.manual_seed(seed + e)
        enc.reset_parameters()
        head.reset_parameters()
        params = list(enc.parameters()) + list(head.parameters())
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps)
        gen = torch.Generator().manual_seed(seed + e)
        step = 0
        while step < steps:
            perm = torch.randperm(n, generator=gen)
            for i in range(per_epoch):
                if step == steps:
                    break
                b = perm[i * batch_size:(i + 1) * batch_size]
                err = (head(enc(x[b])) - target[b]) ** 2 * weight[b]
                loss = err.sum() / weight[b].sum().clamp(min=1)
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                step += 1
    return model.eval()
