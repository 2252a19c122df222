"""``from_onnx`` at the boundary: what ``onnx.checker`` rejects is rejected, every malformed
model of the issue's list is an :class:`OnnxGraphError` naming the file (and the node or
tensor), ``batch_size`` is checked, and pathological sizes neither hang nor allocate."""
import math
import subprocess
import sys
import textwrap

import onnx
import pytest
from onnx import TensorProto, helper

from pyg_nar.errors import OnnxGraphError, PygNarError
from pyg_nar.networks import from_onnx, strip_weights
from pyg_nar.networks.onnx_check import check_structure

REPO = __file__.rsplit("/tests/", 1)[0]


def _model(nodes, inputs, outputs, inits=(), opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def _conv(**attrs):
    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 3, 3, 3], [0.1] * 108)
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv", **attrs)
    return _model([node], [_vi("x", [1, 3, 8, 8])], [_vi("y", [1, 4, 6, 6])], [w])


def _save(model, tmp_path, name="m.onnx"):
    path = tmp_path / name
    path.write_bytes(model.SerializeToString())
    return str(path)


def test_a_valid_model_and_its_weight_stripped_copy_convert_alike(tiny_networks):
    for path in tiny_networks["onnx"]:
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
        a, b = from_onnx(model), from_onnx(strip_weights(model))
        for key in ("op", "edge_index", "op_attrs", "out_shape", "static"):
            assert a[key].equal(b[key]), (path, key)
        check_structure(strip_weights(model), "stripped")  # no data is fine


def _checker_rejects(model) -> bool:
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception:  # noqa: BLE001
        return True
    return False


def _two_producers():
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="a"), helper.make_node("Sigmoid", ["x"], ["y"], name="b")]
    return _model(nodes, [_vi("x", [1, 4])], [_vi("y", [1, 4])])


def _output_of_nobody():
    return _model([helper.make_node("Relu", ["x"], ["y"], name="r")], [_vi("x", [1, 4])], [_vi("z", [1, 4])])


def _constant_without_output():
    nodes = [helper.make_node("Constant", [], [], value=helper.make_tensor("c", TensorProto.INT64, [1], [1])),
             helper.make_node("Relu", ["x"], ["y"], name="r")]
    return _model(nodes, [_vi("x", [1, 4])], [_vi("y", [1, 4])])


def _constant_value_not_a_tensor():
    nodes = [helper.make_node("Constant", [], ["c"], value=1.5), helper.make_node("Add", ["x", "c"], ["y"])]
    return _model(nodes, [_vi("x", [1, 4])], [_vi("y", [1, 4])])


def _int_initializer_data_not_dims():
    shape = helper.make_tensor("s", TensorProto.INT64, [2], [1, 4])
    shape.dims[0] = 3  # two values for dims [3]
    return _model([helper.make_node("Reshape", ["x", "s"], ["y"])], [_vi("x", [1, 4])], [_vi("y", [1, 4])], [shape])


def _float_initializer_data_not_dims():
    m = _conv()
    m.graph.initializer[0].dims[0] = 5
    return m


def _wrong_attribute_type():
    m = _conv()
    m.graph.node[0].attribute.append(helper.make_attribute("kernel_shape", [3.0, 3.0]))
    return m


