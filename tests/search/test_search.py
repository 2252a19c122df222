import numpy as np
import pytest

from pyg_nar.data import ArchitectureError
from pyg_nar.datasets.nasbench201 import NB201_OPS, parse_arch_str
from pyg_nar.search import (BenchmarkOracle, BudgetExhausted, NB201SearchSpace, SearchResult,
                            onehot_features, predictor_guided_evolution, random_search,
                            regularized_evolution, ridge_onehot_predictor)

ALL = NB201SearchSpace.all_arch_strs()


def additive_oracle(seed: int = 0) -> tuple[BenchmarkOracle, np.ndarray]:
    """accuracy = sum over edges of a random per-(edge, op) weight: a known additive landscape
    whose unique optimum takes the best op on every edge."""
    w = np.random.default_rng(seed).normal(size=(6, 5))
    acc = onehot_features(ALL) @ w.reshape(-1)
    return BenchmarkOracle(ALL, acc), w


def test_space_enumerates_every_cell_once():
    assert len(ALL) == 15625 == len(set(ALL))
    for s in ALL[:50] + ALL[-50:]:
        assert NB201SearchSpace.to_arch_str(parse_arch_str(s)) == s
    assert ALL[0] == "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


def test_mutation_changes_exactly_one_op_and_stays_valid():
    rng = np.random.default_rng(0)
    s = NB201SearchSpace.sample(rng)
    changed_edges = set()
    for _ in range(300):
        child = NB201SearchSpace.mutate(s, rng)
        a, b = parse_arch_str(s), parse_arch_str(child)  # parse_arch_str validates the child
        diff = [e for e in range(6) if a[e] != b[e]]
        assert len(diff) == 1
        changed_edges.add(diff[0])
        s = child
    assert changed_edges == set(range(6))  # every edge gets mutated


def test_neighbours_are_the_24_one_edge_mutations():
    s = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|"
    nb = NB201SearchSpace.neighbours(s)
    assert len(nb) == len(set(nb)) == 24 and s not in nb
    ops = parse_arch_str(s)
    for c in nb:
        assert sum(x != y for x, y in zip(ops, parse_arch_str(c))) == 1


def test_sampling_is_uniform_and_seeded():
    a = [NB201SearchSpace.sample(np.random.default_rng(3)) for _ in range(2)]
    assert a[0] == a[1]
    rng = np.random.default_rng(1)
    ops = np.array([[NB201_OPS.index(o) for o in parse_arch_str(NB201SearchSpace.sample(rng))]
                    for _ in range(5000)])
    freq = np.stack([(ops == k).mean(0) for k in range(5)])  # [op, edge]
    assert np.abs(freq - 0.2).max() < 0.03


def test_bad_cells_are_named():
    with pytest.raises(ArchitectureError, match="6 edge operations"):
        NB201SearchSpace.to_arch_str(["none"] * 5)
    with pytest.raises(ArchitectureError, match="conv_5x5"):
        NB201SearchSpace.to_arch_str(["conv_5x5"] * 6)
    oracle = BenchmarkOracle(ALL[:3], [1.0, 2.0, 3.0])
    with pytest.raises(ArchitectureError, match="not in the benchmark table"):
        oracle.query(ALL[5])
    with pytest.raises(ValueError, match="more than once"):
        BenchmarkOracle([ALL[0], ALL[0]], [1.0, 2.0])
    with pytest.raises(ValueError, match="2 arch strings but 3"):
        BenchmarkOracle(ALL[:2], [1.0, 2.0, 3.0])


def test_oracle_counts_queries_and_enforces_budget():
    oracle, _ = additive_oracle()
    o = oracle.with_budget(3)
    assert o.num_queries == 0 and o.remaining == 3
    o.query(ALL[1])
    o.query(ALL[1])  # repeats count too
    o.query(ALL[2])
    assert o.num_queries == 3 and o.remaining == 0
    with pytest.raises(BudgetExhausted, match="3 queries"):
        o.query(ALL[3])
    assert oracle.num_queries == 0  # the parent oracle is untouched
    assert o.best() == oracle.best()
    assert oracle.rank_of(oracle.best()[1]) == 0


def _searches(oracle, budget, seed):
    return {
        "random": random_search(oracle, budget, seed=seed),
        "evolution": regularized_evolution(oracle, budget, population=8, sample=3, seed=seed),
        "predictor": predictor_guided_evolution(oracle, budget, ridge_onehot_predictor(), seed=seed,
                                                initial=7, per_round=6, candidates=40),
    }


@pytest.mark.parametrize("budget", [1, 5, 37])
def test_trajectories_monotone_with_budget_length(budget):
    oracle, _ = additive_oracle(1)
    for name, res in _searches(oracle, budget, seed=4).items():
        assert isinstance(res, SearchResult)
        assert res.trajectory.shape == (budget,), name
        assert len(res.arch_strs) == budget
        assert len(set(res.arch_strs)) == budget, f"{name} queried a cell twice"
        assert np.all(np.diff(res.trajectory) >= 0), name
        acc = np.array([oracle.query(s) for s in res.arch_strs])
        np.testing.assert_allclose(res.accuracies, acc)
        assert res.best_accuracy == acc.max() and oracle.query(res.best_arch_str) == acc.max()


def test_searches_are_seeded():
    oracle, _ = additive_oracle(2)
    a, b, c = (_searches(oracle, 30, seed=s) for s in (11, 11, 12))
    for name in a:
        assert a[name].arch_strs == b[name].arch_strs, name
        assert a[name].arch_strs != c[name].arch_strs, name


