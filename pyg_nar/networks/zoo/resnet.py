"""ResNet (He et al., CVPR 2016): basic or bottleneck residual blocks in 3-4 stages."""
from __future__ import annotations

from torch import nn

from pyg_nar.networks.zoo.blocks import Classifier, ConvBNAct, Family


def sample(r) -> dict:
    bottleneck = r.random() < 0.5
    stages = r.randint(3, 4)
    base = r.choice([8, 12, 16])
    return {"block": "bottleneck" if bottleneck else "basic",
            "stem_channels": r.choice([8, 16]), "stem_kernel": r.choice([3, 5, 7]),
            "depths": [r.randint(1, 2) for _ in range(stages)],
            "widths": [base * 2 ** i for i in range(stages)],
            "kernels": [r.choice([3, 5]) for _ in range(stages)]}


class _BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, c, k, s):
        super().__init__()
        self.body = nn.Sequential(ConvBNAct(cin, c, k, s), ConvBNAct(c, c, k, act=None))
        self.short = (ConvBNAct(cin, c, 1, s, act=None) if s != 1 or cin != c else nn.Identity())
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.body(x) + self.short(x))


class _Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, c, k, s):
        super().__init__()
        cout = c * 4
        self.body = nn.Sequential(ConvBNAct(cin, c, 1), ConvBNAct(c, c, k, s), ConvBNAct(c, cout, 1, act=None))
        self.short = (ConvBNAct(cin, cout, 1, s, act=None) if s != 1 or cin != cout else nn.Identity())
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.body(x) + self.short(x))


def build(cfg) -> nn.Module:
    block = _Bottleneck if cfg["block"] == "bottleneck" else _BasicBlock
    layers = [ConvBNAct(3, cfg["stem_channels"], cfg["stem_kernel"], 2)]
    if cfg["input_size"] >= 64:
        layers.append(nn.MaxPool2d(3, 2, 1))
    c = cfg["stem_channels"]
    for i, (d, w, k) in enumerate(zip(cfg["depths"], cfg["widths"], cfg["kernels"])):
        for j in range(d):
            layers.append(block(c, w, k, 2 if (j == 0 and i > 0) else 1))
            c = w * block.expansion
    return Classifier(nn.Sequential(*layers), c)


RESNET = Family("resnet", sample, build)
