"""The three searchers: :func:`random_search`, :func:`regularized_evolution` and
:func:`predictor_guided_evolution`.

All three take an oracle and a budget, draw every random number from
``numpy.random.default_rng(seed)`` and return a :class:`~pyg_nar.search.oracle.SearchResult`
of exactly ``budget`` distinct queries.
"""
from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from pyg_nar.search.oracle import BenchmarkOracle, SearchResult
from pyg_nar.search.predictors import PredictorFactory
from pyg_nar.spaces.nasbench201 import NB201SearchSpace

__all__ = ["random_search", "regularized_evolution", "predictor_guided_evolution"]


def _check_budget(oracle: BenchmarkOracle, budget: int, name: str) -> BenchmarkOracle:
    if budget < 1:
        raise ValueError(f"{name}: budget must be >= 1, got {budget}")
    if budget > len(oracle):
        raise ValueError(f"{name}: budget {budget} exceeds the {len(oracle)} cells of the table")
    return oracle.with_budget(budget)


def _progress(total: int, desc: str, progress: bool) -> tqdm:
    """The searchers' progress bar: one tick per query, off unless ``progress``."""
    return tqdm(total=total, desc=desc, unit="query", leave=False, disable=not progress)


def _sample_new(seen: set, rng: np.random.Generator, oracle: BenchmarkOracle) -> str:
    """A uniformly random cell of the table that is not in ``seen``."""
    for _ in range(1000):
        s = NB201SearchSpace.sample(rng)
        if s not in seen and s in oracle:
            return s
    rest = sorted(set(oracle.arch_strs) - seen)  # nearly exhausted table: draw from what is left
    return rest[int(rng.integers(len(rest)))]


def _mutate_new(parent: str, seen: set, rng: np.random.Generator, oracle: BenchmarkOracle) -> str:
    """A one-edge mutation of ``parent`` not queried before (a random new cell if all 24
    neighbours are already queried)."""
    for _ in range(50):
        child = NB201SearchSpace.mutate(parent, rng)
        if child not in seen and child in oracle:
            return child
    fresh = [c for c in NB201SearchSpace.neighbours(parent) if c not in seen and c in oracle]
    return fresh[int(rng.integers(len(fresh)))] if fresh else _sample_new(seen, rng, oracle)


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


def random_search(oracle: BenchmarkOracle, budget: int, seed: int = 0, progress: bool = False) -> SearchResult:
    """Query ``budget`` distinct cells drawn uniformly at random.

    Args:
        oracle (BenchmarkOracle): the benchmark; it is not consumed (the search queries a
            fresh :meth:`~BenchmarkOracle.with_budget` copy).
        budget (int): the number of queries, ``1 <= budget <= len(oracle)``.
        seed (int, optional): the seed of the random generator. (default: :obj:`0`)
        progress (bool, optional): show a progress bar. (default: :obj:`False`)
    """
    oracle = _check_budget(oracle, budget, "random_search")
    rng = np.random.default_rng(seed)
    seen: set[str] = set()
    with _progress(budget, "random search", progress) as bar:
        while oracle.remaining > 0:
            s = _sample_new(seen, rng, oracle)
            seen.add(s)
            oracle.query(s)
            bar.update()
    return SearchResult.from_oracle(oracle)


def regularized_evolution(oracle: BenchmarkOracle, budget: int, population: int = 10, sample: int = 3,
                          seed: int = 0, progress: bool = False) -> SearchResult:
    """Regularized (aging) evolution (`Real et al., AAAI 2019 <https://arxiv.org/abs/1802.01548>`_,
    Alg. 1).

    Fill a population of ``population`` random cells; then repeatedly pick ``sample`` members
    at random, mutate the best of them (one edge op changed), query the child, add it and remove
    the *oldest* member. Children already queried are redrawn, so no query is wasted on a
    repeat (the table is deterministic).

    Args:
        oracle (BenchmarkOracle): the benchmark (not consumed, as in :func:`random_search`).
        budget (int): the number of queries, ``1 <= budget <= len(oracle)``.
        population (int, optional): the population size. (default: :obj:`10`)
        sample (int, optional): the tournament size, ``1 <= sample <= population``.
            (default: :obj:`3`)
        seed (int, optional): the seed of the random generator. (default: :obj:`0`)
        progress (bool, optional): show a progress bar. (default: :obj:`False`)
    """
    if population < 1 or not 1 <= sample <= population:
        raise ValueError(f"regularized_evolution: need population >= 1 and 1 <= sample <= population, "
                         f"got population={population}, sample={sample}")
    oracle = _check_budget(oracle, budget, "regularized_evolution")
    rng = np.random.default_rng(seed)
    seen: set[str] = set()
    pop: list[tuple[str, float]] = []  # oldest first
    with _progress(budget, "regularized evolution", progress) as bar:
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
            bar.update()
    return SearchResult.from_oracle(oracle)


def predictor_guided_evolution(oracle: BenchmarkOracle, budget: int, predictor_factory: PredictorFactory,
                               seed: int = 0, initial: int = 10, per_round: int = 10, parents: int = 10,
                               candidates: int = 100, progress: bool = False) -> SearchResult:
    """Predictor-guided evolution (`NAR-Former <https://arxiv.org/abs/2211.08024>`_ Sec. 4.4,
    after `NPENAS <https://arxiv.org/abs/2003.12857>`_).

    1. Query ``initial`` random cells (the pool).
    2. Each round: ``score = predictor_factory(pool_arch_strs, pool_accuracies)``; mutate the
       ``parents`` best cells of the pool into up to ``candidates`` distinct, not yet queried
       cells (one edge op changed; every parent gets an equal share); query the ``per_round``
       candidates with the highest predicted score.
    3. Repeat until ``budget`` queries are spent (the last round queries only what is left).

    Args:
        oracle (BenchmarkOracle): the benchmark (not consumed, as in :func:`random_search`).
        budget (int): the number of queries, ``1 <= budget <= len(oracle)``.
        predictor_factory (callable): ``(arch_strs, accuracies) -> score_fn`` with
            ``score_fn(arch_strs) -> np.ndarray`` (higher is better), e.g.
            :func:`~pyg_nar.search.predictors.ridge_onehot_predictor` or
            :func:`~pyg_nar.search.predictors.narformer_predictor`.
        seed (int, optional): the seed of the random generator. (default: :obj:`0`)
        initial (int, optional): the size of the random initial pool. (default: :obj:`10`)
        per_round (int, optional): the queries per round. (default: :obj:`10`)
        parents (int, optional): how many of the best queried cells are mutated.
            (default: :obj:`10`)
        candidates (int, optional): the candidates scored per round, ``>= per_round``.
            (default: :obj:`100`)
        progress (bool, optional): show a progress bar. (default: :obj:`False`)
    """
    if initial < 1 or per_round < 1 or parents < 1 or candidates < per_round:
        raise ValueError(f"predictor_guided_evolution: need initial, per_round, parents >= 1 and "
                         f"candidates >= per_round; got initial={initial}, per_round={per_round}, "
                         f"parents={parents}, candidates={candidates}")
    oracle = _check_budget(oracle, budget, "predictor_guided_evolution")
    rng = np.random.default_rng(seed)
    seen: set[str] = set()
    with _progress(budget, "predictor-guided evolution", progress) as bar:

        def ask(s):
            seen.add(s)
            oracle.query(s)
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
    return SearchResult.from_oracle(oracle)
