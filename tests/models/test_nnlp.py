import math

import pytest
import torch
from torch_geometric.data import Batch

from _synthetic import relative_mse_drop
from pyg_nar.data import arch_data
from pyg_nar.models import NNLP, FLOPsRegression

NUM_OPS = 5




def network(n, seed, flops=None, y=None):
    """A synthetic whole-network graph (chain plus skips) with every whole-network field."""
    g = torch.Generator().manual_seed(seed)
    edges = [(i, i + 1) for i in range(n - 1)] + [(i, i + 2) for i in range(0, n - 2, 3)]
    static = torch.rand(1, 4, generator=g) * 3 + 0.1
    if flops is not None:
        static[0, 1] = flops
    if y is None:
        y = float(0.5 + static[0, 1] + 0.05 * n)
    return arch_data(torch.randint(0, NUM_OPS, (n,), generator=g), edges, y=y,
                     op_attrs=torch.randint(0, 4, (n, 8), generator=g).float(),
                     out_shape=torch.randint(1, 64, (n, 4), generator=g).float(), static=static)


def small_nnlp(**kw):
    return NNLP(NUM_OPS, hidden=32, **kw)


def test_nnlp_output_positive_shape_and_batched_equals_single():
    torch.manual_seed(0)
    model = small_nnlp().eval()
    graphs = [network(n, seed=n) for n in (3, 8, 17, 30)]
    with torch.no_grad():
        out = model(Batch.from_data_list(graphs))
        single = torch.cat([model(Batch.from_data_list([g])) for g in graphs])
    assert out.shape == (4,)
    assert (out > 0).all()
    assert torch.allclose(out, single, atol=1e-6)
    assert len(set(out.tolist())) == 4


def test_nnlp_node_features_follow_nnlqp_normalisation():
    model = small_nnlp()
    g = network(2, seed=0)
    g.op = torch.tensor([0, 3])
    g.op_attrs = torch.tensor([[3.0, 1, 1, 1, 1, 1, 0, 0], [0.0] * 8])
    g.out_shape = torch.tensor([[1.0, 64, 56, 56], [0, 0, 0, 0]])
    x = model.node_features(g)
    assert x.shape == (2, NUM_OPS + 12)
    assert x[0, :NUM_OPS].tolist() == [1, 0, 0, 0, 0] and x[1, 3] == 1
    attrs = x[0, NUM_OPS:NUM_OPS + 8]
    assert attrs[0].item() == pytest.approx((3 - 2.53) / 56)  # kernel
    assert attrs[4].item() == pytest.approx((1 - 15.08) / 6144)  # groups
    shape = x[0, NUM_OPS + 8:]
    assert shape[1].item() == pytest.approx((64 - 286.96) / 2496)  # channels
    assert shape[2].item() == pytest.approx((56 - 32.62) / 256)  # height


def test_nnlp_uses_static_and_adjacency_and_rebuilds():
    torch.manual_seed(1)
    model = small_nnlp(static_scale=[1, 2, 1, 1]).eval()
    g = network(9, seed=3)
    with torch.no_grad():
        base = model(g)
        g2 = g.clone()
        g2.static = g.static * 2
        assert not torch.allclose(base, model(g2))
        g3 = g.clone()
        g3.edge_index = g.edge_index[:, :3]
        assert not torch.allclose(base, model(g3))
        assert model.config["static_scale"] == [1, 2, 1, 1]
        assert NNLP(NUM_OPS, hidden=8).config["static_scale"] == [1, 1e-3, 1e-3, 1e-3]
        rebuilt = type(model)(**model.config).eval()
        rebuilt.load_state_dict(model.state_dict())
        assert torch.allclose(rebuilt(g), base)


def test_nnlp_clear_errors():
    cell = arch_data([0, 1, 2], [[0, 1], [1, 2]], y=1.0)
    with pytest.raises(KeyError, match="op_attrs"):
        small_nnlp()(cell)
    g = network(4, seed=0)
    with pytest.raises(ValueError, match="static has 4 features"):
        NNLP(NUM_OPS, static_dim=3, static_scale=None, hidden=16)(g)
    with pytest.raises(ValueError, match="static_scale"):
        NNLP(NUM_OPS, static_scale=[1.0])
    with pytest.raises(ValueError, match="needs static_dim=4"):
        NNLP(NUM_OPS, static_dim=3)


def test_nnlp_training_step_lowers_relative_mse():
    torch.manual_seed(2)
    batch = Batch.from_data_list([network(n, seed=50 + n) for n in range(3, 23)])
    model = small_nnlp()
    before, after = relative_mse_drop(model, batch, steps=20, lr=3e-3)
    assert after < 0.5 * before


# ---------------------------------------------------------------- FLOPs regression
def test_flops_regression_recovers_linear_relation_exactly():
    flops = [0.5, 1.0, 2.0, 3.5, 8.0, 13.0]
    graphs = [network(4, seed=k, flops=f, y=3.0 * f + 2.0) for k, f in enumerate(flops)]
    model = FLOPsRegression(space="linear").fit(graphs)
    assert model.coef.tolist() == pytest.approx([3.0, 2.0], abs=1e-9)
    pred = model(Batch.from_data_list(graphs))
    assert pred.shape == (6,)
    assert torch.allclose(pred, torch.tensor([3.0 * f + 2.0 for f in flops]), rtol=1e-6)
    unseen = network(5, seed=99, flops=20.0, y=1.0)
    assert model(unseen).item() == pytest.approx(62.0, rel=1e-6)


def test_flops_regression_recovers_power_law_in_log_space():
    flops = [0.1, 0.4, 1.0, 2.5, 9.0]
    graphs = [network(4, seed=k, flops=f, y=5.0 * f ** 0.7) for k, f in enumerate(flops)]
    model = FLOPsRegression(space="log").fit(graphs)
    a, b = model.coef.tolist()
    assert a == pytest.approx(0.7, abs=1e-6) and b == pytest.approx(math.log(5.0), abs=1e-6)
    assert model(network(4, seed=7, flops=4.0, y=1.0)).item() == pytest.approx(
        5.0 * 4.0 ** 0.7, rel=1e-5)
    rebuilt = FLOPsRegression(**model.config)
    rebuilt.load_state_dict(model.state_dict())
    assert rebuilt.coef.tolist() == pytest.approx([a, b])


def test_flops_regression_errors():
    g = network(4, seed=0)
    with pytest.raises(RuntimeError, match="fit"):
        FLOPsRegression()(g)
    with pytest.raises(ValueError, match="FLOPs 0.0"):
        FLOPsRegression(space="log").fit([network(4, 0, flops=0.0), network(4, 1, flops=1.0)])
    with pytest.raises(KeyError, match="static"):
        FLOPsRegression().fit([arch_data([0, 1], [[0, 1]], y=1.0)] * 2)
    with pytest.raises(ValueError, match="space"):
        FLOPsRegression(space="sqrt")


def test_checkpoint_round_trip_of_the_baselines(tmp_path):
    from pyg_nar.checkpoint import load_checkpoint, save_checkpoint

    torch.manual_seed(3)
    graphs = [network(n, seed=n) for n in (4, 7, 11)]
    batch = Batch.from_data_list(graphs)
    for model in (small_nnlp().eval(), FLOPsRegression(space="linear").fit(graphs)):
        path = save_checkpoint(str(tmp_path / type(model).__name__), model)
        loaded, _, info = load_checkpoint(path)
        assert type(loaded) is type(model) and info["config"] == model.config
        assert torch.allclose(loaded(batch), model(batch))
