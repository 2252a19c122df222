"""The calibration map of accuracy checkpoints: isotonic regression against its defining
formula, monotonicity, ranking metrics unchanged, JSON round trip, and what `predict` and
`evaluate` show with it; the FlowerFormer protocol's pools in every entry point."""
import json
import os.path as osp

import numpy as np
import pytest
import torch

from pyg_nar import metrics as M
from pyg_nar.calibration import AccuracyCalibration, isotonic_fit
from pyg_nar.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from test_cli import run

ARCHS = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
         "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
         "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"]


def min_max_isotonic(x, y):
    """The isotonic regression by its min-max formula (Barlow et al. 1972): at the i-th
    distinct score, max over j <= i of min over k >= i of the mean of y over scores j..k."""
    xs = np.unique(x)
    sums = np.array([y[x == v].sum() for v in xs])
    counts = np.array([(x == v).sum() for v in xs])
    out = []
    for i in range(len(xs)):
        out.append(max(min(sums[j:k + 1].sum() / counts[j:k + 1].sum() for k in range(i, len(xs)))
                       for j in range(i + 1)))
    return xs, np.array(out)


@pytest.mark.parametrize("seed", range(5))
def test_isotonic_fit_is_the_min_max_formula(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 25, 60).astype(float)          # with ties
    y = 0.02 * x + rng.normal(0, 0.2, 60)
    centres, values = isotonic_fit(x, y)
    xs, ref = min_max_isotonic(x, y)
    assert np.all(np.diff(centres) > 0) and np.all(np.diff(values) > 0)
    # the formula's values, one per distinct score, are the blocks' values, each block once
    np.testing.assert_allclose(np.unique(np.round(ref, 10)), np.round(values, 10), atol=1e-9)
    # each block's centre is the mean score of the distinct scores with its value
    for c, v in zip(centres, values):
        members = np.isclose(ref, v, atol=1e-9)
        weights = np.array([(x == xv).sum() for xv in xs[members]])
        assert c == pytest.approx((xs[members] * weights).sum() / weights.sum())


def test_isotonic_fit_small_cases_and_errors():
    c, v = isotonic_fit([1, 2, 3], [1.0, 3.0, 2.0])
    np.testing.assert_allclose(c, [1.0, 2.5])
    np.testing.assert_allclose(v, [1.0, 2.5])
    c, v = isotonic_fit([3, 2, 1], [1.0, 2.0, 3.0])   # decreasing: one block, the mean
    np.testing.assert_allclose(c, [2.0])
    np.testing.assert_allclose(v, [2.0])
    with pytest.raises(ValueError, match="as many scores as targets"):
        isotonic_fit([1, 2], [1.0])
    with pytest.raises(ValueError, match="finite"):
        isotonic_fit([1, float("nan")], [1.0, 2.0])


def test_map_is_monotone_and_ranking_metrics_are_unchanged():
    rng = np.random.default_rng(0)
    train_s = rng.normal(0, 50, 78)
    train_y = 0.7 + 0.002 * train_s + rng.normal(0, 0.03, 78)
    ref = rng.normal(0, 50, 2000)
    cal = AccuracyCalibration.fit(train_s, train_y, ref)
    grid = np.linspace(-300, 300, 5001)
    acc = cal.accuracy(grid)
    assert np.all(np.diff(acc) >= 0)
    inside = grid[(grid > cal.centres[0]) & (grid < cal.centres[-1])]
    assert np.all(np.diff(cal.accuracy(inside)) > 0)       # strictly increasing on its range
    # ranking metrics of the mapped scores = those of the raw scores (test cells in range)
    test_s = torch.from_numpy(rng.uniform(cal.centres[0], cal.centres[-1], 500))
    true = test_s * 0.001 + torch.from_numpy(rng.normal(0, 0.05, 500))
    mapped = torch.from_numpy(cal.accuracy(test_s.numpy()))
    assert M.kendall_tau(mapped, true) == pytest.approx(M.kendall_tau(test_s, true), abs=1e-12)
    assert M.spearman_rho(mapped, true) == pytest.approx(M.spearman_rho(test_s, true), abs=1e-12)
    assert M.precision_at_k(mapped, true, 5) == M.precision_at_k(test_s, true, 5)
    # percentiles: the reference's own order
    p = cal.percentile(np.sort(ref))
    assert np.all(np.diff(p) >= 0) and p[0] == pytest.approx(0) and p[-1] == pytest.approx(100)
    assert cal.percentile(np.median(ref)) == pytest.approx(50, abs=0.2)


def test_json_round_trip_and_damaged_files(tmp_path):
    from pyg_nar.models import GNN

    cal = AccuracyCalibration.fit([0.0, 1.0, 2.0], [0.5, 0.6, 0.9], [0.0, 1.0, 2.0, 3.0])
    assert AccuracyCalibration.from_dict(json.loads(json.dumps(cal.to_dict()))) == cal
    save_checkpoint(str(tmp_path / "c"), GNN(7, channels=8), calibration=cal)
    assert load_checkpoint(str(tmp_path / "c"))[2]["calibration"] == cal
    path = tmp_path / "c" / "calibration.json"
    path.write_text("{not json")
    with pytest.raises(CheckpointError, match="calibration.json: not JSON"):
        load_checkpoint(str(tmp_path / "c"))
    path.write_text(json.dumps(dict(cal.to_dict(), values=[0.9, 0.6, 0.5])))
    with pytest.raises(CheckpointError, match="calibration.json: the calibration map is not increasing"):
        load_checkpoint(str(tmp_path / "c"))
    path.write_text(json.dumps({"centres": [1.0]}))
    with pytest.raises(CheckpointError, match="calibration.json: not a calibration map"):
        load_checkpoint(str(tmp_path / "c"))


