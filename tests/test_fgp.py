"""FGP: the flow surrogate (vectorised vs. node by node), its transform, graph embeddings of
every predictor and the pre-training loop."""
import numpy as np
import pytest
import torch
from torch_geometric.data import Batch, Data

from pyg_nar.errors import ArchitectureError, PipelineError
from pyg_nar.models import GNN, FlowerFormer, NARFormerV2, NNFormer
from pyg_nar.pretraining import FGPConfig, fgp_pretrain, graph_embedding, surrogate_targets
from pyg_nar.transforms import (FlowMask, FlowSurrogate, SymmetricAdjacency, TokenizeV2,
                                TopologicalGenerations, flow_surrogate)
from pyg_nar.transforms.flow_surrogate import surrogate_parameters


def reference_surrogate(op, edges, n, num_ops, dim, std, alpha, seed):
    """The flow surrogate computed node by node: a plain Python loop over a topological order
    (forward), then over its reverse (backward), one node at a time."""
    r, P, W = (t.numpy() for t in surrogate_parameters(num_ops, dim, std, seed))
    preds = [[s for s, d in edges if d == v] for v in range(n)]
    succs = [[d for s, d in edges if s == v] for v in range(n)]
    # a topological order by repeatedly taking a node whose predecessors are all placed
    order, placed = [], set()
    while len(order) < n:
        v = next(v for v in range(n) if v not in placed and all(u in placed for u in preds[v]))
        order.append(v)
        placed.add(v)
    h = [np.array(r) if not preds[v] else np.zeros(dim) for v in range(n)]

    def g(v, m):
        z = np.concatenate([P[op[v]], m]) @ W
        return alpha * m + (1 - alpha) * np.maximum(z, 0.0)

    for v in order:                     # forward
        if preds[v]:
            h[v] = g(v, sum(h[u] for u in preds[v]))
    for v in reversed(order):           # backward
        if succs[v]:
            h[v] = g(v, sum(h[w] for w in succs[v]))
    return sum(h[v] for v in range(n) if not preds[v])


def random_dag(n, p, seed, num_ops=5, sources=1):
    rng = np.random.RandomState(seed)
    edges = [(i, j) for i in range(n) for j in range(i + 1, n) if rng.rand() < p]
    for j in range(sources, n):  # every non-source node gets a predecessor
        if not any(d == j for _, d in edges):
            edges.append((int(rng.randint(0, j)), j))
    edges = [(s, d) for s, d in edges if d >= sources]  # the first `sources` nodes stay sources
    op = rng.randint(0, num_ops, n).tolist()
    return op, edges


@pytest.mark.parametrize("seed", range(6))
def test_vectorised_surrogate_equals_node_by_node(seed):
    graphs, refs = [], []
    for k in range(4):  # a batch of DAGs of different sizes, one or two sources
        n = 3 + (seed + 2 * k) % 9
        op, edges = random_dag(n, 0.35, 10 * seed + k, sources=1 + k % 2)
        refs.append(reference_surrogate(op, edges, n, 5, 7, 0.3, 0.5, seed))
        graphs.append(Data(op=torch.tensor(op), edge_index=torch.tensor(edges).t().reshape(2, -1),
                           num_nodes=n))
    b = Batch.from_data_list(graphs)
    got = flow_surrogate(b.op, b.edge_index, 5, b.batch, b.num_graphs, dim=7, std=0.3, seed=seed)
    assert got.shape == (4, 7) and got.dtype == torch.float32
    assert np.allclose(got.numpy(), np.stack(refs), rtol=1e-5, atol=1e-6)


def test_surrogate_of_an_nb201_cell_by_hand():
    # input 0 -> ops 1, 2 -> output 3 (a 4-node diamond)
    op, edges = [0, 1, 2, 3], [(0, 1), (0, 2), (1, 3), (2, 3)]
    r, P, W = (t.numpy() for t in surrogate_parameters(4, 3, 0.5, 7))
    g = lambda v, m: 0.5 * m + 0.5 * np.maximum(np.concatenate([P[op[v]], m]) @ W, 0)  # noqa: E731
    h1, h2 = g(1, r), g(2, r)
    h3 = g(3, h1 + h2)
    b1, b2 = g(1, h3), g(2, h3)
    expected = g(0, b1 + b2)
    got = flow_surrogate(torch.tensor(op), torch.tensor(edges).t(), 4, dim=3, std=0.5, seed=7)
    assert np.allclose(got[0].numpy(), expected, atol=1e-6)


