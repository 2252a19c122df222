"""Tests of pyg_nar.transforms against values worked out by hand and against networkx."""
import math
import re

import networkx as nx
import pytest
import torch
import torch_geometric.transforms as T
from hypothesis import given, settings
from hypothesis import strategies as st
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader

from pyg_nar.data import ArchitectureError, arch_data
from pyg_nar.transforms import (FlowConsistentPair, FlowConsistentShuffle, FlowMask, NodeDegree,
                                SymmetricAdjacency, Tokenize, TopologicalGenerations,
                                flow_pairs, sinusoid_encoding, sinusoid_frequencies)

NB201_EDGES = [[0, 0, 0, 1, 1, 2, 3, 4, 5, 6], [1, 2, 4, 3, 5, 6, 6, 7, 7, 7]]


def fig2_graph():
    """The six-operation example of NAR-Former Fig. 2 (N = 6), with the NAS-Bench-101
    conversion table of Fig. 2(b): input 0, conv1x1 1, conv3x3 2, maxpool 3, output 4.

    The paper's text does not list Fig. 2(a)'s edges, so the test fixes this cell::

              0 input
            /   |    \\
           v    v     v
     1 conv1x1  2 conv3x3  3 maxpool
           \\    /          |
            v  v           |
         4 conv3x3         |
               \\           |
                v          v
                 5 output <-
    """
    return arch_data([0, 1, 2, 3, 2, 4],
                     [[0, 0, 0, 1, 2, 3, 4], [1, 2, 3, 4, 4, 5, 5]], 0.9, arch_id=0)


# f(p) with L = 3, b = (1, 2.5, 4), worked by hand: [sin(p pi), cos(p pi), sin(2.5 p pi),
# cos(2.5 p pi), sin(4 p pi), cos(4 p pi)]
F3 = {
    -1: [0, -1, -1, 0, 0, 1],
    0: [0, 1, 0, 1, 0, 1],
    1: [0, -1, 1, 0, 0, 1],
    2: [0, 1, 0, -1, 0, 1],
    3: [0, -1, -1, 0, 0, 1],
    4: [0, 1, 0, 1, 0, 1],
    5: [0, -1, 1, 0, 0, 1],
}


def vec_add(a, b):
    return [x + y for x, y in zip(a, b)]


def test_frequencies_follow_eq_4_5():
    assert sinusoid_frequencies(3).tolist() == [1.0, 2.5, 4.0]
    b = sinusoid_frequencies(32)
    assert b.dtype == torch.float64 and b.numel() == 32
    assert b[0].item() == 1.0 and b[-1].item() == 2.0 ** 31
    assert b[1].item() == pytest.approx(1 + (2 ** 31 - 1) / 31, rel=1e-15)
    assert sinusoid_frequencies(1).tolist() == [1.0]
    with pytest.raises(ValueError, match="num_freqs"):
        sinusoid_frequencies(0)


def test_sinusoid_encoding_by_hand():
    enc = sinusoid_encoding(torch.tensor([-1.0, 0.0, 1.0, 2.0]), 3)
    assert enc.dtype == torch.float32 and enc.shape == (4, 6)
    for row, p in zip(enc.tolist(), [-1, 0, 1, 2]):
        assert row == pytest.approx(F3[p], abs=1e-6)
    # L = 32: moderate b p agrees with the plain formula sin(b p pi) in float64
    b = sinusoid_frequencies(32).tolist()
    enc = sinusoid_encoding([3.0], 32, dtype=torch.float64)[0]
    for k in (0, 1, 2):
        assert enc[2 * k].item() == pytest.approx(math.sin(b[k] * 3 * math.pi), abs=1e-6)
        assert enc[2 * k + 1].item() == pytest.approx(math.cos(b[k] * 3 * math.pi), abs=1e-6)
    # the top frequency 2^31 times an integer is an integer: exactly (0, 1)
    assert enc[62].item() == 0.0 and enc[63].item() == 1.0
    # f(1e5): every b_k * 1e5, reduced modulo 2 before the pi
    end = sinusoid_encoding([1e5], 32, dtype=torch.float64)[0]
    for k in range(32):
        r = math.fmod(b[k] * 1e5, 2.0)
        assert end[2 * k].item() == pytest.approx(math.sin(math.pi * r), abs=1e-12)
        assert end[2 * k + 1].item() == pytest.approx(math.cos(math.pi * r), abs=1e-12)


