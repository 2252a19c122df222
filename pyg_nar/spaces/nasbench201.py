"""The NAS-Bench-201 cell space (Dong & Yang, ICLR 2020, https://arxiv.org/abs/2001.00326).

A cell is a DAG of four nodes whose six edges (e01, e02, e12, e03, e13, e23) each carry one of
five operations, written as the benchmark's arch string
``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``; 5^6 = 15,625 cells. This module is the one place that
parses and writes arch strings: the dataset, the zoo's NB201 networks and the search use it.
"""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from pyg_nar.errors import ArchitectureError

__all__ = ["NB201_OPS", "EDGE_INPUTS", "NB201SearchSpace", "parse_arch_str", "to_arch_str"]

#: NB201's five edge operations, in the benchmark's own order.
NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: Source node of each of the six edges, in arch-string order (target nodes 1, 2, 2, 3, 3, 3).
EDGE_INPUTS = (0, 0, 1, 0, 1, 2)
EDGE_TARGETS = (1, 2, 2, 3, 3, 3)

_CELL = re.compile(r"^\|([^|]+)\|\+\|([^|]+)\|([^|]+)\|\+\|([^|]+)\|([^|]+)\|([^|]+)\|$")


def parse_arch_str(arch_str: str) -> list[str]:
    """The six edge operations of an NB201 arch string, in string order (e01, e02, e12, e03,
    e13, e23). Raises :class:`~pyg_nar.errors.ArchitectureError` naming the string for
    anything malformed."""
    if not isinstance(arch_str, str):
        raise ArchitectureError(f"{arch_str!r}: an NB201 arch string must be a str, "
                                f"got {type(arch_str).__name__}")
    m = _CELL.match(arch_str.strip())
    if m is None:
        raise ArchitectureError(
            f"{arch_str!r}: not an NB201 arch string (expected |op~0|+|op~0|op~1|+|op~0|op~1|op~2|)")
    ops = []
    for k, (part, inp) in enumerate(zip(m.groups(), EDGE_INPUTS)):
        name, sep, src = part.partition("~")
        if sep != "~" or src != str(inp):
            raise ArchitectureError(f"{arch_str!r}: entry {k} {part!r} should read '<op>~{inp}'")
        if name not in NB201_OPS:
            raise ArchitectureError(
                f"{arch_str!r}: unknown operation {name!r} (known: {', '.join(NB201_OPS)})")
        ops.append(name)
    return ops


def to_arch_str(ops: Sequence[str]) -> str:
    """The official arch string of six edge operations (e01, e02, e12, e03, e13, e23)."""
    if len(ops) != 6:
        raise ArchitectureError(f"an NB201 cell has 6 edge operations, got {len(ops)}: {list(ops)}")
    for op in ops:
        if op not in NB201_OPS:
            raise ArchitectureError(f"unknown NB201 operation {op!r} (known: {', '.join(NB201_OPS)})")
    e = [f"{op}~{i}" for op, i in zip(ops, EDGE_INPUTS)]
    return f"|{e[0]}|+|{e[1]}|{e[2]}|+|{e[3]}|{e[4]}|{e[5]}|"


class NB201SearchSpace:
    """The NAS-Bench-201 cell space: six edges, each one of the five :data:`NB201_OPS`."""

    ops = NB201_OPS
    num_edges = 6
    to_arch_str = staticmethod(to_arch_str)
    parse = staticmethod(parse_arch_str)

    @classmethod
    def all_arch_strs(cls) -> list[str]:
        """All 15,625 cells, in lexicographic order of their op indices."""
        grid = np.stack(np.meshgrid(*[np.arange(5)] * 6, indexing="ij"), -1).reshape(-1, 6)
        return [to_arch_str([NB201_OPS[i] for i in row]) for row in grid]

    @classmethod
    def sample(cls, rng: np.random.Generator) -> str:
        """A cell drawn uniformly at random."""
        return to_arch_str([NB201_OPS[i] for i in rng.integers(0, 5, size=6)])

    @classmethod
    def mutate(cls, arch_str: str, rng: np.random.Generator) -> str:
        """Change exactly one of the six edge operations to a different operation."""
        ops = parse_arch_str(arch_str)
        edge = int(rng.integers(6))
        others = [op for op in NB201_OPS if op != ops[edge]]
        ops[edge] = others[int(rng.integers(len(others)))]
        return to_arch_str(ops)

    @classmethod
    def neighbours(cls, arch_str: str) -> list[str]:
        """All 24 cells that differ from ``arch_str`` in exactly one edge operation."""
        ops = parse_arch_str(arch_str)
        return [to_arch_str(ops[:edge] + [op] + ops[edge + 1:])
                for edge in range(6) for op in NB201_OPS if op != ops[edge]]
