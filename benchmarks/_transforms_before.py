"""Frozen copy of pyg_nar.transforms before the small-graph speed-up (commit df34496), kept
only as the baseline of benchmarks/transforms_speed.py: the benchmark times it against the
library in the same run and checks that both give bit-identical fields. Not part of the library.
"""
# flake8: noqa
from __future__ import annotations

import heapq
import math

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform
from torch_geometric.utils import degree, remove_self_loops, to_undirected

from pyg_nar.data import ArchitectureError, topological_order

# ---- pyg_nar/transforms/_common.py
def arch_name(data: Data) -> str:
    """How error messages refer to a graph: ``architecture <arch_id>`` when it has one."""
    arch_id = getattr(data, "arch_id", None)
    if isinstance(arch_id, Tensor) and arch_id.numel() == 1:
        return f"architecture {int(arch_id)}"
    return "architecture"


def num_nodes_of(data: Data, transform: str) -> int:
    """``data.num_nodes``, or a clear error when the graph has none."""
    n = data.num_nodes
    if n is None or n == 0:
        raise ArchitectureError(f"{arch_name(data)}: {transform} needs a graph with nodes "
                                f"(set `num_nodes` or `op`)")
    return int(n)


def edge_index_of(data: Data, transform: str) -> Tensor:
    """``data.edge_index`` as a ``[2, E]`` long tensor, or a clear error."""
    ei = getattr(data, "edge_index", None)
    if ei is None:
        raise ArchitectureError(f"{arch_name(data)}: {transform} needs `edge_index`")
    if ei.dim() != 2 or ei.size(0) != 2:
        raise ArchitectureError(f"{arch_name(data)}: {transform}: edge_index must have shape "
                                f"[2, E], got {tuple(ei.shape)}")
    return ei.long()


# ---- pyg_nar/transforms/tokenize.py
#: Value encoded in every part of the end token (Sec. 3.2, "Special Tokens": 1e5).
END_POSITION = 1e5
#: Source position of a node without predecessors (Sec. 3.2: :math:`\mathcal{P}(v_0) = \{-1\}`).
ROOT_SOURCE = -1.0
ROOT_SOURCE_ROW = 0  # row of f(-1) in Tokenize's table of integer encodings


def sinusoid_frequencies(num_freqs: int) -> Tensor:
    r"""The frequencies :math:`\mathbf{b}` of Eq. 4-5: ``num_freqs`` values linearly spaced from
    :math:`2^0` to :math:`2^{L-1}` (float64; the last one is exactly :math:`2^{L-1}`)."""
    if num_freqs < 1:
        raise ValueError(f"num_freqs must be at least 1, got {num_freqs}")
    if num_freqs == 1:
        return torch.ones(1, dtype=torch.float64)
    top = 2.0 ** (num_freqs - 1)
    step = (top - 1.0) / (num_freqs - 1)                                    # Eq. 5
    b = 1.0 + torch.arange(num_freqs, dtype=torch.float64) * step          # Eq. 4
    b[-1] = top
    return b


def sinusoid_encoding(values, num_freqs: int, dtype: torch.dtype = torch.float32) -> Tensor:
    r"""NAR-Former's generic real-number encoder (Eq. 3-5).

    .. math::
        f(p) = [\sin(b_1 p \pi), \cos(b_1 p \pi), \dots, \sin(b_L p \pi), \cos(b_L p \pi)]

    with :math:`\mathbf{b}` from :func:`sinusoid_frequencies`. ``values`` of any shape
    ``[...]`` give ``[..., 2 * num_freqs]``.

    Computed in float64 with the product :math:`b p` reduced modulo 2 *before* multiplying by
    :math:`\pi` (exact for powers of two; :math:`\sin(x\pi)` has period 2). This keeps the
    argument of sin/cos in :math:`[0, 2\pi)`, so the result is the same with any math library
    and exact when :math:`b p` is an integer, although frequencies reach :math:`2^{31}` for
    ``num_freqs=32`` (e.g. :math:`f(10^5)` at :math:`b = 2^{31}` is exactly ``(0, 1)``). The
    result is cast to ``dtype`` at the end.
    """
    v = torch.as_tensor(values, dtype=torch.float64)
    b = sinusoid_frequencies(num_freqs)
    arg = torch.remainder(v.unsqueeze(-1) * b, 2.0) * math.pi
    out = torch.stack([torch.sin(arg), torch.cos(arg)], dim=-1).flatten(-2)
    return out.to(dtype)