def test_tokenize_fig2_by_hand_small_L():
    data = Tokenize(num_freqs=3, depth_freqs=3)(fig2_graph())
    expected = [
        # [ f(op) | f(i) | sum of f(sources) ]
        F3[0] + F3[0] + F3[-1],                        # input, no source -> {-1}
        F3[1] + F3[1] + F3[0],
        F3[2] + F3[2] + F3[0],
        F3[3] + F3[3] + F3[0],
        F3[2] + F3[4] + vec_add(F3[1], F3[2]),         # conv3x3 fed by 1 and 2
        F3[4] + F3[5] + vec_add(F3[3], F3[4]),         # output fed by 3 and 4
    ]
    assert data.tokens.dtype == torch.float32 and data.tokens.shape == (6, 18)
    assert torch.allclose(data.tokens, torch.tensor(expected, dtype=torch.float), atol=1e-6)
    # end token: f(1e5) in all three parts; b p = 1e5, 2.5e5, 4e5 are even -> (0, 1)
    assert data.end_token.tolist() == [[0.0, 1.0] * 9]
    # depth input f(6): 6, 15, 24 -> cos 15 pi = -1
    assert data.depth_enc[0].tolist() == pytest.approx([0, 1, 0, -1, 0, 1], abs=1e-6)


def test_tokenize_fig2_paper_dims():
    data = Tokenize()(fig2_graph())
    assert data.tokens.shape == (6, 192) and data.end_token.shape == (1, 192)
    assert data.depth_enc.shape == (1, 96)
    b = sinusoid_frequencies(32).tolist()
    t4, t5 = data.tokens[4].double(), data.tokens[5].double()
    for k in (0, 1, 2, 3):
        # node 4: self position 4, sources {1, 2}
        assert t4[64 + 2 * k].item() == pytest.approx(math.sin(b[k] * 4 * math.pi), abs=2e-6)
        src = math.cos(b[k] * 1 * math.pi) + math.cos(b[k] * 2 * math.pi)
        assert t4[128 + 2 * k + 1].item() == pytest.approx(src, abs=2e-6)
        # node 5: op 4, sources {3, 4}
        assert t5[2 * k].item() == pytest.approx(math.sin(b[k] * 4 * math.pi), abs=2e-6)
        src = math.sin(b[k] * 3 * math.pi) + math.sin(b[k] * 4 * math.pi)
        assert t5[128 + 2 * k].item() == pytest.approx(src, abs=2e-6)
    # node 0's source part is f(-1): sin(-pi) = 0, cos(-pi) = -1 at b_1
    assert data.tokens[0, 128].item() == pytest.approx(0.0, abs=1e-7)
    assert data.tokens[0, 129].item() == -1.0
    # depth input f(6) with 48 frequencies: b_2 * 6 ~ 1.8e13, so b p is reduced modulo 2
    # before the pi (the plain float64 product b * 6 * pi would be off by up to 0.006)
    bd = sinusoid_frequencies(48).tolist()
    r = math.fmod(bd[1] * 6, 2.0)
    assert data.depth_enc[0, 3].item() == pytest.approx(math.cos(math.pi * r), abs=2e-6)


