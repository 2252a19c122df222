"""SqueezeNet (Iandola et al. 2016, arXiv:1602.07360): a stem, fire modules, a conv classifier."""
from __future__ import annotations

import torch
from torch import nn

from pyg_nar.networks.zoo.blocks import NUM_CLASSES, ConvBNAct, Family


class _Fire(nn.Module):
    """SqueezeNet fire module: squeeze 1x1, expand 1x1 || kxk, concat."""

    def __init__(self, cin, s, e, k):
        super().__init__()
        self.squeeze = ConvBNAct(cin, s, 1)
        self.e1 = nn.Sequential(nn.Conv2d(s, e, 1), nn.ReLU())
        self.e3 = nn.Sequential(nn.Conv2d(s, e, k, padding=k // 2), nn.ReLU())

    def forward(self, x):
        x = self.squeeze(x)
        return torch.cat([self.e1(x), self.e3(x)], 1)


def sample(r) -> dict:
    n = r.randint(3, 8)
    return {"stem_kernel": r.choice([3, 5, 7]), "stem_channels": r.choice([16, 24, 32]),
            "squeeze": [r.choice([8, 16, 24]) for _ in range(n)],
            "expand": [r.choice([16, 32, 48]) for _ in range(n)],
            "kernels": [r.choice([3, 5]) for _ in range(n)],
            "pool_after": sorted(r.sample(range(n), min(2, n)))}


def build(cfg) -> nn.Module:
    layers = [nn.Conv2d(3, cfg["stem_channels"], cfg["stem_kernel"], 2, cfg["stem_kernel"] // 2),
              nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
    c = cfg["stem_channels"]
    for i, (s, e, k) in enumerate(zip(cfg["squeeze"], cfg["expand"], cfg["kernels"])):
        layers.append(_Fire(c, s, e, k))
        c = 2 * e
        if i in cfg["pool_after"]:
            layers.append(nn.MaxPool2d(3, 2, 1))
    layers += [nn.Dropout(0.5), nn.Conv2d(c, NUM_CLASSES, 1), nn.ReLU(),
               nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers)


SQUEEZENET = Family("squeezenet", sample, build)
