r"""NAR-Former's information-flow-consistency augmentation (Sec. 3.4) and its token pair (Sec. 3.5)."""
from __future__ import annotations

import heapq

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

from pyg_nar.data import topological_order
from pyg_nar.transforms._common import arch_name, edge_index_of, num_nodes_of
from pyg_nar.transforms.tokenize import Tokenize

__all__ = ["FlowConsistentPair", "FlowConsistentShuffle", "random_topological_order"]

#: Fields that encode node positions: permuting their rows would not renumber the graph.
POSITIONAL_FIELDS = ("tokens", "aug_tokens")


def random_topological_order(edge_index: Tensor, num_nodes: int,
                             generator: torch.Generator | None = None,
                             name: str = "architecture") -> Tensor:
    """A random topological order: Kahn's algorithm, taking the ready node of smallest random
    priority (priorities drawn from ``generator``) at each step.

    Every topological order can come out, though not all with the same probability. A cycle
    raises :class:`~pyg_nar.data.ArchitectureError` naming a node on it.
    """
    priority = torch.rand(num_nodes, generator=generator, dtype=torch.float64).tolist()
    src, dst = edge_index.tolist() if edge_index.numel() else ([], [])
    succ: list[list[int]] = [[] for _ in range(num_nodes)]
    indeg = [0] * num_nodes
    for s, d in zip(src, dst):
        succ[s].append(d)
        indeg[d] += 1
    ready = [(priority[v], v) for v in range(num_nodes) if indeg[v] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, v = heapq.heappop(ready)
        order.append(v)
        for w in succ[v]:
            indeg[w] -= 1
            if indeg[w] == 0:
                heapq.heappush(ready, (priority[w], w))
    if len(order) < num_nodes:
        topological_order(num_nodes, edge_index, name)  # raises, naming a node on the cycle
    return torch.tensor(order, dtype=torch.long)


class FlowConsistentShuffle(BaseTransform):
    r"""Renumbers the nodes by a random topological order (NAR-Former Sec. 3.4, Fig. 4 (a), (b)).

    The result is isomorphic to the input and *flow-consistent*: every edge still goes from a
    smaller to a larger index, so the augmented graph again satisfies the
    :mod:`pyg_nar.data` contract. Renumbering moves every node-level field with it:

    * tensors whose first dimension is ``N`` (``op``, ``op_attrs``, ``out_shape``, ``node_gen``,
      degrees, ...) are permuted, except fields with ``edge`` in their name;
    * fields whose name ends in ``_index`` (``edge_index``, ``flow_index``, ``adj_index``)
      hold node numbers and are remapped; the edge order is kept, so edge-level fields
      (``edge_gen``, ...) stay aligned;
    * graph-level fields (``y``, ``arch_id``, ``static``, ``depth``, ...) are unchanged.

    ``tokens`` and ``aug_tokens`` encode node positions and cannot be permuted: apply the
    shuffle before :class:`Tokenize` (or use :class:`FlowConsistentPair`).

    Which nodes can move: only nodes that are not ordered by a path. A unique source (the
    input of a NAS-Bench cell) precedes every other node in any topological order, so it stays
    node 0, and a unique sink (the cell output) stays last; in NAS-Bench-201 cells only the six
    operation nodes 1..6 are renumbered. The draw may return the identity numbering.

    Args:
        seed: seed of the transform's own :class:`torch.Generator` (``None``: torch's global
            generator). Each call advances the generator, so as a ``transform`` every epoch
            sees a fresh order; as a ``pre_transform`` the order is drawn once. DataLoader
            workers each hold a copy of the generator (seed them apart if that matters).
    """

    def __init__(self, seed: int | None = None):
        self.seed = seed
        self.generator = None if seed is None else torch.Generator().manual_seed(int(seed))

    def forward(self, data: Data) -> Data:
        name = arch_name(data)
        n = num_nodes_of(data, "FlowConsistentShuffle")
        ei = edge_index_of(data, "FlowConsistentShuffle")
        for key in POSITIONAL_FIELDS:
            if key in data:
                raise ValueError(
                    f"{name}: FlowConsistentShuffle cannot renumber `{key}`, which encodes "
                    f"node positions; apply the shuffle before Tokenize (or use "
                    f"FlowConsistentPair)")
        order = random_topological_order(ei, n, self.generator, name)
        rank = torch.empty_like(order)
        rank[order] = torch.arange(n)
        for key in list(data.keys()):
            value = data[key]
            if not isinstance(value, Tensor) or value.dim() == 0:
                continue
            if key.endswith("_index"):
                data[key] = rank[value]
            elif value.size(0) == n and "edge" not in key:
                data[key] = value[order]
        return data

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(seed={self.seed})"


class FlowConsistentPair(BaseTransform):
    r"""Adds ``aug_tokens`` ``[N, D]``: the tokens of a flow-consistent shuffled copy of the
    graph (Sec. 3.4), for the architecture-consistency loss (Sec. 3.5, Eq. 11).

    The copy holds only what the tokenizer reads (``op``, ``edge_index`` and, for whole
    networks, ``op_attrs`` / ``out_shape``); it is renumbered by ``shuffle`` and encoded by
    ``tokenize``, so ``aug_tokens`` matches ``tokens`` from the same :class:`Tokenize` in shape.
    Its end token and depth encoding equal the original's (same ``N``). Row ``k`` of
    ``aug_tokens`` is node ``k`` of the *shuffled* numbering: the loss compares the two
    graph-level predictions, not rows.

    Args:
        shuffle: the augmentation (default ``FlowConsistentShuffle()``).
        tokenize: the tokenizer, normally the same settings as the ``Tokenize`` that makes
            ``tokens`` (default ``Tokenize()``).
    """

    def __init__(self, shuffle: FlowConsistentShuffle | None = None,
                 tokenize: Tokenize | None = None):
        self.shuffle = FlowConsistentShuffle() if shuffle is None else shuffle
        self.tokenize = Tokenize() if tokenize is None else tokenize

    def forward(self, data: Data) -> Data:
        n = num_nodes_of(data, "FlowConsistentPair")
        copy = Data(op=data.op, edge_index=edge_index_of(data, "FlowConsistentPair"),
                    num_nodes=n)
        for key in ("op_attrs", "out_shape", "arch_id"):
            if key in data:
                copy[key] = data[key]
        data.aug_tokens = self.tokenize(self.shuffle(copy)).tokens
        return data

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.shuffle!r}, {self.tokenize!r})"
