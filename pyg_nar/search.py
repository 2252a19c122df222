"""Predictor-guided architecture search on NAS-Bench-201, with the usual baselines.

The search space is the 5^6 = 15,625 NB201 cells (:class:`NB201SearchSpace`); training a cell is
replaced by a look-up in the benchmark (:class:`BenchmarkOracle`, which counts the look-ups and
refuses to exceed its budget). Three searchers share one signature and return a
:class:`SearchResult` whose ``trajectory[k]`` is the best accuracy found after ``k + 1`` queries:

* :func:`random_search` -- distinct cells drawn uniformly at random;
* :func:`regularized_evolution` -- Real et al., AAAI 2019 (tournament selection, one-edge
  mutation, the oldest member dies);
* :func:`predictor_guided_evolution` -- the NPENAS-style loop of NAR-Former Sec. 4.4: a random
  initial pool; each round, retrain a predictor on every queried cell, mutate the best queried
  cells into candidates, query the candidates the predictor ranks highest; until the budget is
  spent.

A predictor is built by a *predictor factory* ``(arch_strs, accuracies) -> score_fn`` where
``score_fn(arch_strs) -> np.ndarray`` (higher is better). :func:`ridge_onehot_predictor` is
ridge regression on the one-hot edge operations (a cheap, additive baseline).
All randomness comes from :class:`numpy.random.Generator` seeded by the ``seed`` argument.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from pyg_nar.data import ArchitectureError
from pyg_nar.datasets.nasbench201 import NB201_OPS, parse_arch_str

__all__ = [
    "NB201SearchSpace", "BenchmarkOracle", "BudgetExhausted", "SearchResult",
    "random_search", "regularized_evolution", "predictor_guided_evolution",
    "ridge_onehot_predictor", "onehot_features",
]

ScoreFn = Callable[[Sequence[str]], np.ndarray]
PredictorFactory = Callable[[Sequence[str], np.ndarray], ScoreFn]

_INPUTS = (0, 0, 1, 0, 1, 2)  # source node of each of the six edges, in arch-string order


class NB201SearchSpace:
    """The NAS-Bench-201 cell space: six edges, each one of the five :data:`NB201_OPS`."""

    ops = NB201_OPS
    num_edges = 6

    @staticmethod
    def to_arch_str(ops: Sequence[str]) -> str:
        """The official arch string of six edge operations (e01, e02, e12, e03, e13, e23)."""
        if len(ops) != 6:
            raise ArchitectureError(f"an NB201 cell has 6 edge operations, got {len(ops)}: {list(ops)}")
        for op in ops:
            if op not in NB201_OPS:
                raise ArchitectureError(f"unknown NB201 operation {op!r} (known: {', '.join(NB201_OPS)})")
        e = [f"{op}~{i}" for op, i in zip(ops, _INPUTS)]
        return f"|{e[0]}|+|{e[1]}|{e[2]}|+|{e[3]}|{e[4]}|{e[5]}|"

    @classmethod
    def all_arch_strs(cls) -> list[str]:
        """All 15,625 cells, in lexicographic order of their op indices."""
        grid = np.stack(np.meshgrid(*[np.arange(5)] * 6, indexing="ij"), -1).reshape(-1, 6)
        return [cls.to_arch_str([NB201_OPS[i] for i in row]) for row in grid]

    @classmethod
    def sample(cls, rng: np.random.Generator) -> str:
        """A cell drawn uniformly at random."""
        return cls.to_arch_str([NB201_OPS[i] for i in rng.integers(0, 5, size=6)])

    @classmethod
    def mutate(cls, arch_str: str, rng: np.random.Generator) -> str:
        """Change exactly one of the six edge operations to a different operation."""
        ops = parse_arch_str(arch_str)
        edge = int(rng.integers(6))
        others = [op for op in NB201_OPS if op != ops[edge]]
        ops[edge] = others[int(rng.integers(len(others)))]
        return cls.to_arch_str(ops)

    @classmethod
    def neighbours(cls, arch_str: str) -> list[str]:
        """All 24 cells that differ from ``arch_str`` in exactly one edge operation."""
        ops = parse_arch_str(arch_str)
        out = []
        for edge in range(6):
            for op in NB201_OPS:
                if op != ops[edge]:
                    out.append(cls.to_arch_str(ops[:edge] + [op] + ops[edge + 1:]))
        return out


class BudgetExhausted(RuntimeError):
    """A query beyond the oracle's budget."""


