"""from_torch: a PyTorch module becomes a graph through a temporary ONNX file."""
import os
import tempfile

import pytest
import torch

import pyg_nar
from pyg_nar.errors import OnnxGraphError
from pyg_nar.networks import ONNX_OP_VOCAB, from_onnx, from_torch, zoo
from pyg_nar.networks.zoo.blocks import NUM_CLASSES


@pytest.fixture
def own_tmp(tmp_path, monkeypatch):
    """Temporary files of the test go to its own folder, so leftovers can be seen."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.parametrize("family", list(zoo.REGISTRY))
def test_every_zoo_family(family, own_tmp):
    cfg = zoo.sample_config(family, 0)
    if family in zoo.FAMILIES:
        cfg["input_size"] = 32  # small and fast; the attention families fix their own sizes
    model = zoo.build_model(cfg)
    d = from_torch(model, zoo.example_input(model, cfg["input_size"]))
    ops = [ONNX_OP_VOCAB[i] for i in d.op.tolist()]
    assert ops[0] == "Input" and d.num_nodes > 8
    assert "Conv" in ops or "MatMul" in ops
    assert d.out_shape[-1].tolist() == [1, NUM_CLASSES, 0, 0] and d.static[0, 0] == 1
    assert list(own_tmp.iterdir()) == []  # the temporary file is gone


def test_keywords_go_to_from_onnx_or_to_the_exporter(own_tmp):
    net = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.ReLU())
    d = from_torch(net, torch.randn(3, 6), y=1.5, arch_id=7)
    assert d.y.item() == 1.5 and d.arch_id.item() == 7
    assert d.out_shape[0].tolist() == [3, 6, 0, 0]  # the example's shape
    # export keywords: a dynamic batch, then from_onnx's batch_size picks one
    d = from_torch(net, (torch.randn(1, 6),), 5, input_names=["x"], dynamic_axes={"x": {0: "n"}})
    assert d.out_shape[0].tolist() == [5, 6, 0, 0] and d.out_shape[-1].tolist() == [5, 4, 0, 0]
    ref = from_onnx(_export(net, own_tmp), 5)
    assert torch.equal(d.op, ref.op) and torch.equal(d.edge_index, ref.edge_index)
    os.remove(own_tmp / "ref.onnx")
    assert list(own_tmp.iterdir()) == []


def _export(net, folder):
    path = str(folder / "ref.onnx")
    torch.onnx.export(net, (torch.randn(1, 6),), path, dynamo=False, opset_version=17)
    return path


class Summer(torch.nn.Module):
    def forward(self, x):
        return x.sum(-1)


def test_conversion_errors_name_the_module(own_tmp):
    with pytest.raises(OnnxGraphError, match=r"^Summer: .*'x'"):  # a symbolic non-batch dim
        from_torch(Summer(), torch.randn(2, 3), input_names=["x"], dynamic_axes={"x": {1: "f"}})
    with pytest.raises(OnnxGraphError, match=r"^mine: "):
        from_torch(Summer(), torch.randn(2, 3), input_names=["x"], dynamic_axes={"x": {1: "f"}},
                   name="mine")
    assert list(own_tmp.iterdir()) == []


class Eig(torch.nn.Module):
    def forward(self, x):
        return torch.linalg.eigvals(x).real


def test_export_failure_is_a_named_error(own_tmp):
    with pytest.raises(OnnxGraphError, match=r"^Eig: torch.onnx.export failed: .*linalg_eig"):
        from_torch(Eig(), torch.randn(3, 3))
    with pytest.raises(OnnxGraphError, match=r"^mine \(Linear\): torch.onnx.export failed: RuntimeError: "):
        from_torch(torch.nn.Linear(4, 2), torch.randn(2, 5), name="mine")  # wrong input width
    assert list(own_tmp.iterdir()) == []  # cleaned up on error too
    with pytest.raises(TypeError, match="needs a torch.nn.Module, got function"):
        from_torch(lambda x: x, torch.randn(2))


def test_top_level_names():
    assert pyg_nar.from_torch is from_torch and pyg_nar.from_onnx is from_onnx
