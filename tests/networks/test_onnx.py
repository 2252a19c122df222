import os
import warnings

import onnx
import pytest
import torch
from onnx import TensorProto, helper
from torch import nn

from pyg_nar.data import ArchitectureError
from pyg_nar.networks import (ONNX_OP_VOCAB, ONNX_OP_VOCAB_VERSION, OnnxGraphError, from_onnx,
                              onnx_op_vocab, strip_weights, zoo)


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)  # with bias
        self.conv2 = nn.Conv2d(8, 8, 5, padding=2, groups=4, bias=False)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = x + self.conv2(x)
        x = nn.functional.max_pool2d(x, 2)
        x = nn.functional.adaptive_avg_pool2d(x, 1)
        return self.fc(torch.flatten(x, 1))


def export(model, path, shape=(1, 3, 16, 16)):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), (torch.randn(*shape),), str(path), dynamo=False,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    return str(path)


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory):
    torch.manual_seed(0)
    return export(TinyNet(), tmp_path_factory.mktemp("tiny") / "tiny.onnx")


def V(name):
    return ONNX_OP_VOCAB.index(name)


# by hand: conv1 = 8x8x8 outputs x (3 x 3 x 3) MACs + 512 bias adds; conv2 = 512 x (8/4 x 5 x 5)
CONV1_FLOPS = 512 * 27 + 512
CONV2_FLOPS = 512 * 50
# + Relu 512 + Add 512 + MaxPool 128 outputs x 2x2 window + global pool over 8x4x4 + Gemm 80 + 10
TOTAL_FLOPS = CONV1_FLOPS + CONV2_FLOPS + 512 + 512 + 128 * 4 + 128 + (10 * 8 + 10)
PARAMS = (8 * 27 + 8) + (8 * 2 * 25) + (80 + 10)


def test_tiny_net_node_by_node(tiny_path):
    d = from_onnx(tiny_path)
    ops = [ONNX_OP_VOCAB[i] for i in d.op.tolist()]
    assert ops == ["Input", "Conv", "Relu", "Conv", "Add", "MaxPool", "GlobalAveragePool",
                   "Flatten", "Gemm"]
    assert d.edge_index.t().tolist() == [[0, 1], [1, 2], [2, 3], [2, 4], [3, 4], [4, 5], [5, 6],
                                         [6, 7], [7, 8]]
    # kernel, stride, padding, dilation, groups, has_bias, perm, output padding
    assert d.op_attrs[1].tolist() == [3, 2, 1, 1, 1, 1, 0, 0]
    assert d.op_attrs[3].tolist() == [5, 1, 2, 1, 4, 0, 0, 0]
    assert d.op_attrs[5].tolist() == [2, 2, 0, 1, 0, 0, 0, 0]
    assert d.op_attrs[8].tolist() == [0, 0, 0, 0, 0, 1, 0, 0]
    assert d.op_attrs[[0, 2, 4, 6, 7]].abs().sum() == 0
    assert d.out_shape.tolist() == [[1, 3, 16, 16], [1, 8, 8, 8], [1, 8, 8, 8], [1, 8, 8, 8],
                                    [1, 8, 8, 8], [1, 8, 4, 4], [1, 8, 1, 1], [1, 8, 0, 0],
                                    [1, 10, 0, 0]]
    assert d.static.shape == (1, 4)
    assert d.static[0, 0] == 1
    assert d.static[0, 1].item() * 1e6 == pytest.approx(TOTAL_FLOPS, rel=1e-6)
    assert d.static[0, 2].item() * 1e6 == pytest.approx(PARAMS, rel=1e-6)
    assert d.static[0, 3] > 0


def test_node_costs_are_the_static_row_per_node(tiny_path):
    """node_cost: each node's MFLOPs, MB read, MB written, MB of weights; the operators'
    columns sum to static's FLOPs and memory access; the graph input writes its tensor."""
    d = from_onnx(tiny_path)
    c = d.node_cost.double()
    assert c.shape == (9, 4)
    assert c[1:, 0].sum().item() == pytest.approx(d.static[0, 1].item(), rel=1e-6)
    assert (c[1:, 1] + c[1:, 2]).sum().item() == pytest.approx(d.static[0, 3].item(), rel=1e-6)
    assert c[1, 0].item() * 1e6 == pytest.approx(CONV1_FLOPS)
    f4 = 4e-6  # MB per float
    assert c[0].tolist() == pytest.approx([0, 0, 3 * 16 * 16 * f4, 0])  # the input
    # conv1 reads the input and its weights + bias, writes 8x8x8
    weights = (8 * 27 + 8) * f4
    assert c[1].tolist() == pytest.approx([CONV1_FLOPS / 1e6, 768 * f4 + weights, 512 * f4, weights])
    assert c[2, 3] == 0 and c[2, 1] == c[2, 2]  # Relu: no weights, reads what it writes
    assert from_onnx(tiny_path, batch_size=4).node_cost[1, 0].item() == pytest.approx(4 * c[1, 0].item(), rel=1e-6)