def test_tokenize_every_source_node_gets_minus_one():
    # two graph inputs 0 and 1 (an ONNX model with two inputs)
    data = Tokenize(num_freqs=3)(arch_data([0, 0, 1], [[0, 1], [2, 2]]))
    assert data.tokens[0, 12:].tolist() == pytest.approx(F3[-1], abs=1e-6)
    assert data.tokens[1, 12:].tolist() == pytest.approx(F3[-1], abs=1e-6)
    assert data.tokens[2, 12:].tolist() == pytest.approx(vec_add(F3[0], F3[1]), abs=1e-6)


def test_tokenize_whole_network_parts():
    op_attrs = torch.tensor([[0.0] * 8, [3, 1, 1, 1, 1, 1, 0, 0], [0.0] * 8])
    out_shape = torch.tensor([[1.0, 3, 4, 4], [1, 8, 4, 4], [1, 10, 0, 0]])
    data = arch_data([0, 1, 2], [[0, 1], [1, 2]], 1.5, op_attrs=op_attrs, out_shape=out_shape,
                     static=torch.tensor([[1.0, 0.5, 0.25, 2.0]]))
    data = Tokenize(num_freqs=16)(data)
    assert data.tokens.shape == (3, 480)      # supplement: 15 parts of 32
    assert data.end_token.shape == (1, 480)
    t = data.tokens
    attrs = t[:, 96:96 + 8 * 32].view(3, 8, 32)
    shape = t[:, 96 + 8 * 32:].view(3, 4, 32)
    assert attrs[0].abs().sum() == 0 and attrs[2].abs().sum() == 0      # absent -> zeros
    assert torch.allclose(attrs[1, 0], sinusoid_encoding([3.0], 16)[0])  # kernel 3
    assert torch.allclose(attrs[1, 1], sinusoid_encoding([1.0], 16)[0])  # stride 1
    assert attrs[1, 6:].abs().sum() == 0
    assert torch.allclose(shape[2, 1], sinusoid_encoding([10.0], 16)[0])
    assert shape[2, 2:].abs().sum() == 0                                  # rank-2 output
    assert torch.allclose(data.end_token.view(15, 32),
                          sinusoid_encoding([1e5], 16).expand(15, 32))
    assert data.static_enc.shape == (1, 4 * 32)
    assert torch.allclose(data.static_enc.view(4, 32)[1], sinusoid_encoding([0.5], 16)[0])
    with pytest.raises(ArchitectureError, match="op_attrs"):
        bad = arch_data([0, 1], [[0], [1]], op_attrs=torch.zeros(3, 8))
        Tokenize()(bad)


def test_tokenize_large_graph_and_bad_input():
    n = 150  # beyond the first size of the cached table of integer encodings
    chain = arch_data(list(range(n)), [list(range(n - 1)), list(range(1, n))])
    tok = Tokenize(num_freqs=6, depth_freqs=4)
    small = tok(fig2_graph())
    data = tok(chain)
    pos = torch.arange(n, dtype=torch.float64)
    assert torch.allclose(data.tokens[:, :12], sinusoid_encoding(pos, 6))           # op = i
    assert torch.allclose(data.tokens[:, 12:24], sinusoid_encoding(pos, 6))         # self
    assert torch.allclose(data.tokens[1:, 24:], sinusoid_encoding(pos[:-1], 6))     # source i-1
    assert torch.equal(tok(fig2_graph()).tokens, small.tokens)  # same after the table grew
    assert torch.allclose(data.depth_enc, sinusoid_encoding([[150.0]], 4))
    bad = arch_data([0, 1], [[0], [1]])
    bad.op = torch.tensor([0, -2])
    with pytest.raises(ArchitectureError, match="node 1 has a negative operation index"):
        tok(bad)
    with pytest.raises(ArchitectureError, match="`op` with one entry per node"):
        tok(Data(edge_index=torch.tensor([[0], [1]]), num_nodes=2))
    with pytest.raises(ValueError, match="num_freqs"):
        Tokenize(num_freqs=0)


SMALL_DAG_EDGES = [[0, 0, 1, 2, 3, 3, 4, 1], [2, 3, 3, 4, 4, 5, 6, 6]]


