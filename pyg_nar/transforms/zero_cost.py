r"""Zero-cost proxies as a graph field (the table is :mod:`pyg_nar.datasets.zero_cost`)."""
from __future__ import annotations

import hashlib
from typing import Sequence

import torch
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

from pyg_nar.errors import ArchitectureError
from pyg_nar.transforms._common import arch_name

__all__ = ["ZeroCostProxies"]


class ZeroCostProxies(BaseTransform):
    r"""Adds ``zc`` ``[1, P]`` float: the zero-cost proxies ``proxies`` of the architecture,
    looked up in NASLib's tables (:func:`pyg_nar.datasets.zero_cost.zero_cost_table`), raw
    values in the tables' units.

    NB201 and NB301 graphs are found by ``arch_id`` (NB201: the official index; NB301: the
    record of :class:`~pyg_nar.datasets.NASBench301`), NB101 cells by their operations and
    edges. On NB201 only ``zen``, ``flops`` and ``params`` exist for every cell (the other
    proxies for 725 cells).

    Args:
        benchmark (str): ``"nasbench101"``, ``"nasbench201"`` or ``"nasbench301"``.
        proxies (Sequence[str], optional): proxy names, in the order of the ``zc`` columns.
            (default: ``("zen", "flops", "params")``, those NB201 has for every cell)
        dataset (str, optional): NB201's image dataset (``"cifar10"``, ``"cifar100"``,
            ``"imagenet16"``). (default: ``"cifar10"``)
        raw_dir (str, optional): folder holding ``naslib_zc_subsets/`` (default:
            ``$PYG_NAR_DATA``).
        allow_missing (bool, optional): write NaN for a proxy the table lacks for a cell
            instead of raising :class:`~pyg_nar.errors.ArchitectureError`. (default: ``False``)
        extra (ZeroCostTable, optional): more proxies of the same cells, e.g. those computed
            by :func:`pyg_nar.proxies.nb201_proxy_table` (``synflow_small``, ``nwot_small``,
            ``jacov_small``), joined to NASLib's columns. (default: ``None``)
    """

    def __init__(self, benchmark: str, proxies: Sequence[str] = ("zen", "flops", "params"),
                 dataset: str = "cifar10", raw_dir: str | None = None, allow_missing: bool = False,
                 extra=None):
        from pyg_nar.datasets.zero_cost import join_tables, zero_cost_table

        self.benchmark, self.dataset, self.allow_missing = benchmark, dataset, allow_missing
        self.proxies = tuple(proxies)
        self.table = zero_cost_table(benchmark, dataset, raw_dir)
        if extra is not None:
            self.table = join_tables(self.table, extra)
        unknown = [p for p in self.proxies if p not in self.table.names]
        if unknown or not self.proxies:
            raise ValueError(f"ZeroCostProxies: unknown proxies {', '.join(unknown) or '(none given)'} "
                             f"for {benchmark}; known: {', '.join(self.table.names)}")
        self.columns = [self.table.names.index(p) for p in self.proxies]
        # the repr (part of a dataset's fingerprint) names the values, not only the columns
        self.digest = hashlib.sha1(self.table.values[:, self.columns].tobytes()).hexdigest()[:10]

    def _row(self, data: Data) -> int:
        if self.benchmark == "nasbench101":
            from pyg_nar.datasets.zero_cost import nb101_key
            key = nb101_key(data.op.tolist(), data.edge_index.t().tolist())
        else:
            arch_id = getattr(data, "arch_id", None)
            if arch_id is None:
                raise ArchitectureError(f"ZeroCostProxies: the graph has no arch_id to look up "
                                        f"its {self.benchmark} proxies by")
            key = int(arch_id.view(-1)[0])
        if key not in self.table.rows:
            raise ArchitectureError(f"{arch_name(data)}: not in NASLib's {self.benchmark} "
                                    f"zero-cost table ({len(self.table.rows)} cells)")
        return self.table.rows[key]

    def forward(self, data: Data) -> Data:
        values = torch.from_numpy(self.table.values[self._row(data), self.columns]).float()
        if not self.allow_missing and bool(torch.isnan(values).any()):
            missing = [p for p, v in zip(self.proxies, values.tolist()) if v != v]
            raise ArchitectureError(f"{arch_name(data)}: NASLib has no {', '.join(missing)} for "
                                    f"this cell (pass allow_missing=True to get NaN)")
        data.zc = values.view(1, -1)
        return data

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.benchmark!r}, proxies={list(self.proxies)}, "
                f"dataset={self.dataset!r}, values={self.digest})")
