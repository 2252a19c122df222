"""Small helpers the predictors share: reading fields of a PyG batch with clear errors."""
from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.data import Data

__all__ = ["require_field", "node_graph_index", "symmetric_adjacency", "check_ops",
           "resolve_static_scale", "NNLQP_STATIC_SCALE"]

#: Factors turning the project's ``static`` row ``[batch size, MFLOPs, M parameters, memory MB]``
#: (:data:`pyg_nar.onnx.STATIC_FIELDS`) into NNLQP's units ``[batch size, GFLOPs, G parameters,
#: memory GB]``, which NNLQP and NAR-Former V2 feed to their static-feature branch.
NNLQP_STATIC_SCALE = (1.0, 1e-3, 1e-3, 1e-3)


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
    from pyg_nar.transforms import SymmetricAdjacency

    graph = Data(edge_index=batch.edge_index, num_nodes=batch.num_nodes)
    return SymmetricAdjacency()(graph).adj_index


def check_ops(op: Tensor, num_ops: int, who: str) -> None:
    """Raise a clear error if an operation index is outside ``0..num_ops-1``."""
    if op.numel() and (int(op.min()) < 0 or int(op.max()) >= num_ops):
        node = int(((op < 0) | (op >= num_ops)).nonzero()[0])
        raise ValueError(f"{who}: node {node} of the batch has operation index {int(op[node])}, "
                         f"outside the model's vocabulary of num_ops={num_ops} operations")


def resolve_static_scale(static_scale, static_dim: int, who: str) -> list[float] | None:
    """``"nnlqp"`` -> :data:`NNLQP_STATIC_SCALE` (needs ``static_dim == 4``), ``None`` -> no
    scaling, a sequence -> its floats (one per static column)."""
    if static_scale is None or static_dim == 0:
        return None
    if isinstance(static_scale, str):
        if static_scale != "nnlqp":
            raise ValueError(f"{who}: static_scale must be 'nnlqp', None or a list of floats, "
                             f"got {static_scale!r}")
        if static_dim != len(NNLQP_STATIC_SCALE):
            raise ValueError(f"{who}: static_scale='nnlqp' needs static_dim=4, got {static_dim}")
        return list(NNLQP_STATIC_SCALE)
    scale = [float(v) for v in static_scale]
    if len(scale) != static_dim:
        raise ValueError(f"{who}: static_scale has {len(scale)} entries but static_dim={static_dim}")
    return scale