def test_flow_surrogate_transform_matches_batched_call_and_repr():
    op, edges = random_dag(8, 0.4, 3)
    d = Data(op=torch.tensor(op), edge_index=torch.tensor(edges).t(), num_nodes=8)
    t = FlowSurrogate(5, dim=4, std=1.0, seed=2)
    out = t(d.clone())
    assert out.flow_surrogate.shape == (1, 4)
    ref = flow_surrogate(d.op, d.edge_index, 5, dim=4, std=1.0, seed=2)
    assert torch.equal(out.flow_surrogate, ref)
    assert "dim=4" in repr(t) and "seed=2" in repr(t)
    # batching stacks the graph-level field
    assert Batch.from_data_list([out, out]).flow_surrogate.shape == (2, 4)


def test_flow_surrogate_errors_name_the_graph():
    d = Data(op=torch.tensor([0, 9]), edge_index=torch.tensor([[0], [1]]), num_nodes=2,
             arch_id=torch.tensor([42]))
    with pytest.raises(ArchitectureError, match="architecture 42.*operation index 9"):
        FlowSurrogate(5)(d)
    cyc = Data(op=torch.tensor([0, 1]), edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=2)
    with pytest.raises(ArchitectureError, match="cycle"):
        FlowSurrogate(5)(cyc)


def cells(num, seed=0, num_ops=5):
    out = []
    for k in range(num):
        n = 5 + k % 4
        op, edges = random_dag(n, 0.4, seed * 1000 + k, num_ops)
        d = Data(op=torch.tensor(op), edge_index=torch.tensor(edges).t().reshape(2, -1), num_nodes=n,
                 y=torch.tensor([float(sum(op)) / n]), zc=torch.tensor([[float(len(edges)), 1.0]]))
        out.append(FlowMask()(TopologicalGenerations()(d)))
    return out


@pytest.mark.parametrize("make", [
    lambda: GNN(5, channels=16, num_layers=2),
    lambda: NNFormer(5, channels=16, num_layers=1),
    lambda: FlowerFormer(5, channels=16, num_layers=1, heads=2),
    lambda: NARFormerV2(5, hidden=16, num_layers=1, head_hidden=16, groups=2),
])
def test_graph_embedding_is_the_head_input(make):
    torch.manual_seed(0)
    model = make().eval()
    graphs = cells(6)
    if isinstance(model, NARFormerV2):  # it reads TokenizeV2's tokens
        graphs = [SymmetricAdjacency()(TokenizeV2()(g)) for g in graphs]
    b = Batch.from_data_list(graphs)
    emb = graph_embedding(model, b)
    assert emb.shape[0] == 6
    head_out = model.head(emb).view(-1)
    pred = model(b)
    if isinstance(model, NARFormerV2):  # its head output goes through the sigmoid
        head_out = torch.sigmoid(head_out)
    assert torch.allclose(head_out, pred, atol=1e-6)


def test_graph_embedding_needs_a_head():
    with pytest.raises(PipelineError, match="no `head` module"):
        graph_embedding(torch.nn.Linear(2, 2), None)


def test_fgp_pretraining_learns_the_surrogate_and_the_proxy_ranking():
    torch.manual_seed(0)
    graphs = cells(48)
    model = GNN(5, channels=32, num_layers=2, dropout=0.0)
    cfg = FGPConfig(epochs=40, batch_size=16, proxy_field="zc", proxy_index=0, progress=False,
                    surrogate=dict(dim=4, std=1.0, alpha=0.5, seed=0))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = fgp_pretrain(model, graphs, cfg)
    first, last = result.history[0], result.history[-1]
    assert last["flow"] < 0.5 * first["flow"] and last["proxy"] < first["proxy"]
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert len(result.history) == 40 and result.config["proxy_field"] == "zc"


def test_fgp_uses_stored_surrogates_and_names_a_missing_proxy():
    graphs = cells(4)
    t = FlowSurrogate(5, dim=3, std=0.5)
    stored = [t(g.clone()) for g in graphs]
    assert torch.equal(surrogate_targets(stored, 5),
                       surrogate_targets(graphs, 5, dim=3, std=0.5))
    for g in graphs:
        del g.zc
    with pytest.raises(PipelineError, match="no 'zc' field"):
        fgp_pretrain(GNN(5, channels=8), graphs, FGPConfig(epochs=1, proxy_field="zc", progress=False))