def small_dag():
    r"""Seven nodes, two sources (0, 1)::

        0        1
        | \\     / |
        v  v   v  |
        2    3    |
         \\  / \\   |
          vv   v  |
          4    5  |
           \\      |
            v     v
             6 <--
    """
    return arch_data([0, 1, 2, 2, 3, 4, 5], SMALL_DAG_EDGES)


def test_generations_and_flow_by_hand():
    data = FlowMask()(TopologicalGenerations()(small_dag()))
    assert data.node_gen.tolist() == [0, 0, 1, 1, 2, 2, 3]
    assert data.edge_gen.tolist() == [1, 1, 1, 2, 2, 2, 3, 3]
    assert data.depth.tolist() == [4]
    assert data.node_gen.dtype == data.edge_gen.dtype == data.depth.dtype == torch.long
    related = {0: [0, 2, 3, 4, 5, 6], 1: [1, 3, 4, 5, 6], 2: [0, 2, 4, 6],
               3: [0, 1, 3, 4, 5, 6], 4: [0, 1, 2, 3, 4, 6], 5: [0, 1, 3, 5],
               6: [0, 1, 2, 3, 4, 6]}
    expected = [[u, v] for u, vs in related.items() for v in vs]
    assert data.flow_index.t().tolist() == expected
    # NB201 cell: 5 generations, 36 ancestor/descendant pairs + 8 self pairs
    cell = FlowMask()(TopologicalGenerations()(arch_data([0] * 8, NB201_EDGES)))
    assert cell.node_gen.tolist() == [0, 1, 1, 2, 1, 2, 3, 4] and cell.depth.tolist() == [5]
    assert cell.flow_index.size(1) == 44


def test_adjacency_and_degree():
    data = NodeDegree()(SymmetricAdjacency()(small_dag()))
    pairs = sorted(map(tuple, torch.tensor(SMALL_DAG_EDGES).t().tolist()))
    both = sorted(pairs + [(v, u) for u, v in pairs])
    assert data.adj_index.t().tolist() == [list(p) for p in both]
    assert data.in_degree.tolist() == [0, 0, 1, 2, 2, 1, 2]
    assert data.out_degree.tolist() == [2, 2, 1, 2, 1, 0, 0]
    assert data.in_degree.dtype == torch.float
    # self loops and duplicate edges are dropped from adj_index
    g = Data(edge_index=torch.tensor([[0, 0, 1, 1], [1, 1, 1, 0]]), num_nodes=2)
    assert SymmetricAdjacency()(g).adj_index.tolist() == [[0, 1], [1, 0]]


def edge_signature(data):
    ops = data.op.tolist()
    ins = {v: [] for v in range(data.num_nodes)}
    outs = {v: [] for v in range(data.num_nodes)}
    for s, d in data.edge_index.t().tolist():
        outs[s].append(ops[d])
        ins[d].append(ops[s])
    return sorted((ops[v], sorted(ins[v]), sorted(outs[v])) for v in range(data.num_nodes))


def test_shuffle_by_hand():
    data = small_dag()
    data.y = torch.tensor([0.7])
    data.node_id = torch.arange(7)
    data.op_attrs = data.op.float().view(-1, 1).repeat(1, 8)
    data = NodeDegree()(FlowMask()(TopologicalGenerations()(data)))
    seen = set()
    shuffle = FlowConsistentShuffle(seed=0)
    for _ in range(20):
        out = shuffle(data)
        ei = out.edge_index
        assert bool((ei[0] < ei[1]).all())
        assert edge_signature(out) == edge_signature(data)
        nid = out.node_id
        assert out.op.tolist() == data.op[nid].tolist()
        assert torch.equal(out.op_attrs, data.op_attrs[nid])
        assert torch.equal(out.in_degree, data.in_degree[nid])
        assert out.node_gen.tolist() == data.node_gen[nid].tolist()
        assert torch.equal(out.edge_gen, data.edge_gen) and torch.equal(out.y, data.y)
        # edges and flow pairs map back to the originals through node_id
        assert nid[ei].tolist() == data.edge_index.tolist()
        assert sorted(map(tuple, nid[out.flow_index].t().tolist())) == \
            sorted(map(tuple, data.flow_index.t().tolist()))
        seen.add(tuple(nid.tolist()))
    assert len(seen) > 1
    # seeded: the same seed gives the same sequence of orders
    a, b = FlowConsistentShuffle(seed=5), FlowConsistentShuffle(seed=5)
    assert [a(data).node_id.tolist() for _ in range(3)] == [b(data).node_id.tolist()
                                                            for _ in range(3)]
    with pytest.raises(ValueError, match="before Tokenize"):
        shuffle(Tokenize()(small_dag()))


