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

One file per family (the MBConv families share :mod:`~pyg_nar.networks.zoo.mobilenet`), shared
blocks in :mod:`~pyg_nar.networks.zoo.blocks`. A new family is a file defining a
:class:`~pyg_nar.networks.zoo.blocks.Family` and one line in :data:`REGISTRY`.
"""
from __future__ import annotations

import random
import warnings

import torch
from torch import nn

from pyg_nar.networks.zoo.alexnet import ALEXNET
from pyg_nar.networks.zoo.blocks import Family
from pyg_nar.networks.zoo.googlenet import GOOGLENET
from pyg_nar.networks.zoo.mobilenet import EFFICIENTNET, MNASNET, MOBILENETV2, MOBILENETV3
from pyg_nar.networks.zoo.nasbench201 import NASBENCH201
from pyg_nar.networks.zoo.resnet import RESNET
from pyg_nar.networks.zoo.squeezenet import SQUEEZENET
from pyg_nar.networks.zoo.vgg import VGG

__all__ = ["FAMILIES", "REGISTRY", "Family", "build_model", "export_onnx", "sample_config"]

#: Family name -> :class:`Family`, in NNLQP's order of its ten model types. The order is part
#: of the datasets: :func:`~pyg_nar.networks.build_latency_dataset` interleaves families in it.
REGISTRY: dict[str, Family] = {f.name: f for f in (
    ALEXNET, EFFICIENTNET, GOOGLENET, MNASNET, MOBILENETV2, MOBILENETV3, NASBENCH201, RESNET,
    SQUEEZENET, VGG,
)}

#: The family names.
FAMILIES = tuple(REGISTRY)


def _family(name) -> Family:
    if name not in REGISTRY:
        raise ValueError(f"unknown model family {name!r}; known: {', '.join(FAMILIES)}")
    return REGISTRY[name]


def sample_config(family: str, rng=None) -> dict:
    """Sample a configuration of ``family`` (depth, width, kernel sizes, input size).

    ``rng`` is a :class:`random.Random`, or a seed for one. The result is a JSON-serialisable
    dict with ``family`` and ``input_size`` keys plus the family's own parameters.
    """
    fam = _family(family)
    r = rng if isinstance(rng, random.Random) else random.Random(rng)
    cfg = {"family": family, "input_size": r.choice(fam.input_sizes)}
    cfg.update(fam.sample(r))
    return cfg


def build_model(config: dict) -> nn.Module:
    """Build the model of a configuration from :func:`sample_config` (eval mode, seeded random
    weights: the weights are irrelevant to latency)."""
    fam = _family(config.get("family"))
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = fam.build(config)
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
