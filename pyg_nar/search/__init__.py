"""Predictor-guided architecture search on NAS-Bench-201, with the usual baselines.

The search space is the 5^6 = 15,625 NB201 cells
(:class:`~pyg_nar.spaces.nasbench201.NB201SearchSpace`); training a cell is replaced by a
look-up in the benchmark (:class:`BenchmarkOracle`, which counts the look-ups and refuses to
exceed its budget). Three searchers share one signature and return a :class:`SearchResult`
whose ``trajectory[k]`` is the best accuracy found after ``k + 1`` queries:

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

Modules, one concern each: :mod:`~pyg_nar.search.oracle` (the benchmark as a black box and the
result of a search), :mod:`~pyg_nar.search.algorithms` (the three searchers),
:mod:`~pyg_nar.search.predictors` (predictor factories; torch is imported only when a neural
one is built), :mod:`~pyg_nar.search.experiment` (:func:`compare_searches`, the experiment
behind ``pyg-nar search``) and :mod:`~pyg_nar.search.plots` (:func:`plot_trajectories`).
"""
from pyg_nar.search.algorithms import predictor_guided_evolution, random_search, regularized_evolution
from pyg_nar.search.experiment import compare_searches
from pyg_nar.search.oracle import BenchmarkOracle, BudgetExhausted, SearchResult
from pyg_nar.search.plots import plot_trajectories
from pyg_nar.search.predictors import (PredictorFactory, ScoreFn, graph_predictor, narformer_predictor,
                                       onehot_features, ridge_onehot_predictor)
from pyg_nar.spaces.nasbench201 import NB201SearchSpace

__all__ = [
    "NB201SearchSpace", "BenchmarkOracle", "BudgetExhausted", "SearchResult",
    "random_search", "regularized_evolution", "predictor_guided_evolution",
    "ridge_onehot_predictor", "onehot_features", "graph_predictor", "narformer_predictor",
    "compare_searches", "plot_trajectories",
]