def test_conv_flops_by_hand(tmp_path):
    path = export(nn.Conv2d(3, 6, (3, 5), stride=1, padding=(1, 2), bias=False), tmp_path / "c.onnx",
                  (1, 3, 10, 12))
    d = from_onnx(path)
    assert d.static[0, 1].item() * 1e6 == pytest.approx(6 * 10 * 12 * 3 * 3 * 5)
    assert d.op_attrs[1, 0] == 5 and d.op_attrs[1, 2] == 2  # max over (3, 5) and pads (1, 2, 1, 2)


def test_batch_size_override(tiny_path):
    d1, d4 = from_onnx(tiny_path), from_onnx(tiny_path, batch_size=4)
    assert d4.out_shape[:, 0].tolist() == [4] * 9
    assert torch.equal(d4.out_shape[:, 1:], d1.out_shape[:, 1:])
    assert d4.static[0, 0] == 4
    assert d4.static[0, 1].item() == pytest.approx(4 * d1.static[0, 1].item(), rel=1e-6)
    assert d4.static[0, 2] == d1.static[0, 2]


def _same(a, b):
    for key in ("op", "edge_index", "op_attrs", "out_shape", "static"):
        assert torch.equal(a[key], b[key]), key


def test_weight_stripped_and_external_data(tiny_path, tmp_path):
    ref = from_onnx(tiny_path)
    model = onnx.load(tiny_path)
    stripped = strip_weights(model)
    assert all(not t.raw_data and not t.float_data for t in stripped.graph.initializer)
    onnx.save(stripped, tmp_path / "stripped.onnx")
    assert os.path.getsize(tmp_path / "stripped.onnx") < os.path.getsize(tiny_path) / 2
    _same(from_onnx(tmp_path / "stripped.onnx"), ref)
    _same(from_onnx(stripped), ref)

    ext = str(tmp_path / "ext.onnx")
    onnx.save_model(onnx.load(tiny_path), ext, save_as_external_data=True,
                    all_tensors_to_one_file=True, location="ext.bin", size_threshold=0)
    assert os.path.isfile(tmp_path / "ext.bin")
    _same(from_onnx(ext), ref)
    os.remove(tmp_path / "ext.bin")  # the structure alone is enough
    _same(from_onnx(ext), ref)


def test_weights_listed_as_graph_inputs(tiny_path):
    """IR-3 style: weights are graph inputs without initializers (no data at all)."""
    model = onnx.load(tiny_path)
    for t in model.graph.initializer:
        model.graph.input.append(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    del model.graph.initializer[:]
    _same(from_onnx(model), from_onnx(tiny_path))
    _same(from_onnx(model, batch_size=3), from_onnx(tiny_path, batch_size=3))


class TinyViT(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, 16, 8, 8)
        self.cls = nn.Parameter(torch.zeros(1, 1, 16))
        layer = nn.TransformerEncoderLayer(16, 2, 32, batch_first=True, norm_first=True,
                                           activation="gelu")
        self.enc = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1)  # batch-dependent shapes
        return self.head(self.enc(x)[:, 0])


def test_transformer_with_dynamic_batch(tmp_path):
    """Exported attention computes shapes at run time (Shape -> ... -> Where -> Expand);
    from_onnx evaluates that shape arithmetic so every shape is known at any batch size."""
    path = export(TinyViT(), tmp_path / "vit.onnx", (1, 3, 16, 16))
    d1, d3 = from_onnx(path), from_onnx(path, batch_size=3)
    ops = {ONNX_OP_VOCAB[i] for i in d3.op.tolist()}
    assert {"MatMul", "Softmax", "LayerNormalization", "Expand", "Where"} <= ops
    assert d3.out_shape[-1].tolist() == [3, 10, 0, 0]
    assert [3, 5, 16, 0] in d3.out_shape.tolist()  # tokens: class token + 2x2 patches
    # all but the scalar float arithmetic of the attention scale grows with the batch
    assert d3.static[0, 1].item() == pytest.approx(3 * d1.static[0, 1].item(), rel=1e-3)


def test_vocab_is_versioned_data():
    # version 1 stays readable (checkpoints record it); version 2 is today's
    assert ONNX_OP_VOCAB_VERSION == 2 and len(onnx_op_vocab(1)) == 72
    for version in (1, 2):
        vocab = onnx_op_vocab(version)
        assert vocab[0] == "Input" and vocab[-1] == "Other" and len(set(vocab)) == len(vocab)
        for op in ("Conv", "Gemm", "MatMul", "Softmax", "LayerNormalization", "HardSwish"):
            assert op in vocab


