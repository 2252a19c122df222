r"""The architecture-graph contract: one PyG :class:`~torch_geometric.data.Data` per architecture.

Every loader in :mod:`pyg_nar.datasets` (and :func:`pyg_nar.networks.from_onnx`) builds its graphs
with :func:`arch_data`, so every graph in the project has the same fields:

=================  ==================  ==========================================================
field              shape / dtype       meaning
=================  ==================  ==========================================================
``op``             ``[N]`` long        operation of each node, an index into the dataset's
                                       operation vocabulary (``dataset.op_vocab``)
``edge_index``     ``[2, E]`` long     directed edges along the data flow, ``source -> target``;
                                       nodes are numbered in a topological order, so
                                       ``edge_index[0] < edge_index[1]`` for every edge
``num_nodes``      int                 ``N``
``y``              ``[1]`` float       the target (accuracy as a fraction in ``[0, 1]``, latency
                                       in milliseconds, ...); ``[B]`` after batching
``arch_id``        ``[1]`` long        the architecture's index in its benchmark
``op_attrs``       ``[N, 8]`` float    *whole networks only*: kernel, stride, padding, dilation,
                                       groups, has-bias, perm, output padding (NAR-Former supp.
                                       Table 1); 0 where a node has no such attribute
``out_shape``      ``[N, 4]`` float    *whole networks only*: output tensor shape (N, C, H, W),
                                       zero-padded for lower-rank outputs
``static``         ``[1, S]`` float    *whole networks only*: graph-level features (batch size,
                                       FLOPs, parameters, memory access)
``subgraph_depth`` ``[N]`` long        *ONNX graphs only*: 0 for the main graph's nodes, ``d``
                                       for an operator inside ``d`` nested sub-graphs (``If``
                                       branches, ``Loop`` / ``Scan`` bodies)
``if_branch``      ``[N]`` long        *ONNX graphs only*: 1 / 2 inside the then / else branch of
                                       the innermost enclosing ``If``, else 0. Both branches
                                       are kept, each node right after its ``If``
``repeats``        ``[N]`` float       *ONNX graphs only*: how often the FLOPs and memory counts
                                       count the node: 1 in the main graph; a ``Loop`` body's
                                       nodes the loop's static trip count (1 when it is not
                                       static), a ``Scan`` body's its iterations, times the
                                       enclosing sub-graphs' repeats; 0 in the ``If`` branch
                                       that is not counted (the one a constant condition does
                                       not take; with a runtime condition the then-branch is
                                       counted)
``trip_count``     ``[N]`` float       *ONNX graphs only*: on a ``Loop`` its static trip count
                                       (``M`` a constant), on a ``Scan`` its iterations; 0
                                       when unknown and on every other node
=================  ==================  ==========================================================

A sub-graph operator's edges: from the producers of what it reads in its sub-graph, from
the producer in an enclosing graph of a tensor it captures, and from the owning ``If`` /
``Loop`` / ``Scan`` for the sub-graph's own inputs (or when it reads nothing produced inside).
A reader of a control-flow operator's output has edges from that operator and from the
sub-graph nodes producing the matching sub-graph outputs.

Fields added by :mod:`pyg_nar.transforms` (tokens, generations, flow pairs, ...) are
documented there. Any field whose name ends in ``_index`` holds node indices and is
offset by PyG's batching, so the stock :class:`torch_geometric.loader.DataLoader` batches
every field without a custom collate.

Invalid graphs raise :class:`ArchitectureError`, whose message names the architecture and
the problem (unknown operation, edge to a missing node, cycle).
"""
from __future__ import annotations

from typing import Iterable, Sequence

import torch
from torch import Tensor
from torch_geometric.data import Data

from pyg_nar.errors import ArchitectureError
from pyg_nar.utils.dag import check_node_range, edge_lists, topological_order

__all__ = ["ArchitectureError", "arch_data", "check_dag", "op_indices", "renumber_nodes",
           "topological_order"]

#: Number of per-node attribute slots of whole-network graphs (``op_attrs``).
NUM_OP_ATTRS = 8
#: Rank of the per-node output shape of whole-network graphs (``out_shape``).
OUT_SHAPE_DIMS = 4


