"""NN-Former: sibling pairs, ASMA against dense masked attention, BGIFFN against dense
adjacency products, and the predictor on a batch of graphs of different sizes.

The hand-drawn DAG (a residual block feeding a concat)::

    0 ──► 1 ──► 3 ──► 5
    │     │     ▲
    │     └──► 4┘      3 and 4 share the parent 1, 1 and 2 the parent 0;
    └──► 2 ───────► 5  2 and 3 share the child 5, 1 and 4 the child 3

Edges: 0->1, 0->2, 1->3, 1->4, 4->3, 3->5, 2->5.
"""
import math

import pytest
import torch
from torch_geometric.data import Batch, Data

from pyg_nar.models import NNFormer
from pyg_nar.nn import BidirectionalGraphFFN, NNFormerLayer, SiblingAttention, sibling_pairs

EDGES = [(0, 1), (0, 2), (1, 3), (1, 4), (4, 3), (3, 5), (2, 5)]
N = 6


def dense_adj(edges, n):
    a = torch.zeros(n, n)
    for s, d in edges:
        a[s, d] = 1.0
    return a


def edge_index(edges):
    return torch.tensor(edges).t().contiguous()


def dense_masks(a: torch.Tensor) -> list[torch.Tensor]:
    eye = torch.eye(a.size(0))
    return [(r + eye) > 0 for r in (a, a.t(), a.t() @ a, a @ a.t())]


def test_sibling_pairs_are_the_four_relations_with_self_pairs():
    pairs, rel = sibling_pairs(edge_index(EDGES), N)
    masks = dense_masks(dense_adj(EDGES, N))
    for r in range(4):
        got = torch.zeros(N, N, dtype=torch.bool)
        got[pairs[0, rel == r], pairs[1, rel == r]] = True
        assert torch.equal(got, masks[r]), r
        assert pairs[:, rel == r].size(1) == int(masks[r].sum())  # no duplicates
    # by hand: 3 and 4 share parent 1, 1 and 2 share parent 0, 2 and 3 share child 5
    shared_parent = {tuple(p) for p in pairs[:, rel == 2].t().tolist()}
    shared_child = {tuple(p) for p in pairs[:, rel == 3].t().tolist()}
    assert {(3, 4), (4, 3), (1, 2), (2, 1)} <= shared_parent
    assert {(2, 3), (3, 2), (1, 4), (4, 1)} <= shared_child and (0, 3) not in shared_child


def reference_asma(layer: SiblingAttention, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Dense masked multi-head attention computed by hand, with the layer's weights."""
    n, d = x.shape
    h, dh = layer.heads, layer.head_dim
    q, k, v = (x @ layer.qkv.weight.t()).split(d, dim=-1)
    masks = dense_masks(a)
    outs = []
    for head in range(h):
        sl = slice(head * dh, (head + 1) * dh)
        score = q[:, sl] @ k[:, sl].t() / math.sqrt(dh)
        score = score.masked_fill(~masks[head // (h // 4)], float("-inf"))
        outs.append(torch.softmax(score, dim=-1) @ v[:, sl])
    return torch.cat(outs, dim=-1) @ layer.proj.weight.t()


@pytest.mark.parametrize("heads", [4, 8])
def test_sibling_attention_equals_dense_masked_attention(heads):
    torch.manual_seed(0)
    layer = SiblingAttention(16, heads=heads).eval()
    x = torch.randn(N, 16)
    got = layer(x, edge_index(EDGES))
    assert torch.allclose(got, reference_asma(layer, x, dense_adj(EDGES, N)), atol=1e-5)


def test_sibling_attention_on_a_batch_equals_each_graph_alone():
    torch.manual_seed(1)
    layer = SiblingAttention(8, heads=4).eval()
    other = [(0, 1), (0, 2), (1, 3), (2, 3)]
    g1 = Data(x=torch.randn(N, 8), edge_index=edge_index(EDGES), num_nodes=N)
    g2 = Data(x=torch.randn(4, 8), edge_index=edge_index(other), num_nodes=4)
    b = Batch.from_data_list([g1, g2])
    out = layer(b.x, b.edge_index)
    assert torch.allclose(out[:N], layer(g1.x, g1.edge_index), atol=1e-6)
    assert torch.allclose(out[N:], layer(g2.x, g2.edge_index), atol=1e-6)
    assert torch.allclose(out[N:], reference_asma(layer, g2.x, dense_adj(other, 4)), atol=1e-5)


def test_sibling_attention_rejects_heads_not_a_multiple_of_four():
    with pytest.raises(ValueError, match="multiple of 4"):
        SiblingAttention(12, heads=6)


def test_bidirectional_ffn_equals_dense_formula():
    torch.manual_seed(2)
    ffn = BidirectionalGraphFFN(8, hidden=16).eval()
    x = torch.randn(N, 8)
    a = dense_adj(EDGES, N)
    g = x @ ffn.graph.weight.t()
    hidden = torch.relu(x @ ffn.fc1.weight.t() + torch.cat([a @ g[:, :8], a.t() @ g[:, 8:]], -1))
    assert torch.allclose(ffn(x, edge_index(EDGES)), hidden @ ffn.fc2.weight.t(), atol=1e-5)


def test_nnformer_layer_is_pre_norm_residual():
    torch.manual_seed(3)
    layer = NNFormerLayer(8, heads=4, ffn_ratio=2).eval()
    x = torch.randn(N, 8)
    ei = edge_index(EDGES)
    mid = x + layer.attn(layer.norm_attn(x), ei)
    assert torch.allclose(layer(x, ei), mid + layer.ffn(layer.norm_ffn(mid), ei), atol=1e-6)


def test_nnformer_predicts_one_score_per_graph_and_learns():
    torch.manual_seed(4)
    graphs = []
    for k in range(12):
        n = 4 + k % 3
        op = torch.randint(0, 5, (n,))
        ei = torch.tensor([[i, i + 1] for i in range(n - 1)] + [[0, n - 1]]).t()
        graphs.append(Data(op=op, edge_index=ei, num_nodes=n, y=(op == 2).float().mean().view(1)))
    b = Batch.from_data_list(graphs)
    model = NNFormer(5, channels=16, num_layers=2, heads=4, dropout=0.0)
    assert model(b).shape == (12,)
    one = model.eval()(Batch.from_data_list(graphs[:1]))
    assert torch.allclose(model(b)[:1], one, atol=1e-5)  # no leak between graphs
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    before = torch.mean((model(b) - b.y) ** 2).item()
    model.train()
    for _ in range(60):
        opt.zero_grad()
        torch.mean((model(b) - b.y) ** 2).backward()
        opt.step()
    assert torch.mean((model.eval()(b) - b.y) ** 2).item() < 0.5 * before


def test_nnformer_rejects_unknown_operations():
    model = NNFormer(3, channels=8, num_layers=1)
    bad = Data(op=torch.tensor([0, 5]), edge_index=torch.tensor([[0], [1]]), num_nodes=2)
    with pytest.raises(ValueError, match="outside the model's vocabulary"):
        model(bad)