def _model(nodes, inputs, outputs, initializers=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _vi(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def test_unknown_operator_is_other_and_constants_are_not_nodes():
    nodes = [helper.make_node("Constant", [], ["c"], value=helper.make_tensor("v", TensorProto.FLOAT, [1], [2.0])),
             helper.make_node("Mul", ["x", "c"], ["m"], name="mul"),
             helper.make_node("Celu", ["m"], ["y"], name="celu"),  # real op, not in the vocabulary
             helper.make_node("Transpose", ["y"], ["t"], perm=[0, 2, 3, 1])]
    d = from_onnx(_model(nodes, [_vi("x", [2, 3, 4, 5])], [_vi("t", None)]))
    assert [ONNX_OP_VOCAB[i] for i in d.op.tolist()] == ["Input", "Mul", "Other", "Transpose"]
    assert d.op_attrs[3, 6] == 231
    assert d.out_shape[3].tolist() == [2, 4, 5, 3]


def test_not_onnx_file(tmp_path):
    bad = tmp_path / "notes.onnx"
    bad.write_text("this is not a model\n" * 10)
    with pytest.raises(OnnxGraphError, match="notes.onnx.*not an ONNX model"):
        from_onnx(bad)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(OnnxGraphError, match="junk.onnx"):
        from_onnx(junk)
    assert issubclass(OnnxGraphError, ValueError) and issubclass(OnnxGraphError, ArchitectureError)


def test_cycle_is_named(tmp_path):
    nodes = [helper.make_node("Add", ["x", "c"], ["a"], name="add"),
             helper.make_node("Relu", ["a"], ["b"], name="relu_b"),
             helper.make_node("Relu", ["b"], ["c"], name="relu_c")]
    path = tmp_path / "cycle.onnx"
    onnx.save(_model(nodes, [_vi("x", [1, 4])], [_vi("c", [1, 4])]), path)
    with pytest.raises(OnnxGraphError, match=r"cycle\.onnx: the graph has a cycle.*'add'.*'relu_b'.*'relu_c'"):
        from_onnx(path)


def test_uninferable_shape_names_the_node(tmp_path):
    # the target shape of the Reshape is a runtime input: its output dims cannot be inferred
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
             helper.make_node("Reshape", ["r", "shape"], ["y"], name="the_reshape")]
    path = tmp_path / "dyn.onnx"
    onnx.save(_model(nodes, [_vi("x", [2, 6]), _vi("shape", [2], TensorProto.INT64)],
                     [_vi("y", None)]), path)
    with pytest.raises(OnnxGraphError, match=r"dyn\.onnx.*the_reshape.*could not be inferred"):
        from_onnx(path)


def test_dangling_tensor_and_symbolic_input(tmp_path):
    nodes = [helper.make_node("Add", ["x", "ghost"], ["y"], name="add")]
    with pytest.raises(OnnxGraphError, match="'add'.*reads tensor 'ghost'"):
        from_onnx(_model(nodes, [_vi("x", [1, 4])], [_vi("y", [1, 4])]))
    nodes = [helper.make_node("Relu", ["x"], ["y"])]
    m = _model(nodes, [_vi("x", ["N", "L"])], [_vi("y", None)])
    with pytest.raises(OnnxGraphError, match="input 'x' has an unknown dimension 1"):
        from_onnx(m)
    # a symbolic batch dimension alone is fine: batch 1 unless batch_size is given
    d = from_onnx(_model(nodes, [_vi("x", ["N", 7])], [_vi("y", None)]), batch_size=3)
    assert d.out_shape.tolist() == [[3, 7, 0, 0], [3, 7, 0, 0]]


def test_rank5_and_scalar_shapes_are_reduced():
    nodes = [helper.make_node("Relu", ["x"], ["y"]),
             helper.make_node("ReduceSum", ["y"], ["s"], keepdims=0)]
    d = from_onnx(_model(nodes, [_vi("x", [2, 3, 4, 5, 6])], [_vi("s", None)]))
    assert d.out_shape.tolist() == [[2, 3, 4, 30], [2, 3, 4, 30], [0, 0, 0, 0]]


@pytest.mark.parametrize("family", zoo.FAMILIES)
def test_zoo_family_builds_exports_converts(family, tmp_path):
    cfg = zoo.sample_config(family, 0)
    cfg2 = zoo.sample_config(family, 0)
    assert cfg == cfg2 and cfg["family"] == family  # seeded
    cfg["input_size"] = 32
    model = zoo.build_model(cfg)
    path = zoo.export_onnx(model, str(tmp_path / f"{family}.onnx"), 32)
    d = from_onnx(path, batch_size=2)
    assert d.num_nodes > 8
    assert d.op[0] == V("Input") and (d.op == V("Conv")).sum() >= 3
    assert (d.op != V("Other")).all(), [ONNX_OP_VOCAB[i] for i in d.op.tolist()]
    assert d.out_shape[-1].tolist() == [2, 10, 0, 0]
    assert d.static[0, 0] == 2 and d.static[0, 1] > 0
    n_params = sum(p.numel() for p in model.parameters())
    assert d.static[0, 2].item() * 1e6 <= n_params  # BatchNorm folded into convolutions


def test_zoo_unknown_family():
    with pytest.raises(ValueError, match="unknown model family 'lenet'"):
        zoo.sample_config("lenet", 0)