def renumber_nodes(data: Data, order: Tensor) -> Data:
    """Renumber the nodes of ``data`` in place so that new node ``k`` is old node ``order[k]``.

    The one renumbering rule of the project (:func:`arch_data` and
    :class:`~pyg_nar.transforms.FlowConsistentShuffle` use it): fields whose name ends in
    ``_index`` hold node numbers and are remapped (their column order is kept, so edge-level
    fields stay aligned); node-level fields, as PyG's :meth:`~torch_geometric.data.Data.is_node_attr`
    tells them, are permuted; everything else (edge- and graph-level fields) is unchanged.
    """
    n = order.numel()
    rank = torch.empty_like(order)
    rank[order] = torch.arange(n)
    for key in list(data.keys()):
        value = data[key]
        if not isinstance(value, Tensor) or value.dim() == 0:
            continue
        if key.endswith("_index"):
            data[key] = rank[value]
        elif data.is_node_attr(key):
            data[key] = value[order]
    return data


def check_dag(num_nodes: int, edge_index: Tensor, name: str = "architecture") -> None:
    """Check that ``edge_index`` is a valid DAG over ``num_nodes`` numbered topologically."""
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ArchitectureError(f"{name}: edge_index must have shape [2, E], got {tuple(edge_index.shape)}")
    if edge_index.numel():
        lo, hi = int(edge_index.min()), int(edge_index.max())
        if lo < 0 or hi >= num_nodes:
            check_node_range(*edge_lists(edge_index), num_nodes, name)
        back = edge_index[0] >= edge_index[1]
        if bool(back.any()):
            topological_order(num_nodes, edge_index, name)  # names a cycle node if there is one
            s, d = edge_index[:, back][:, 0].tolist()
            raise ArchitectureError(
                f"{name}: edge {s} -> {d} does not follow the topological numbering "
                f"(every edge must go from a smaller to a larger node index)")


def arch_data(
    op: Sequence[int] | Tensor,
    edge_index: Sequence[Sequence[int]] | Tensor,
    y: float | None = None,
    *,
    name: str = "architecture",
    num_ops: int | None = None,
    arch_id: int | None = None,
    renumber: bool = False,
    **fields,
) -> Data:
    """Build one architecture graph that satisfies the contract above.

    Args:
        op: operation index of each node.
        edge_index: ``[2, E]`` directed edges (source -> target), or a list of ``(s, t)`` pairs.
        y: the target, stored as a float tensor of shape ``[1]``.
        name: how error messages refer to the architecture (e.g. its arch string or file).
        num_ops: size of the operation vocabulary, to check ``op`` against.
        arch_id: the architecture's index in its benchmark.
        renumber: if ``True``, nodes not numbered topologically are renumbered
            (:func:`renumber_nodes`); if ``False`` such a graph is an error.
        **fields: further fields (``op_attrs``, ``out_shape``, ``static``, ...).
    """
    op = torch.as_tensor(op, dtype=torch.long).view(-1)
    ei = torch.as_tensor(edge_index, dtype=torch.long)
    if ei.numel() == 0:
        ei = ei.view(2, 0)
    elif ei.dim() == 2 and ei.size(0) != 2 and ei.size(1) == 2:
        ei = ei.t()
    ei = ei.contiguous()
    n = op.numel()
    if n == 0:
        raise ArchitectureError(f"{name}: the architecture has no nodes")
    if num_ops is not None and (int(op.min()) < 0 or int(op.max()) >= num_ops):
        node = int(((op < 0) | (op >= num_ops)).nonzero()[0])
        raise ArchitectureError(
            f"{name}: node {node} has operation index {int(op[node])}, outside the vocabulary "
            f"of {num_ops} operations")
    if ei.dim() != 2 or ei.size(0) != 2:
        raise ArchitectureError(f"{name}: edge_index must have shape [2, E], got {tuple(ei.shape)}")
    data = Data(op=op, edge_index=ei, num_nodes=n, **fields)
    if renumber and ei.numel() and bool((ei[0] >= ei[1]).any()):
        renumber_nodes(data, topological_order(n, ei, name))
    check_dag(n, data.edge_index, name)
    if y is not None:
        data.y = torch.tensor([float(y)], dtype=torch.float)
    if arch_id is not None:
        if not -2 ** 63 <= int(arch_id) < 2 ** 63:
            raise ArchitectureError(f"{name}: arch_id {arch_id} does not fit an int64")
        data.arch_id = torch.tensor([int(arch_id)], dtype=torch.long)
    return data


def op_indices(names: Iterable[str], vocab: Sequence[str], name: str = "architecture") -> list[int]:
    """Map operation names to vocabulary indices; an unknown name is an :class:`ArchitectureError`."""
    lookup = {v: i for i, v in enumerate(vocab)}
    out = []
    for node, n in enumerate(names):
        if n not in lookup:
            raise ArchitectureError(
                f"{name}: node {node} has unknown operation {n!r} (known: {', '.join(vocab)})")
        out.append(lookup[n])
    return out
