r"""The one DAG toolkit of the project: topological orders, generations, random orders, the
transitive closure and cycle naming, all from one pass of Kahn's algorithm.

Every function takes a graph as ``edge_index`` ``[2, E]`` (``source -> target``) and a node
count, and raises :class:`~pyg_nar.errors.ArchitectureError` naming the nodes of a cycle (and
``name``, how the message refers to the graph) if the graph is not a DAG.

==================================  ============================================================
:func:`kahn`                        one pass of Kahn's algorithm on edge lists: the order, every
                                    node's generation, the successor lists
:func:`topological_order`           a topological order, smallest index first (stable: a graph
                                    numbered topologically gets ``arange(N)``)
:func:`topological_generations`     generation of every node (the layers of
                                    :func:`networkx.topological_generations`)
:func:`random_topological_order`    a random topological order (NAR-Former's augmentation)
:func:`descendant_matrix`           the transitive closure, ``[N, N]`` boolean
:func:`find_cycle`                  the nodes of one cycle, in order
==================================  ============================================================

Graphs here have a few to a few thousand nodes: one interpreted :math:`O(N + E)` pass over
Python lists is faster than a vectorised frontier loop, which pays a round of tensor calls per
generation (2,000 of them on a 2,000-node chain).
"""
from __future__ import annotations

import heapq
from collections import deque
from typing import NamedTuple, Sequence

import numpy as np
import torch
from torch import Tensor

from pyg_nar.errors import ArchitectureError

__all__ = ["KahnResult", "kahn", "edge_lists", "topological_order", "topological_generations",
           "random_topological_order", "descendant_matrix", "find_cycle", "check_node_range"]


class KahnResult(NamedTuple):
    """What one pass of :func:`kahn` computes."""

    order: list[int]             #: a topological order
    generation: list[int]        #: 0 for sources, else 1 + the largest generation of a predecessor
    successors: list[list[int]]  #: successors of each node, in edge order


def edge_lists(edge_index: Tensor) -> tuple[list[int], list[int]]:
    """``edge_index`` ``[2, E]`` as two Python lists ``(sources, targets)``."""
    if edge_index.numel() == 0:
        return [], []
    src, dst = edge_index.tolist()
    return src, dst


def check_node_range(src: Sequence[int], dst: Sequence[int], num_nodes: int,
                     name: str = "architecture") -> None:
    """Raise :class:`ArchitectureError` if an edge refers to a node outside ``0..num_nodes-1``."""
    if len(src) and (min(min(src), min(dst)) < 0 or max(max(src), max(dst)) >= num_nodes):
        for s, d in zip(src, dst):
            if not (0 <= s < num_nodes and 0 <= d < num_nodes):
                raise ArchitectureError(
                    f"{name}: edge {s} -> {d} points to a node that does not exist "
                    f"(outside 0..{num_nodes - 1})")


def find_cycle(src: Sequence[int], dst: Sequence[int], num_nodes: int) -> list[int] | None:
    """The nodes of one directed cycle in path order, from its smallest node (``[v]`` for a
    self loop), or ``None`` for a DAG.

    Nodes that Kahn's algorithm cannot order each keep an unordered predecessor, so walking
    predecessors from any of them must repeat a node; the walk from the repeated node back to
    itself is a cycle.
    """
    order = kahn(src, dst, num_nodes, check=False).order
    if len(order) == num_nodes:
        return None
    done = set(order)
    pred: dict[int, int] = {}
    for s, d in zip(src, dst):
        if s not in done and d not in done:
            pred.setdefault(d, s)
    v = next(iter(pred))
    seen: list[int] = []
    index: dict[int, int] = {}
    while v not in index:
        index[v] = len(seen)
        seen.append(v)
        v = pred[v]
    cycle = seen[index[v]:][::-1]  # walked against the edges: reverse to follow them
    k = cycle.index(min(cycle))
    return cycle[k:] + cycle[:k]   # canonical: from its smallest node


def _raise_cycle(src, dst, num_nodes: int, name: str):
    cycle = find_cycle(src, dst, num_nodes)
    path = " -> ".join(str(v) for v in cycle + cycle[:1])
    raise ArchitectureError(f"{name}: the graph has a cycle through node {cycle[0]} ({path})")


