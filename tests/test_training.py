import json

import pytest
import torch
from torch import nn

from _synthetic import synthetic_graphs
from pyg_nar.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from pyg_nar.metrics import kendall_tau
from pyg_nar.models import NARFormer
from pyg_nar.training import TrainConfig, _lr_lambda, fit, param_groups, predict




def tiny_model(graphs, seed=0):
    torch.manual_seed(seed)
    return NARFormer.from_data(graphs[0], dim=32, num_layers=2, head_dim=16, dropout=0.1)


def cfg(**kw):
    base = dict(epochs=6, batch_size=16, lr=2e-3, warmup=0.1, progress=False)
    return TrainConfig(**{**base, **kw})


def test_training_lowers_the_loss():
    graphs = synthetic_graphs(96, seed=0)
    model = tiny_model(graphs)
    res = fit(model, graphs[:64], graphs[64:], cfg(epochs=8, sr_weight=0.1, ac_weight=0.5))
    losses = [h["loss"] for h in res.history]
    assert losses[-1] < 0.7 * losses[0]
    assert {"mse", "sr", "ac", "lr", "val_kendall_tau"} <= set(res.history[-1])
    assert res.best_metric > 0.3
    assert res.wall_time > 0 and len(res.history) == 8


def test_best_is_a_real_copy_not_the_last_weights():
    graphs = synthetic_graphs(80, seed=2)
    val = synthetic_graphs(30, seed=3)
    for g in val:  # validation labels rank the other way round: val tau falls as training works
        g.y = 1.0 - g.y
    model = tiny_model(graphs)
    res = fit(model, graphs, val, cfg(epochs=6))
    taus = [h["val_kendall_tau"] for h in res.history]
    assert res.best_epoch < len(taus) and taus[-1] < res.best_metric
    val_y = torch.cat([g.y for g in val])
    # the model now holds the best epoch's weights, not the last ones
    assert kendall_tau(predict(model, val), val_y) == pytest.approx(res.best_metric)
    assert kendall_tau(predict(model, val), val_y) != pytest.approx(taus[-1])


def test_ema_selection_and_seeded_repeatability():
    graphs = synthetic_graphs(48, seed=4)
    preds = []
    for _ in range(2):
        model = tiny_model(graphs, seed=7)
        res = fit(model, graphs[:32], graphs[32:], cfg(epochs=3, ema_decay=0.9, sr_weight=0.1,
                                                         ac_weight=0.5, seed=11))
        preds.append(predict(model, graphs))
        val_y = torch.cat([g.y for g in graphs[32:]])
        assert kendall_tau(predict(model, graphs[32:]), val_y) == pytest.approx(res.best_metric)
    assert torch.equal(preds[0], preds[1])
    model = tiny_model(graphs, seed=7)
    fit(model, graphs[:32], graphs[32:], cfg(epochs=3, ema_decay=0.9, seed=12))
    assert not torch.equal(predict(model, graphs), preds[0])


def test_fit_without_val_and_clear_errors():
    graphs = synthetic_graphs(20, aug=False)
    model = tiny_model(graphs)
    res = fit(model, graphs, None, cfg(epochs=2))
    assert res.best_metric is None and res.best_epoch == 2
    with pytest.raises(ValueError, match="aug_tokens"):
        fit(model, graphs, None, cfg(epochs=1, ac_weight=0.5))
    with pytest.raises(ValueError, match="unknown select_metric"):
        TrainConfig(select_metric="accuracy")
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(schedule="step")


def test_schedules_and_param_groups():
    lin = _lr_lambda("linear", total=100, warmup=10)
    assert lin(0) == pytest.approx(0.1) and lin(9) == pytest.approx(1.0)
    assert lin(55) == pytest.approx(0.5) and lin(100) == 0.0
    cos = _lr_lambda("cosine", total=100, warmup=10)
    assert cos(10) == pytest.approx(1.0) and cos(55) == pytest.approx(0.5) and cos(100) == pytest.approx(0.0)
    m = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4))
    decay, no_decay = param_groups(m, 0.01)
    assert [p.shape for p in decay["params"]] == [(4, 3)]
    assert len(no_decay["params"]) == 3 and no_decay["weight_decay"] == 0.0


def test_checkpoint_roundtrip(tmp_path):
    graphs = synthetic_graphs(24, token_dim=20, depth_dim=6)
    model = tiny_model(graphs)
    fit(model, graphs[:16], graphs[16:], cfg(epochs=2))
    before = predict(model, graphs)
    save_checkpoint(str(tmp_path / "ck"), model, transform={"kind": "tokenize"},
                    metrics={"tau": 0.5}, op_vocab=["input", "conv", "output"])
    loaded, transform, info = load_checkpoint(str(tmp_path / "ck"))
    assert type(loaded) is NARFormer and not loaded.training
    assert torch.equal(predict(loaded, graphs), before)
    assert transform == {"kind": "tokenize"}
    assert info["op_vocab"] == ["input", "conv", "output"] and info["metrics"] == {"tau": 0.5}


def test_checkpoint_errors(tmp_path):
    with pytest.raises(CheckpointError, match="model.json: file not found"):
        load_checkpoint(str(tmp_path / "nothing"))
    graphs = synthetic_graphs(4)
    path = tmp_path / "ck"
    save_checkpoint(str(path), tiny_model(graphs))
    meta = json.loads((path / "model.json").read_text())
    meta["config"]["dim"] = 64
    (path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="model.pt: weights do not fit NARFormer"):
        load_checkpoint(str(path))
    meta["class"] = "NoSuchModel"
    (path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="unknown model class 'NoSuchModel'"):
        load_checkpoint(str(path))