def test_shuffle_keeps_nb201_input_and_output():
    cell = arch_data([0, 1, 2, 3, 4, 5, 1, 6], NB201_EDGES)
    shuffle = FlowConsistentShuffle(seed=1)
    moved = set()
    for _ in range(30):
        out = shuffle(cell)
        assert out.op[0].item() == 0 and out.op[7].item() == 6
        moved.add(tuple(out.op.tolist()))
    assert len(moved) > 3


def test_flow_consistent_pair():
    tok = Tokenize(num_freqs=8)
    pair = FlowConsistentPair(FlowConsistentShuffle(seed=3), tok)
    data = tok(pair(fig2_graph()))
    assert data.aug_tokens.shape == data.tokens.shape == (6, 48)
    ref = FlowConsistentShuffle(seed=3)(fig2_graph())
    assert torch.equal(data.aug_tokens, tok(ref).tokens)
    # a chain has a single topological order: the copy is the graph itself
    chain = tok(pair(arch_data([0, 1, 2, 3], [[0, 1, 2], [1, 2, 3]])))
    assert torch.equal(chain.aug_tokens, chain.tokens)


def test_reprs():
    assert repr(Tokenize()) == "Tokenize(num_freqs=32, depth_freqs=48, attr_freqs=32)"
    assert repr(Tokenize(16, 8, 5)) == "Tokenize(num_freqs=16, depth_freqs=8, attr_freqs=5)"
    assert repr(TopologicalGenerations()) == "TopologicalGenerations()"
    assert repr(FlowMask()) == "FlowMask()"
    assert repr(SymmetricAdjacency()) == "SymmetricAdjacency()"
    assert repr(NodeDegree()) == "NodeDegree()"
    assert repr(FlowConsistentShuffle(seed=2)) == "FlowConsistentShuffle(seed=2)"
    assert repr(FlowConsistentPair(FlowConsistentShuffle(7), Tokenize(4, 4))) == (
        "FlowConsistentPair(FlowConsistentShuffle(seed=7), "
        "Tokenize(num_freqs=4, depth_freqs=4, attr_freqs=4))")


def test_batching_with_stock_dataloader():
    transform = T.Compose([FlowConsistentPair(FlowConsistentShuffle(0), Tokenize(num_freqs=4)),
                           Tokenize(num_freqs=4, depth_freqs=5), TopologicalGenerations(),
                           FlowMask(), SymmetricAdjacency(), NodeDegree()])
    graphs = [arch_data([0, 1, 2, 3, 4, 5, 1, 6], NB201_EDGES, 0.5, arch_id=0),
              arch_data([0, 1, 2], [[0, 1], [1, 2]], 0.25, arch_id=1),
              arch_data([0, 1, 2, 2, 3, 4, 5], SMALL_DAG_EDGES, 0.75, arch_id=2)]
    singles = [transform(g) for g in graphs]
    batch = next(iter(DataLoader(singles, batch_size=3)))
    assert batch.num_graphs == 3 and batch.ptr.tolist() == [0, 8, 11, 18]
    offsets = [0, 8, 11]
    for key in ("flow_index", "adj_index", "edge_index"):
        expected = torch.cat([s[key] + o for s, o in zip(singles, offsets)], dim=1)
        assert torch.equal(batch[key], expected), key
    for key in ("tokens", "aug_tokens", "node_gen", "edge_gen", "in_degree", "out_degree",
                "end_token", "depth_enc", "depth", "y"):
        assert torch.equal(batch[key], torch.cat([s[key] for s in singles], dim=0)), key
    assert batch.end_token.shape == (3, 24) and batch.depth_enc.shape == (3, 10)
    assert batch.depth.tolist() == [5, 3, 4]
    assert batch.flow_index.size(1) == 44 + 9 + 37
    # every flow pair stays inside its graph
    assert torch.equal(batch.batch[batch.flow_index[0]], batch.batch[batch.flow_index[1]])


