"""Train/validation/test splits as the papers use them.

Both return a dict of index tensors ``{"train", "val", "test"}`` into a dataset of
``num_archs`` architectures; index a PyG dataset with them (``dataset[split["train"]]``).

* :func:`narformer_split` -- NAR-Former (CVPR'23): a fixed, seeded permutation; train is its
  first ``K`` entries, validation the next 200, and Kendall's tau is reported on the **whole
  space** (``test`` is every architecture, the training ones included, as in the paper and
  its code). ``heldout`` holds the architectures in neither train nor val, for an honest
  held-out figure.
* :func:`flowerformer_split` -- FlowerFormer (CVPR'24): a seeded permutation; the train pool
  is its first ``train_pool`` entries and train the first ``train_ratio`` of the pool;
  validation is the next 40 and test everything else.
* :func:`group_split` -- in-domain split of a dataset made of groups (NNLQP's model families):
  every group cut into test / validation / train by its own seeded permutation.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from pyg_nar.errors import ArgumentError
from pyg_nar.utils.arguments import check_int, check_number

__all__ = ["permutation", "narformer_split", "flowerformer_split", "group_split",
           "FLOWERFORMER_TRAIN_POOL", "train_pool", "train_count"]

#: Training-pool sizes of the FlowerFormer protocol (its ``experiments.py``).
FLOWERFORMER_TRAIN_POOL = {"nasbench101": 7290, "nasbench201": 7813, "nasbench_graph": 13103}


def train_pool(dataset: str | None, num_archs: int) -> int:
    """The FlowerFormer protocol's training pool of a dataset of ``num_archs`` architectures:
    the paper's (:data:`FLOWERFORMER_TRAIN_POOL`, by benchmark name; a ``NAME:OPTION`` spec
    reads ``NAME``) where the dataset is larger than it, else the whole dataset (NASLib's
    500-cell NB101 subset is smaller than the paper's 7,290-cell pool). Every entry point
    (``pyg-nar train``, :func:`pyg_nar.pipeline.train`, the examples) uses it, so a fraction
    means the same everywhere: NB201 5% -> 390 cells."""
    pool = FLOWERFORMER_TRAIN_POOL.get((dataset or "").partition(":")[0])
    return pool if pool is not None and pool < num_archs else num_archs


def train_count(train_size: int | float, total: int, what: str = "train size") -> int:
    """Architectures a ``train_size`` gives: a count (>= 1) as it is, a fraction (< 1) of
    ``total`` (rounded down); a :class:`ValueError` outside ``1..total``."""
    return _train_count(train_size, total, what)


#: Seeds NumPy's RandomState takes.
MAX_SEED = 2 ** 32 - 1
#: The most architectures a split covers (NAS-Bench-101 has 423,624).
MAX_ARCHS = 10 ** 7


def permutation(num_archs: int, seed: int | None) -> Tensor:
    """``numpy.random.RandomState(seed).permutation(num_archs)``; ``None`` keeps the order."""
    check_int(num_archs, "num_archs", "permutation", 0, MAX_ARCHS)
    check_int(seed, "seed", "permutation", 0, MAX_SEED, none=True)
    if seed is None:
        return torch.arange(num_archs)
    return torch.from_numpy(np.random.RandomState(seed).permutation(num_archs)).long()


def _train_count(train_size: int | float, total: int, what: str) -> int:
    check_number(train_size, "train_size", what)
    if isinstance(train_size, float) and 0 < train_size < 1:
        n = int(train_size * total)
    elif train_size != int(train_size):
        raise ArgumentError(f"{what}: train_size is a count (>= 1) or a fraction (< 1), got "
                            f"{train_size!r}")
    else:
        n = int(train_size)
    if not 0 < n <= total:
        raise ArgumentError(f"{what}: train size {train_size!r} gives {n} architectures, outside 1..{total}")
    return n


def narformer_split(num_archs: int, train_size: int | float, num_val: int = 200,
                    seed: int | None = 0) -> dict[str, Tensor]:
    """NAR-Former protocol. ``train_size`` is a count or a fraction of the whole space
    (the paper's 0.1% / 1% / 5% / 50%; on NB201 5% -> 781, 10% -> 1562, 50% -> 7812)."""
    check_int(num_archs, "num_archs", "narformer_split", 1, MAX_ARCHS)
    check_int(num_val, "num_val", "narformer_split", 0)
    n_train = _train_count(train_size, num_archs, "narformer_split")
    if n_train + num_val > num_archs:
        raise ArgumentError(f"narformer_split: {n_train} train + {num_val} val exceed {num_archs} architectures")
    perm = permutation(num_archs, seed)
    return {
        "train": perm[:n_train],
        "val": perm[n_train:n_train + num_val],
        "test": torch.arange(num_archs),
        "heldout": perm[n_train + num_val:],
    }


def flowerformer_split(num_archs: int, train_ratio: float, train_pool: int | None = None,
                       num_val: int = 40, seed: int | None = 0) -> dict[str, Tensor]:
    """FlowerFormer protocol: train = ``int(train_ratio * train_pool)`` architectures.

    ``train_pool`` defaults to ``num_archs // 2`` (NB201's 7813 = ceil(15625 / 2) is in
    :data:`FLOWERFORMER_TRAIN_POOL`). ``seed=None`` keeps the dataset order (FlowerFormer's
    seed 21 did that); the reference runs of this project use ``seed=0``.
    """
    check_int(num_archs, "num_archs", "flowerformer_split", 1, MAX_ARCHS)
    check_int(num_val, "num_val", "flowerformer_split", 0)
    check_int(train_pool, "train_pool", "flowerformer_split", 1, none=True)
    check_number(train_ratio, "train_ratio", "flowerformer_split", 0, None, open_low=True)
    pool = train_pool if train_pool is not None else num_archs // 2
    if not 0 < pool <= num_archs:
        raise ArgumentError(f"flowerformer_split: train pool {pool} outside 1..{num_archs}")
    n_train = _train_count(train_ratio if train_ratio < 1 else int(train_ratio), pool, "flowerformer_split")
    if n_train + num_val >= num_archs:
        raise ArgumentError(f"flowerformer_split: {n_train} train + {num_val} val leave no test architectures")
    perm = permutation(num_archs, seed)
    return {
        "train": perm[:n_train],
        "val": perm[n_train:n_train + num_val],
        "test": perm[n_train + num_val:],
    }


def group_split(groups: Tensor, test_frac: float, val_frac: float, seed: int = 0) -> dict[str, Tensor]:
    """Per group (e.g. ``data.model_type``), a seeded permutation cut into ``test_frac`` test,
    ``val_frac`` validation (at least one each) and the rest train; indices sorted."""
    if not isinstance(groups, Tensor) or groups.dim() != 1:
        raise ArgumentError("group_split: groups must be a 1-D tensor of group ids")
    check_number(test_frac, "test_frac", "group_split", 0, 1, open_high=True)
    check_number(val_frac, "val_frac", "group_split", 0, 1, open_high=True)
    check_int(seed, "seed", "group_split", 0, MAX_SEED)
    rng = np.random.RandomState(seed)
    out: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for g in torch.unique(groups).tolist():
        idx = torch.nonzero(groups == g).view(-1).numpy()
        idx = idx[rng.permutation(len(idx))]
        n_test = max(1, int(round(test_frac * len(idx))))
        n_val = max(1, int(round(val_frac * len(idx))))
        out["test"] += idx[:n_test].tolist()
        out["val"] += idx[n_test:n_test + n_val].tolist()
        out["train"] += idx[n_test + n_val:].tolist()
    return {k: torch.tensor(sorted(v), dtype=torch.long) for k, v in out.items()}