MALFORMED = {
    "two producers of one tensor": (_two_producers, "m.onnx: "),
    "an output nothing produces": (_output_of_nobody, "m.onnx: "),
    "a Constant without outputs": (_constant_without_output, "m.onnx: "),
    "a Constant whose value is not a tensor": (_constant_value_not_a_tensor, "m.onnx: "),
    "an integer initializer whose data does not match its dims": (_int_initializer_data_not_dims, "m.onnx: "),
    "a float initializer whose data does not match its dims": (_float_initializer_data_not_dims, "m.onnx: "),
    "a misspelt attribute": (lambda: _conv(kernel_shapes=[3, 3]), "m.onnx: "),
    "an attribute of the wrong type": (_wrong_attribute_type, "m.onnx: "),
    "an attribute of the wrong kind": (lambda: _conv(group="1"), "m.onnx: "),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_models_are_named_errors(tmp_path, case):
    make, message = MALFORMED[case]
    model = make()
    assert _checker_rejects(model)  # the list: everything here is invalid ONNX
    path = _save(model, tmp_path)
    with pytest.raises(OnnxGraphError, match=message) as e:
        from_onnx(path)
    assert path in str(e.value)


def test_a_constant_of_any_form_is_read(tmp_path):
    for value in (dict(value_float=2.0), dict(value_floats=[1.0, 2.0, 3.0, 4.0]),
                  dict(value=helper.make_tensor("v", TensorProto.FLOAT, [4], [1.0] * 4))):
        nodes = [helper.make_node("Constant", [], ["c"], **value), helper.make_node("Add", ["x", "c"], ["y"], name="add")]
        model = _model(nodes, [_vi("x", [1, 4])], [_vi("y", [1, 4])])
        onnx.checker.check_model(model, full_check=True)
        assert from_onnx(model).num_nodes == 2


def test_unknown_rank_and_negative_or_huge_dims(tmp_path):
    m = _conv()
    m.graph.input[0].type.tensor_type.ClearField("shape")
    with pytest.raises(OnnxGraphError, match="graph input 'x' has no declared shape"):
        from_onnx(_save(m, tmp_path))
    for dim, message in ((-3, r"d-3\.onnx: "), (2 ** 50, r"\.onnx: ")):
        relu = _model([helper.make_node("Relu", ["x"], ["y"], name="relu")], [_vi("x", [1, dim])], [_vi("y", [1, dim])])
        with pytest.raises(OnnxGraphError, match=message):
            from_onnx(_save(relu, tmp_path, f"d{dim}.onnx"))
    # dims whose FLOPs would overflow a float: the element limit comes first
    m = _conv()
    m.graph.input[0].type.tensor_type.shape.dim[2].dim_value = 10 ** 15
    m.graph.output[0].type.tensor_type.ClearField("shape")
    with pytest.raises(OnnxGraphError, match=r"big\.onnx: "):
        from_onnx(_save(m, tmp_path, "big.onnx"))


@pytest.mark.parametrize("batch_size", [0, -1, 1.5, math.nan, math.inf, 10 ** 30, "8", True])
def test_batch_size_is_checked(tiny_networks, batch_size):
    with pytest.raises(PygNarError, match="batch_size"):
        from_onnx(tiny_networks["onnx"][0], batch_size=batch_size)


RANGE = textwrap.dedent("""
    import resource, sys, time
    resource.setrlimit(resource.RLIMIT_AS, (3 * 2 ** 30, 3 * 2 ** 30))
    sys.path.insert(0, {repo!r})
    from onnx import TensorProto, helper
    from pyg_nar.errors import PygNarError
    from pyg_nar.networks import from_onnx
    inits = [helper.make_tensor("big", TensorProto.INT64, [1], [10 ** 9]),
             helper.make_tensor("zero", TensorProto.INT64, [], [0]),
             helper.make_tensor("one", TensorProto.INT64, [], [1])]
    nodes = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Mul", ["s", "big"], ["l"]),
             helper.make_node("ReduceMax", ["l"], ["m"], keepdims=0),
             helper.make_node("Range", ["zero", "m", "one"], ["r"]),
             helper.make_node("Cast", ["r"], ["f"], to=TensorProto.FLOAT),
             helper.make_node("ReduceSum", ["f"], ["t"], keepdims=0),
             helper.make_node("Add", ["x", "t"], ["y"])]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y], inits),
                              opset_imports=[helper.make_opsetid("", 17)])
    t = time.perf_counter()
    try:
        print("accepted", from_onnx(model).num_nodes)
    except PygNarError as e:
        print("named", type(e).__name__)
    print("seconds", time.perf_counter() - t)
""")


def test_shape_mul_range_neither_hangs_nor_allocates():
    # the 217-byte graph took 11-45 s and 9.8 GB: now under 3 GB and 10 s
    out = subprocess.run([sys.executable, "-c", RANGE.format(repo=REPO)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    assert "accepted" in lines or "named" in lines
    assert float(lines["seconds"]) < 10  # the bound for a hang


def test_a_name_that_is_not_utf8_is_a_named_error(tmp_path):
    # a byte-level mutation found by benchmarks/fuzz.py: onnx.checker raised UnicodeDecodeError
    m = _model([helper.make_node("Relu", ["x"], ["y"], name="relu")], [_vi("x", [1, 4])], [_vi("y", [1, 4])])
    data = m.SerializeToString().replace(b"Relu", b"R\xffl\x9c", 1)  # the op_type
    path = tmp_path / "bad.onnx"
    path.write_bytes(data)
    with pytest.raises(OnnxGraphError, match="bad.onnx: "):
        from_onnx(str(path))
