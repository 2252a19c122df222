"""PruneDeadOps: the effective architecture of a cell."""
import torch
from torch_geometric.data import Data

from pyg_nar.datasets import nb201_cell_graph
from pyg_nar.datasets.nasbench201 import NB201_VOCAB
from pyg_nar.transforms import PruneDeadOps, SymmetricAdjacency

PRUNE = PruneDeadOps.from_vocab(NB201_VOCAB)


def ops_of(g):
    return [NB201_VOCAB[i] for i in g.op.tolist()]


def test_none_edges_and_dead_branches_are_removed():
    # e01 conv3, e02 none, e12 skip, e03 none, e13 conv1, e23 avg: node 2 only gets e12 (skip),
    # e23 (avg) reads node 2 -> output; e13 (conv1) reads node 1 -> output
    g = nb201_cell_graph("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|nor_conv_1x1~1|avg_pool_3x3~2|",
                         0.9, 7)
    p = PRUNE(g.clone())
    assert ops_of(p) == ["input", "nor_conv_3x3", "skip_connect", "nor_conv_1x1", "avg_pool_3x3", "output"]
    # conv3 -> skip, conv3 -> conv1, skip -> avg, conv1 -> output, avg -> output
    assert sorted(map(tuple, p.edge_index.t().tolist())) == [(0, 1), (1, 2), (1, 3), (2, 4), (3, 5), (4, 5)]
    assert p.arch_id.item() == 7 and p.arch_str == g.arch_str and float(p.y) == float(g.y)
    assert bool((p.edge_index[0] < p.edge_index[1]).all())  # still numbered topologically


def test_an_op_that_reaches_no_output_is_dead():
    # e01 conv3 feeds node 1, but e12 and e13 are none: conv3 reaches nothing
    g = nb201_cell_graph("|nor_conv_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|none~1|avg_pool_3x3~2|")
    assert ops_of(PRUNE(g)) == ["input", "skip_connect", "nor_conv_1x1", "avg_pool_3x3", "output"]


def test_a_cell_without_a_path_keeps_input_and_output_only():
    g = nb201_cell_graph("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    p = PRUNE(g)
    assert ops_of(p) == ["input", "output"] and p.edge_index.shape == (2, 0)


def test_equivalent_cells_become_equal_and_pruning_is_idempotent():
    a = PRUNE(nb201_cell_graph("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"))
    b = PRUNE(nb201_cell_graph("|avg_pool_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"))
    assert torch.equal(a.op, b.op) and torch.equal(a.edge_index, b.edge_index)
    full = nb201_cell_graph("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|")
    once = PRUNE(full.clone())
    assert torch.equal(once.edge_index, full.edge_index) and torch.equal(once.op, full.op)
    twice = PRUNE(once.clone())
    assert torch.equal(twice.edge_index, once.edge_index)


def test_other_index_fields_are_dropped_so_prune_runs_first():
    g = SymmetricAdjacency()(nb201_cell_graph("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"))
    assert "adj_index" not in PRUNE(g)
    d = Data(op=torch.tensor([0, 3, 6]), edge_index=torch.tensor([[0, 1], [1, 2]]), num_nodes=3,
             feat=torch.randn(3, 2))
    p = PruneDeadOps([5], [0], [6])(d.clone())
    assert torch.equal(p.feat, d.feat)
