"""GoogLeNet (Szegedy et al., CVPR 2015): a stem and inception modules."""
from __future__ import annotations

import torch
from torch import nn

from pyg_nar.networks.zoo.blocks import Classifier, ConvBNAct, Family


class _Inception(nn.Module):
    """Inception module: 1x1 || 1x1-kxk || 1x1-kxk || pool-1x1, concatenated."""

    def __init__(self, cin, c1, c3r, c3, c5r, c5, cp, k5):
        super().__init__()
        self.b1 = ConvBNAct(cin, c1, 1)
        self.b2 = nn.Sequential(ConvBNAct(cin, c3r, 1), ConvBNAct(c3r, c3, 3))
        self.b3 = nn.Sequential(ConvBNAct(cin, c5r, 1), ConvBNAct(c5r, c5, k5))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), ConvBNAct(cin, cp, 1))
        self.out_channels = c1 + c3 + c5 + cp

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


def sample(r) -> dict:
    n = r.randint(2, 6)
    mods = []
    for _ in range(n):
        w = r.choice([8, 16, 24])
        mods.append([w, w, w * 2, w // 2, w, w, r.choice([3, 5])])
    return {"stem_channels": r.choice([16, 32]), "stem_kernel": r.choice([3, 5, 7]),
            "modules": mods, "pool_after": sorted(r.sample(range(n), min(2, n - 1)))}


def build(cfg) -> nn.Module:
    layers = [ConvBNAct(3, cfg["stem_channels"], cfg["stem_kernel"], 2), nn.MaxPool2d(3, 2, 1)]
    c = cfg["stem_channels"]
    for i, m in enumerate(cfg["modules"]):
        mod = _Inception(c, *m)
        layers.append(mod)
        c = mod.out_channels
        if i in cfg["pool_after"]:
            layers.append(nn.MaxPool2d(3, 2, 1))
    return Classifier(nn.Sequential(*layers), c, 0)


GOOGLENET = Family("googlenet", sample, build)
