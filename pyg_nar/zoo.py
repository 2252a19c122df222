r"""A zoo of small parametric CNN families in plain PyTorch, for latency datasets.

NNLQP's ten model families (ResNet, VGG, EfficientNet, MobileNetV2, MobileNetV3, MnasNet,
AlexNet, SqueezeNet, GoogLeNet, NAS-Bench-201 networks) as seeded samplers::

    cfg = sample_config("resnet", rng)     # a JSON-serialisable dict
    model = build_model(cfg)               # an nn.Module (eval mode)
    export_onnx(model, "resnet_0.onnx", cfg["input_size"])

Each family samples depth (blocks per stage, number of stages), width (channel counts or
width multiplier), kernel sizes and the input resolution (32-96). Models are kept small so a
forward pass of batch 1 takes a few milliseconds on one CPU thread. They are re-implemented
from the papers (no torchvision), with random weights: only latency matters here.
"""
from __future__ import annotations

import math
import random
import warnings

import torch
from torch import nn

from pyg_nar.spaces.nasbench201 import EDGE_INPUTS, EDGE_TARGETS, NB201_OPS, parse_arch_str, to_arch_str

__all__ = ["FAMILIES", "build_model", "export_onnx", "sample_config"]

#: The family names, in NNLQP's order of its ten model types.
FAMILIES = ("alexnet", "efficientnet", "googlenet", "mnasnet", "mobilenetv2", "mobilenetv3",
            "nasbench201", "resnet", "squeezenet", "vgg")

_INPUT_SIZES = (32, 48, 64, 96)
# families whose cost grows fastest with resolution sample from fewer sizes
_FAMILY_INPUT_SIZES = {"nasbench201": (32, 48), "vgg": (32, 48, 64)}
_NUM_CLASSES = 10


def _rng(rng) -> random.Random:
    if isinstance(rng, random.Random):
        return rng
    return random.Random(rng)


