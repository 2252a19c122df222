"""NAS-Bench-201 networks (Dong & Yang, ICLR 2020): one searched cell stacked in three stages
with residual reduction blocks between them. Arch strings: :mod:`pyg_nar.spaces.nasbench201`."""
from __future__ import annotations

from torch import nn

from pyg_nar.networks.zoo.blocks import Classifier, Family
from pyg_nar.spaces.nasbench201 import EDGE_INPUTS, EDGE_TARGETS, NB201_OPS, parse_arch_str, to_arch_str


def sample(r) -> dict:
    arch = to_arch_str([r.choice(NB201_OPS) for _ in range(6)])
    return {"arch_str": arch, "channels": r.choice([4, 8]), "cells_per_stage": r.randint(1, 2)}


class _Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


def _edge_op(name, c):
    if name == "none":
        return _Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, 1, 1, count_include_pad=False)
    k = 1 if name == "nor_conv_1x1" else 3
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, k, 1, k // 2, bias=False), nn.BatchNorm2d(c))


class _Cell(nn.Module):
    def __init__(self, arch_str, c):
        super().__init__()
        self.edges = nn.ModuleDict()
        self.inputs = [[] for _ in range(3)]
        for op, j, i in zip(parse_arch_str(arch_str), EDGE_INPUTS, EDGE_TARGETS):
            key = f"{j}_{i}"
            self.edges[key] = _edge_op(op, c)
            self.inputs[i - 1].append((j, key))

    def forward(self, x):
        states = [x]
        for ins in self.inputs:
            states.append(sum(self.edges[key](states[j]) for j, key in ins))
        return states[-1]


class _Reduction(nn.Module):
    """NB201's residual reduction block: ReLU-conv3x3(s2)-BN, ReLU-conv3x3-BN, + AvgPool-conv1x1."""

    def __init__(self, cin, cout):
        super().__init__()
        self.a = nn.Sequential(nn.ReLU(), nn.Conv2d(cin, cout, 3, 2, 1, bias=False), nn.BatchNorm2d(cout))
        self.b = nn.Sequential(nn.ReLU(), nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.short = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(cin, cout, 1, bias=False))

    def forward(self, x):
        return self.b(self.a(x)) + self.short(x)


def build(cfg) -> nn.Module:
    c, n = cfg["channels"], cfg["cells_per_stage"]
    layers = [nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)]
    for stage in range(3):
        if stage:
            layers.append(_Reduction(c, 2 * c))
            c *= 2
        layers += [_Cell(cfg["arch_str"], c) for _ in range(n)]
    layers += [nn.BatchNorm2d(c), nn.ReLU()]
    return Classifier(nn.Sequential(*layers), c)


NASBENCH201 = Family("nasbench201", sample, build, input_sizes=(32, 48))