# ---------------------------------------------------------------- property tests

@st.composite
def random_dags(draw, max_nodes=12):
    """A random DAG with arbitrary node labels (not numbered topologically) and op labels."""
    n = draw(st.integers(1, max_nodes))
    pairs = [(u, v) for u in range(n) for v in range(u + 1, n)]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=len(pairs))) if pairs else []
    perm = draw(st.permutations(list(range(n))))
    ops = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    edges = [(perm[u], perm[v]) for u, v in chosen]
    ei = torch.tensor(edges, dtype=torch.long).t().reshape(2, -1)
    return Data(op=torch.tensor(ops), edge_index=ei, num_nodes=n)


def to_nx(data):
    g = nx.DiGraph()
    g.add_nodes_from((v, {"op": int(o)}) for v, o in enumerate(data.op.tolist()))
    g.add_edges_from(data.edge_index.t().tolist())
    return g


@settings(max_examples=60, deadline=None)
@given(random_dags())
def test_generations_property(data):
    out = TopologicalGenerations()(data)
    gen = out.node_gen.tolist()
    src, dst = data.edge_index.tolist()
    assert all(gen[d] > gen[s] for s, d in zip(src, dst))
    for v in range(data.num_nodes):
        preds = [s for s, d in zip(src, dst) if d == v]
        if preds:
            assert max(gen[p] for p in preds) == gen[v] - 1
        else:
            assert gen[v] == 0
    assert out.edge_gen.tolist() == [gen[d] for d in dst]
    assert out.depth.item() == len(list(nx.topological_generations(to_nx(data))))


@settings(max_examples=60, deadline=None)
@given(random_dags())
def test_flow_pairs_property(data):
    closure = nx.transitive_closure_dag(to_nx(data))
    expected = set(closure.edges()) | {(v, u) for u, v in closure.edges()}
    expected |= {(v, v) for v in range(data.num_nodes)}
    got = list(map(tuple, FlowMask()(data).flow_index.t().tolist()))
    assert len(got) == len(set(got)) and set(got) == expected


@settings(max_examples=40, deadline=None)
@given(random_dags(), st.integers(0, 2 ** 31 - 1))
def test_shuffle_property(data, seed):
    out = FlowConsistentShuffle(seed=seed)(data)
    assert nx.is_isomorphic(to_nx(out), to_nx(data), node_match=lambda a, b: a["op"] == b["op"])
    # a shuffled graph is numbered topologically, whatever the input numbering was
    assert bool((out.edge_index[0] < out.edge_index[1]).all())


@settings(max_examples=40, deadline=None)
@given(random_dags(), st.data())
def test_cycles_are_named(data, draw):
    n = data.num_nodes
    g = to_nx(data)
    # close a cycle: an edge back from a node to one of its ancestors, or a self loop
    v = draw.draw(st.integers(0, n - 1))
    ancestors = sorted(nx.ancestors(g, v))
    u = draw.draw(st.sampled_from(ancestors)) if ancestors else v
    data.edge_index = torch.cat([data.edge_index, torch.tensor([[v], [u]])], dim=1)
    data.arch_id = torch.tensor([42])
    g.add_edge(v, u)
    for transform in (TopologicalGenerations(), FlowMask(), FlowConsistentShuffle(seed=0)):
        with pytest.raises(ArchitectureError, match=r"architecture 42: .*cycle") as err:
            transform(data)
        node = int(re.search(r"node (\d+)", str(err.value)).group(1))
        assert g.has_edge(node, node) or any(nx.has_path(g, w, node)
                                             for w in g.successors(node))


