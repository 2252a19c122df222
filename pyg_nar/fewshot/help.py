"""HELP's protocol as data: device splits, reference architectures, evaluation pools, reported figures.

HELP (Lee et al., NeurIPS 2021, https://arxiv.org/abs/2106.08630) meta-trains a latency predictor
on source devices and adapts it to an unseen device from a few measured architectures. Facts read
from its repository (GitHub ``HayeonLee/HELP``, commit ``45f70eb9``):

* the device splits: the ``--meta_train_devices`` / ``--meta_valid_devices`` /
  ``--meta_test_devices`` of ``README.md`` sections 1.2 (NB201) and 2.2 (FBNet), the same as the
  defaults of ``parser.py`` and ``script/run_meta_test_*.sh``;
* the evaluation pools (``loader.py``, ``Data.__init__`` and ``get_task``): the first
  ``num_meta_train_sample`` architectures (900 for NB201, 4000 for FBNet, the scripts' values)
  are the pool the k measured ones are drawn from, the next ``num_query`` = 1000 are the query
  set scored by Spearman's rho; both are cut to their 10-90 % latency range on each device
  (``remove_outlier=True``). Architecture k of HELP's lists is NB201 index k (its
  ``str_arch2idx.pt`` agrees with ``latency_help/nasbench201_latency.npz`` row by row) and row k
  of ``latency_help/fbnet_latency.npz``;
* the hardware embedding: the target device's latencies of 10 fixed reference architectures
  (``data/*/hardware_embedding_index.pt``), measured **in addition to** the k = 10 random ones
  (``get_task``), so HELP's "10 samples" are 20 measurements of the target device;
* the reported Spearman's rho on the meta-test devices (``README.md`` Tables 3 and 2).
"""
from __future__ import annotations

import numpy as np

__all__ = ["HELP_SPLITS", "HELP_REFERENCE_ARCHS", "HELP_REPORTED", "help_pools", "help_pretraining_data"]

_NB201_TRAIN = ("1080ti_1", "1080ti_32", "1080ti_256", "silver_4114", "silver_4210r", "samsung_a50",
                "pixel3", "essential_ph_1", "samsung_s7")
_FBNET_TRAIN = ("1080ti_1", "1080ti_32", "1080ti_64", "silver_4114", "silver_4210r", "samsung_a50",
                "pixel3", "essential_ph_1", "samsung_s7")

#: space -> meta-train / meta-valid / meta-test devices, pool and query sizes (HELP README.md)
HELP_SPLITS = {
    "nasbench201": {
        "meta_train": _NB201_TRAIN,
        "meta_valid": ("titanx_1", "titanx_32", "titanx_256", "gold_6240"),
        "meta_test": ("titan_rtx_256", "gold_6226", "fpga", "pixel2", "raspi4", "eyeriss"),
        "pool": 900, "query": 1000,
    },
    "fbnet": {
        "meta_train": _FBNET_TRAIN,
        "meta_valid": ("titanx_1", "titanx_32", "titanx_64", "gold_6240"),
        "meta_test": ("fpga", "raspi4", "eyeriss"),
        "pool": 4000, "query": 1000,
    },
}

#: space -> the 10 reference architectures of HELP's hardware embedding (data/*/hardware_embedding_index.pt)
HELP_REFERENCE_ARCHS = {
    "nasbench201": (11982, 431, 55, 9, 14451, 8636, 9881, 13479, 6196, 1462),
    "fbnet": (3328, 3790, 3313, 890, 3052, 2538, 1640, 2514, 457, 2100),
}

#: space -> method -> device -> Spearman's rho on the meta-test devices (HELP README.md Tables 3, 2)
HELP_REPORTED = {
    "nasbench201": {
        "HELP (10 samples)": {"titan_rtx_256": 0.987, "gold_6226": 0.989, "pixel2": 0.802,
                              "raspi4": 0.890, "eyeriss": 0.940, "fpga": 0.985, "mean": 0.932},
        "FLOPs": {"titan_rtx_256": 0.950, "gold_6226": 0.826, "pixel2": 0.765, "raspi4": 0.846,
                  "eyeriss": 0.437, "fpga": 0.900, "mean": 0.787},
        "BRP-NAS (900 samples)": {"titan_rtx_256": 0.814, "gold_6226": 0.796, "pixel2": 0.666,
                                  "raspi4": 0.847, "eyeriss": 0.811, "fpga": 0.801, "mean": 0.789},
    },
    "fbnet": {
        "HELP (10 samples)": {"raspi4": 0.887, "eyeriss": 0.943, "fpga": 0.892, "mean": 0.910},
    },
}


def _trim(index: np.ndarray, latency: np.ndarray) -> np.ndarray:
    order = index[np.argsort(latency[index], kind="stable")]
    return order[int(len(order) * 0.1):int(len(order) * 0.9)]


def help_pools(space: str, latency: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """HELP's per-device pools for a device's latencies of all the space's architectures:
    ``(pool, query)`` indices, the first ``pool`` architectures and the next ``query`` ones, each
    cut to its 10-90 % latency range on this device (module docstring)."""
    split = HELP_SPLITS[space]
    n = split["pool"]
    return _trim(np.arange(n), latency), _trim(np.arange(n, n + split["query"]), latency)


def help_pretraining_data(space: str, devices, raw_dir: str | None = None,
                          exclude: np.ndarray | None = None):
    """``(choices, latencies)`` for :func:`~pyg_nar.fewshot.pretrain` from HELP's tables:
    the choice matrix of all the space's architectures and each device's latencies, with NaN
    (not measured) where the architecture is in ``exclude`` and, on ``pixel3`` and ``raspi4``,
    for the degenerate NB201 cells, whose latencies there are near zero or erratic
    (``latency_help/README.md``)."""
    import torch

    from pyg_nar.datasets.help_latency import load_help_latencies
    from pyg_nar.fewshot.encoding import space_encoding

    enc = space_encoding(space)
    table = load_help_latencies(space, raw_dir, list(devices))
    choices = enc.choice_matrix(table.archs)
    degenerate = enc.degenerate(choices).numpy()
    out = {}
    for d in devices:
        lat = table.latency[d].copy()
        if d in ("pixel3", "raspi4"):
            lat[degenerate] = np.nan
        if exclude is not None:
            lat[np.asarray(exclude)] = np.nan
        out[d] = lat
    return torch.as_tensor(choices), out
