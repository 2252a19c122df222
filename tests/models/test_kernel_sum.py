import pytest
import torch
from torch_geometric.data import Batch

from pyg_nar.data import arch_data
from pyg_nar.errors import FieldError
from pyg_nar.models import KernelSum

NUM_OPS = 4


def network(ops, costs, y=1.0):
    n = len(ops)
    return arch_data(torch.tensor(ops), [(i, i + 1) for i in range(n - 1)], y=y,
                     op_attrs=torch.zeros(n, 8), out_shape=torch.ones(n, 4),
                     node_cost=torch.tensor(costs, dtype=torch.float).view(n, 4))


def test_latency_is_the_sum_of_positive_node_latencies():
    torch.manual_seed(0)
    model = KernelSum(NUM_OPS, hidden=16, op_dim=4).eval()
    torch.nn.init.normal_(model.correction.lins[-1].weight)
    a = network([0, 1, 2], [[0, 0, 1, 0], [5, 2, 1, 1], [0, 1, 1, 0]])
    b = network([0, 3, 1, 2, 2], [[0, 0, 1, 0], [1, 1, 1, 0], [9, 3, 2, 2], [0, 2, 2, 0], [0, 2, 2, 0]])
    with torch.no_grad():
        out = model(Batch.from_data_list([a, b]))
        t = model.node_latency(Batch.from_data_list([a]))
    assert out.shape == (2,) and bool((out > 0).all())
    assert out[0].item() == pytest.approx(t.sum().item(), rel=1e-5) and bool((t > 0).all())
    with torch.no_grad():  # batched = one graph at a time
        single = torch.cat([model(Batch.from_data_list([g])) for g in (a, b)])
    assert torch.allclose(out, single, rtol=1e-5)
    # an untrained model is the initial roofline: e^u ms per MFLOP + e^v per MB + e^w per node
    fresh = KernelSum(NUM_OPS, init=(-1.0, -2.0, -3.0))
    e = lambda v: torch.exp(torch.tensor(v)).item()
    want = e(-1.0) * 5 + e(-2.0) * (1 + 3 + 2) + 3 * e(-3.0)
    assert fresh(Batch.from_data_list([a])).item() == pytest.approx(want, rel=1e-5)


def test_learns_per_operator_costs_that_transfer_to_unseen_mixes():
    """Latency = 2 ms per MFLOP of op 1 + 0.5 ms per MB moved by op 2 + 0.1 ms per node of op 3
    (+ small overheads);
    trained on graphs of ops 1 and 2 only or 3 only, it predicts graphs that mix all three."""
    from pyg_nar.training import TrainConfig, fit, predict
    g = torch.Generator().manual_seed(0)

    def sample(ops_pool, k):
        out = []
        for _ in range(k):
            n = int(torch.randint(3, 9, (1,), generator=g))
            ops = [0] + [ops_pool[int(i)] for i in torch.randint(0, len(ops_pool), (n - 1,), generator=g)]
            costs = torch.rand(n, 4, generator=g) * 4 + 0.1
            y = sum(2 * c[0] + 0.05 if o == 1 else 0.5 * (c[1] + c[2]) + 0.05 if o == 2 else 0.1 if o == 3 else 0.01
                    for o, c in zip(ops, costs.tolist()))
            out.append(network(ops, costs.tolist(), max(y, 0.05)))
        return out

    train = sample([1, 2], 150) + sample([3], 50)
    test = sample([1, 2, 3], 40)
    torch.manual_seed(0)
    model = KernelSum(NUM_OPS, hidden=32, op_dim=8)
    fit(model, train, None, TrainConfig(epochs=100, batch_size=16, lr=1e-2, loss="log_mse",
                                        select_metric="mape", progress=False))
    y = torch.cat([d.y for d in test])
    err = ((predict(model, test) - y).abs() / y).mean().item()
    assert err < 0.12, err


def test_missing_node_costs_are_named():
    model = KernelSum(NUM_OPS)
    d = network([0, 1], [[0, 0, 1, 0], [1, 1, 1, 0]])
    del d.node_cost
    with pytest.raises(FieldError, match="node_cost.*graph format 2"):
        model(Batch.from_data_list([d]))
