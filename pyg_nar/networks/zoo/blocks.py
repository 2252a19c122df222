"""Blocks shared by the zoo's families: conv-BN-activation, squeeze-and-excitation, the
inverted residual (MBConv) and the pooled classifier head."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn

__all__ = ["Family", "DEFAULT_INPUT_SIZES", "NUM_CLASSES", "make_divisible", "ConvBNAct",
           "SqueezeExcite", "InvertedResidual", "Classifier"]

#: Input resolutions a family samples from unless it names its own.
DEFAULT_INPUT_SIZES = (32, 48, 64, 96)
#: Outputs of every network's classifier.
NUM_CLASSES = 10


@dataclass(frozen=True)
class Family:
    """One model family of the zoo.

    Args:
        name (str): the family's name (``config["family"]``, the ``gt.txt`` model type).
        sample (Callable): ``random.Random -> dict`` of the family's own parameters.
        build (Callable): ``config dict -> nn.Module``.
        input_sizes (tuple[int, ...]): resolutions ``input_size`` is drawn from (default
            :data:`DEFAULT_INPUT_SIZES`; the families whose cost grows fastest with
            resolution use fewer). Empty when ``sample`` draws ``input_size`` itself, jointly
            with a parameter that must divide it (the ViT's patch size).

    A model whose input is not a ``(B, 3, S, S)`` image defines ``example_input(batch_size,
    input_size)``: :func:`~pyg_nar.networks.zoo.example_input` and ``export_onnx`` use it (the
    BERT family: int64 token ids, ``input_size`` being the sequence length).
    """
    name: str
    sample: Callable
    build: Callable
    input_sizes: tuple = DEFAULT_INPUT_SIZES


def make_divisible(v: float, d: int = 8) -> int:
    """Round a channel count to a multiple of ``d`` (at least ``d``), as MobileNets do."""
    return max(d, int(v + d / 2) // d * d)


def _act(name: str) -> nn.Module:
    return {"relu": nn.ReLU(), "relu6": nn.ReLU6(), "hswish": nn.Hardswish(),
            "silu": nn.SiLU()}[name]


class ConvBNAct(nn.Sequential):
    """``k x k`` convolution (``same`` padding, no bias), BatchNorm, then the activation ``act``
    (``"relu"``, ``"relu6"``, ``"hswish"``, ``"silu"``, or ``None`` for none)."""

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
        hidden = make_divisible(cin * expand)
        layers = []
        if expand != 1:
            layers.append(ConvBNAct(cin, hidden, 1, act=act))
        else:
            hidden = cin
        layers.append(ConvBNAct(hidden, hidden, k, s, groups=hidden, act=act))
        if se:
            gate, ratio = se
            layers.append(SqueezeExcite(hidden, max(4, int(cin * ratio) if gate == "sigmoid_silu"
                                                    else make_divisible(hidden * ratio)), gate))
        layers.append(ConvBNAct(hidden, cout, 1, act=None))
        self.body = nn.Sequential(*layers)
        self.residual = s == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


class Classifier(nn.Module):
    """``features``, global average pooling, then a linear head to :data:`NUM_CLASSES`
    (with a ``hidden``-wide ReLU + dropout layer first when ``hidden`` is non-zero)."""

    def __init__(self, features: nn.Module, c: int, hidden: int = 0, dropout: float = 0.0):
        super().__init__()
        self.features = features
        self.pool = nn.AdaptiveAvgPool2d(1)
        head = [nn.Flatten()]
        if hidden:
            head += [nn.Linear(c, hidden), nn.ReLU(), nn.Dropout(dropout)]
            c = hidden
        head.append(nn.Linear(c, NUM_CLASSES))
        self.head = nn.Sequential(*head)

    def forward(self, x):
        return self.head(self.pool(self.features(x)))