class Tokenize(BaseTransform):
    r"""NAR-Former tokens (Sec. 3.2, Eq. 1-9; supplement Sec. 1 for whole networks).

    Adds

    * ``tokens`` ``[N, D]`` float32: per node :math:`[f(\mathcal{C}(v_i)) \,|\, f(i) \,|\,
      \sum_{j \in \mathcal{P}(v_i)} f(j)]` (Eq. 2, 6, 7, 8), positions 0-based in the
      topological numbering. ``D = 3 * 2L`` (192 for ``L = 32``, the paper's setting).
    * ``end_token`` ``[1, D]``: :math:`f(10^5)` in *every* part. The paper fixes the self and
      source parts to :math:`f(10^5)` and is silent on the rest; the official code uses
      :math:`f(10^5)` for the operation (and attribute/shape) parts too, and so do we.
    * ``depth_enc`` ``[1, 2 * depth_freqs]``: :math:`f_{Dep}(N)`, the input of the depth
      token :math:`\mathrm{ReLU}(\mathrm{FC}(f_{Dep}(N)))` (Eq. 9); the FC layer belongs to the
      model. ``depth_freqs = 48`` gives the official 96 dims.

    **Nodes without predecessors.** The paper sets :math:`\mathcal{P}(v_0) = \{-1\}` because
    :math:`v_0` "has no precursor node"; we apply that rule to *every* node with in-degree 0
    (e.g. the extra graph inputs of an ONNX model), so all graph inputs are encoded alike.
    (The official whole-network code gives such nodes, other than node 0, a zero source part.)

    **Whole networks** (supplement Sec. 1). When the graph has ``op_attrs`` ``[N, 8]`` and/or
    ``out_shape`` ``[N, 4]``, each value is encoded with ``attr_freqs`` frequencies and
    appended: with both, a token has 3 + 8 + 4 = 15 parts (``D = 15 * 2L``: 480 for ``L = 16``
    as in the supplement, 960 for ``L = 32`` as in the official code). A value of 0 - how
    :mod:`pyg_nar.data` marks an absent attribute or the padding of a lower-rank output
    shape - encodes to the zero vector, the supplement's zero padding. Which attributes an
    operation has follows from its type, so a genuine 0 attribute (e.g. ``padding = 0``)
    loses no information.

    **Static features.** The supplement feeds the static properties (batch size, FLOPs,
    parameters, memory access) to the prediction head next to the transformer output, not as
    tokens. When the graph has ``static`` ``[1, S]`` we add ``static_enc`` ``[1, S * 2L_a]``,
    each value encoded with ``attr_freqs`` frequencies, zeros included (the official code's
    4 x 64 = 256-dim static vector).

    Args:
        num_freqs: :math:`L` for the operation, self-position and source-position parts
            (paper: 32).
        depth_freqs: :math:`L` of the depth encoding (official code: 48, i.e. 96 dims).
        attr_freqs: :math:`L` for each attribute, output-shape and static value
            (default: ``num_freqs``).
    """

    def __init__(self, num_freqs: int = 32, depth_freqs: int = 48, attr_freqs: int | None = None):
        for name, v in (("num_freqs", num_freqs), ("depth_freqs", depth_freqs),
                        ("attr_freqs", attr_freqs)):
            if v is not None and (not isinstance(v, int) or v < 1):
                raise ValueError(f"Tokenize: {name} must be a positive integer, got {v!r}")
        self.num_freqs = num_freqs
        self.depth_freqs = depth_freqs
        self.attr_freqs = num_freqs if attr_freqs is None else attr_freqs
        self._table: Tensor | None = None
        self._end_cache: dict = {}
        self._depth_cache: dict = {}

    def _encode(self, values, num_freqs: int) -> Tensor:
        return sinusoid_encoding(values, num_freqs, dtype=torch.float64)

    def _integer_table(self, largest: int) -> Tensor:
        """float64 encodings of the integers ``-1 .. largest`` (row ``k + 1`` is ``f(k)``),
        computed once and grown on demand: positions and op indices are small integers, so a
        lookup replaces most of the sin/cos work for each graph."""
        table = self._table
        if table is None or table.size(0) < largest + 2:
            size = max(largest + 2, 64, 0 if table is None else 2 * table.size(0))
            table = self._encode(torch.arange(-1, size - 1, dtype=torch.float64), self.num_freqs)
            self._table = table
        return table

    def _end_token(self, widths: tuple) -> Tensor:
        """``[1, D]``: f(1e5) in the three parts, and in each attribute/shape slot (cached)."""
        if widths not in self._end_cache:
            end = self._encode(torch.tensor([END_POSITION]), self.num_freqs)
            parts = [end, end, end] + [
                self._encode(torch.full((1, w), END_POSITION), self.attr_freqs).flatten(1)
                for w in widths]
            self._end_cache[widths] = torch.cat(parts, dim=-1).float()
        return self._end_cache[widths]

    def _depth_enc(self, n: int) -> Tensor:
        """``[1, 2 * depth_freqs]``: f(N), the input of the depth token (Eq. 9; cached per N)."""
        if n not in self._depth_cache:
            self._depth_cache[n] = sinusoid_encoding([[float(n)]], self.depth_freqs).view(1, -1)
        return self._depth_cache[n]

    def _value_parts(self, values: Tensor) -> Tensor:
        """Encode each column of ``[N, K]`` values; 0 (absent) gives zeros -> ``[N, K * 2L_a]``."""
        enc = self._encode(values, self.attr_freqs)                        # [N, K, 2L_a]
        enc = enc * (values != 0).unsqueeze(-1)
        return enc.flatten(1)

    def forward(self, data: Data) -> Data:
        name = arch_name(data)
        n = num_nodes_of(data, "Tokenize")
        ei = edge_index_of(data, "Tokenize")
        op = getattr(data, "op", None)
        if op is None or op.numel() != n:
            raise ArchitectureError(f"{name}: Tokenize needs `op` with one entry per node "
                                    f"({n} nodes), got "
                                    f"{None if op is None else tuple(op.shape)}")
        op = op.view(-1).long()
        if int(op.min()) < 0:
            raise ArchitectureError(f"{name}: node {int((op < 0).nonzero()[0])} has a negative "
                                    f"operation index")
        if ei.numel() and (int(ei.min()) < 0 or int(ei.max()) >= n):
            raise ArchitectureError(f"{name}: edge_index refers to a node outside 0..{n - 1}")
        src, dst = ei[0], ei[1]
        table = self._integer_table(max(n, int(op.max())))
        t_op = table[op + 1]                                               # Eq. 6
        t_self = table[1:n + 1]                                            # Eq. 7
        t_sour = torch.zeros_like(t_self).index_add_(0, dst, table[src + 1])  # Eq. 8
        roots = torch.bincount(dst, minlength=n) == 0
        t_sour[roots] = table[ROOT_SOURCE_ROW]                             # P(v) = {-1}
        parts = [t_op, t_self, t_sour]

        widths = []
        for field, width in (("op_attrs", 8), ("out_shape", 4)):
            values = getattr(data, field, None)
            if values is None:
                continue
            if values.dim() != 2 or values.size(0) != n:
                raise ArchitectureError(f"{name}: `{field}` must have shape [{n}, {width}] "
                                        f"(one row per node), got {tuple(values.shape)}")
            parts.append(self._value_parts(values.to(torch.float64)))
            widths.append(values.size(1))

        data.tokens = torch.cat(parts, dim=-1).float()
        data.end_token = self._end_token(tuple(widths)).clone()
        data.depth_enc = self._depth_enc(n).clone()
        static = getattr(data, "static", None)
        if static is not None:
            static = static.to(torch.float64).view(1, -1)
            data.static_enc = self._encode(static, self.attr_freqs).flatten(1).float()
        return data

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(num_freqs={self.num_freqs}, "
                f"depth_freqs={self.depth_freqs}, attr_freqs={self.attr_freqs})")


