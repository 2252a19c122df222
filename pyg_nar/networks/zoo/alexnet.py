"""AlexNet (Krizhevsky et al., NeurIPS 2012): five convolutions, three max pools, an MLP head."""
from __future__ import annotations

from torch import nn

from pyg_nar.networks.zoo.blocks import Classifier, Family, make_divisible


def sample(r) -> dict:
    wm = r.choice([0.125, 0.25, 0.375])
    return {"kernels": [r.choice([5, 7, 11]), r.choice([3, 5]), 3, 3, 3],
            "widths": [make_divisible(c * wm) for c in (64, 192, 384, 256, 256)],
            "hidden": r.choice([128, 256])}


def build(cfg) -> nn.Module:
    k, w = cfg["kernels"], cfg["widths"]
    feats = nn.Sequential(
        nn.Conv2d(3, w[0], k[0], 2, k[0] // 2), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
        nn.Conv2d(w[0], w[1], k[1], padding=k[1] // 2), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
        nn.Conv2d(w[1], w[2], k[2], padding=1), nn.ReLU(),
        nn.Conv2d(w[2], w[3], k[3], padding=1), nn.ReLU(),
        nn.Conv2d(w[3], w[4], k[4], padding=1), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
    return Classifier(feats, w[4], cfg["hidden"], 0.5)


ALEXNET = Family("alexnet", sample, build)
