import networkx as nx
import pytest
import torch
from hypothesis import given, settings, strategies as st

from pyg_nar.errors import ArchitectureError
from pyg_nar.utils.dag import (descendant_matrix, find_cycle, kahn, random_topological_order,
                               topological_generations, topological_order)


@st.composite
def dags(draw, max_nodes=12):
    n = draw(st.integers(1, max_nodes))
    pairs = [(u, v) for u in range(n) for v in range(u + 1, n)]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=30)) if pairs else []
    perm = draw(st.permutations(range(n)))  # hide the topological numbering
    edges = [(perm[u], perm[v]) for u, v in chosen]
    ei = torch.tensor(edges, dtype=torch.long).t().reshape(2, -1)
    return n, ei


def _nx(n, ei):
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from(ei.t().tolist())
    return g


@settings(max_examples=150, deadline=None)
@given(dags())
def test_generations_match_networkx(graph):
    n, ei = graph
    gen = topological_generations(ei, n).tolist()
    for level, nodes in enumerate(nx.topological_generations(_nx(n, ei))):
        assert all(gen[v] == level for v in nodes)


@settings(max_examples=150, deadline=None)
@given(dags(), st.integers(0, 2**31 - 1))
def test_orders_are_topological(graph, seed):
    n, ei = graph
    g = _nx(n, ei)
    for order in (topological_order(n, ei),
                  random_topological_order(ei, n, torch.Generator().manual_seed(seed)),
                  torch.tensor(kahn(*ei.tolist(), n).order)):
        assert sorted(order.tolist()) == list(range(n))
        pos = {v: k for k, v in enumerate(order.tolist())}
        assert all(pos[u] < pos[v] for u, v in g.edges)


@settings(max_examples=100, deadline=None)
@given(dags())
def test_closure_matches_networkx(graph):
    n, ei = graph
    closure = descendant_matrix(ei, n)
    ref = nx.transitive_closure_dag(_nx(n, ei))
    for u in range(n):
        assert set(closure[u].nonzero()[0].tolist()) == set(ref.successors(u))


def test_stable_order_of_a_numbered_graph():
    ei = torch.tensor([[0, 0, 2], [1, 3, 3]])
    assert topological_order(4, ei).tolist() == [0, 1, 2, 3]


@settings(max_examples=100, deadline=None)
@given(dags(), st.data())
def test_cycles_are_found_and_named(graph, data):
    n, ei = graph
    if ei.size(1) == 0:
        return
    k = data.draw(st.integers(0, ei.size(1) - 1))
    u, v = ei[:, k].tolist()
    ei = torch.cat([ei, torch.tensor([[v], [u]])], dim=1)  # close a cycle u -> v -> u
    cycle = find_cycle(*ei.tolist(), n)
    edges = set(map(tuple, ei.t().tolist()))
    assert cycle is not None and cycle[0] == min(cycle)
    assert all((a, b) in edges for a, b in zip(cycle, cycle[1:] + cycle[:1]))
    with pytest.raises(ArchitectureError, match=rf"g: the graph has a cycle through node {cycle[0]} "):
        topological_generations(ei, n, name="g")


def test_self_loop_and_range():
    assert find_cycle([1], [1], 3) == [1]
    assert find_cycle([0], [1], 2) is None
    with pytest.raises(ArchitectureError, match=r"edge 0 -> 5 points to a node that does not exist"):
        kahn([0], [5], 3)