def kahn(src: Sequence[int], dst: Sequence[int], num_nodes: int, name: str = "architecture",
         priority: Sequence[float] | None = None, check: bool = True) -> KahnResult:
    """One pass of Kahn's algorithm over the edges ``src[k] -> dst[k]``.

    Args:
        src, dst (Sequence[int]): edge sources and targets.
        num_nodes (int): number of nodes.
        name (str, optional): how an error refers to the graph. (default: ``"architecture"``)
        priority (Sequence[float], optional): which ready node comes next: the one of smallest
            ``(priority[v], v)``. ``None`` takes ready nodes first in, first out, which orders
            the nodes generation by generation. (default: ``None``)
        check (bool, optional): raise on a node index out of range or a cycle; with ``False``
            the order of a cyclic graph is simply shorter than ``num_nodes``.
            (default: ``True``)
    """
    if check:
        check_node_range(src, dst, num_nodes, name)
    succ: list[list[int]] = [[] for _ in range(num_nodes)]
    indeg = [0] * num_nodes
    for s, d in zip(src, dst):
        succ[s].append(d)
        indeg[d] += 1
    gen = [0] * num_nodes
    sources = [v for v in range(num_nodes) if indeg[v] == 0]
    if priority is None:  # first in, first out: generation by generation
        ready = deque(sources)
        pop, push = ready.popleft, ready.append
    else:
        ready = [(priority[v], v) for v in sources]
        heapq.heapify(ready)
        pop = lambda: heapq.heappop(ready)[1]  # noqa: E731
        push = lambda w: heapq.heappush(ready, (priority[w], w))  # noqa: E731
    order = []
    while ready:
        v = pop()
        order.append(v)
        g = gen[v] + 1
        for w in succ[v]:
            if gen[w] < g:
                gen[w] = g
            indeg[w] -= 1
            if indeg[w] == 0:
                push(w)
    if check and len(order) < num_nodes:
        _raise_cycle(src, dst, num_nodes, name)
    return KahnResult(order, gen, succ)


def topological_order(num_nodes: int, edge_index: Tensor, name: str = "architecture") -> Tensor:
    """A topological order as a ``[N]`` long tensor, smallest ready index first, so a graph
    already numbered topologically gets ``arange(N)``."""
    src, dst = edge_lists(edge_index)
    return torch.tensor(kahn(src, dst, num_nodes, name, priority=range(num_nodes)).order,
                        dtype=torch.long)


def topological_generations(edge_index: Tensor, num_nodes: int,
                            name: str = "architecture") -> Tensor:
    r"""Generation of every node as a ``[N]`` long tensor: 0 for sources, else 1 + the largest
    generation of its predecessors (the layers of :func:`networkx.topological_generations`)."""
    src, dst = edge_lists(edge_index)
    return torch.tensor(kahn(src, dst, num_nodes, name).generation, dtype=torch.long)


def random_topological_order(edge_index: Tensor, num_nodes: int,
                             generator: torch.Generator | None = None,
                             name: str = "architecture") -> Tensor:
    """A random topological order: Kahn's algorithm taking the ready node of smallest random
    priority (drawn from ``generator``). Every topological order can come out, though not all
    with the same probability."""
    src, dst = edge_lists(edge_index)
    return torch.tensor(random_order(src, dst, num_nodes, generator, name), dtype=torch.long)


def random_order(src: Sequence[int], dst: Sequence[int], num_nodes: int,
                 generator: torch.Generator | None = None, name: str = "architecture") -> list[int]:
    """:func:`random_topological_order` on edge lists, as a list."""
    priority = torch.rand(num_nodes, generator=generator, dtype=torch.float64).tolist()
    return kahn(src, dst, num_nodes, name, priority=priority).order


def descendant_matrix(edge_index: Tensor, num_nodes: int, name: str = "architecture") -> np.ndarray:
    r"""Transitive closure of a DAG as an ``[N, N]`` boolean array: ``R[u, v]`` iff a directed
    path of length >= 1 leads from ``u`` to ``v``.

    Dynamic programming over a reverse topological order, one bitset per node (Python ints,
    whose OR runs word-parallel in C): :math:`\mathrm{desc}(u) = \bigcup_{u \to v}
    \mathrm{desc}(v) \cup \{v\}`, i.e. :math:`E` bitset ORs of :math:`N/64` words, and
    :math:`N^2/8` bytes, unpacked to the boolean matrix in one NumPy call.
    """
    src, dst = edge_lists(edge_index)
    return descendants(src, dst, num_nodes, name)


def descendants(src: Sequence[int], dst: Sequence[int], num_nodes: int,
                name: str = "architecture") -> np.ndarray:
    """:func:`descendant_matrix` on edge lists."""
    order, _, succ = kahn(src, dst, num_nodes, name)
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
