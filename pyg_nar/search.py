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
``score_fn(arch_strs) -> np.ndarray`` (higher is better). :func:`graph_predictor` wraps any
pyg_nar predictor and :func:`pyg_nar.training.fit` (retrained from scratch each round);
:func:`narformer_predictor` is a small NAR-Former on the tokenizer's tokens;
:func:`ridge_onehot_predictor` is ridge regression on the one-hot edge operations (a cheap,
additive baseline). The neural predictors are tiny: on CPU, ``torch.set_num_threads(1)`` is
much faster than more threads on a busy machine.
All randomness comes from :class:`numpy.random.Generator` seeded by the ``seed`` argument.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from pyg_nar.data import ArchitectureError
from pyg_nar.spaces.nasbench201 import NB201_OPS, NB201SearchSpace, parse_arch_str

__all__ = [
    "NB201SearchSpace", "BenchmarkOracle", "BudgetExhausted", "SearchResult",
    "random_search", "regularized_evolution", "predictor_guided_evolution",
    "ridge_onehot_predictor", "onehot_features", "graph_predictor", "narformer_predictor",
    "compare_searches", "plot_trajectories",
]

ScoreFn = Callable[[Sequence[str]], np.ndarray]
PredictorFactory = Callable[[Sequence[str], np.ndarray], ScoreFn]

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


def graph_predictor(build_model: Callable[[], "torch.nn.Module"], config, transform=None,
                    standardize: bool = True, batch_size: int = 1024) -> PredictorFactory:
    """A predictor factory around any pyg_nar predictor and the one training loop.

    Each call builds a fresh model with ``build_model()``, turns the queried cells into NB201
    cell graphs (:func:`~pyg_nar.datasets.nasbench201.nb201_cell_graph`, then ``transform``),
    trains it with :func:`pyg_nar.training.fit` (``config``: a
    :class:`~pyg_nar.training.TrainConfig`; no validation split, the pool is tiny) and scores
    candidates with :func:`pyg_nar.training.predict`. With ``standardize`` the targets are
    z-scored within the pool (only the ranking of the scores matters to the search). Round
    ``k`` trains with seed ``config.seed + k``, so a search stays repeatable.
    """
    from dataclasses import replace

    from pyg_nar.datasets.nasbench201 import nb201_cell_graph
    from pyg_nar.training import fit, predict, seed_everything

    rounds = [0]

    def graphs(strs, ys):
        out = []
        for s, y in zip(strs, ys):
            d = nb201_cell_graph(s, float(y))
            out.append(transform(d) if transform is not None else d)
        return out

    def factory(arch_strs: Sequence[str], accuracies) -> ScoreFn:
        y = np.asarray(accuracies, dtype=np.float64)
        if standardize:
            y = (y - y.mean()) / (y.std() if y.std() > 0 else 1.0)
        round_config = replace(config, seed=config.seed + rounds[0])
        seed_everything(round_config.seed)  # the model's initial weights, too
        model = build_model()
        fit(model, graphs(arch_strs, y), None, round_config)
        rounds[0] += 1

        def score(strs: Sequence[str]) -> np.ndarray:
            return predict(model, graphs(strs, np.zeros(len(strs))), batch_size=batch_size).numpy()

        return score

    return factory


def narformer_predictor(epochs: int = 100, dim: int = 64, num_layers: int = 2, lr: float = 1e-3,
                        batch_size: int = 16, num_freqs: int = 32, seed: int = 0,
                        progress: bool = False, **model_kwargs) -> PredictorFactory:
    """:func:`graph_predictor` with a (small) NAR-Former on the NAR-Former tokens
    (:class:`~pyg_nar.transforms.Tokenize`), linear head (standardized targets), MSE loss,
    AdamW with warm-up + linear decay. Defaults sized for CPU search (``dim`` 64, 2 layers;
    the paper's model is ``dim`` 192, 6 layers, with the sigmoid head)."""
    from pyg_nar.models import NARFormer
    from pyg_nar.training import TrainConfig
    from pyg_nar.transforms import Tokenize

    tok = Tokenize(num_freqs=num_freqs)
    probe = tok(_probe_graph())
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, loss="mse", seed=seed,
                         progress=progress)
    return graph_predictor(
        lambda: NARFormer.from_data(probe, dim=dim, num_layers=num_layers, output="linear", **model_kwargs),
        config, transform=tok)