# ---- pyg_nar/transforms/generations.py
def kahn_generations(edge_index: Tensor, num_nodes: int, name: str = "architecture"):
    """One pass of Kahn's algorithm: ``(order, generation, successors)`` as Python lists.

    ``order`` is a topological order (generation by generation), ``generation[v]`` is 0 for
    sources and 1 + the largest generation of ``v``'s predecessors otherwise. :math:`O(N + E)`
    with small constants: on graphs of up to a few thousand nodes one interpreted pass is
    faster than a vectorised frontier loop, which pays one round of array calls per
    generation (2,000 of them on a 2,000-node chain). A cycle raises
    :class:`~pyg_nar.data.ArchitectureError` naming a node on it (via
    :func:`pyg_nar.data.topological_order`).
    """
    src, dst = edge_index.tolist() if edge_index.numel() else ([], [])
    if src and (min(min(src), min(dst)) < 0 or max(max(src), max(dst)) >= num_nodes):
        raise ArchitectureError(f"{name}: edge_index refers to a node outside 0..{num_nodes - 1}")
    succ: list[list[int]] = [[] for _ in range(num_nodes)]
    indeg = [0] * num_nodes
    for s, d in zip(src, dst):
        succ[s].append(d)
        indeg[d] += 1
    gen = [0] * num_nodes
    order = [v for v in range(num_nodes) if indeg[v] == 0]
    i = 0
    while i < len(order):
        v = order[i]
        i += 1
        g = gen[v] + 1
        for w in succ[v]:
            if gen[w] < g:
                gen[w] = g
            indeg[w] -= 1
            if indeg[w] == 0:
                order.append(w)
    if len(order) < num_nodes:
        topological_order(num_nodes, edge_index, name)  # raises, naming a node on the cycle
        raise ArchitectureError(f"{name}: the graph has a cycle")  # pragma: no cover
    return order, gen, succ


