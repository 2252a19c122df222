import math

import pytest
import torch
from torch_geometric.data import Batch, Data
from torch_geometric.utils import to_dense_adj, to_undirected

from _synthetic import relative_mse_drop
from pyg_nar.data import arch_data
from pyg_nar.models import NARFormerV2
from pyg_nar.models.narformer_v2 import transformer_sinusoid
from pyg_nar.transforms import SymmetricAdjacency, TokenizeV2, sinusoid_encoding
from pyg_nar.nn import GraphAidedAttention, GroupedLinear, NARFormerV2Layer

NB201_EDGES = [[0, 1], [0, 2], [0, 4], [1, 3], [1, 5], [2, 6], [3, 6], [4, 7], [5, 7], [6, 7]]
NUM_OPS = 7




def nb201_cell(ops, y=0.9):
    return arch_data([0, *ops, 6], NB201_EDGES, y=y, num_ops=NUM_OPS)


def random_network(n, seed, num_ops=NUM_OPS, y=None):
    """A synthetic whole-network graph: a chain with a few skip edges and random fields."""
    g = torch.Generator().manual_seed(seed)
    edges = [(i, i + 1) for i in range(n - 1)]
    edges += [(i, i + 2) for i in range(0, n - 2, 3)]
    op = torch.randint(0, num_ops, (n,), generator=g)
    attrs = torch.randint(0, 4, (n, 8), generator=g).float()
    shape = torch.randint(1, 64, (n, 4), generator=g).float()
    static = torch.rand(1, 4, generator=g) * 3
    if y is None:
        y = float(0.5 + static[0, 1] + 0.05 * n)
    return arch_data(op, edges, y=y, op_attrs=attrs, out_shape=shape, static=static)


def tokenized(model, graphs):
    """The graphs with the tokens ``model`` reads (its TokenizeV2 transform)."""
    tokenizer = model.tokenizer()
    return [tokenizer(g.clone()) for g in graphs]


def relabel(data, perm):
    """The same graph with node ``v`` renamed ``perm[v]`` (not topologically numbered)."""
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(perm.numel())
    out = Data(num_nodes=data.num_nodes, edge_index=perm[data.edge_index], y=data.y)
    for key in ("op", "op_attrs", "out_shape", "tokens"):
        if key in data:
            out[key] = data[key][inv]
    if "static" in data:
        out.static = data.static
    return out


# ---------------------------------------------------------------- graph-aided attention
def four_node_graph():
    # 0 - 1 - 2 and 1 - 3: node 1 has three neighbours, the others one.
    adj = to_undirected(torch.tensor([[0, 1, 1], [1, 2, 3]]))
    return adj


def test_attention_equal_scores_give_one_over_degree():
    torch.manual_seed(0)
    layer = GraphAidedAttention(6, 5, degree_gating=False)
    with torch.no_grad():  # S = sigmoid(0) = 1/2 everywhere -> every score equal
        layer.lin_qk.weight.zero_()
        layer.lin_qk.bias.zero_()
    adj = four_node_graph()
    x = torch.randn(4, 6)
    _, (idx, alpha) = layer(x, adj, return_attention_weights=True)
    dense = to_dense_adj(idx, edge_attr=alpha, max_num_nodes=4)[0].t()  # [i, j]: j -> i
    score = 0.25 * 6 / math.sqrt(6)  # S_i . S_j / sqrt(D)
    expected = torch.tensor([[0, 1, 0, 0], [1, 0, 1, 1], [0, 1, 0, 0], [0, 1, 0, 0.]])
    rows = expected.sum(1, keepdim=True)
    expected = expected * score / (rows * score + 1e-6)
    assert torch.allclose(dense, expected, atol=1e-7)
    assert dense[1, 0].item() == pytest.approx(1 / 3, abs=1e-6)
    assert dense[0, 1].item() == pytest.approx(1.0, abs=1e-5)  # eps = 1e-6 in the row sum