def _div(v: float, d: int = 8) -> int:
    """Round a channel count to a multiple of ``d`` (at least ``d``), as MobileNets do."""
    return max(d, int(v + d / 2) // d * d)


# ---------------------------------------------------------------------------------- blocks
def _act(name: str) -> nn.Module:
    return {"relu": nn.ReLU(), "relu6": nn.ReLU6(), "hswish": nn.Hardswish(),
            "silu": nn.SiLU()}[name]


class ConvBNAct(nn.Sequential):
    def __init__(self, cin, cout, k, s=1, groups=1, act="relu"):
        layers = [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
        if act:
            layers.append(_act(act))
        super().__init__(*layers)


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation (Hu et al. 2018): x * gate(FC(ReLU(FC(GAP(x)))))."""

    def __init__(self, c, reduced, gate="sigmoid"):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, reduced, 1)
        self.fc2 = nn.Conv2d(reduced, c, 1)
        self.act = nn.SiLU() if gate == "sigmoid_silu" else nn.ReLU()
        self.gate = nn.Hardsigmoid() if gate == "hsigmoid" else nn.Sigmoid()

    def forward(self, x):
        return x * self.gate(self.fc2(self.act(self.fc1(self.pool(x)))))


class InvertedResidual(nn.Module):
    """MBConv (MobileNetV2 / MnasNet / MobileNetV3 / EfficientNet): expand 1x1, depthwise kxk,
    optional SE, project 1x1; residual when shapes match."""

    def __init__(self, cin, cout, k, s, expand, act="relu6", se=None):
        super().__init__()
        hidden = _div(cin * expand)
        layers = []
        if expand != 1:
            layers.append(ConvBNAct(cin, hidden, 1, act=act))
        else:
            hidden = cin
        layers.append(ConvBNAct(hidden, hidden, k, s, groups=hidden, act=act))
        if se:
            gate, ratio = se
            layers.append(SqueezeExcite(hidden, max(4, int(cin * ratio) if gate == "sigmoid_silu"
                                                    else _div(hidden * ratio)), gate))
        layers.append(ConvBNAct(hidden, cout, 1, act=None))
        self.body = nn.Sequential(*layers)
        self.residual = s == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


class _Classifier(nn.Module):
    def __init__(self, features: nn.Module, c: int, hidden: int = 0, dropout: float = 0.0):
        super().__init__()
        self.features = features
        self.pool = nn.AdaptiveAvgPool2d(1)
        head = [nn.Flatten()]
        if hidden:
            head += [nn.Linear(c, hidden), nn.ReLU(), nn.Dropout(dropout)]
            c = hidden
        head.append(nn.Linear(c, _NUM_CLASSES))
        self.head = nn.Sequential(*head)

    def forward(self, x):
        return self.head(self.pool(self.features(x)))


def _mbconv_net(stem, stages, last, act, num_in=3):
    """A MobileNet-style network; ``stages`` are dicts with k, s, e, c, n, se."""
    layers = [ConvBNAct(num_in, stem, 3, 2, act=act)]
    c = stem
    for st in stages:
        for i in range(st["n"]):
            layers.append(InvertedResidual(c, st["c"], st["k"], st["s"] if i == 0 else 1, st["e"],
                                           st.get("act", act), st.get("se")))
            c = st["c"]
    layers.append(ConvBNAct(c, last, 1, act=act))
    return _Classifier(nn.Sequential(*layers), last)


# ------------------------------------------------------------------------------- families
def _sample_resnet(r):
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


def _build_resnet(cfg):
    block = _Bottleneck if cfg["block"] == "bottleneck" else _BasicBlock
    layers = [ConvBNAct(3, cfg["stem_channels"], cfg["stem_kernel"], 2)]
    if cfg["input_size"] >= 64:
        layers.append(nn.MaxPool2d(3, 2, 1))
    c = cfg["stem_channels"]
    for i, (d, w, k) in enumerate(zip(cfg["depths"], cfg["widths"], cfg["kernels"])):
        for j in range(d):
            layers.append(block(c, w, k, 2 if (j == 0 and i > 0) else 1))
            c = w * block.expansion
    return _Classifier(nn.Sequential(*layers), c)


def _sample_vgg(r):
    stages = r.randint(3, 5)
    base = r.choice([8, 12])
    return {"depths": [r.randint(1, 2) for _ in range(stages)],
            "widths": [min(base * 2 ** i, 64) for i in range(stages)],
            "kernels": [r.choice([3, 5]) for _ in range(stages)],
            "batch_norm": r.random() < 0.5, "hidden": r.choice([64, 128])}


def _build_vgg(cfg):
    layers, c = [], 3
    for d, w, k in zip(cfg["depths"], cfg["widths"], cfg["kernels"]):
        for _ in range(d):
            layers.append(nn.Conv2d(c, w, k, padding=k // 2))
            if cfg["batch_norm"]:
                layers.append(nn.BatchNorm2d(w))
            layers.append(nn.ReLU())
            c = w
        layers.append(nn.MaxPool2d(2))
    return _Classifier(nn.Sequential(*layers), c, cfg["hidden"], 0.5)


# MobileNetV2 table (expansion, channels, repeats, stride), Sandler et al. 2018, Table 2
_MBV2 = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
         (6, 160, 3, 2), (6, 320, 1, 1)]


def _sample_mobilenetv2(r):
    wm = r.choice([0.25, 0.35, 0.5])
    stages = [{"k": r.choice([3, 5]), "s": s, "e": t if t == 1 else r.choice([3, 4, 6]),
               "c": _div(c * wm), "n": r.randint(1, n)} for t, c, n, s in _MBV2]
    return {"width_mult": wm, "stem": _div(32 * wm), "stages": stages, "last": _div(1280 * wm)}


def _build_mobilenetv2(cfg):
    return _mbconv_net(cfg["stem"], cfg["stages"], cfg["last"], "relu6")


# MobileNetV3-Small (kernel, expansion, channels, SE, activation, stride), Howard et al. 2019
_MBV3 = [(3, 1, 16, True, "relu", 2), (3, 4.5, 24, False, "relu", 2), (5, 4, 40, True, "hswish", 2),
         (5, 3, 48, True, "hswish", 1), (5, 6, 96, True, "hswish", 2)]
_MBV3_REPEATS = [1, 2, 3, 2, 3]


def _sample_mobilenetv3(r):
    wm = r.choice([0.35, 0.5, 0.75])
    stages = [{"k": r.choice([3, 5, 7]), "s": s, "e": e if e == 1 else r.choice([3, 4, 6]),
               "c": _div(c * wm), "n": r.randint(1, n), "act": a,
               "se": ["hsigmoid", 0.25] if se else None}
              for (k, e, c, se, a, s), n in zip(_MBV3, _MBV3_REPEATS)]
    return {"width_mult": wm, "stem": _div(16 * wm), "stages": stages, "last": _div(576 * wm)}


def _build_mobilenetv3(cfg):
    return _mbconv_net(cfg["stem"], cfg["stages"], cfg["last"], "hswish")


# EfficientNet-B0 (expansion, kernel, stride, repeats, channels), Tan & Le 2019, Table 1
_EFFB0 = [(1, 3, 1, 1, 16), (6, 3, 2, 2, 24), (6, 5, 2, 2, 40), (6, 3, 2, 3, 80), (6, 5, 1, 3, 112),
          (6, 5, 2, 4, 192), (6, 3, 1, 1, 320)]


def _sample_efficientnet(r):
    wm = r.choice([0.25, 0.35, 0.5])
    dm = r.choice([0.34, 0.5, 0.67])
    stages = [{"k": r.choice([3, 5]), "s": s, "e": e, "c": _div(c * wm),
               "n": max(1, math.ceil(n * dm)), "se": ["sigmoid_silu", 0.25]}
              for e, k, s, n, c in _EFFB0]
    return {"width_mult": wm, "depth_mult": dm, "stem": _div(32 * wm), "stages": stages,
            "last": _div(1280 * wm)}


def _build_efficientnet(cfg):
    return _mbconv_net(cfg["stem"], cfg["stages"], cfg["last"], "silu")


# MnasNet-A1 (expansion, kernel, stride, repeats, channels, SE), Tan et al. 2019, Fig. 7
_MNAS = [(6, 3, 2, 2, 24, False), (3, 5, 2, 3, 40, True), (6, 3, 2, 4, 80, False),
         (6, 3, 1, 2, 112, True), (6, 5, 2, 3, 160, True), (6, 3, 1, 1, 320, False)]


def _sample_mnasnet(r):
    wm = r.choice([0.25, 0.35, 0.5])
    stages = [{"k": r.choice([3, 5]), "s": s, "e": r.choice([3, 6]), "c": _div(c * wm),
               "n": r.randint(1, n), "se": ["sigmoid", 0.25] if se else None}
              for e, k, s, n, c, se in _MNAS]
    return {"width_mult": wm, "stem": _div(32 * wm), "stages": stages, "last": _div(1280 * wm)}


def _build_mnasnet(cfg):
    return _mbconv_net(cfg["stem"], cfg["stages"], cfg["last"], "relu")


def _sample_alexnet(r):
    wm = r.choice([0.125, 0.25, 0.375])
    return {"kernels": [r.choice([5, 7, 11]), r.choice([3, 5]), 3, 3, 3],
            "widths": [_div(c * wm) for c in (64, 192, 384, 256, 256)],
            "hidden": r.choice([128, 256])}


def _build_alexnet(cfg):
    k, w = cfg["kernels"], cfg["widths"]
    feats = nn.Sequential(
        nn.Conv2d(3, w[0], k[0], 2, k[0] // 2), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
        nn.Conv2d(w[0], w[1], k[1], padding=k[1] // 2), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
        nn.Conv2d(w[1], w[2], k[2], padding=1), nn.ReLU(),
        nn.Conv2d(w[2], w[3], k[3], padding=1), nn.ReLU(),
        nn.Conv2d(w[3], w[4], k[4], padding=1), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
    return _Classifier(feats, w[4], cfg["hidden"], 0.5)


class _Fire(nn.Module):
    """SqueezeNet fire module (Iandola et al. 2016): squeeze 1x1, expand 1x1 || kxk, concat."""

    def __init__(self, cin, s, e, k):
        super().__init__()
        self.squeeze = ConvBNAct(cin, s, 1)
        self.e1 = nn.Sequential(nn.Conv2d(s, e, 1), nn.ReLU())
        self.e3 = nn.Sequential(nn.Conv2d(s, e, k, padding=k // 2), nn.ReLU())

    def forward(self, x):
        x = self.squeeze(x)
        return torch.cat([self.e1(x), self.e3(x)], 1)


def _sample_squeezenet(r):
    n = r.randint(3, 8)
    return {"stem_kernel": r.choice([3, 5, 7]), "stem_channels": r.choice([16, 24, 32]),
            "squeeze": [r.choice([8, 16, 24]) for _ in range(n)],
            "expand": [r.choice([16, 32, 48]) for _ in range(n)],
            "kernels": [r.choice([3, 5]) for _ in range(n)],
            "pool_after": sorted(r.sample(range(n), min(2, n)))}


def _build_squeezenet(cfg):
    layers = [nn.Conv2d(3, cfg["stem_channels"], cfg["stem_kernel"], 2, cfg["stem_kernel"] // 2),
              nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
    c = cfg["stem_channels"]
    for i, (s, e, k) in enumerate(zip(cfg["squeeze"], cfg["expand"], cfg["kernels"])):
        layers.append(_Fire(c, s, e, k))
        c = 2 * e
        if i in cfg["pool_after"]:
            layers.append(nn.MaxPool2d(3, 2, 1))
    layers += [nn.Dropout(0.5), nn.Conv2d(c, _NUM_CLASSES, 1), nn.ReLU(),
               nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers)


class _Inception(nn.Module):
    """GoogLeNet inception module (Szegedy et al. 2015): 1x1 || 1x1-kxk || 1x1-kxk || pool-1x1."""

    def __init__(self, cin, c1, c3r, c3, c5r, c5, cp, k5):
        super().__init__()
        self.b1 = ConvBNAct(cin, c1, 1)
        self.b2 = nn.Sequential(ConvBNAct(cin, c3r, 1), ConvBNAct(c3r, c3, 3))
        self.b3 = nn.Sequential(ConvBNAct(cin, c5r, 1), ConvBNAct(c5r, c5, k5))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), ConvBNAct(cin, cp, 1))
        self.out_channels = c1 + c3 + c5 + cp

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


def _sample_googlenet(r):
    n = r.randint(2, 6)
    mods = []
    for _ in range(n):
        w = r.choice([8, 16, 24])
        mods.append([w, w, w * 2, w // 2, w, w, r.choice([3, 5])])
    return {"stem_channels": r.choice([16, 32]), "stem_kernel": r.choice([3, 5, 7]),
            "modules": mods, "pool_after": sorted(r.sample(range(n), min(2, n - 1)))}


def _build_googlenet(cfg):
    layers = [ConvBNAct(3, cfg["stem_channels"], cfg["stem_kernel"], 2), nn.MaxPool2d(3, 2, 1)]
    c = cfg["stem_channels"]
    for i, m in enumerate(cfg["modules"]):
        mod = _Inception(c, *m)
        layers.append(mod)
        c = mod.out_channels
        if i in cfg["pool_after"]:
            layers.append(nn.MaxPool2d(3, 2, 1))
    return _Classifier(nn.Sequential(*layers), c, 0)


# NAS-Bench-201 (Dong & Yang 2020): cell ops and the macro skeleton


def _sample_nasbench201(r):
    arch = to_arch_str([r.choice(NB201_OPS) for _ in range(6)])
    return {"arch_str": arch, "channels": r.choice([4, 8]), "cells_per_stage": r.randint(1, 2)}


class _Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


def _nb201_op(name, c):
    if name == "none":
        return _Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, 1, 1, count_include_pad=False)
    k = 1 if name == "nor_conv_1x1" else 3
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, k, 1, k // 2, bias=False), nn.BatchNorm2d(c))


class _NB201Cell(nn.Module):
    def __init__(self, arch_str, c):
        super().__init__()
        self.edges = nn.ModuleDict()
        self.inputs = [[] for _ in range(3)]
        for op, j, i in zip(parse_arch_str(arch_str), EDGE_INPUTS, EDGE_TARGETS):
            key = f"{j}_{i}"
            self.edges[key] = _nb201_op(op, c)
            self.inputs[i - 1].append((j, key))

    def forward(self, x):
        states = [x]
        for ins in self.inputs:
            states.append(sum(self.edges[key](states[j]) for j, key in ins))
        return states[-1]


class _NB201Reduction(nn.Module):
    """NB201's residual reduction block: ReLU-conv3x3(s2)-BN, ReLU-conv3x3-BN, + AvgPool-conv1x1."""

    def __init__(self, cin, cout):
        super().__init__()
        self.a = nn.Sequential(nn.ReLU(), nn.Conv2d(cin, cout, 3, 2, 1, bias=False), nn.BatchNorm2d(cout))
        self.b = nn.Sequential(nn.ReLU(), nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.short = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(cin, cout, 1, bias=False))

    def forward(self, x):
        return self.b(self.a(x)) + self.short(x)


def _build_nasbench201(cfg):
    c, n = cfg["channels"], cfg["cells_per_stage"]
    layers = [nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)]
    for stage in range(3):
        if stage:
            layers.append(_NB201Reduction(c, 2 * c))
            c *= 2
        layers += [_NB201Cell(cfg["arch_str"], c) for _ in range(n)]
    layers += [nn.BatchNorm2d(c), nn.ReLU()]
    return _Classifier(nn.Sequential(*layers), c)


_FAMILY_FUNCS = {
    "alexnet": (_sample_alexnet, _build_alexnet),
    "efficientnet": (_sample_efficientnet, _build_efficientnet),
    "googlenet": (_sample_googlenet, _build_googlenet),
    "mnasnet": (_sample_mnasnet, _build_mnasnet),
    "mobilenetv2": (_sample_mobilenetv2, _build_mobilenetv2),
    "mobilenetv3": (_sample_mobilenetv3, _build_mobilenetv3),
    "nasbench201": (_sample_nasbench201, _build_nasbench201),
    "resnet": (_sample_resnet, _build_resnet),
    "squeezenet": (_sample_squeezenet, _build_squeezenet),
    "vgg": (_sample_vgg, _build_vgg),
}


def _check_family(family: str) -> None:
    if family not in _FAMILY_FUNCS:
        raise ValueError(f"unknown model family {family!r}; known: {', '.join(FAMILIES)}")


def sample_config(family: str, rng=None) -> dict:
    """Sample a configuration of ``family`` (depth, width, kernel sizes, input size).

    ``rng`` is a :class:`random.Random`, or a seed for one. The result is a JSON-serialisable
    dict with ``family`` and ``input_size`` keys plus the family's own parameters.
    """
    _check_family(family)
    r = _rng(rng)
    cfg = {"family": family, "input_size": r.choice(_FAMILY_INPUT_SIZES.get(family, _INPUT_SIZES))}
    cfg.update(_FAMILY_FUNCS[family][0](r))
    return cfg


def build_model(config: dict) -> nn.Module:
    """Build the model of a configuration from :func:`sample_config` (eval mode, seeded random
    weights: the weights are irrelevant to latency)."""
    family = config.get("family")
    _check_family(family)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = _FAMILY_FUNCS[family][1](config)
    return model.eval()


def export_onnx(model: nn.Module, path: str, input_size: int, batch_size: int = 1,
                opset: int = 17) -> str:
    """Export ``model`` to ONNX with the TorchScript exporter (``dynamo=False``: the dynamo
    exporter needs ``onnxscript``). The batch dimension is dynamic, so one file serves every
    batch size; BatchNorm is folded into the convolutions (eval mode, constant folding)."""
    x = torch.randn(batch_size, 3, input_size, input_size)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tracing tiny tensors: extra threads only add contention
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model.eval(), (x,), path, dynamo=False, opset_version=opset,
                              input_names=["input"], output_names=["output"],
                              dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    finally:
        torch.set_num_threads(threads)
    return path
