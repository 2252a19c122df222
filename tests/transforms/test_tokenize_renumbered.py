"""Tokenize.renumbered_tokens: the tokens of a renumbered copy, without the copy."""
import pytest
import torch

from pyg_nar.data import ArchitectureError, arch_data, renumber_nodes
from pyg_nar.transforms import FlowConsistentShuffle, Tokenize

EDGES = [[0, 0, 1, 2, 3, 4], [1, 2, 3, 4, 5, 5]]


def graph(**fields):
    return arch_data([0, 1, 2, 2, 3, 4], EDGES, 0.5, **fields)


@pytest.mark.parametrize("whole_network", [False, True])
def test_renumbered_tokens_equal_tokens_of_the_renumbered_graph(whole_network):
    fields = {}
    if whole_network:
        g = torch.Generator().manual_seed(0)
        fields = dict(op_attrs=torch.randint(0, 5, (6, 8), generator=g).float(),
                      out_shape=torch.randint(1, 64, (6, 4), generator=g).float())
    tok = Tokenize(num_freqs=6, depth_freqs=4)
    shuffle = FlowConsistentShuffle(seed=5)
    for _ in range(5):
        data = graph(**fields)
        src, dst = data.edge_index.tolist()
        order = shuffle.draw_order(src, dst, 6)
        expected = tok(renumber_nodes(graph(**fields), torch.tensor(order))).tokens
        assert torch.equal(tok.renumbered_tokens(data, order), expected)


def test_identity_order_gives_the_tokens_and_bad_orders_are_named():
    tok = Tokenize(num_freqs=4)
    data = graph(arch_id=3)
    assert torch.equal(tok.renumbered_tokens(data, range(6)), tok(graph()).tokens)
    with pytest.raises(ArchitectureError, match="architecture 3: Tokenize: the order is not a permutation"):
        tok.renumbered_tokens(data, [0, 1, 1, 3, 4, 5])
    with pytest.raises(ArchitectureError, match="not a permutation of the 6 nodes"):
        tok.renumbered_tokens(data, [0, 1, 2])
