import pytest
import torch

from pyg_nar.data import ArchitectureError, arch_data, topological_order


def test_arch_data_fields():
    d = arch_data([0, 1, 2], [[0, 1], [1, 2], [0, 2]], 0.5, arch_id=7)
    assert d.op.tolist() == [0, 1, 2]
    assert d.edge_index.tolist() == [[0, 1, 0], [1, 2, 2]]
    assert d.y.tolist() == [0.5] and d.arch_id.tolist() == [7] and d.num_nodes == 3


def test_renumber_to_topological_order_moves_node_fields():
    # 2 -> 0 -> 1 becomes 0 -> 1 -> 2
    d = arch_data([10, 11, 12], [[2, 0], [0, 1]], renumber=True, op_attrs=torch.tensor([[0.0], [1.0], [2.0]]))
    assert d.op.tolist() == [12, 10, 11]
    assert d.op_attrs.view(-1).tolist() == [2.0, 0.0, 1.0]
    assert d.edge_index.tolist() == [[0, 1], [1, 2]]


def test_errors_name_architecture_and_problem():
    with pytest.raises(ArchitectureError, match=r"cellA: the graph has a cycle through node [123]"):
        arch_data([0, 1, 2, 3], [[0, 1], [1, 2], [2, 3], [3, 1]], name="cellA")
    with pytest.raises(ArchitectureError, match=r"cellB: edge 0 -> 9 points to a node that does not exist"):
        arch_data([0, 1], [[0, 9]], name="cellB")
    with pytest.raises(ArchitectureError, match=r"cellC: node 1 has operation index 5"):
        arch_data([0, 5], [[0, 1]], num_ops=3, name="cellC")
    with pytest.raises(ArchitectureError, match=r"cellD: edge 1 -> 0 does not follow the topological"):
        arch_data([0, 1], [[1, 0]], name="cellD")


def test_topological_order_is_stable():
    assert topological_order(4, torch.tensor([[0, 1, 2], [1, 2, 3]])).tolist() == [0, 1, 2, 3]
    assert topological_order(3, torch.tensor([[2, 1], [1, 0]])).tolist() == [2, 1, 0]