class BenchmarkOracle:
    """A tabular benchmark as a black box: :meth:`query` returns a cell's accuracy and counts.

    Args:
        arch_strs: the cells of the table.
        accuracies: their accuracies (any scale; the searchers maximise it).
        budget: the most queries allowed (``None``: unlimited); one more raises
            :class:`BudgetExhausted`.

    Every call of :meth:`query` counts, also a repeated one; :attr:`history` keeps them in order.
    :meth:`with_budget` gives a fresh counter over the same table (the searchers use it, so an
    oracle can be shared by many runs).
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
        """An oracle over an NB201 dataset (``arch_strs`` and ``y``); accuracies times ``scale``
        (default: percent)."""
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
    """

    arch_strs: list[str]
    accuracies: np.ndarray
    trajectory: np.ndarray = field(init=False)

    def __post_init__(self):
        self.accuracies = np.asarray(self.accuracies, dtype=np.float64)
        self.trajectory = np.maximum.accumulate(self.accuracies) if self.accuracies.size else self.accuracies

    @classmethod
    def from_oracle(cls, oracle: BenchmarkOracle) -> "SearchResult":
        return cls([s for s, _ in oracle.history], [a for _, a in oracle.history])

    @property
    def best_arch_str(self) -> str:
        return self.arch_strs[int(np.argmax(self.accuracies))]

    @property
    def best_accuracy(self) -> float:
        return float(self.trajectory[-1])


def _check_budget(oracle: BenchmarkOracle, budget: int, name: str) -> BenchmarkOracle:
    if budget < 1:
        raise ValueError(f"{name}: budget must be >= 1, got {budget}")
    if budget > len(oracle):
        raise ValueError(f"{name}: budget {budget} exceeds the {len(oracle)} cells of the table")
    return oracle.with_budget(budget)


def _progress(total: int, desc: str, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, unit="query", leave=False)


def _sample_new(seen: set, rng: np.random.Generator, oracle: BenchmarkOracle) -> str:
    """A uniformly random cell of the table that is not in ``seen``."""
    for _ in range(1000):
        s = NB201SearchSpace.sample(rng)
        if s not in seen and s in oracle:
            return s
    rest = sorted(set(oracle.arch_strs) - seen)  # nearly exhausted table: draw from what is left
    return rest[int(rng.integers(len(rest)))]


def random_search(oracle: BenchmarkOracle, budget: int, seed: int = 0, progress: bool = False) -> SearchResult:
    """Query ``budget`` distinct cells drawn uniformly at random."""
    oracle = _check_budget(oracle, budget, "random_search")
    rng = np.random.default_rng(seed)
    bar = _progress(budget, "random search", progress)
    seen: set[str] = set()
    while oracle.remaining > 0:
        s = _sample_new(seen, rng, oracle)
        seen.add(s)
        oracle.query(s)
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    return SearchResult.from_oracle(oracle)


def _mutate_new(parent: str, seen: set, rng: np.random.Generator, oracle: BenchmarkOracle) -> str:
    """A one-edge mutation of ``parent`` not queried before (a random new cell if all 24
    neighbours are already queried)."""
    for _ in range(50):
        child = NB201SearchSpace.mutate(parent, rng)
        if child not in seen and child in oracle:
            return child
    fresh = [c for c in NB201SearchSpace.neighbours(parent) if c not in seen and c in oracle]
    return fresh[int(rng.integers(len(fresh)))] if fresh else _sample_new(seen, rng, oracle)


def regularized_evolution(oracle: BenchmarkOracle, budget: int, population: int = 10, sample: int = 3,
                          seed: int = 0, progress: bool = False) -> SearchResult:
    """Regularized (aging) evolution (Real et al., AAAI 2019, Alg. 1).

    Fill a population of ``population`` random cells; then repeatedly pick ``sample`` members
    at random, mutate the best of them (one edge op changed), query the child, add it and remove
    the *oldest* member. Children already queried are redrawn, so no query is wasted on a
    repeat (the table is deterministic).
    """
    if population < 1 or not 1 <= sample <= population:
        raise ValueError(f"regularized_evolution: need population >= 1 and 1 <= sample <= population, "
                         f"got population={population}, sample={sample}")
    oracle = _check_budget(oracle, budget, "regularized_evolution")
    rng = np.random.default_rng(seed)
    bar = _progress(budget, "regularized evolution", progress)
    seen: set[str] = set()
    pop: list[tuple[str, float]] = []  # oldest first
    while oracle.remaining > 0:
        if len(pop) < population:
            s = _sample_new(seen, rng, oracle)
        else:
            contenders = rng.choice(len(pop), size=sample, replace=False)
            parent = max((pop[i] for i in contenders), key=lambda m: m[1])[0]
            s = _mutate_new(parent, seen, rng, oracle)
        seen.add(s)
        pop.append((s, oracle.query(s)))
        if len(pop) > population:
            pop.pop(0)
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    return SearchResult.from_oracle(oracle)


