r"""A zoo of small parametric networks in plain PyTorch, for latency datasets.

NNLQP's ten CNN families (ResNet, VGG, EfficientNet, MobileNetV2, MobileNetV3, MnasNet,
AlexNet, SqueezeNet, GoogLeNet, NAS-Bench-201 networks; :data:`FAMILIES`) and three attention
families (:data:`ATTENTION_FAMILIES`: a ViT, a BERT-style text encoder, the conv + attention
hybrid MobileViT) as seeded samplers::

    cfg = sample_config("resnet", rng)     # a JSON-serialisable dict
    model = build_model(cfg)               # an nn.Module (eval mode)
    export_onnx(model, "resnet_0.onnx", cfg["input_size"])

Each family samples depth (blocks per stage, number of stages, encoder blocks), width (channel
counts, width multiplier, token width, heads, MLP ratio), kernel or patch sizes and the input
resolution (32-128) or sequence length (16-128). Models are kept small so a forward pass of
batch 1 takes a few milliseconds on one CPU thread. They are re-implemented from the papers
(no torchvision, timm or transformers), with random weights: only latency matters here.

One file per family (the MBConv families share :mod:`~pyg_nar.networks.zoo.mobilenet`), shared
blocks in :mod:`~pyg_nar.networks.zoo.blocks` and, for transformers,
:mod:`~pyg_nar.networks.zoo.attention`. A new family is a file defining a
:class:`~pyg_nar.networks.zoo.blocks.Family` and one line in :data:`REGISTRY`.
"""
from __future__ import annotations

import random
import warnings

import torch
from torch import nn

from pyg_nar.networks.zoo.alexnet import ALEXNET
from pyg_nar.networks.zoo.bert import BERT
from pyg_nar.networks.zoo.blocks import Family
from pyg_nar.networks.zoo.googlenet import GOOGLENET
from pyg_nar.networks.zoo.mobilenet import EFFICIENTNET, MNASNET, MOBILENETV2, MOBILENETV3
from pyg_nar.networks.zoo.mobilevit import MOBILEVIT
from pyg_nar.networks.zoo.nasbench201 import NASBENCH201
from pyg_nar.networks.zoo.resnet import RESNET
from pyg_nar.networks.zoo.squeezenet import SQUEEZENET
from pyg_nar.networks.zoo.vgg import VGG
from pyg_nar.networks.zoo.vit import VIT

__all__ = ["FAMILIES", "ATTENTION_FAMILIES", "REGISTRY", "Family", "build_model", "example_input",
           "export_onnx", "sample_config"]

#: Family name -> :class:`Family`: NNLQP's ten model types in its order, then the attention
#: families. :func:`~pyg_nar.networks.build_latency_dataset` interleaves the families it is
#: given in the order given (and numbers GraphIDs so).
REGISTRY: dict[str, Family] = {f.name: f for f in (
    ALEXNET, EFFICIENTNET, GOOGLENET, MNASNET, MOBILENETV2, MOBILENETV3, NASBENCH201, RESNET,
    SQUEEZENET, VGG, VIT, BERT, MOBILEVIT,
)}

#: The ten CNN families (NNLQP's): what :func:`~pyg_nar.networks.build_latency_dataset` and
#: ``pyg-nar measure`` build when no families are named.
FAMILIES = tuple(REGISTRY)[:10]
#: The attention families: ``"vit"``, ``"bert"`` (int64 token ids in) and ``"mobilevit"``.
#: ``FAMILIES + ATTENTION_FAMILIES`` is every family of :data:`REGISTRY`.
ATTENTION_FAMILIES = tuple(REGISTRY)[10:]


def _family(name) -> Family:
    if name not in REGISTRY:
        raise ValueError(f"unknown model family {name!r}; known: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def sample_config(family: str, rng=None) -> dict:
    """Sample a configuration of ``family`` (depth, width, kernel sizes, input size).

    ``rng`` is a :class:`random.Random`, or a seed for one. The result is a JSON-serialisable
    dict with ``family`` and ``input_size`` keys plus the family's own parameters
    (``input_size`` is the image resolution, or the sequence length of a text family).
    """
    fam = _family(family)
    r = rng if isinstance(rng, random.Random) else random.Random(rng)
    cfg = {"family": family}
    if fam.input_sizes:  # else the family's sample draws it
        cfg["input_size"] = r.choice(fam.input_sizes)
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


def example_input(model: nn.Module, input_size: int, batch_size: int = 1) -> torch.Tensor:
    """A random input of a zoo model: a ``(batch_size, 3, input_size, input_size)`` image, or
    what the model's ``example_input(batch_size, input_size)`` returns (the BERT family: int64
    token ids of sequence length ``input_size``)."""
    make = getattr(model, "example_input", None)
    return make(batch_size, input_size) if make else torch.randn(batch_size, 3, input_size, input_size)


def export_onnx(model: nn.Module, path: str, input_size: int, batch_size: int = 1,
                opset: int = 17) -> str:
    """Export ``model`` to ONNX with the TorchScript exporter (``dynamo=False``: the dynamo
    exporter needs ``onnxscript``). The batch dimension is dynamic, so one file serves every
    batch size; BatchNorm is folded into the convolutions (eval mode, constant folding).

    The input (:func:`example_input`) is named ``input``, the output ``output``."""
    x = example_input(model, input_size, batch_size)
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
