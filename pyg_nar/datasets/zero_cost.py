r"""Zero-cost proxies of the NAS-Bench cells (NAS-Bench-Suite-Zero, Krishnakumar et al., NeurIPS
2022 Datasets & Benchmarks, `arXiv:2210.03230 <https://arxiv.org/abs/2210.03230>`_).

A zero-cost proxy scores an architecture from one forward/backward pass of the untrained network
(``synflow``, ``jacov``, ``nwot``, ``snip``, ``zen``, ...) or from its size (``flops``,
``params``). The values here are NASLib's, from ``naslib_zc_subsets/`` of ``$PYG_NAR_DATA``
(README there):

=================  =============================================================  ============
benchmark          proxies                                                         cells
=================  =============================================================  ============
``nasbench201``    ``zen`` (NASLib's full run), ``flops`` and ``params`` (exact,   15,625
                   computed from the cell: :func:`nb201_flops_params`)
``nasbench201``    ``epe_nas fisher grad_norm grasp jacov l2_norm nwot plain       725 (CIFAR-10)
                   snip synflow`` (NASLib's subset)
``nasbench101``    ``epe_nas fisher flops grad_norm grasp jacov l2_norm params     500
                   plain snip synflow``
``nasbench301``    the same and ``nwot``                                           725
=================  =============================================================  ============

:func:`zero_cost_table` reads them into a :class:`ZeroCostTable`; the transform
:class:`pyg_nar.transforms.ZeroCostProxies` adds them to graphs as the ``zc`` field.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pyg_nar.datasets.base import DataFileError, parse_float, read_csv_rows
from pyg_nar.datasets.paths import data_root
from pyg_nar.spaces.nasbench201 import parse_arch_str

__all__ = ["ZeroCostTable", "zero_cost_table", "join_tables", "nb201_flops_params", "ZC_BENCHMARKS",
           "NB201_ZC_DATASETS", "nb101_key"]

#: The 12 proxies of the NASLib files (``zen`` only exists for NB201).
_SUBSET_PROXIES = ("epe_nas", "fisher", "flops", "grad_norm", "grasp", "jacov", "l2_norm", "nwot",
                   "params", "plain", "snip", "synflow")
ZC_BENCHMARKS = ("nasbench101", "nasbench201", "nasbench301")
#: NB201 image datasets: (name in the subset file, column prefix in the full zen file)
NB201_ZC_DATASETS = {"cifar10": ("cifar10", "cifar10"), "cifar100": ("cifar100", "cifar100"),
                     "imagenet16": ("ImageNet16-120", "imagenet16")}

_NB201_FULL = "naslib_zc_subsets/nb201_naslib_valacc_zen_full.csv.gz"
_NB201_SUBSET = "naslib_zc_subsets/nb201_zc_subset.csv.gz"
_NB101_SUBSET = "naslib_zc_subsets/nb101_zc_subset.json.gz"
_NB301_SUBSET = "naslib_zc_subsets/nb301_zc_subset.json.gz"

#: NB201 MFLOPs and M parameters of the benchmark's network (stem, 3 x 5 cells of C = 16, 32,
#: 64, two residual reductions, classifier) as ``base + per-op * count`` over the cell's
#: operations; per-op values are 5 cells x (C^2 k^2 + 2C) summed over the three stages, and
#: agree with NASLib's values on all 725 x 3 subset cells to 1e-13.
_NB201_COST = {
    # dataset: (flops base, {op: flops}, params base, {op: params})
    "cifar10": (7.943872, {"nor_conv_3x3": 35.81952, "nor_conv_1x1": 4.36224, "avg_pool_3x3": 1.29024},
                0.073306, {"nor_conv_3x3": 0.24304, "nor_conv_1x1": 0.028}),
    "cifar100": (7.949632, {"nor_conv_3x3": 35.81952, "nor_conv_1x1": 4.36224, "avg_pool_3x3": 1.29024},
                 0.079156, {"nor_conv_3x3": 0.24304, "nor_conv_1x1": 0.028}),
    "imagenet16": (1.993792, {"nor_conv_3x3": 8.95488, "nor_conv_1x1": 1.09056, "avg_pool_3x3": 0.32256},
                   0.080456, {"nor_conv_3x3": 0.24304, "nor_conv_1x1": 0.028}),
}


class ZeroCostTable(NamedTuple):
    """Proxy values of a benchmark: ``values[row, j]`` is proxy ``names[j]`` of the
    architecture whose key maps to ``row`` in ``rows`` (NaN where NASLib has no value)."""

    names: tuple[str, ...]
    values: np.ndarray       #: [num_archs, len(names)] float64
    rows: dict               #: key -> row (NB201: official index; NB101: nb101_key; NB301: record index)
    benchmark: str


def nb201_flops_params(arch_str: str, dataset: str = "cifar10") -> tuple[float, float]:
    """MFLOPs and M parameters of the NB201 network of ``arch_str`` on ``dataset``
    (``"cifar10"``, ``"cifar100"`` or ``"imagenet16"``), as NASLib counts them."""
    if dataset not in _NB201_COST:
        raise ValueError(f"nb201_flops_params: unknown dataset {dataset!r}; choose one of "
                         f"{', '.join(_NB201_COST)}")
    f0, fop, p0, pop = _NB201_COST[dataset]
    ops = parse_arch_str(arch_str)
    return (f0 + sum(fop.get(o, 0.0) for o in ops), p0 + sum(pop.get(o, 0.0) for o in ops))


def nb101_key(ops, edges) -> tuple:
    """The key of an NB101 cell: its operation indices and sorted ``(source, target)`` edges."""
    return (tuple(int(o) for o in ops), tuple(sorted((int(s), int(d)) for s, d in edges)))


def _nb201(raw_dir: str, dataset: str) -> ZeroCostTable:
    import os.path as osp
    sub_name, prefix = NB201_ZC_DATASETS[dataset]
    names = ("zen", "flops", "params") + tuple(p for p in _SUBSET_PROXIES if p not in ("flops", "params"))
    full = osp.join(raw_dir, _NB201_FULL)
    rows, arch = {}, []
    zen = []
    for line, r in read_csv_rows(full, ["nb201_index", "arch_str", f"{prefix}_zen"]):
        rows[int(r["nb201_index"])] = len(arch)
        arch.append(r["arch_str"])
        zen.append(parse_float(r[f"{prefix}_zen"], full, line, f"{prefix}_zen"))
    values = np.full((len(arch), len(names)), np.nan)
    values[:, 0] = zen
    values[:, 1:3] = [nb201_flops_params(s, dataset) for s in arch]
    subset = osp.join(raw_dir, _NB201_SUBSET)
    for line, r in read_csv_rows(subset, ["dataset", "nb201_index", "arch_str", *_SUBSET_PROXIES]):
        if r["dataset"] != sub_name:
            continue
        i = int(r["nb201_index"])
        if i not in rows or arch[rows[i]] != r["arch_str"]:
            raise DataFileError(f"{subset}, line {line}: NB201 index {i} ({r['arch_str']}) does not "
                                f"match {full}")
        for j, name in enumerate(names[3:], start=3):
            if r[name] != "":
                values[rows[i], j] = parse_float(r[name], subset, line, name)
    return ZeroCostTable(names, values, rows, "nasbench201")


def _records(path: str, proxies: tuple[str, ...]) -> list[dict]:
    from pyg_nar.datasets.nasbench101 import json_records
    return [rec for _, rec in json_records(path, proxies)]


def zero_cost_table(benchmark: str, dataset: str = "cifar10", raw_dir: str | None = None) -> ZeroCostTable:
    """The zero-cost proxies of ``benchmark`` (``"nasbench101"``, ``"nasbench201"``,
    ``"nasbench301"``; ``dataset`` only matters for NB201), read from ``raw_dir``
    (default ``$PYG_NAR_DATA``)."""
    import os.path as osp
    raw_dir = raw_dir or data_root()
    if benchmark == "nasbench201":
        if dataset not in NB201_ZC_DATASETS:
            raise ValueError(f"zero_cost_table: unknown NB201 dataset {dataset!r}; choose one of "
                             f"{', '.join(NB201_ZC_DATASETS)}")
        return _nb201(raw_dir, dataset)
    if benchmark == "nasbench101":
        from pyg_nar.datasets.nasbench101 import NB101_VOCAB
        names = tuple(p for p in _SUBSET_PROXIES if p != "nwot")
        path = osp.join(raw_dir, _NB101_SUBSET)
        records = _records(path, names)
        rows = {}
        for k, rec in enumerate(records):
            adj = np.asarray(rec["adjacency"])
            ops = [NB101_VOCAB.index(o) for o in rec["ops"]]
            rows[nb101_key(ops, zip(*np.nonzero(adj)))] = k
        return ZeroCostTable(names, np.array([[float(r[p]) for p in names] for r in records]),
                             rows, benchmark)
    if benchmark == "nasbench301":
        path = osp.join(raw_dir, _NB301_SUBSET)
        records = _records(path, _SUBSET_PROXIES)
        return ZeroCostTable(_SUBSET_PROXIES,
                             np.array([[float(r[p]) for p in _SUBSET_PROXIES] for r in records]),
                             {k: k for k in range(len(records))}, benchmark)
    raise ValueError(f"zero_cost_table: unknown benchmark {benchmark!r}; choose one of "
                     f"{', '.join(ZC_BENCHMARKS)}")


def join_tables(base: ZeroCostTable, extra: ZeroCostTable) -> ZeroCostTable:
    """``base`` with the columns of ``extra`` (same benchmark, distinct names) appended; rows
    of ``base`` that ``extra`` lacks get NaN there."""
    if extra.benchmark != base.benchmark:
        raise ValueError(f"join_tables: a {extra.benchmark} table cannot join a {base.benchmark} one")
    clash = set(base.names) & set(extra.names)
    if clash:
        raise ValueError(f"join_tables: both tables have {', '.join(sorted(clash))}")
    added = np.full((len(base.values), len(extra.names)), np.nan)
    for key, row in base.rows.items():
        if key in extra.rows:
            added[row] = extra.values[extra.rows[key]]
    return ZeroCostTable(base.names + tuple(extra.names), np.concatenate([base.values, added], 1),
                         base.rows, base.benchmark)
