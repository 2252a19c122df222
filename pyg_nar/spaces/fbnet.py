"""The FBNet search space (Wu et al., CVPR 2019, https://arxiv.org/abs/1812.03443) as HW-NAS-Bench
and HELP use it.

A network is a fixed stem (3x3 convolution, 16 channels), **22 searchable layers** in 7 stages,
each layer one of **9 blocks**, and a fixed head (1x1 convolution, global pooling, classifier):
9^22 networks. A block ``kK_eE[_gG]`` is an inverted residual: 1x1 convolution to ``E x C_in``
channels (``G`` groups, then a channel shuffle), ``K x K`` depthwise convolution with the layer's
stride, 1x1 convolution to ``C_out`` (``G`` groups), with a residual connection when the stride is 1
and ``C_in == C_out``; ``skip`` is the identity, or a 1x1 convolution where the layer changes the
stride or the width.

Layer settings (FBNet v1, the paper's Table 1, as coded in HW-NAS-Bench,
``hw_nas_bench_api/fbnet_models/model_infer.py`` of GATECH-EIC/HW-NAS-Bench): stage layers
``1, 4, 4, 4, 4, 4, 1``, widths ``16, 24, 32, 64, 112, 184, 352``; strides ``1, 2, 2, 2, 1, 2, 1``
on ImageNet (stem stride 2, head 1984 channels, 224x224 inputs) and ``1, 1, 2, 2, 1, 2, 1`` on
CIFAR (stem stride 1, head 1504 channels, 32x32 inputs). The first layer of a stage applies the
stage's stride and width change. HELP's FBNet latencies are for the CIFAR-100 setting (its
``data/fbnet/metainfo.pt`` says ``cifar100``, 100 classes).

An architecture is written as its 22 block names, e.g. ``"k3_e1,skip,k5_e6,..."``; this module
parses and writes that form, gives every layer's settings and counts a network's costs.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from pyg_nar.errors import ArchitectureError

__all__ = ["FBNET_OPS", "FBNET_BLOCKS", "FBNET_NUM_LAYERS", "FBNET_DATASETS", "FBNetLayer",
           "BlockCost", "fbnet_layers", "parse_fbnet", "to_fbnet_str", "block_cost", "fbnet_costs",
           "FBNetSearchSpace"]

#: The 9 block choices, in HW-NAS-Bench's / HELP's order (``op_idx`` 0..8 of the HELP data).
FBNET_OPS = ("k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip")
#: ``(kernel, expansion, groups)`` of each block; ``None`` for ``skip``.
FBNET_BLOCKS = {"k3_e1": (3, 1, 1), "k3_e1_g2": (3, 1, 2), "k3_e3": (3, 3, 1), "k3_e6": (3, 6, 1),
                "k5_e1": (5, 1, 1), "k5_e1_g2": (5, 1, 2), "k5_e3": (5, 3, 1), "k5_e6": (5, 6, 1),
                "skip": None}
FBNET_NUM_LAYERS = 22

_STAGE_LAYERS = (1, 4, 4, 4, 4, 4, 1)
_STAGE_WIDTHS = (16, 24, 32, 64, 112, 184, 352)
_STEM_WIDTH = 16
#: dataset -> (input size, stem stride, stage strides, head width, classes)
FBNET_DATASETS = {
    "cifar100": (32, 1, (1, 1, 2, 2, 1, 2, 1), 1504, 100),
    "cifar10": (32, 1, (1, 1, 2, 2, 1, 2, 1), 1504, 10),
    "imagenet": (224, 2, (1, 2, 2, 2, 1, 2, 1), 1984, 1000),
}


class FBNetLayer(NamedTuple):
    """Settings of one searchable layer."""
    index: int
    stage: int
    in_channels: int
    out_channels: int
    stride: int
    in_size: int  # input resolution (height = width)

    @property
    def out_size(self) -> int:
        return self.in_size // self.stride


class BlockCost(NamedTuple):
    """Costs of one block in one layer: multiply-accumulates of the 1x1 (pointwise) and of the
    depthwise convolutions, weights, input / output activations (elements) and convolutions."""
    pointwise_macs: int
    depthwise_macs: int
    params: int
    in_elems: int
    out_elems: int
    convs: int

    @property
    def macs(self) -> int:
        return self.pointwise_macs + self.depthwise_macs


def _check_dataset(dataset: str):
    if dataset not in FBNET_DATASETS:
        raise ArchitectureError(f"FBNet: unknown dataset setting {dataset!r} "
                                f"(known: {', '.join(FBNET_DATASETS)})")
    return FBNET_DATASETS[dataset]


def fbnet_layers(dataset: str = "cifar100") -> tuple[FBNetLayer, ...]:
    """The 22 searchable layers' settings for ``dataset`` (``"cifar100"``, ``"cifar10"`` or
    ``"imagenet"``)."""
    size, stem_stride, strides, _, _ = _check_dataset(dataset)
    size //= stem_stride
    layers, c_in = [], _STEM_WIDTH
    for stage, (n, width, stride) in enumerate(zip(_STAGE_LAYERS, _STAGE_WIDTHS, strides)):
        for i in range(n):
            s = stride if i == 0 else 1
            layers.append(FBNetLayer(len(layers), stage, c_in, width, s, size))
            size //= s
            c_in = width
    return tuple(layers)


def parse_fbnet(arch) -> tuple[str, ...]:
    """The 22 block names of an FBNet architecture.

    Accepts a sequence of 22 block names or indices into :data:`FBNET_OPS` (a list, tuple,
    NumPy array or tensor), or a string of 22 names separated by commas or spaces. Raises
    :class:`~pyg_nar.errors.ArchitectureError` naming the architecture for anything else.
    """
    shown = arch if isinstance(arch, str) else repr(list(arch) if hasattr(arch, "__len__") else arch)
    if isinstance(arch, str):
        items = [t for t in arch.replace(",", " ").split() if t]
    else:
        try:
            items = list(np.asarray(arch).reshape(-1).tolist()) if not isinstance(arch, (list, tuple)) else list(arch)
        except Exception:
            raise ArchitectureError(f"{shown}: not an FBNet architecture (expected 22 block names)") from None
    if len(items) != FBNET_NUM_LAYERS:
        raise ArchitectureError(f"{shown}: an FBNet architecture has {FBNET_NUM_LAYERS} layers, "
                                f"got {len(items)}")
    ops = []
    for layer, item in enumerate(items):
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            if not 0 <= int(item) < len(FBNET_OPS):
                raise ArchitectureError(f"{shown}: layer {layer} has block index {item}, outside "
                                        f"0..{len(FBNET_OPS) - 1}")
            ops.append(FBNET_OPS[int(item)])
        elif isinstance(item, str) and item in FBNET_BLOCKS:
            ops.append(item)
        else:
            raise ArchitectureError(f"{shown}: layer {layer} has unknown block {item!r} "
                                    f"(known: {', '.join(FBNET_OPS)})")
    return tuple(ops)


def to_fbnet_str(arch) -> str:
    """The comma-separated form of an architecture, e.g. ``"k3_e1,skip,..."``."""
    return ",".join(parse_fbnet(arch))


def block_cost(layer: FBNetLayer, op: str) -> BlockCost:
    """The costs of block ``op`` in ``layer`` (batch 1; BatchNorm and ReLU not counted)."""
    h, ho = layer.in_size, layer.out_size
    c_in, c_out = layer.in_channels, layer.out_channels
    block = FBNET_BLOCKS[op]
    if block is None:
        if layer.stride == 1 and c_in == c_out:
            return BlockCost(0, 0, 0, 0, 0, 0)
        return BlockCost(ho * ho * c_in * c_out, 0, c_in * c_out, h * h * c_in, ho * ho * c_out, 1)
    k, e, g = block
    mid = c_in * e
    pointwise = h * h * c_in * mid // g + ho * ho * mid * c_out // g
    depthwise = ho * ho * mid * k * k
    params = c_in * mid // g + mid * k * k + mid * c_out // g
    # activations read by the three convolutions, and written by them
    in_elems = h * h * c_in + h * h * mid + ho * ho * mid
    out_elems = h * h * mid + ho * ho * mid + ho * ho * c_out
    return BlockCost(pointwise, depthwise, params, in_elems, out_elems, 3)


def fbnet_costs(arch, dataset: str = "cifar100") -> dict[str, float]:
    """Whole-network costs at batch 1: ``mflops`` (million multiply-accumulates of all
    convolutions and the classifier), ``mparams`` (million weights) and ``memory_mb`` (MB that the
    convolutions and the classifier read and write, float32, no reuse)."""
    ops = parse_fbnet(arch)
    size, stem_stride, _, head, classes = _check_dataset(dataset)
    s = size // stem_stride
    macs = s * s * 3 * _STEM_WIDTH * 9
    params = 3 * _STEM_WIDTH * 9
    elems = size * size * 3 + s * s * _STEM_WIDTH + params
    layers = fbnet_layers(dataset)
    for layer, op in zip(layers, ops):
        c = block_cost(layer, op)
        macs += c.macs
        params += c.params
        elems += c.in_elems + c.out_elems + c.params
    last = layers[-1]
    ho = last.out_size
    macs += ho * ho * last.out_channels * head + head * classes
    params += last.out_channels * head + head * classes + classes
    elems += ho * ho * (last.out_channels + head) + last.out_channels * head + head + head * classes + classes
    return {"mflops": macs / 1e6, "mparams": params / 1e6, "memory_mb": 4 * elems / 1e6}


class FBNetSearchSpace:
    """The FBNet space: 22 layers, each one of the 9 :data:`FBNET_OPS`."""

    ops = FBNET_OPS
    num_layers = FBNET_NUM_LAYERS
    parse = staticmethod(parse_fbnet)
    to_str = staticmethod(to_fbnet_str)

    @classmethod
    def sample(cls, rng: np.random.Generator) -> str:
        """An architecture drawn uniformly at random."""
        return to_fbnet_str(rng.integers(0, len(FBNET_OPS), size=FBNET_NUM_LAYERS).tolist())

    @classmethod
    def mutate(cls, arch, rng: np.random.Generator) -> str:
        """Change exactly one layer's block to a different block."""
        ops = list(parse_fbnet(arch))
        layer = int(rng.integers(FBNET_NUM_LAYERS))
        others = [op for op in FBNET_OPS if op != ops[layer]]
        ops[layer] = others[int(rng.integers(len(others)))]
        return to_fbnet_str(ops)

    @classmethod
    def neighbours(cls, arch) -> list[str]:
        """All 176 architectures that differ from ``arch`` in exactly one layer."""
        ops = list(parse_fbnet(arch))
        return [to_fbnet_str(ops[:i] + [op] + ops[i + 1:])
                for i in range(FBNET_NUM_LAYERS) for op in FBNET_OPS if op != ops[i]]
