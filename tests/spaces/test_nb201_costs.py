"""NB201 cell costs: live edges, degenerate cells, FLOPs of the CIFAR network."""
import pytest

from pyg_nar.errors import ArchitectureError
from pyg_nar.spaces import NB201SearchSpace, nb201_flops, nb201_is_degenerate, nb201_live_edges

NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


def test_live_edges():
    # e01 conv, e12 conv, e23 conv is a path; e02 pool reaches node 2 but e03/e13 are none
    arch = "|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|none~0|none~1|skip_connect~2|"
    assert nb201_live_edges(arch) == [True, True, True, False, False, True]
    # e01 feeds node 1, which feeds nothing: dead; e03 is the only path
    dead = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
    assert nb201_live_edges(dead) == [False, False, False, True, False, False]
    # e12 with node 1 unreachable from the input is dead although it reaches the output
    orphan = "|none~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|skip_connect~2|"
    assert nb201_live_edges(orphan) == [False] * 6 and nb201_is_degenerate(orphan)
    assert nb201_is_degenerate(NONE) and not nb201_is_degenerate(dead)
    with pytest.raises(ArchitectureError):
        nb201_live_edges("|conv~0|")


def test_degenerate_cells_of_the_space():
    cells = NB201SearchSpace.all_arch_strs()
    # no path 0 -> 3: each path (direct, via 1, via 2, via 1 and 2) blocked, counted by
    # inclusion-exclusion in the scratch research: 341 cells (README of latency_help: every
    # near-zero pixel3 / raspi4 latency is one of them)
    assert sum(nb201_is_degenerate(c) for c in cells) == 341


def test_flops_by_operation():
    conv3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    conv1 = conv3.replace("3x3", "1x1")
    per_edge = 5 * (32 * 32 * 16 * 16 + 16 * 16 * 32 * 32 + 8 * 8 * 64 * 64) / 1e6  # one 1x1 edge, 15 cells
    assert nb201_flops(conv1) - nb201_flops(NONE) == pytest.approx(6 * per_edge)
    assert nb201_flops(conv3) - nb201_flops(NONE) == pytest.approx(54 * per_edge)
    skip = NONE.replace("none~0|+", "skip_connect~0|+", 1)
    assert nb201_flops(skip) == nb201_flops(NONE)
    assert nb201_flops(NONE, num_classes=10) == pytest.approx(nb201_flops(NONE) - 64 * 90 / 1e6)
