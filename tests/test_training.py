import json
import math

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


# ------------------------------------------------------------- degenerate labels, divergence
class Scaled(nn.Module):
    """A one-parameter latency model ``exp(w) * x`` that can be made to fail on purpose:
    ``nan_calls``: forward calls that return NaN."""

    def __init__(self, nan_calls=()):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))
        self.calls, self.nan_calls = 0, set(nan_calls)

    def forward(self, batch):
        self.calls += 1
        out = torch.exp(self.w) * batch.x.view(-1)
        return out * float("nan") if self.calls in self.nan_calls else out


def latency_graphs(ys, xs=None):
    from torch_geometric.data import Data
    xs = xs if xs is not None else [1.0] * len(ys)
    return [Data(x=torch.tensor([[x]]), y=torch.tensor([y]), num_nodes=1) for x, y in zip(xs, ys)]


def test_degenerate_labels_are_dropped_with_a_message():
    from pyg_nar.errors import TrainingNote
    ys = [2.0] * 20 + [0.0, -1.0, float("nan"), 0.001]
    config = cfg(epochs=3, batch_size=8, lr=0.1, loss="log_mse", select_metric="mape")
    with pytest.warns(TrainingNote, match="24 targets: 1 not finite .* 2 <= 0 .* 1 near zero.*: "
                                          "dropped, 20 kept") as w:
        res = fit(Scaled(), latency_graphs(ys), latency_graphs([2.0, 2.0, 0.0]), config)
    assert len(res.notes) == 2 and res.notes[0].startswith("fit, training 24 targets")
    assert res.notes[1] == "fit, validation 3 targets: 1 <= 0 (1 zero, 0 negative): dropped, 2 kept"
    assert len(w) == 2 and all(math.isfinite(h["loss"]) for h in res.history)
    assert math.isfinite(res.best_metric)
    with pytest.raises(ValueError, match="no training graph is left"):
        fit(Scaled(), latency_graphs([0.0, -2.0]), None, config)


def test_relative_mse_collapses_where_log_mse_learns():
    """Targets spanning four decades (raspi4's NB201 latencies): 0.011 ms next to 25 ms. The
    relative MSE is pulled to the smallest target (its optimum predicts ~0 for 25 ms); the
    log loss goes to the geometric mean; and fit drops the near-zero targets anyway."""
    from pyg_nar.losses import log_mse_loss, relative_mse_loss
    ys = torch.tensor([0.011, 25.0, 30.0, 20.0])
    c = torch.logspace(-3, 2, 501)
    rel = torch.stack([relative_mse_loss(v.expand(4), ys) for v in c])
    log = torch.stack([log_mse_loss(v.expand(4), ys) for v in c])
    assert float(c[rel.argmin()]) < 0.05
    geo = float(torch.exp(torch.log(ys).mean()))
    assert float(c[log.argmin()]) == pytest.approx(geo, rel=0.05)
    model = Scaled()
    with pytest.warns(Warning, match="8 near zero"):
        res = fit(model, latency_graphs(ys.tolist() * 8), None,
                  cfg(epochs=30, batch_size=8, lr=0.1, loss="log_mse", select_metric="mape"))
    assert res.notes and 15.0 < float(torch.exp(model.w.detach())) < 30.0  # towards 24.7, not 0


def test_a_non_finite_loss_is_rolled_back_at_a_lower_lr():
    from pyg_nar.errors import TrainingNote
    graphs = latency_graphs([2.0] * 16)
    model = Scaled(nan_calls={9})  # 4 batches an epoch: epoch 3's first batch gives NaN
    config = cfg(epochs=5, batch_size=4, lr=0.05, loss="log_mse", warmup=0.0, schedule="constant")
    with pytest.warns(TrainingNote, match=r"epoch 3 diverged \(the loss became nan\); rolled back "
                                          r"to epoch 2 and went on at 0.5 x the learning rate"):
        res = fit(model, graphs, None, config)
    assert res.history[2]["rolled_back_to"] == 2
    assert res.history[3]["lr"] == pytest.approx(0.025) and res.history[1]["lr"] == pytest.approx(0.05)
    assert all(math.isfinite(h["loss"]) for i, h in enumerate(res.history) if i != 2)
    assert len(res.notes) == 1


def test_a_loss_that_keeps_diverging_is_a_named_error():
    from pyg_nar.errors import PygNarError, TrainingDivergedError
    graphs = latency_graphs([2.0] * 8)
    model = Scaled(nan_calls=set(range(3, 100)))  # sound first epoch (2 batches), then NaN
    config = cfg(epochs=8, batch_size=4, lr=0.05, loss="log_mse", max_restarts=2)
    with pytest.warns(Warning):
        with pytest.raises(TrainingDivergedError, match=r"diverged at epoch 4.*after 2 restarts") as e:
            fit(model, graphs, None, config)
    assert isinstance(e.value, PygNarError) and isinstance(e.value, FloatingPointError)
    # with the guard off, the first non-finite loss stops training as before
    with pytest.raises(FloatingPointError, match="loss became NaN or infinite at step 1 of 2 in epoch 2"):
        fit(Scaled(nan_calls=set(range(3, 100))), graphs, None,
            cfg(epochs=3, batch_size=4, loss="log_mse", divergence_factor=None))


def test_a_growing_loss_counts_as_divergence():
    from pyg_nar.guards import DivergenceGuard
    from pyg_nar.errors import TrainingDivergedError
    model = nn.Linear(1, 1)
    opt = torch.optim.AdamW(model.parameters(), lr=1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)
    guard = DivergenceGuard(factor=4.0, max_restarts=1)
    guard.observe(1, 16.0, model, opt, sched)
    saved = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(5.0)
    assert not guard.diverged(60.0) and guard.diverged(148.0) and guard.diverged(float("inf"))
    msg = guard.recover(2, 148.0, model, opt, sched)
    assert "the loss rose to 148, over 4 x its lowest 16 (epoch 1)" in msg
    assert torch.equal(model.weight, saved) and opt.param_groups[0]["lr"] == pytest.approx(0.5)
    with pytest.raises(TrainingDivergedError, match="after 1 restarts"):
        guard.recover(3, 245.0, model, opt, sched)
    with pytest.raises(ValueError, match="factor > 1"):
        DivergenceGuard(factor=1.0)
