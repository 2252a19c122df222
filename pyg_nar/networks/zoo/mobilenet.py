"""The MBConv families: MobileNetV2 (Sandler et al., CVPR 2018), MobileNetV3-Small (Howard et
al., ICCV 2019), MnasNet-A1 (Tan et al., CVPR 2019) and EfficientNet-B0 (Tan & Le, ICML 2019),
each scaled in width, depth, kernel sizes and expansion ratios around the paper's table."""
from __future__ import annotations

import math

from torch import nn

from pyg_nar.networks.zoo.blocks import (Classifier, ConvBNAct, Family, InvertedResidual,
                                          make_divisible)


def mbconv_net(stem: int, stages: list[dict], last: int, act: str, num_in: int = 3) -> nn.Module:
    """A MobileNet-style network: a stride-2 stem, stages of :class:`InvertedResidual` blocks
    (dicts with ``k``, ``s``, ``e``, ``c``, ``n`` and optionally ``act`` and ``se``), a 1x1
    convolution to ``last`` channels and the classifier."""
    layers = [ConvBNAct(num_in, stem, 3, 2, act=act)]
    c = stem
    for st in stages:
        for i in range(st["n"]):
            layers.append(InvertedResidual(c, st["c"], st["k"], st["s"] if i == 0 else 1, st["e"],
                                           st.get("act", act), st.get("se")))
            c = st["c"]
    layers.append(ConvBNAct(c, last, 1, act=act))
    return Classifier(nn.Sequential(*layers), last)


# MobileNetV2 table (expansion, channels, repeats, stride), Sandler et al. 2018, Table 2
_MBV2 = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
         (6, 160, 3, 2), (6, 320, 1, 1)]


def sample_mobilenetv2(r) -> dict:
    wm = r.choice([0.25, 0.35, 0.5])
    stages = [{"k": r.choice([3, 5]), "s": s, "e": t if t == 1 else r.choice([3, 4, 6]),
               "c": make_divisible(c * wm), "n": r.randint(1, n)} for t, c, n, s in _MBV2]
    return {"width_mult": wm, "stem": make_divisible(32 * wm), "stages": stages,
            "last": make_divisible(1280 * wm)}


# MobileNetV3-Small (kernel, expansion, channels, SE, activation, stride), Howard et al. 2019
_MBV3 = [(3, 1, 16, True, "relu", 2), (3, 4.5, 24, False, "relu", 2), (5, 4, 40, True, "hswish", 2),
         (5, 3, 48, True, "hswish", 1), (5, 6, 96, True, "hswish", 2)]
_MBV3_REPEATS = [1, 2, 3, 2, 3]


def sample_mobilenetv3(r) -> dict:
    wm = r.choice([0.35, 0.5, 0.75])
    stages = [{"k": r.choice([3, 5, 7]), "s": s, "e": e if e == 1 else r.choice([3, 4, 6]),
               "c": make_divisible(c * wm), "n": r.randint(1, n), "act": a,
               "se": ["hsigmoid", 0.25] if se else None}
              for (k, e, c, se, a, s), n in zip(_MBV3, _MBV3_REPEATS)]
    return {"width_mult": wm, "stem": make_divisible(16 * wm), "stages": stages,
            "last": make_divisible(576 * wm)}


# EfficientNet-B0 (expansion, kernel, stride, repeats, channels), Tan & Le 2019, Table 1
_EFFB0 = [(1, 3, 1, 1, 16), (6, 3, 2, 2, 24), (6, 5, 2, 2, 40), (6, 3, 2, 3, 80), (6, 5, 1, 3, 112),
          (6, 5, 2, 4, 192), (6, 3, 1, 1, 320)]


def sample_efficientnet(r) -> dict:
    wm = r.choice([0.25, 0.35, 0.5])
    dm = r.choice([0.34, 0.5, 0.67])
    stages = [{"k": r.choice([3, 5]), "s": s, "e": e, "c": make_divisible(c * wm),
               "n": max(1, math.ceil(n * dm)), "se": ["sigmoid_silu", 0.25]}
              for e, k, s, n, c in _EFFB0]
    return {"width_mult": wm, "depth_mult": dm, "stem": make_divisible(32 * wm), "stages": stages,
            "last": make_divisible(1280 * wm)}


# MnasNet-A1 (expansion, kernel, stride, repeats, channels, SE), Tan et al. 2019, Fig. 7
_MNAS = [(6, 3, 2, 2, 24, False), (3, 5, 2, 3, 40, True), (6, 3, 2, 4, 80, False),
         (6, 3, 1, 2, 112, True), (6, 5, 2, 3, 160, True), (6, 3, 1, 1, 320, False)]


def sample_mnasnet(r) -> dict:
    wm = r.choice([0.25, 0.35, 0.5])
    stages = [{"k": r.choice([3, 5]), "s": s, "e": r.choice([3, 6]),
               "c": make_divisible(c * wm), "n": r.randint(1, n),
               "se": ["sigmoid", 0.25] if se else None}
              for e, k, s, n, c, se in _MNAS]
    return {"width_mult": wm, "stem": make_divisible(32 * wm), "stages": stages,
            "last": make_divisible(1280 * wm)}


def _builder(act: str):
    """The build function of an MBConv family whose default activation is ``act``."""
    def build(cfg) -> nn.Module:
        return mbconv_net(cfg["stem"], cfg["stages"], cfg["last"], act)
    return build


MOBILENETV2 = Family("mobilenetv2", sample_mobilenetv2, _builder("relu6"))
MOBILENETV3 = Family("mobilenetv3", sample_mobilenetv3, _builder("hswish"))
MNASNET = Family("mnasnet", sample_mnasnet, _builder("relu"))
EFFICIENTNET = Family("efficientnet", sample_efficientnet, _builder("silu"))
