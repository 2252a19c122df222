"""The public helpers of pyg_nar.networks.onnx_graph and the package's import shape."""
import os
import os.path as osp
import subprocess
import sys

import pytest
from onnx import TensorProto, helper

from pyg_nar.networks import OnnxGraphError, data_inputs, from_onnx, set_batch_size

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _conv_model(weights_as_inputs: bool, batch="N"):
    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 3, 3, 3], [0.0] * 108)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3, 8, 8])
    inputs = [x] + ([helper.make_tensor_value_info("w", TensorProto.FLOAT, [4, 3, 3, 3])]
                    if weights_as_inputs else [])
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["c"], ["y"])],
        "g", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 4, 8, 8])], [w])
    graph.value_info.append(helper.make_tensor_value_info("c", TensorProto.FLOAT, [batch, 4, 8, 8]))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("weights_as_inputs", [False, True])
def test_data_inputs_and_set_batch_size(weights_as_inputs):
    m = _conv_model(weights_as_inputs)
    assert [vi.name for vi in data_inputs(m.graph)] == ["x"]  # a weight input is no data
    set_batch_size(m.graph, 5)
    assert m.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 5
    if weights_as_inputs:  # the weight keeps its first dimension
        assert [d.dim_value for d in m.graph.input[1].type.tensor_type.shape.dim] == [4, 3, 3, 3]
    assert len(m.graph.value_info) == 0  # inferred for the old batch size: dropped
    assert not m.graph.output[0].type.tensor_type.HasField("shape")
    assert from_onnx(m).out_shape[:, 0].tolist() == [5, 5, 5]


def test_input_without_declared_shape_is_a_named_error():
    m = _conv_model(False)
    m.graph.input[0].type.tensor_type.ClearField("shape")
    with pytest.raises(OnnxGraphError, match="graph input 'x' has no declared shape"):
        from_onnx(m, name="noshape")


CHECK = """
import sys
import pyg_nar.networks as n
import pyg_nar.networks.vocab
assert n.onnx_op_vocab()[0] == "Input"
light = [m for m in ("torch", "torch_geometric", "onnx") if m in sys.modules]
assert not light, f"import pyg_nar.networks imported {light}"
import pyg_nar.networks.measure  # imports the gt.txt reader of pyg_nar.datasets.nnlqp
from pyg_nar.datasets import NNLQP
assert callable(n.from_onnx) and callable(n.measure_latency) and n.zoo.FAMILIES
for name in n.__all__:
    getattr(n, name)
heavy = [m for m in ("onnx", "onnxruntime") if m in sys.modules]
assert not heavy, f"importing the converter and the measurement module imported {heavy}"
"""


def test_import_shape():
    """``import pyg_nar.networks`` (and the vocabulary the CLI reads) needs no torch; every
    public name resolves; the measurement module and the dataset import each other's
    modules without a cycle and without onnx or onnxruntime."""
    env = dict(os.environ, PYTHONPATH=REPO)
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr


def test_old_top_level_modules_are_gone():
    """The deployment code lives in pyg_nar.networks only (no shims; a top-level
    ``pyg_nar/onnx.py`` also shadowed the ``onnx`` package's name)."""
    import pyg_nar

    for name in ("onnx.py", "zoo.py", "latency.py"):
        assert not osp.exists(osp.join(osp.dirname(pyg_nar.__file__), name))
