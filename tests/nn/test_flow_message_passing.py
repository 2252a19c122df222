"""FlowMessagePassing against a per-generation reference built from library modules, and its
call contract (edge_index + node_gen, or a schedule)."""
import pytest
import torch
from torch_geometric.data import Batch
from torch_geometric.utils import scatter, softmax

from _flow_steps import FlowSteps
from pyg_nar.data import arch_data
from pyg_nar.errors import ArchitectureError
from pyg_nar.nn import FlowMessagePassing, FlowSchedule, flow_schedule
from pyg_nar.transforms import TopologicalGenerations


def random_dag(n, p, seed):
    g = torch.Generator().manual_seed(seed)
    edges = torch.triu(torch.rand(n, n, generator=g) < p, diagonal=1).nonzero().tolist()
    return TopologicalGenerations()(arch_data(torch.zeros(n, dtype=torch.long), edges))


def batch_of_dags():
    return Batch.from_data_list([random_dag(n, p, s) for s, (n, p) in
                                 enumerate([(9, 0.4), (1, 0.0), (14, 0.25), (6, 0.0), (11, 0.6)])])


def reference_flows(layer, x, edge_index, node_gen):
    """Eqs. (1)-(4) generation by generation with torch.nn.GRUCell, the paper's full score
    Linear(2d, 1) (target term included) and PyG's softmax and scatter."""
    n = x.size(0)
    depth = int(node_gen.max()) + 1

    def run(h_in, gru, score, src, dst, gens):
        state = torch.zeros_like(h_in)
        for g in gens:
            nodes = (node_gen == g).nonzero().view(-1)
            into = node_gen[dst] == g
            s, t = src[into], dst[into]
            logits = score(torch.cat([h_in[t], state[s]], 1)).view(-1)
            msg = scatter(softmax(logits, t, num_nodes=n).unsqueeze(-1) * state[s], t, 0,
                          dim_size=n, reduce="sum")
            state = state.index_put((nodes,), gru(h_in[nodes], msg[nodes]))
        return state

    src, dst = edge_index
    h_f = run(x, layer.gru_forward, layer.score_forward, src, dst, range(depth))
    h_b = run(h_f, layer.gru_backward, layer.score_backward, dst, src, range(depth - 1, -1, -1))
    return h_f, h_b


@torch.no_grad()
def test_matches_per_generation_reference_on_a_batch():
    torch.manual_seed(0)
    batch = batch_of_dags()
    for d in (8, 32):
        layer = FlowMessagePassing(d).eval()
        x = torch.randn(batch.num_nodes, d)
        h_f, h_b = layer.flow_states(x, batch.edge_index, batch.node_gen)
        ref_f, ref_b = reference_flows(layer, x, batch.edge_index, batch.node_gen)
        torch.testing.assert_close(h_f, ref_f, atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(h_b, ref_b, atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(layer(x, batch.edge_index, batch.node_gen), ref_b.relu(),
                                   atol=1e-6, rtol=1e-5)


@torch.no_grad()
def test_schedule_and_presorted_give_the_same_output():
    torch.manual_seed(0)
    batch = batch_of_dags()
    layer = FlowMessagePassing(8).eval()
    x = torch.randn(batch.num_nodes, 8)
    out = layer(x, batch.edge_index, batch.node_gen)
    schedule = flow_schedule(batch.edge_index, batch.node_gen)
    torch.testing.assert_close(layer(x, schedule=schedule), out, rtol=0, atol=0)
    sorted_out = layer(x[schedule.perm], schedule=schedule, presorted=True)
    torch.testing.assert_close(sorted_out, out[schedule.perm], rtol=0, atol=0)


def test_steps_taken_are_the_schedules():
    batch = batch_of_dags()
    schedule = flow_schedule(batch.edge_index, batch.node_gen)
    layer = FlowMessagePassing(8)
    with FlowSteps(layer) as rec:
        layer(torch.randn(batch.num_nodes, 8), schedule=schedule)
    assert rec.steps(schedule.bounds) == schedule.steps
    assert rec.num_steps() == schedule.num_steps == 2 * int(batch.node_gen.max() + 1)
    assert schedule.generations("backward") == range(schedule.depth - 1, -1, -1)
    with pytest.raises(ValueError, match="direction"):
        schedule.generations("sideways")


def test_call_contract():
    data = random_dag(7, 0.4, 0)
    layer = FlowMessagePassing(8)
    x = torch.randn(7, 8)
    schedule = flow_schedule(data.edge_index, data.node_gen)
    assert isinstance(schedule, FlowSchedule)
    with pytest.raises(ValueError, match="or a schedule"):
        layer(x)
    with pytest.raises(ValueError, match="pass edge_index and node_gen, or a schedule"):
        layer(x, data.edge_index)
    with pytest.raises(ValueError, match="not both"):
        layer(x, data.edge_index, data.node_gen, schedule=schedule)
    with pytest.raises(ValueError, match="presorted=True needs the schedule"):
        layer(x, data.edge_index, data.node_gen, presorted=True)
    with pytest.raises(ValueError, match="the schedule has 7 nodes, x has 6"):
        layer(x[:6], schedule=schedule)
    with pytest.raises(ValueError, match=r"x must have shape \[N, 8\]"):
        layer(torch.randn(7, 4), data.edge_index, data.node_gen)
    with pytest.raises(TypeError):  # the schedule is keyword-only
        layer(x, data.edge_index, data.node_gen, schedule)


def test_schedule_names_a_wrong_generation():
    data = random_dag(5, 1.0, 0)  # a complete DAG: 0 -> 1 -> ... -> 4 and all shortcuts
    with pytest.raises(ArchitectureError, match="edge 0 -> 1 goes from generation 0 to generation 0"):
        flow_schedule(data.edge_index, torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match=r"node_gen must have shape \[6\]"):
        flow_schedule(data.edge_index, data.node_gen, num_nodes=6)
