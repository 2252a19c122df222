"""VGG (Simonyan & Zisserman, ICLR 2015): stages of plain convolutions and max pooling."""
from __future__ import annotations

from torch import nn

from pyg_nar.networks.zoo.blocks import Classifier, Family


def sample(r) -> dict:
    stages = r.randint(3, 5)
    base = r.choice([8, 12])
    return {"depths": [r.randint(1, 2) for _ in range(stages)],
            "widths": [min(base * 2 ** i, 64) for i in range(stages)],
            "kernels": [r.choice([3, 5]) for _ in range(stages)],
            "batch_norm": r.random() < 0.5, "hidden": r.choice([64, 128])}


def build(cfg) -> nn.Module:
    layers, c = [], 3
    for d, w, k in zip(cfg["depths"], cfg["widths"], cfg["kernels"]):
        for _ in range(d):
            layers.append(nn.Conv2d(c, w, k, padding=k // 2))
            if cfg["batch_norm"]:
                layers.append(nn.BatchNorm2d(w))
            layers.append(nn.ReLU())
            c = w
        layers.append(nn.MaxPool2d(2))
    return Classifier(nn.Sequential(*layers), c, cfg["hidden"], 0.5)


VGG = Family("vgg", sample, build, input_sizes=(32, 48, 64))