def test_flow_pairs_large_chain_is_complete():
    n = 300
    ei = torch.stack([torch.arange(n - 1), torch.arange(1, n)])
    pairs = flow_pairs(ei, n)
    assert pairs.size(1) == n * n  # every pair of a chain is related


# ------------------------------------------- fast paths vs straightforward reference code

def reference_tokens(data, tok):
    """Tokens computed the plain way: per-node sinusoid_encoding calls and a loop over edges,
    summing the float64 source encodings in edge order, one float32 rounding at the end."""
    n, L = data.num_nodes, tok.num_freqs
    enc = lambda v: sinusoid_encoding([float(v)], L, dtype=torch.float64)[0]  # noqa: E731
    src, dst = data.edge_index.tolist()
    rows = []
    for v in range(n):
        sour = torch.zeros(2 * L, dtype=torch.float64)
        preds = [s for s, d in zip(src, dst) if d == v]
        for s in preds:
            sour = sour + enc(s)
        rows.append(torch.cat([enc(data.op[v]), enc(v), sour if preds else enc(-1)]))
    return torch.stack(rows).float()


def bits(t):
    return t.dtype, tuple(t.shape), t.numpy().tobytes()


@settings(max_examples=60, deadline=None)
@given(random_dags(), st.integers(0, 2 ** 31 - 1))
def test_fast_paths_match_reference(data, seed):
    n = data.num_nodes
    src, dst = data.edge_index.tolist()
    tok = Tokenize(num_freqs=5, depth_freqs=3)
    # tokens: same bits as the plain computation (also on a graph seen before: shape cache)
    for _ in range(2):
        assert bits(tok(data).tokens) == bits(reference_tokens(data, tok))
    # aug_tokens: the tokens of the shuffled copy that FlowConsistentShuffle makes
    pair = FlowConsistentPair(FlowConsistentShuffle(seed), tok)
    assert bits(pair(data).aug_tokens) == bits(tok(FlowConsistentShuffle(seed)(data)).tokens)
    # adjacency and degrees: torch_geometric.utils on the same edges
    from torch_geometric.utils import degree, remove_self_loops, to_undirected
    ei = data.edge_index
    assert bits(SymmetricAdjacency()(data).adj_index) == bits(
        to_undirected(remove_self_loops(ei)[0], num_nodes=n))
    out = NodeDegree()(data)
    assert bits(out.in_degree) == bits(degree(ei[1], n, dtype=torch.float))
    assert bits(out.out_degree) == bits(degree(ei[0], n, dtype=torch.float))
    # generations: 1 + the largest generation of the predecessors, relaxed to a fixed point
    gen = [0] * n
    for _ in range(n):
        for s, d in zip(src, dst):
            gen[d] = max(gen[d], gen[s] + 1)
    out = TopologicalGenerations()(data)
    assert out.node_gen.tolist() == gen and out.edge_gen.tolist() == [gen[d] for d in dst]
    assert out.depth.tolist() == [max(gen) + 1]


def test_fast_paths_bad_edges_are_named():
    data = arch_data([0, 1, 2], [[0, 1], [1, 2]], arch_id=7)
    data.edge_index = torch.tensor([[0, 1], [1, 3]])
    for transform in (Tokenize(), FlowConsistentPair(), SymmetricAdjacency(), NodeDegree(),
                      TopologicalGenerations(), FlowMask()):
        with pytest.raises(ArchitectureError, match=r"architecture 7: .*outside 0\.\.2"):
            transform(data)
