r"""The effective architecture of a cell: operations that cannot change its output removed."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform
from torch_geometric.utils import subgraph

from pyg_nar.transforms._common import arch_name, edge_arrays, num_nodes_of
from pyg_nar.utils.dag import descendants

__all__ = ["PruneDeadOps"]


class PruneDeadOps(BaseTransform):
    r"""Removes the operations that cannot influence the architecture's output, so that cells
    computing the same function get the same graph.

    1. nodes whose operation is a *zero* operation (NB201's ``none``: its output is 0) are
       removed with their edges;
    2. of the rest, only nodes on a directed path from an input node to an output node are kept
       (the input and output nodes always stay; a cell with no such path keeps just them).

    Node-level fields are subset and ``*_index`` fields renumbered
    (:func:`torch_geometric.utils.subgraph` for ``edge_index``; other ``*_index`` fields are
    not kept, so apply this transform first); graph-level fields are kept. The node order
    stays topological. On NB201 the 15,625 cells become 9,365 distinct graphs; compare a
    predictor on the full and on the pruned cells with ``examples/accuracy_sota.py``
    (``gnn`` vs ``gnn+prune``; figures in the README).

    Args:
        zero_ops (Sequence[int]): operation indices whose output is zero.
        input_ops (Sequence[int]): operation indices of input nodes.
        output_ops (Sequence[int]): operation indices of output nodes.

    Use :meth:`from_vocab` to give the operations by name.
    """

    def __init__(self, zero_ops: Sequence[int], input_ops: Sequence[int], output_ops: Sequence[int]):
        self.zero_ops = sorted(int(o) for o in zero_ops)
        self.input_ops = sorted(int(o) for o in input_ops)
        self.output_ops = sorted(int(o) for o in output_ops)

    @classmethod
    def from_vocab(cls, vocab: Sequence[str], zero_ops: Sequence[str] = ("none",),
                   input_ops: Sequence[str] = ("input",),
                   output_ops: Sequence[str] = ("output",)) -> "PruneDeadOps":
        """Operations by name in a dataset's ``op_vocab`` (names absent from it are ignored)."""
        vocab = list(vocab)
        pick = lambda names: [vocab.index(n) for n in names if n in vocab]  # noqa: E731
        inputs, outputs = pick(input_ops), pick(output_ops)
        if not inputs or not outputs:
            raise ValueError(f"PruneDeadOps: the vocabulary {vocab} has no input "
                             f"({list(input_ops)}) or output ({list(output_ops)}) operation")
        return cls(pick(zero_ops), inputs, outputs)

    def forward(self, data: Data) -> Data:
        n = num_nodes_of(data, "PruneDeadOps")
        src, dst = edge_arrays(data, "PruneDeadOps", n)
        op = data.op.cpu().numpy()
        alive = ~np.isin(op, self.zero_ops)
        keep_edge = alive[src] & alive[dst]
        reach = descendants(src[keep_edge].tolist(), dst[keep_edge].tolist(), n, arch_name(data))
        reach = reach | np.eye(n, dtype=bool)                      # a node reaches itself
        inputs, outputs = np.isin(op, self.input_ops), np.isin(op, self.output_ops)
        on_path = reach[inputs].any(0) & reach[:, outputs].any(1) & alive
        keep = torch.from_numpy(on_path | inputs | outputs)
        edge_index, _ = subgraph(keep, data.edge_index[:, torch.from_numpy(keep_edge)],
                                 relabel_nodes=True, num_nodes=n)
        out = Data(edge_index=edge_index, num_nodes=int(keep.sum()))
        for key, value in data.items():
            if key in ("edge_index", "num_nodes") or key.endswith("_index"):
                continue
            out[key] = value[keep] if data.is_node_attr(key) and torch.is_tensor(value) else value
        return out

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(zero_ops={self.zero_ops}, input_ops={self.input_ops}, "
                f"output_ops={self.output_ops})")