def test_attention_zero_off_graph_rows_sum_to_one_and_matches_dense_formula():
    torch.manual_seed(1)
    layer = GraphAidedAttention(8, 8, degree_gating=True).eval()
    adj = four_node_graph()
    # add an isolated node 4
    x = torch.randn(5, 8)
    out, (idx, alpha) = layer(x, adj, return_attention_weights=True)
    dense = to_dense_adj(idx, edge_attr=alpha, max_num_nodes=5)[0].t()  # [i, j]: j -> i
    A = to_dense_adj(adj, max_num_nodes=5)[0]
    assert (dense[A == 0] == 0).all()
    assert torch.allclose(dense.sum(1)[:4], torch.ones(4), atol=1e-5)
    assert dense[4].abs().sum() == 0  # no neighbours -> no attention
    # the official dense formulation, computed by hand
    xg = x * torch.sigmoid(layer.degree_gate.lin(A.sum(1, keepdim=True)))
    S = torch.sigmoid(layer.lin_qk(xg))
    scores = S @ S.t() / math.sqrt(8) * A
    att = scores / (scores.sum(1, keepdim=True) + 1e-6)
    ref = torch.nn.functional.normalize(layer.lin_l(att @ xg) + layer.lin_r(xg), dim=-1)
    assert torch.allclose(dense, att, atol=1e-6)
    assert torch.allclose(out, ref, atol=1e-5)
    assert torch.allclose(out.norm(dim=-1), torch.ones(5), atol=1e-5)


def test_layers_permutation_equivariant():
    torch.manual_seed(2)
    adj = to_undirected(torch.tensor([[0, 0, 1, 2, 3, 4], [1, 2, 3, 4, 5, 5]]))
    x = torch.randn(6, 16)
    perm = torch.tensor([3, 0, 5, 1, 4, 2])  # node v -> perm[v]
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(6)
    for layer in (GraphAidedAttention(16, 16), NARFormerV2Layer(16, 16, groups=4)):
        layer.eval()
        out = layer(x, adj)
        out_p = layer(x[inv], perm[adj])
        assert torch.allclose(out_p, out[inv], atol=1e-5)


def test_grouped_linear_is_block_diagonal():
    torch.manual_seed(3)
    gl = GroupedLinear(8, 12, groups=4, norm=False)
    x = torch.randn(5, 8)
    dense = torch.block_diag(*gl.weight)  # [8, 12]
    assert torch.allclose(gl(x), x @ dense + gl.bias.reshape(-1), atol=1e-6)
    with pytest.raises(ValueError, match="divisible"):
        GroupedLinear(10, 12, groups=4)


def test_transformer_sinusoid_values_and_cell_tokens():
    v = transformer_sinusoid(torch.tensor([[2.0]]), 2)  # frequencies 1, 1/100
    assert torch.allclose(v, torch.tensor([[math.sin(2), math.cos(2), math.sin(0.02),
                                            math.cos(0.02)]]), atol=1e-6)
    assert transformer_sinusoid(torch.zeros(3, 8), 5).shape == (3, 80)
    # cell tokens: [PE_nerf32(op) | PE_nerf32(position in its graph)], positions restart per graph
    model = NARFormerV2(NUM_OPS, hidden=32, head_hidden=32, groups=4, num_layers=1)
    cells = Batch.from_data_list(tokenized(model, [nb201_cell([1, 2, 3, 4, 5, 1]),
                                                   nb201_cell([2, 2, 2, 2, 2, 2])]))
    tok = cells.tokens
    assert tok.shape == (16, 128)
    assert torch.equal(tok[:8, 64:], tok[8:, 64:])
    assert torch.equal(tok[9, :64], sinusoid_encoding(torch.tensor(2), 32))
    assert torch.equal(tok[11, 64:], sinusoid_encoding(torch.tensor(3), 32))


# ---------------------------------------------------------------- the model
def small(**kw):
    return NARFormerV2(NUM_OPS, hidden=32, head_hidden=32, groups=4, **kw)


@pytest.mark.parametrize("kw", [
    dict(task="accuracy", num_layers=3),
    dict(task="latency", network_features=True, static_dim=4),
])
def test_batched_equals_one_at_a_time(kw):
    torch.manual_seed(4)
    model = small(**kw).eval()
    if kw.get("network_features"):
        graphs = [random_network(n, seed=n) for n in (5, 9, 13)]
    else:
        graphs = [nb201_cell(o) for o in ([1, 2, 3, 4, 5, 1], [2, 2, 2, 2, 2, 2], [5, 4, 3, 2, 1, 4])]
    graphs = tokenized(model, graphs)
    with torch.no_grad():
        batched = model(Batch.from_data_list(graphs))
        single = torch.cat([model(Batch.from_data_list([g])) for g in graphs])
        plain = torch.cat([model(g) for g in graphs])  # a bare Data works too
    assert batched.shape == (3,)
    assert torch.allclose(batched, single, atol=1e-6)
    assert torch.allclose(batched, plain, atol=1e-6)
    assert len(set(batched.tolist())) == 3  # different graphs, different predictions


