"""Costs of NAS-Bench-201 cells as parts of their CIFAR network, computed from the arch string.

The NB201 network (Dong & Yang, ICLR 2020, https://arxiv.org/abs/2001.00326): a 3x3 stem
convolution to ``C = 16`` channels, three stages of ``N = 5`` copies of the cell at
``C, 2C, 4C`` channels and ``32, 16, 8`` pixels, a residual block between stages (3x3 stride-2
and 3x3 convolutions, shortcut 2x2 average pooling + 1x1 convolution), global pooling and a
linear classifier. Only the cells differ between architectures.

A cell edge is **live** when it carries an operation (not ``none``) and lies on a path from the
cell's input to its output; a cell with no live edge is **degenerate**: its output is constant
zero. Some runtimes remove such dead computation (on HELP's ``pixel3`` and ``raspi4`` devices
degenerate cells have near-zero or erratic latencies, see ``latency_help/README.md``).
"""
from __future__ import annotations

from pyg_nar.spaces.nasbench201 import EDGE_INPUTS, EDGE_TARGETS, parse_arch_str
from pyg_nar.utils.dag import descendants

__all__ = ["nb201_live_edges", "nb201_is_degenerate", "nb201_flops"]


def nb201_live_edges(arch_str: str) -> list[bool]:
    """For each of the six edges (arch-string order), whether it is live (see the module)."""
    ops = parse_arch_str(arch_str)
    src = [i for i, op in zip(EDGE_INPUTS, ops) if op != "none"]
    dst = [j for j, op in zip(EDGE_TARGETS, ops) if op != "none"]
    reach = descendants(src, dst, 4, arch_str)
    return [op != "none" and (i == 0 or bool(reach[0, i])) and (j == 3 or bool(reach[j, 3]))
            for i, j, op in zip(EDGE_INPUTS, EDGE_TARGETS, ops)]


def nb201_is_degenerate(arch_str: str) -> bool:
    """Whether the cell has no path from its input to its output (no live edge)."""
    return not any(nb201_live_edges(arch_str))


def nb201_flops(arch_str: str, channels: int = 16, cells_per_stage: int = 5,
                num_classes: int = 100) -> float:
    """Million multiply-accumulates of the CIFAR NB201 network built from the cell (batch 1,
    32x32 input): convolutions, pooling windows and the classifier; every operation of the cell is
    counted, live or not, as the benchmark's network runs them all. ``num_classes`` only adds a
    constant (HELP's NB201 latencies are probably for CIFAR-100, hence the default)."""
    ops = parse_arch_str(arch_str)
    c = channels
    macs = 32 * 32 * 3 * c * 9
    per_op = {"none": 0, "skip_connect": 0, "nor_conv_1x1": 1, "nor_conv_3x3": 9}
    for width, size in ((c, 32), (2 * c, 16), (4 * c, 8)):
        for op in ops:
            if op == "avg_pool_3x3":
                macs += cells_per_stage * size * size * width * 9
            else:
                macs += cells_per_stage * size * size * width * width * per_op[op]
    for width, size in ((c, 16), (2 * c, 8)):  # residual blocks: output size, input width
        macs += size * size * (width * 2 * width * 9 + 2 * width * 2 * width * 9 + width * 4 + width * 2 * width)
    macs += 4 * c * num_classes
    return macs / 1e6
