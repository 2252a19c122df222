r"""Zero-cost proxies computed here, from the untrained network of an architecture.

NASLib's tables (:mod:`pyg_nar.datasets.zero_cost`) hold ``synflow``, ``nwot`` and ``jacov``
for only 725 NB201 cells. This module computes them for any cell, without any dataset:

* ``synflow`` (Tanaka et al., NeurIPS 2020, `arXiv:2006.05467
  <https://arxiv.org/abs/2006.05467>`_): with every weight replaced by its absolute value and an
  all-ones input (float64), :math:`R = \mathbf{1}^\top f(\mathbf{1})` and
  :math:`S = \sum_{\theta} |\theta \odot \partial R / \partial \theta|` over the weights of
  the convolutions and linear layers. Data-free by definition.
* ``nwot`` (Mellor et al., ICML 2021, `arXiv:2006.04647 <https://arxiv.org/abs/2006.04647>`_):
  for a batch of :math:`B` inputs, the binary codes :math:`\mathbf{c}_i` of which ReLU inputs
  are positive give :math:`K_{ij} = \langle \mathbf{c}_i, \mathbf{c}_j\rangle +
  \langle 1 - \mathbf{c}_i, 1 - \mathbf{c}_j\rangle` and the score :math:`\log |\det K|`.
* ``jacov`` (Mellor et al., 2020): the eigenvalues :math:`\lambda` of the correlation matrix
  of the input gradients :math:`\partial \sum f / \partial \mathbf{x}_i` give
  :math:`-\sum_k \log(\lambda_k + 10^{-5}) + 1/(\lambda_k + 10^{-5})`.

**Data-free variant.** ``nwot`` and ``jacov`` are defined on a batch of real images; here the
batch is standard Gaussian noise (seeded), as ``zen`` does. Cells whose output does not depend
on the input (no path from input to output) get NASLib's failure value :data:`FAILED`
(``-1e8``).

:func:`nb201_proxies` scores NB201 cells on a **reduced** NB201 network (by default 8 channels,
one cell per stage, 16x16 inputs, batch 32, instead of 16 / 5 / 32x32 / 64): about 0.1 s per
cell on one CPU thread. On the first 100 cells of NASLib's CIFAR-10 subset these values rank
like NASLib's with Kendall's tau 0.95 (``synflow``), 0.87 (``nwot``) and 0.60 (``jacov``), and
rank the cells' 200-epoch test accuracy at 0.58 / 0.58 / 0.52 (NASLib's: 0.60 / 0.63 / 0.57).
"""
from __future__ import annotations

import hashlib
import json
import os
import os.path as osp
from typing import Sequence

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

__all__ = ["PROXIES", "TABLE_NAMES", "FAILED", "synflow", "nwot_jacov", "nb201_proxies", "nb201_proxy_table"]

#: The proxies :func:`nb201_proxies` computes, in column order.
PROXIES = ("synflow", "nwot", "jacov")
#: Their names in a :class:`~pyg_nar.datasets.zero_cost.ZeroCostTable` (``_small``: computed on
#: the reduced network, next to NASLib's full-size ``synflow``, ``nwot``, ``jacov``).
TABLE_NAMES = tuple(f"{p}_small" for p in PROXIES)
#: NASLib's score for a cell a proxy cannot score.
FAILED = -1e8


def synflow(model: nn.Module, input_shape: Sequence[int]) -> float:
    """``synflow`` of ``model`` (changed in place: float64, absolute weights) for one input of
    ``input_shape`` (``(C, H, W)``)."""
    model.double()
    with torch.no_grad():
        for p in model.state_dict().values():
            if p.is_floating_point():
                p.abs_()
    model.zero_grad()
    x = torch.ones(1, *input_shape, dtype=torch.float64)
    model(x).sum().backward()
    score = 0.0
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)) and m.weight.grad is not None:
            score += float((m.weight.detach() * m.weight.grad).abs().sum())
    return score


