"""A tabular benchmark as a black box (:class:`BenchmarkOracle`), and what a search found
(:class:`SearchResult`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from pyg_nar.errors import ArchitectureError, PygNarError

__all__ = ["BenchmarkOracle", "BudgetExhausted", "SearchResult"]


class BudgetExhausted(PygNarError, RuntimeError):
    """A query beyond the oracle's budget."""


class BenchmarkOracle:
    """A tabular benchmark as a black box: :meth:`query` returns a cell's accuracy and counts.

    Every call of :meth:`query` counts, also a repeated one; :attr:`history` keeps them in order.
    :meth:`with_budget` gives a fresh counter over the same table (the searchers use it, so an
    oracle can be shared by many runs).

    Args:
        arch_strs (Sequence[str]): the cells of the table, each once.
        accuracies (array_like): their accuracies, one per cell (any scale; the searchers
            maximise it); finite.
        budget (int, optional): the most queries allowed; one more raises
            :class:`BudgetExhausted`. (default: :obj:`None`, unlimited)
    """

    def __init__(self, arch_strs: Sequence[str], accuracies, budget: int | None = None):
        acc = np.asarray(accuracies, dtype=np.float64).reshape(-1)
        if len(arch_strs) != acc.size:
            raise ValueError(f"BenchmarkOracle: {len(arch_strs)} arch strings but {acc.size} accuracies")
        if not np.isfinite(acc).all():
            raise ValueError("BenchmarkOracle: accuracies contain NaN or inf")
        self._table = dict(zip(arch_strs, acc.tolist()))
        if len(self._table) != acc.size:
            raise ValueError("BenchmarkOracle: an arch string appears more than once")
        self._init(budget)

    def _init(self, budget):
        if budget is not None and budget < 0:
            raise ValueError(f"BenchmarkOracle: budget must be >= 0, got {budget}")
        self.budget = budget
        self.history: list[tuple[str, float]] = []

    @classmethod
    def from_dataset(cls, dataset, budget: int | None = None, scale: float = 100.0) -> "BenchmarkOracle":
        """An oracle over an NB201 dataset (``arch_strs`` and ``y``).

        Args:
            dataset (NASBench201): the dataset whose ``arch_strs`` and ``y`` make the table.
            budget (int, optional): as in the constructor. (default: :obj:`None`)
            scale (float, optional): the accuracies are ``scale * y``. (default: :obj:`100.0`,
                percent)
        """
        return cls(dataset.arch_strs, scale * np.asarray(dataset.y, dtype=np.float64), budget)

    def with_budget(self, budget: int | None) -> "BenchmarkOracle":
        """A new oracle with no queries made, sharing this one's table."""
        new = object.__new__(type(self))
        new._table = self._table
        new._init(budget)
        return new

    def __len__(self) -> int:
        return len(self._table)

    def __contains__(self, arch_str: str) -> bool:
        return arch_str in self._table

    @property
    def arch_strs(self) -> list[str]:
        return list(self._table)

    @property
    def num_queries(self) -> int:
        return len(self.history)

    @property
    def remaining(self) -> int | float:
        return float("inf") if self.budget is None else self.budget - self.num_queries

    def query(self, arch_str: str) -> float:
        """The accuracy of ``arch_str``; counts one query."""
        if self.budget is not None and self.num_queries >= self.budget:
            raise BudgetExhausted(f"BenchmarkOracle: budget of {self.budget} queries is spent")
        try:
            acc = self._table[arch_str]
        except KeyError:
            raise ArchitectureError(f"{arch_str!r}: not in the benchmark table") from None
        self.history.append((arch_str, acc))
        return acc

    def best(self) -> tuple[str, float]:
        """The best cell of the whole table (what a search hopes to find)."""
        s = max(self._table, key=self._table.__getitem__)
        return s, self._table[s]

    def rank_of(self, accuracy: float) -> int:
        """How many cells of the table are strictly better than ``accuracy``."""
        return int(sum(a > accuracy for a in self._table.values()))


@dataclass
class SearchResult:
    """What a search queried, in order, and the best-so-far curve.

    ``trajectory[k]`` is the best accuracy among the first ``k + 1`` queries (length = budget).

    Args:
        arch_strs (list[str]): the queried cells, in query order.
        accuracies (array_like): their accuracies, one per cell.
    """

    arch_strs: list[str]
    accuracies: np.ndarray
    trajectory: np.ndarray = field(init=False)

    def __post_init__(self):
        self.accuracies = np.asarray(self.accuracies, dtype=np.float64)
        self.trajectory = np.maximum.accumulate(self.accuracies) if self.accuracies.size else self.accuracies

    @classmethod
    def from_oracle(cls, oracle: BenchmarkOracle) -> "SearchResult":
        """The queries an oracle has answered, in order."""
        return cls([s for s, _ in oracle.history], [a for _, a in oracle.history])

    @property
    def best_arch_str(self) -> str:
        return self.arch_strs[int(np.argmax(self.accuracies))]

    @property
    def best_accuracy(self) -> float:
        return float(self.trajectory[-1])