def predictor_guided_evolution(oracle: BenchmarkOracle, budget: int, predictor_factory: PredictorFactory,
                               seed: int = 0, initial: int = 10, per_round: int = 10, parents: int = 10,
                               candidates: int = 100, progress: bool = False) -> SearchResult:
    """Predictor-guided evolution (NAR-Former Sec. 4.4, after NPENAS).

    1. Query ``initial`` random cells (the pool).
    2. Each round: ``score = predictor_factory(pool_arch_strs, pool_accuracies)``; mutate the
       ``parents`` best cells of the pool into up to ``candidates`` distinct, not yet queried
       cells (one edge op changed; every parent gets an equal share); query the ``per_round``
       candidates with the highest predicted score.
    3. Repeat until ``budget`` queries are spent (the last round queries only what is left).
    """
    if initial < 1 or per_round < 1 or parents < 1 or candidates < per_round:
        raise ValueError(f"predictor_guided_evolution: need initial, per_round, parents >= 1 and "
                         f"candidates >= per_round; got initial={initial}, per_round={per_round}, "
                         f"parents={parents}, candidates={candidates}")
    oracle = _check_budget(oracle, budget, "predictor_guided_evolution")
    rng = np.random.default_rng(seed)
    bar = _progress(budget, "predictor-guided evolution", progress)
    seen: set[str] = set()

    def ask(s):
        seen.add(s)
        oracle.query(s)
        if bar is not None:
            bar.update()

    for _ in range(min(initial, budget)):
        ask(_sample_new(seen, rng, oracle))
    while oracle.remaining > 0:
        pool_strs = [s for s, _ in oracle.history]
        pool_acc = np.array([a for _, a in oracle.history])
        score_fn = predictor_factory(pool_strs, pool_acc)
        order = np.argsort(-pool_acc, kind="stable")[:parents]
        cand = _candidates([pool_strs[i] for i in order], candidates, seen, rng, oracle)
        scores = np.asarray(score_fn(cand), dtype=np.float64).reshape(-1)
        if scores.size != len(cand):
            raise ValueError(f"predictor_guided_evolution: score_fn returned {scores.size} scores "
                             f"for {len(cand)} candidates")
        take = int(min(per_round, oracle.remaining))
        for i in np.argsort(-scores, kind="stable")[:take]:
            ask(cand[i])
    if bar is not None:
        bar.close()
    return SearchResult.from_oracle(oracle)


def _candidates(parent_strs: list[str], n: int, seen: set, rng: np.random.Generator,
                oracle: BenchmarkOracle) -> list[str]:
    """Up to ``n`` distinct unqueried one-edge mutations of the parents, shared equally among
    them (best parent first); topped up with random cells if the neighbourhoods run dry."""
    neigh = []
    for p in parent_strs:
        nb = [c for c in NB201SearchSpace.neighbours(p) if c not in seen and c in oracle]
        neigh.append([nb[i] for i in rng.permutation(len(nb))])
    out, taken = [], set()
    depth = 0
    while len(out) < n and any(depth < len(nb) for nb in neigh):
        for nb in neigh:
            if depth < len(nb) and nb[depth] not in taken and len(out) < n:
                taken.add(nb[depth])
                out.append(nb[depth])
        depth += 1
    while len(out) < n and len(taken) + len(seen) < len(oracle):
        s = _sample_new(seen | taken, rng, oracle)
        taken.add(s)
        out.append(s)
    return out


def onehot_features(arch_strs: Sequence[str]) -> np.ndarray:
    """``[n, 30]``: for each of the six edges, the one-hot of its operation (:data:`NB201_OPS`)."""
    index = {op: k for k, op in enumerate(NB201_OPS)}
    x = np.zeros((len(arch_strs), 6 * len(NB201_OPS)))
    for r, s in enumerate(arch_strs):
        for e, op in enumerate(parse_arch_str(s)):
            x[r, e * len(NB201_OPS) + index[op]] = 1.0
    return x


def ridge_onehot_predictor(alpha: float = 1.0) -> PredictorFactory:
    """A predictor factory: ridge regression of accuracy on the one-hot edge operations
    (:func:`onehot_features`), i.e. an additive model ``acc ~ b + sum_e w[e, op_e]``."""
    if alpha <= 0:
        raise ValueError(f"ridge_onehot_predictor: alpha must be > 0, got {alpha}")

    def factory(arch_strs: Sequence[str], accuracies) -> ScoreFn:
        x = onehot_features(arch_strs)
        y = np.asarray(accuracies, dtype=np.float64)
        mean = y.mean()
        w = np.linalg.solve(x.T @ x + alpha * np.eye(x.shape[1]), x.T @ (y - mean))
        return lambda strs: onehot_features(strs) @ w + mean

    return factory