def _probe_graph():
    """One NB201 cell graph, to read feature widths off a transform's output."""
    from pyg_nar.datasets.nasbench201 import nb201_cell_graph
    return nb201_cell_graph(NB201SearchSpace.to_arch_str(["nor_conv_3x3"] * 6), 0.0)


def compare_searches(budget: int = 100, seeds: int = 5, cache: str = "data", plot: str | None = None,
                     progress: bool = True, target: str = "cifar10_test_200ep", predictor: str = "narformer",
                     epochs: int = 20, initial: int = 10, per_round: int = 10, candidates: int = 100,
                     threads: int | None = 1, log: Callable[[str], None] | None = None,
                     raw_dir: str | None = None) -> list[dict]:
    """Random search, regularized evolution and predictor-guided evolution on NAS-Bench-201
    with ``budget`` queries, seeds ``0 .. seeds - 1``. Returns one row per method: mean and std
    of the best accuracy found (percent), its gap to the optimum, how many runs found the
    optimum, the mean rank of the cell found (1 = best) and the seconds per run; ``plot``: a PNG
    of best accuracy vs queries (needs matplotlib).

    ``predictor``: ``"narformer"`` (:func:`narformer_predictor`, ``epochs`` per round) or
    ``"ridge"`` (:func:`ridge_onehot_predictor`). ``threads``: torch CPU threads during the
    run (restored after); ``log``: called with one line per finished method; ``raw_dir``: the
    benchmark files (default ``$PYG_NAR_DATA``).
    """
    import time

    import torch

    from pyg_nar.datasets import NASBench201

    if predictor == "narformer":
        factory = narformer_predictor(epochs=epochs)
    elif predictor == "ridge":
        factory = ridge_onehot_predictor()
    else:
        raise ValueError(f"compare_searches: predictor must be 'narformer' or 'ridge', got {predictor!r}")
    oracle = BenchmarkOracle.from_dataset(NASBench201(f"{cache}/nasbench201", target=target, raw_dir=raw_dir))
    _, optimum = oracle.best()
    methods = {
        "random search": lambda s: random_search(oracle, budget, seed=s, progress=progress),
        "regularized evolution": lambda s: regularized_evolution(
            oracle, budget, population=10, sample=3, seed=s, progress=progress),
        f"predictor-guided ({predictor})": lambda s: predictor_guided_evolution(
            oracle, budget, factory, seed=s, initial=initial, per_round=per_round,
            candidates=candidates, progress=progress),
    }
    old_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    rows, curves = [], {}
    try:
        for name, run in methods.items():
            t = time.perf_counter()
            results = [run(s) for s in range(seeds)]
            sec = (time.perf_counter() - t) / seeds
            best = np.array([r.best_accuracy for r in results])
            curves[name] = np.stack([r.trajectory for r in results])
            rows.append({"method": name, "best_mean": float(best.mean()), "best_std": float(best.std()),
                         "gap_to_optimum": float(optimum - best.mean()),
                         "found_optimum": f"{sum(oracle.rank_of(b) == 0 for b in best)}/{seeds}",
                         "mean_rank": float(np.mean([oracle.rank_of(b) + 1 for b in best])),
                         "sec_per_run": float(sec)})
            if log is not None:
                log(f"{name}: best {best.mean():.2f} +- {best.std():.2f} (per seed: "
                    f"{', '.join(f'{b:.2f}' for b in best)}), {sec:.1f} s/run")
    finally:
        torch.set_num_threads(old_threads)
    if plot:
        plot_trajectories(curves, optimum, plot, title=f"NAS-Bench-201 {target}, {seeds} seeds")
    return rows


def plot_trajectories(curves: dict, optimum: float, path: str, title: str = "") -> None:
    """Save a PNG of mean +- std best accuracy vs queries; ``curves``: name -> ``[seeds, budget]``."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plot_trajectories needs matplotlib: pip install matplotlib "
                          "(or pyg-nar[plot])") from None
    fig, ax = plt.subplots(figsize=(6, 4))
    lows = []
    for name, c in curves.items():
        q = np.arange(1, c.shape[1] + 1)
        m, s = c.mean(0), c.std(0)
        ax.plot(q, m, label=name)
        ax.fill_between(q, m - s, m + s, alpha=0.2)
        lows.append(m[min(9, c.shape[1] - 1)])
    ax.axhline(optimum, color="k", ls="--", lw=0.8, label=f"optimum {optimum:.2f}")
    ax.set_xlabel("queries")
    ax.set_ylabel("best accuracy found")
    ax.set_ylim(min(lows) - 0.5, optimum + 0.3)
    if title:
        ax.set_title(title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