def _nb201_checkpoint(path, model, scores):
    from pyg_nar.datasets.nasbench201 import NB201_VOCAB

    cal = AccuracyCalibration.fit(scores, 0.5 + 0.01 * np.arange(len(scores)), scores)
    info = dict(model="gnn", dataset="nasbench201", task="accuracy", protocol="flowerformer",
                train_size=0.01, seed=0, num_val=None, train_pool=7813)
    save_checkpoint(path, model, extra=info, op_vocab=list(NB201_VOCAB), calibration=cal)
    return cal


def test_predict_prints_accuracy_percentile_and_the_spread_of_an_ensemble(tmp_path):
    from pyg_nar import pipeline
    from pyg_nar.datasets import nb201_cell_graph
    from pyg_nar.models import GNN, ScoreEnsemble
    from pyg_nar.training import predict

    torch.manual_seed(0)
    model = GNN(7, channels=8).eval()
    scores = predict(model, [nb201_cell_graph(a) for a in ARCHS]).numpy()
    cal = _nb201_checkpoint(str(tmp_path / "one"), model, np.r_[scores, scores.min() - 1, scores.max() + 1])
    rows = pipeline.predict(str(tmp_path / "one"), ARCHS)
    for row, s in zip(rows, scores):
        assert row["score"] == pytest.approx(float(s), abs=1e-6)
        assert row["accuracy %"] == pytest.approx(100 * float(cal.accuracy(s)), abs=1e-6)
        assert 0 <= row["percentile"] <= 100 and "spread %" not in row
    r = run("predict", str(tmp_path / "one"), ARCHS[0], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "accuracy %" in r.stdout and "percentile" in r.stdout

    members = [GNN(7, channels=8).eval() for _ in range(3)]
    ens = ScoreEnsemble.from_models(members).calibrate([nb201_cell_graph(a) for a in ARCHS]).eval()
    e_scores = predict(ens, [nb201_cell_graph(a) for a in ARCHS]).numpy()
    cal = _nb201_checkpoint(str(tmp_path / "ens"), ens, np.r_[e_scores, -5.0, 5.0])
    rows = pipeline.predict(str(tmp_path / "ens"), ARCHS)
    with torch.no_grad():
        from torch_geometric.data import Batch
        per_member = ens.member_scores(Batch.from_data_list([nb201_cell_graph(a) for a in ARCHS]))
    expect = (100 * cal.accuracy(per_member.numpy())).std(axis=0)
    for row, e in zip(rows, expect):
        assert row["spread %"] == pytest.approx(float(e), abs=1e-6) and row["spread %"] >= 0


def test_splits_use_the_papers_pools():
    from pyg_nar.pipeline import make_split
    from pyg_nar.splits import train_pool

    assert train_pool("nasbench201", 15625) == 7813 and train_pool("nasbench201:cifar100_test_200ep", 15625) == 7813
    assert train_pool("nasbench_graph:cora", 26206) == 13103
    assert train_pool("nasbench101", 423624) == 7290 and train_pool("nasbench101", 500) == 500
    assert train_pool("nnlqp:zoo", 120) == 120
    sizes = lambda s: {k: len(v) for k, v in s.items()}  # noqa: E731
    assert sizes(make_split(15625, "flowerformer", 0.05, 0, dataset="nasbench201")) == \
        {"train": 390, "val": 40, "test": 15195}
    assert sizes(make_split(15625, "flowerformer", 0.01, 0, dataset="nasbench201"))["train"] == 78
    assert sizes(make_split(15625, "flowerformer", 390, 0, dataset="nasbench201"))["train"] == 390


def test_cli_train_prints_its_counts_and_writes_a_calibrated_checkpoint(data_root, tmp_path):
    env = {"PYG_NAR_DATA": data_root}
    r = run("train", "gnn", "nasbench101", "--protocol", "flowerformer", "--train-size", "0.1",
            "--epochs", "3", "--out", "g", "--quiet", cwd=tmp_path, env_extra=env)
    assert r.returncode == 0, r.stderr
    assert ("split (flowerformer protocol): train 50 = 10% of the 500-architecture pool, val 40, "
            "test 410 of 500") in r.stdout
    assert osp.isfile(tmp_path / "g" / "calibration.json")
    _, _, info = load_checkpoint(str(tmp_path / "g"))
    assert info["calibration"].num_train == 50 and info["calibration"].num_reference == 500
    saved = json.load(open(tmp_path / "g" / "metrics.json"))
    r = run("evaluate", "g", "--split", "test", cwd=tmp_path, env_extra=env)
    assert r.returncode == 0, r.stderr
    res = json.load(open(tmp_path / "g" / "eval_test.json"))
    # ranking metrics come from the raw scores: the training run's figure, map or not
    assert res["kendall_tau"] == pytest.approx(saved["metrics"]["test"]["kendall_tau"], abs=1e-9)
    assert 0 <= res["accuracy_mae_pct"] < 100
    if res.get("plot"):
        assert osp.isfile(tmp_path / res["plot"])