def nwot_jacov(model: nn.Module, x: Tensor) -> tuple[float, float]:
    """``nwot`` and ``jacov`` of ``model`` on the input batch ``x`` ``[B, C, H, W]``."""
    b = x.size(0)
    kernel = torch.zeros(b, b, dtype=torch.float64)

    def hook(module, inputs, output):
        codes = (inputs[0].detach().reshape(b, -1) > 0).double()
        kernel.add_(codes @ codes.t() + (1 - codes) @ (1 - codes).t())

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.ReLU)]
    try:
        x = x.clone().requires_grad_(True)
        model(x).sum().backward()
    finally:
        for h in handles:
            h.remove()
    nwot = float(torch.linalg.slogdet(kernel)[1]) if handles else FAILED
    grad = x.grad
    if grad is None or not bool(grad.abs().sum() > 0):
        return nwot, FAILED
    corr = np.corrcoef(grad.reshape(b, -1).numpy().astype(np.float64))
    if not np.isfinite(corr).all():
        return nwot, FAILED
    ev = np.linalg.eigvalsh(corr)
    jacov = float(-np.sum(np.log(ev + 1e-5) + 1.0 / (ev + 1e-5)))
    return nwot, jacov


def _nb201_network(arch_str: str, channels: int, cells_per_stage: int) -> nn.Module:
    from pyg_nar.networks.zoo import build_model
    return build_model({"family": "nasbench201", "arch_str": arch_str, "channels": channels,
                        "cells_per_stage": cells_per_stage, "input_size": 32})


def nb201_proxies(arch_strs: Sequence[str], channels: int = 8, cells_per_stage: int = 1,
                  input_size: int = 16, batch_size: int = 32, seed: int = 0,
                  progress: bool = True) -> np.ndarray:
    """:data:`PROXIES` of every NB201 cell in ``arch_strs``, ``[len, 3]`` float64 (module
    docstring), computed on the NB201 network of ``channels`` channels and ``cells_per_stage``
    cells per stage (the benchmark's: 16 and 5), with a seeded Gaussian batch."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch_size, 3, input_size, input_size, generator=gen)
    out = np.empty((len(arch_strs), len(PROXIES)))
    for k, arch in enumerate(tqdm(arch_strs, disable=not progress, desc="proxies")):
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            net = _nb201_network(arch, channels, cells_per_stage).train()  # batch statistics
            nwot, jacov = nwot_jacov(net, x)
            net = _nb201_network(arch, channels, cells_per_stage).eval()
            syn = synflow(net, (3, input_size, input_size))
        out[k] = [syn if syn > 0 else FAILED, nwot, jacov]
    return np.where(np.isfinite(out), out, FAILED)  # e.g. a singular nwot kernel: log 0


def nb201_proxy_table(arch_ids: Sequence[int], arch_strs: Sequence[str], cache_dir: str,
                      progress: bool = True, **settings):
    """:func:`nb201_proxies` of the cells as a :class:`~pyg_nar.datasets.zero_cost.ZeroCostTable`
    (rows keyed by NB201 index), cached in ``cache_dir`` under a name made from the cells and
    ``settings``: computed once (about 35 minutes of one CPU thread for all 15,625 cells),
    then read back. A cache file is never overwritten."""
    from pyg_nar.datasets.zero_cost import ZeroCostTable

    key = json.dumps({"ids": list(map(int, arch_ids)), "strs": list(arch_strs),
                      **{k: settings[k] for k in sorted(settings)}})
    name = f"nb201_proxies_{hashlib.sha1(key.encode()).hexdigest()[:12]}.npz"
    path = osp.join(cache_dir, name)
    if osp.exists(path):
        with np.load(path) as z:
            values = np.where(np.isfinite(z["values"]), z["values"], FAILED)
    else:
        values = nb201_proxies(arch_strs, progress=progress, **settings)
        os.makedirs(cache_dir, exist_ok=True)
        tmp = path + f".tmp{os.getpid()}.npz"
        np.savez(tmp, values=values)
        if not osp.exists(path):
            os.replace(tmp, path)
        else:
            os.remove(tmp)
    return ZeroCostTable(TABLE_NAMES, values, {int(i): k for k, i in enumerate(arch_ids)},
                         "nasbench201")
