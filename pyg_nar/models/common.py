"""Small helpers the predictors share: reading fields of a PyG batch with clear errors."""
from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.utils import remove_self_loops, to_undirected

__all__ = ["require_field", "node_graph_index", "symmetric_adjacency", "check_ops"]


def require_field(batch, field: str, who: str, hint: str = "") -> Tensor:
    """``batch[field]``, or a :class:`KeyError` naming the model and the missing field."""
    value = getattr(batch, field, None)
    if value is None:
        raise KeyError(f"{who} needs the batch field {field!r}, which is missing"
                       + (f" ({hint})" if hint else ""))
    return value


def node_graph_index(batch) -> tuple[Tensor, int]:
    """The ``batch`` vector (graph of each node) and the number of graphs; a single
    :class:`~torch_geometric.data.Data` counts as one graph."""
    b = getattr(batch, "batch", None)
    if b is None:
        return torch.zeros(batch.num_nodes, dtype=torch.long, device=batch.op.device), 1
    num_graphs = getattr(batch, "num_graphs", None)
    return b, int(num_graphs) if num_graphs is not None else int(b.max()) + 1


def symmetric_adjacency(batch) -> Tensor:
    """``batch.adj_index`` if the :class:`~pyg_nar.transforms.SymmetricAdjacency` transform
    added it, else ``edge_index`` made undirected (self loops removed) on the fly."""
    adj = getattr(batch, "adj_index", None)
    if adj is not None:
        return adj
    ei, _ = remove_self_loops(batch.edge_index)
    return to_undirected(ei, num_nodes=batch.num_nodes)


def check_ops(op: Tensor, num_ops: int, who: str) -> None:
    """Raise a clear error if an operation index is outside ``0..num_ops-1``."""
    if op.numel() and (int(op.min()) < 0 or int(op.max()) >= num_ops):
        node = int(((op < 0) | (op >= num_ops)).nonzero()[0])
        raise ValueError(f"{who}: node {node} of the batch has operation index {int(op[node])}, "
                         f"outside the model's vocabulary of num_ops={num_ops} operations")
