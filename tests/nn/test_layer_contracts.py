"""Contracts every layer of pyg_nar.nn keeps: reset_parameters resets every parameter, and the
class follows PyG's docstring and repr conventions."""
import inspect

import pytest
import torch
from torch import nn

import pyg_nar.nn as pnn
from _layer_cases import LAYER_CASES

CASES = [(name, i, make) for name, makes in LAYER_CASES.items() for i, make in enumerate(makes)]
IDS = [f"{name}-{i}" for name, i, _ in CASES]


def exported_layer_classes():
    return sorted(n for n in pnn.__all__
                  if inspect.isclass(getattr(pnn, n)) and issubclass(getattr(pnn, n), nn.Module))


def test_every_exported_layer_is_checked():
    assert exported_layer_classes() == sorted(LAYER_CASES)


def params(module):
    return {k: v.detach().clone() for k, v in module.named_parameters()}


@pytest.mark.parametrize("name,i,make", CASES, ids=IDS)
def test_reset_parameters_resets_every_parameter(name, i, make):
    layer = make()
    assert len(list(layer.parameters())) > 0
    with torch.no_grad():  # a value no initialisation produces, in every entry
        for p in layer.parameters():
            p.fill_(float("nan"))
    torch.manual_seed(0)
    layer.reset_parameters()
    for k, p in layer.named_parameters():
        assert torch.isfinite(p).all(), f"{name}.reset_parameters() left {k} untouched"
    first = params(layer)

    torch.manual_seed(0)
    layer.reset_parameters()
    for k, v in params(layer).items():
        assert torch.equal(v, first[k]), f"{name}: same seed, different {k}"

    torch.manual_seed(1)
    layer.reset_parameters()
    for k, v in params(layer).items():
        constant = bool((first[k] == first[k].flatten()[0]).all()) and first[k].numel() > 1
        # a changed seed changes every randomly initialised parameter; the others have a
        # fixed initial value (LayerNorm weights, zero biases, LayerScale), restored above
        assert constant or not torch.equal(v, first[k]), f"{name}: {k} ignores the seed"
        if constant:
            assert torch.equal(v, first[k])


@pytest.mark.parametrize("name", sorted(pnn.__all__))
def test_pyg_docstring_conventions(name):
    obj = getattr(pnn, name)
    doc = inspect.getdoc(obj) or ""
    if inspect.isclass(obj):
        assert "https://arxiv.org/abs/" in doc, f"{name}: no paper link"
        for part in (".. math::", "Args:", "Shapes:"):
            assert part in doc, f"{name}: no {part!r} in the class docstring"
    else:
        assert "Args:" in doc, f"{name}: no 'Args:'"


@pytest.mark.parametrize("name,i,make", CASES, ids=IDS)
def test_repr_is_one_line_with_the_class_name(name, i, make):
    text = repr(make())
    assert text.startswith(f"{name}(") and "\n" not in text, text