def test_predictor_receives_the_pool_and_scores_candidates():
    oracle, _ = additive_oracle(3)
    calls = []

    def factory(strs, acc):
        calls.append((list(strs), np.array(acc)))
        return lambda cand: -np.arange(len(cand), dtype=float)  # prefers the first candidates

    res = predictor_guided_evolution(oracle, 25, factory, seed=0, initial=10, per_round=4, candidates=12)
    assert [len(s) for s, _ in calls] == [10, 14, 18, 22]  # retrained on every queried cell
    for strs, acc in calls:
        assert strs == res.arch_strs[:len(strs)]
        np.testing.assert_allclose(acc, res.accuracies[:len(strs)])
    # round 1 queries the first 4 candidates: mutations of the best initial cell, then the 2nd, ...
    order = np.argsort(-res.accuracies[:10], kind="stable")
    for k in range(4):
        assert res.arch_strs[10 + k] in NB201SearchSpace.neighbours(res.arch_strs[order[k]])
    with pytest.raises(ValueError, match="returned 1 scores for 12 candidates"):
        predictor_guided_evolution(oracle, 25, lambda s, a: (lambda c: np.zeros(1)), candidates=12)


def test_ridge_predictor_recovers_an_additive_function():
    oracle, w = additive_oracle(5)
    rng = np.random.default_rng(0)
    train = [ALL[i] for i in rng.choice(len(ALL), 200, replace=False)]
    score = ridge_onehot_predictor(alpha=1e-3)(train, [oracle.query(s) for s in train])
    test = [ALL[i] for i in rng.choice(len(ALL), 500, replace=False)]
    truth = np.array([oracle.query(s) for s in test])
    np.testing.assert_allclose(score(test), truth, atol=1e-2)


def test_predictor_guided_beats_random_and_evolution_on_an_additive_landscape():
    """With a predictor that can learn the landscape, the guided search reaches the unique
    optimum within a fraction of the budget; random search (1 in 15,625 per query) does not."""
    budget, seeds = 100, range(6)
    hit = {"random": [], "evolution": [], "predictor": []}
    for seed in seeds:
        oracle, _ = additive_oracle(10 + seed)
        best = oracle.best()[1]
        for name, res in _searches(oracle, budget, seed).items():
            found = np.flatnonzero(res.trajectory >= best)
            hit[name].append(found[0] + 1 if found.size else budget + 1)  # queries to the optimum
    mean = {k: float(np.mean(v)) for k, v in hit.items()}
    assert all(h <= budget for h in hit["predictor"]), hit
    assert mean["predictor"] < 65, mean
    assert mean["random"] > 95, mean
    assert mean["predictor"] < mean["evolution"] - 15, mean


def test_real_nb201_oracle(data_root, tmp_path_factory):
    from pyg_nar.datasets import NASBench201
    from pyg_nar.search import compare_searches
    cache = str(tmp_path_factory.mktemp("nb201_search"))
    ds = NASBench201(f"{cache}/nasbench201", raw_dir=data_root)
    oracle = BenchmarkOracle.from_dataset(ds)
    assert len(oracle) == 15625 and set(oracle.arch_strs) == set(ALL)
    arch, acc = oracle.best()
    assert acc == pytest.approx(94.3733, abs=1e-3)
    assert parse_arch_str(arch)[:3] == ["nor_conv_3x3"] * 3
    res = random_search(oracle, 20, seed=0)
    assert 80 < res.best_accuracy <= acc and oracle.rank_of(res.best_accuracy) > 0

    rows = compare_searches(budget=30, seeds=2, cache=cache, raw_dir=data_root, progress=False,
                            predictor="ridge")
    assert [r["method"] for r in rows] == ["random search", "regularized evolution",
                                           "predictor-guided (ridge)"]
    first = random_search(oracle, 30, seed=0).best_accuracy
    second = random_search(oracle, 30, seed=1).best_accuracy
    assert rows[0]["best_mean"] == pytest.approx((first + second) / 2)
    for r in rows:
        assert r["gap_to_optimum"] == pytest.approx(acc - r["best_mean"])
        assert 0 <= r["gap_to_optimum"] < 5 and r["mean_rank"] >= 1


def test_narformer_predictor_learns_and_is_repeatable():
    """The neural predictor (pyg_nar NARFormer + the training loop) ranks unseen cells of an
    additive landscape far better than chance, and two searches with one seed agree."""
    import torch

    from pyg_nar.metrics import kendall_tau
    from pyg_nar.search import narformer_predictor

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        oracle, _ = additive_oracle(7)
        rng = np.random.default_rng(0)
        idx = rng.choice(len(ALL), 340, replace=False)
        train, test = [ALL[i] for i in idx[:40]], [ALL[i] for i in idx[40:]]
        factory = narformer_predictor(epochs=15, dim=32, num_layers=1, batch_size=10, lr=3e-3, seed=0)
        score = factory(train, [oracle.query(s) for s in train])
        pred = score(test)
        assert pred.shape == (300,) and np.isfinite(pred).all()
        # chance: tau ~ N(0, 0.04) on 300 cells; 15 short epochs on 40 cells already give > 0.2
        assert kendall_tau(pred, [oracle.query(s) for s in test]) > 0.15

        runs = [predictor_guided_evolution(
            oracle, 12, narformer_predictor(epochs=1, dim=32, num_layers=1, seed=3), seed=1,
            initial=10, per_round=2, candidates=20) for _ in range(2)]
        assert runs[0].arch_strs == runs[1].arch_strs
    finally:
        torch.set_num_threads(threads)
