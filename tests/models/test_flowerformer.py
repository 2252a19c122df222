"""FlowerFormer: FlowMessagePassing, FlowAttention and the FlowerFormer predictor.

The hand-drawn DAG used throughout (generations in brackets)::

    [0]      [1]      [2]      [3]
     0 ────► 1 ────► 3 ────► 5
     │       │               ▲
     │       └─────► 4 ──────┘
     │               ▲
     └─────► 2 ──────┘
             │
             └─────► 6          (6 is a sink in generation 2, not the last one)

Edges: 0->1, 0->2, 1->3, 1->4, 2->4, 3->5, 4->5, 2->6. Depth 4.
"""
import pytest
import torch
from torch_geometric.data import Batch, Data

from _flow_steps import FlowSteps
from pyg_nar.models import FlowerFormer
from pyg_nar.nn import FlowAttention, FlowMessagePassing, flow_schedule
from pyg_nar.transforms import FlowMask, TopologicalGenerations

EDGES = [(0, 1), (0, 2), (1, 3), (1, 4), (2, 4), (3, 5), (4, 5), (2, 6)]
GENS = [0, 1, 1, 2, 2, 3, 2]


def with_flow_fields(data: Data) -> Data:
    return FlowMask()(TopologicalGenerations()(data))


def hand_dag(num_ops: int = 5, seed: int = 0) -> Data:
    op = torch.randint(0, num_ops, (7,), generator=torch.Generator().manual_seed(seed))
    return with_flow_fields(Data(op=op, edge_index=torch.tensor(EDGES).t().contiguous(), num_nodes=7))


def random_dag(n: int, p: float, seed: int, num_ops: int = 5) -> Data:
    gen = torch.Generator().manual_seed(seed)
    upper = torch.triu(torch.rand(n, n, generator=gen) < p, diagonal=1)
    edge_index = upper.nonzero().t().contiguous()
    op = torch.randint(0, num_ops, (n,), generator=gen)
    return with_flow_fields(Data(op=op, edge_index=edge_index, num_nodes=n))


def naive_flows(layer: FlowMessagePassing, x, edge_index):
    """Node-by-node recursion of FlowerFormer Eqs. (1)-(4) with the layer's own parameters."""
    n, d = x.shape
    preds = {v: [] for v in range(n)}
    succs = {v: [] for v in range(n)}
    for s, t in edge_index.t().tolist():
        preds[t].append(s)
        succs[s].append(t)

    def run(h_in, gru, score, order, nbrs):
        state = [None] * n
        for v in order:  # nodes are numbered topologically
            if nbrs[v]:
                hs = torch.stack([state[u] for u in nbrs[v]])
                logits = score(torch.cat([h_in[v].expand(len(nbrs[v]), d), hs], 1)).view(-1)
                msg = (torch.softmax(logits, 0).unsqueeze(1) * hs).sum(0)
            else:
                msg = torch.zeros(d)
            state[v] = gru(h_in[v:v + 1], msg.view(1, d)).view(d)
        return torch.stack(state)

    h_f = run(x, layer.gru_forward, layer.score_forward, range(n), preds)
    h_b = run(h_f, layer.gru_backward, layer.score_backward, range(n - 1, -1, -1), succs)
    return h_f, h_b