def topological_generations(edge_index: Tensor, num_nodes: int,
                            name: str = "architecture") -> Tensor:
    r"""Generation of every node as a ``[N]`` long tensor: 0 for sources, else 1 + the largest
    generation of its predecessors (the layers of :func:`networkx.topological_generations`).
    A cycle raises :class:`~pyg_nar.data.ArchitectureError` naming a node on it."""
    return torch.tensor(kahn_generations(edge_index, num_nodes, name)[1], dtype=torch.long)


class TopologicalGenerations(BaseTransform):
    r"""Adds the topological generations of a DAG (FlowerFormer's flow-encoder schedule).

    * ``node_gen`` ``[N]`` long: 0 for source nodes, else 1 + the largest generation of the
      node's predecessors (:func:`networkx.topological_generations`).
    * ``edge_gen`` ``[E]`` long: the generation of each edge's target, so the edges of
      generation :math:`g` are exactly the incoming edges of the nodes of generation :math:`g`.
    * ``depth`` ``[1]`` long: the number of generations, ``node_gen.max() + 1``.

    A cyclic graph raises :class:`~pyg_nar.data.ArchitectureError` naming a node on the cycle.
    """

    def forward(self, data: Data) -> Data:
        n = num_nodes_of(data, "TopologicalGenerations")
        ei = edge_index_of(data, "TopologicalGenerations")
        gen = topological_generations(ei, n, arch_name(data))
        data.node_gen = gen
        data.edge_gen = gen[ei[1]]
        data.depth = gen.max().view(1) + 1
        return data