def test_network_prediction_invariant_under_relabelling():
    torch.manual_seed(5)
    model = small(task="latency", network_features=True, static_dim=4).eval()
    g = random_network(10, seed=7)
    perm = torch.randperm(10, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a = model(Batch.from_data_list(tokenized(model, [g])))
        b = model(Batch.from_data_list(tokenized(model, [relabel(g, perm)])))
    assert torch.allclose(a, b, atol=1e-6)


def test_tokens_input_and_adj_index_field_used():
    torch.manual_seed(6)
    model = small(task="accuracy", tokens_dim=12, num_layers=2).eval()
    g = nb201_cell([1, 2, 3, 4, 5, 1])
    g.tokens = torch.randn(8, 12)
    out = model(Batch.from_data_list([g]))
    # an explicit adj_index field is read instead of edge_index
    g2 = SymmetricAdjacency()(g.clone())
    g2.edge_index = torch.zeros(2, 0, dtype=torch.long)
    assert torch.allclose(out, model(Batch.from_data_list([g2])), atol=1e-6)
    g3 = g.clone()
    g3.adj_index = torch.zeros(2, 0, dtype=torch.long)  # no edges -> a different prediction
    assert not torch.allclose(out, model(Batch.from_data_list([g3])), atol=1e-4)


def test_output_ranges_and_config_rebuild():
    torch.manual_seed(7)
    cells = Batch.from_data_list([TokenizeV2()(nb201_cell([1, 2, 3, 4, 5, 1])),
                                  TokenizeV2()(nb201_cell([3, 3, 3, 3, 3, 3]))])
    acc = small(num_layers=2).eval()
    p = acc(cells)
    assert ((p > 0) & (p < 1)).all()
    lat = small(task="latency", num_layers=2).eval()  # cells, latency head, no static
    assert (lat(cells) > 0).all()
    rebuilt = type(acc)(**acc.config).eval()
    rebuilt.load_state_dict(acc.state_dict())
    assert torch.allclose(rebuilt(cells), p)
    assert acc.config["num_layers"] == 2 and lat.config["output"] == "neg_logsigmoid"


def test_clear_errors():
    cells = Batch.from_data_list([TokenizeV2()(nb201_cell([1, 2, 3, 4, 5, 1]))])
    with pytest.raises(KeyError, match="op_attrs"):
        model = small(task="latency", network_features=True)
        model(Batch.from_data_list(tokenized(model, [nb201_cell([1, 2, 3, 4, 5, 1])])))
    with pytest.raises(KeyError, match="static"):
        small(task="latency", static_dim=4)(cells)
    with pytest.raises(ValueError, match="operation index 6"):
        NARFormerV2(6, hidden=32, head_hidden=32, groups=4)(cells)
    with pytest.raises(ValueError, match="task"):
        NARFormerV2(7, task="flops")


def test_training_step_lowers_relative_mse():
    torch.manual_seed(8)
    graphs = [random_network(n, seed=100 + n) for n in range(4, 20)]
    model = small(task="latency", network_features=True, static_dim=4)
    batch = Batch.from_data_list(tokenized(model, graphs))
    before, after = relative_mse_drop(model, batch, steps=15, lr=1e-3)
    assert after < 0.5 * before


def test_checkpoint_round_trip(tmp_path):
    from pyg_nar.checkpoint import load_checkpoint, save_checkpoint

    torch.manual_seed(9)
    model = small(task="latency", network_features=True, static_dim=4).eval()
    batch = Batch.from_data_list(tokenized(model, [random_network(n, seed=n) for n in (6, 10)]))
    loaded, _, _ = load_checkpoint(save_checkpoint(str(tmp_path / "v2"), model))
    assert isinstance(loaded, NARFormerV2) and loaded.config == model.config
    assert torch.allclose(loaded(batch), model(batch))