def test_flow_matches_node_by_node_recursion():
    torch.manual_seed(0)
    layer = FlowMessagePassing(16)
    for data in (hand_dag(), random_dag(12, 0.3, 1), random_dag(9, 0.6, 2)):
        x = torch.randn(data.num_nodes, 16)
        h_f, h_b = layer.flow_states(x, data.edge_index, data.node_gen)
        ref_f, ref_b = naive_flows(layer, x, data.edge_index)
        torch.testing.assert_close(h_f, ref_f, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(h_b, ref_b, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(layer(x, data.edge_index, data.node_gen), ref_b.relu(), atol=1e-5, rtol=1e-5)


def test_generations_visited_in_order_and_step_count():
    data = hand_dag()
    layer = FlowMessagePassing(8)
    with FlowSteps(layer) as rec:
        layer(torch.randn(7, 8), data.edge_index, data.node_gen)
    schedule = flow_schedule(data.edge_index, data.node_gen)
    expected = [("forward", g) for g in range(4)] + [("backward", g) for g in (3, 2, 1, 0)]
    assert rec.steps(schedule.bounds) == expected  # the steps the layer took
    assert schedule.steps == expected  # the order the schedule documents
    assert rec.num_steps() == schedule.num_steps == 8


def test_forward_state_depends_only_on_ancestors():
    torch.manual_seed(1)
    data = hand_dag()
    layer = FlowMessagePassing(8).eval()
    x = torch.randn(7, 8)
    h_f, h_b = layer.flow_states(x, data.edge_index, data.node_gen)
    # node 4: ancestors 0, 1, 2; descendant 5; unrelated 3, 6
    for other in (3, 5, 6):
        x2 = x.clone()
        x2[other] += 1.0
        h_f2, _ = layer.flow_states(x2, data.edge_index, data.node_gen)
        torch.testing.assert_close(h_f2[4], h_f[4], rtol=0, atol=0)
        assert not torch.allclose(h_f2[other], h_f[other])
    for anc in (0, 1, 2):
        x2 = x.clone()
        x2[anc] += 1.0
        h_f2, _ = layer.flow_states(x2, data.edge_index, data.node_gen)
        assert (h_f2[4] - h_f[4]).abs().max() > 1e-4
    # backward state of sink 6 sees only 6's own forward state, which sees 0 and 2
    x2 = x.clone()
    x2[1] += 1.0
    x2[5] -= 1.0
    _, h_b2 = layer.flow_states(x2, data.edge_index, data.node_gen)
    torch.testing.assert_close(h_b2[6], h_b[6], rtol=0, atol=0)
    # backward state of node 1 sees its descendants 3, 4, 5 (and their ancestors)
    x2 = x.clone()
    x2[3] += 1.0
    _, h_b2 = layer.flow_states(x2, data.edge_index, data.node_gen)
    assert (h_b2[1] - h_b[1]).abs().max() > 1e-4


def test_step_count_independent_of_number_of_graphs():
    torch.manual_seed(0)
    model = FlowerFormer(num_ops=5, channels=16, num_layers=2, heads=4).eval()
    shallow = [random_dag(6, 0.0, s) for s in range(3)]  # no edges: depth 1
    assert all(int(d.depth) == 1 for d in shallow)
    for graphs in ([hand_dag()], [hand_dag()] + shallow, [hand_dag(seed=s) for s in range(25)] + shallow):
        batch = Batch.from_data_list(graphs)
        with FlowSteps(model) as rec:
            model(batch)
        assert sum(map(len, rec.calls)) == 2 * 4 * 2
        assert rec.layer_of_call == [layer.flow for layer in model.layers]
        for call in range(len(model.layers)):
            assert rec.num_steps(call) == 2 * int(batch.depth.max())
    with FlowSteps(model) as rec:
        model(Batch.from_data_list(shallow))
    assert sum(map(len, rec.calls)) == 2 * 1 * 2


def test_batched_equals_one_graph_at_a_time():
    torch.manual_seed(0)
    model = FlowerFormer(num_ops=5, channels=16, num_layers=3, heads=4)
    graphs = [hand_dag()] + [random_dag(n, 0.35, s) for s, n in enumerate([3, 10, 7, 1, 15, 8])]
    model.train()
    for _ in range(3):  # give the BatchNorms non-trivial running statistics
        model(Batch.from_data_list(graphs))
    model.eval()
    with torch.no_grad():
        batched = model(Batch.from_data_list(graphs))
        single = torch.cat([model(Batch.from_data_list([g])) for g in graphs])
    assert batched.shape == (len(graphs),)
    torch.testing.assert_close(batched, single, atol=1e-5, rtol=1e-5)


def test_attention_weights_zero_outside_flow_pairs():
    torch.manual_seed(0)
    data = hand_dag()
    attn = FlowAttention(16, heads=8).eval()
    x = torch.randn(7, 16)
    out, (index, alpha) = attn(x, data.flow_index, return_attention_weights=True)
    assert alpha.shape == (data.flow_index.size(1), 8)
    dense = torch.zeros(7, 7, 8)
    dense[index[1], index[0]] = alpha  # dense[i, j] = weight i gives to j
    flow = torch.zeros(7, 7, dtype=torch.bool)
    flow[data.flow_index[1], data.flow_index[0]] = True
    # 3 and 4 are not joined by a path, nor 3 and 6, 1 and 2, 5 and 6, ...
    for i, j in [(3, 4), (4, 3), (3, 6), (1, 2), (5, 6), (6, 5), (1, 6)]:
        assert not flow[i, j]
    assert torch.all(dense[~flow] == 0)
    assert torch.all(dense[flow] > 0)
    torch.testing.assert_close(dense.sum(1), torch.ones(7, 8))
    # and the output of node 3 ignores the features of nodes outside its flows (2, 4, 6)
    x2 = x.clone()
    x2[[2, 4, 6]] += 3.0
    out2 = attn(x2, data.flow_index)
    torch.testing.assert_close(out2[3], out[3])
    assert not torch.allclose(out2[0], out[0])


def test_attention_matches_dense_masked_attention():
    torch.manual_seed(0)
    data = random_dag(10, 0.3, 3)
    attn = FlowAttention(16, heads=4).eval()
    x = torch.randn(10, 16)
    q, k, v = attn.qkv(x).view(10, 3, 4, 4).unbind(1)
    mask = torch.zeros(10, 10, dtype=torch.bool)
    mask[data.flow_index[1], data.flow_index[0]] = True
    scores = torch.einsum("ihd,jhd->hij", q, k) / 2.0
    a = torch.softmax(scores.masked_fill(~mask, float("-inf")), -1)
    ref = attn.out_proj(torch.einsum("hij,jhd->ihd", a, v).reshape(10, 16))
    torch.testing.assert_close(attn(x, data.flow_index), ref, atol=1e-5, rtol=1e-5)


def official_parameter_count(model: FlowerFormer) -> int:
    """The parameter count the official code reports for the same configuration.

    Adds the parameters that exist there but cannot change the output: per layer the unused
    ``to_tqk`` projection (``d x 2d``) and, per flow direction, the ``Linear(d, d)`` of the
    constant edge embedding; plus that embedding (``d``).
    """
    d, layers = model.config["channels"], model.config["num_layers"]
    ours = sum(p.numel() for p in model.parameters())
    return ours + layers * (d * 2 * d + 2 * (d * d + d)) + d


def test_paper_parameter_count():
    model = FlowerFormer(num_ops=7, channels=64, num_layers=9, heads=8)
    assert sum(p.numel() for p in model.parameters()) == 752_915
    assert official_parameter_count(model) == 901_587  # the official NB201 figure
    assert type(model)(**model.config).config == model.config


def test_training_step_reaches_every_parameter():
    torch.manual_seed(0)
    model = FlowerFormer(num_ops=5, channels=16, num_layers=2, heads=4, attn_dropout=0.5).train()
    batch = Batch.from_data_list([hand_dag(seed=s) for s in range(4)] + [random_dag(9, 0.4, 5)])
    pred = model(batch)
    assert pred.shape == (5,) and torch.isfinite(pred).all()
    (pred ** 2).sum().backward()
    for name, p in model.named_parameters():
        if name.endswith(("score_forward.bias", "score_backward.bias")):
            assert p.grad is None, name  # the score's target term cancels in the softmax
            continue
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    # the target half of each flow score cancels in the softmax: its gradient is zero
    w = model.layers[0].flow.score_forward.weight.grad.view(-1)
    assert w[:16].abs().max() < 1e-6 and w[16:].abs().max() > 0


def test_clear_errors():
    model = FlowerFormer(num_ops=5, channels=16, num_layers=1, heads=4)
    data = hand_dag()
    del data.flow_index
    with pytest.raises(ValueError, match="flow_index.*FlowMask"):
        model(Batch.from_data_list([data]))
    data = hand_dag()
    data.node_gen = torch.zeros(7, dtype=torch.long)
    with pytest.raises(ValueError, match="edge 0 -> 1"):
        model(Batch.from_data_list([data]))
    data = hand_dag()
    data.op[3] = 9
    with pytest.raises(ValueError, match="operation index 9"):
        model(Batch.from_data_list([data]))
    with pytest.raises(ValueError, match="divisible"):
        FlowAttention(10, heads=4)


def test_schedule_groups_edges_by_generation():
    data = hand_dag()
    sched = flow_schedule(data.edge_index, data.node_gen)
    assert sched.bounds == [0, 1, 3, 6, 7]
    assert [len(s) for s, *_ in sched.forward_groups] == [0, 2, 4, 2]  # edges into generations 0..3
    assert [len(s) for s, *_ in sched.backward_groups] == [2, 4, 2, 0]  # edges out of 0..3
    assert [g[3] for g in sched.forward_groups] == [False, True, False, False]  # one edge per node
    assert [g[3] for g in sched.backward_groups] == [False, False, False, False]
    src, dst, rank, _ = sched.forward_groups[2]  # into 3, 4, 6 (sorted positions 3, 4, 5)
    assert sorted(zip(src.tolist(), dst.tolist())) == [(1, 3), (1, 4), (2, 4), (2, 5)]
    assert sorted(rank.tolist()) == [0, 1, 1, 2]


def test_latency_output_is_positive_and_reloads(tmp_path):
    from pyg_nar.checkpoint import load_checkpoint, save_checkpoint
    torch.manual_seed(0)
    model = FlowerFormer(num_ops=5, channels=16, num_layers=2, heads=4, output="neg_logsigmoid").eval()
    batch = Batch.from_data_list([hand_dag(seed=s) for s in range(4)])
    out = model(batch)
    assert out.shape == (4,) and bool((out > 0).all())
    save_checkpoint(str(tmp_path / "ff"), model)
    again, _, _ = load_checkpoint(str(tmp_path / "ff"))
    assert torch.equal(again.eval()(batch), out)
    with pytest.raises(ValueError, match="output must be"):
        FlowerFormer(num_ops=5, output="sigmoid")