# ---- pyg_nar/transforms/flow.py
def descendant_matrix(edge_index: Tensor, num_nodes: int, name: str = "architecture") -> np.ndarray:
    r"""Transitive closure of a DAG as an ``[N, N]`` boolean array: ``R[u, v]`` iff a directed
    path of length >= 1 leads from ``u`` to ``v``.

    Dynamic programming over a reverse topological order, one bitset per node (Python ints,
    whose OR runs word-parallel in C): :math:`\mathrm{desc}(u) = \bigcup_{u \to v}
    \mathrm{desc}(v) \cup \{v\}`, i.e. :math:`E` bitset ORs of :math:`N/64` words, and
    :math:`N^2/8` bytes. The bitsets are unpacked to the boolean matrix in one NumPy call.
    A cycle raises :class:`~pyg_nar.data.ArchitectureError` naming a node on it.
    """
    order, _, succ = kahn_generations(edge_index, num_nodes, name)
    reach = [0] * num_nodes
    for u in reversed(order):
        r = 0
        for v in succ[u]:
            r |= reach[v] | (1 << v)
        reach[u] = r
    width = (num_nodes + 7) // 8
    packed = np.frombuffer(b"".join(r.to_bytes(width, "little") for r in reach), dtype=np.uint8)
    return np.unpackbits(packed.reshape(num_nodes, width), axis=1, count=num_nodes,
                         bitorder="little").view(bool)


def flow_pairs(edge_index: Tensor, num_nodes: int, name: str = "architecture") -> Tensor:
    r"""All ordered pairs ``(u, v)`` joined by a directed path in either direction, plus
    ``(v, v)`` for every node, as a ``[2, P]`` long tensor sorted by ``u`` then ``v``."""
    closure = descendant_matrix(edge_index, num_nodes, name)
    mask = closure | closure.T
    np.fill_diagonal(mask, True)
    return torch.from_numpy(mask).nonzero().t().contiguous()


class FlowMask(BaseTransform):
    r"""Adds ``flow_index`` ``[2, P]``: every ordered pair ``(u, v)`` such that a directed path
    joins ``u`` and ``v`` in either direction, plus ``(v, v)`` for every node - FlowerFormer's
    flow-aware attention mask (each node attends to its ancestors, its descendants and itself).

    That is the DAG's transitive closure made undirected (the DAGformer convention that
    FlowerFormer follows) with self pairs added, computed by :func:`descendant_matrix`; pairs
    are sorted by ``u`` then ``v``. The name ends in ``_index``, so PyG batching offsets it
    like ``edge_index``. A cyclic graph raises :class:`~pyg_nar.data.ArchitectureError`.
    """

    def forward(self, data: Data) -> Data:
        n = num_nodes_of(data, "FlowMask")
        data.flow_index = flow_pairs(edge_index_of(data, "FlowMask"), n, arch_name(data))
        return data


# ---- pyg_nar/transforms/adjacency.py
class SymmetricAdjacency(BaseTransform):
    r"""Adds ``adj_index`` ``[2, 2E]``: every edge in both directions, without self loops and
    duplicates, sorted by row then column - the :math:`A + A^\top` (no self loops) that
    NAR-Former V2's graph-aided attention masks its scores with. ``edge_index`` keeps its
    direction for the models that need it."""

    def forward(self, data: Data) -> Data:
        n = num_nodes_of(data, "SymmetricAdjacency")
        ei, _ = remove_self_loops(edge_index_of(data, "SymmetricAdjacency"))
        data.adj_index = to_undirected(ei, num_nodes=n)
        return data


class NodeDegree(BaseTransform):
    r"""Adds ``in_degree`` and ``out_degree`` ``[N]`` float: the number of edges entering and
    leaving each node (NAR-Former V2's degree gate, :math:`x \odot \sigma(W \deg)`, reads the
    degrees of the symmetrised graph, ``in_degree + out_degree`` on a DAG)."""

    def forward(self, data: Data) -> Data:
        n = num_nodes_of(data, "NodeDegree")
        ei = edge_index_of(data, "NodeDegree")
        data.in_degree = degree(ei[1], n, dtype=torch.float)
        data.out_degree = degree(ei[0], n, dtype=torch.float)
        return data


# ---- pyg_nar/transforms/augment.py
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
