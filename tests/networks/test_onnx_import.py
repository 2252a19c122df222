"""from_onnx on the models users bring: symbolic input shapes, control flow, recurrent
layers, shape-read initializers, onnxruntime's symbolic inference (small models built here)."""
import os
import warnings

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper

from pyg_nar.networks import ONNX_OP_VOCAB, OnnxGraphError, from_onnx, strip_weights

F = T.FLOAT


def _vi(name, shape, dtype=F):
    return h.make_tensor_value_info(name, dtype, shape)


def _model(nodes, inputs, outputs, inits=(), opset=17, extra=()):
    g = h.make_graph(nodes, "g", inputs, outputs, list(inits))
    return h.make_model(g, opset_imports=[h.make_opsetid("", opset)] + list(extra))


def _init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def _ops(d):
    return [ONNX_OP_VOCAB[i] for i in d.op.tolist()]


# ------------------------------------------------------------------------ input shapes
class _Encoder(torch.nn.Module):
    """A token-id transformer encoder layer: shapes depend on batch and sequence length."""

    def __init__(self, vocab=50, dim=16):
        super().__init__()
        self.emb = torch.nn.Embedding(vocab, dim)
        self.layer = torch.nn.TransformerEncoderLayer(dim, 2, 32, batch_first=True, dropout=0.0)
        self.head = torch.nn.Linear(dim, 3)

    def forward(self, ids, mask):
        x = self.emb(ids) * mask.unsqueeze(-1)
        return self.head(self.layer(x))


@pytest.fixture(scope="module")
def encoder_path(tmp_path_factory):
    torch.manual_seed(0)
    path = str(tmp_path_factory.mktemp("enc") / "encoder.onnx")
    ids, mask = torch.zeros(2, 5, dtype=torch.long), torch.ones(2, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_Encoder().eval(), (ids, mask), path, dynamo=False,
                          input_names=["ids", "mask"], output_names=["out"],
                          dynamic_axes={"ids": {0: "batch", 1: "seq"}, "mask": {0: "batch", 1: "seq"},
                                        "out": {0: "batch", 1: "seq"}})
    return path


def test_dynamic_axes_transformer_needs_and_takes_input_shapes(encoder_path):
    with pytest.raises(OnnxGraphError) as e:
        from_onnx(encoder_path)
    msg = str(e.value)
    # every unresolved input and dim, and the exact text that fixes it
    assert "graph input 'ids' has an unknown dimension 1 (seq)" in msg
    assert "graph input 'mask' has an unknown dimension 1 (seq)" in msg
    assert "input_shapes={'ids': (1, seq), 'mask': (1, seq)}" in msg
    assert "--input-shape ids=1,seq --input-shape mask=1,seq" in msg
    d7 = from_onnx(encoder_path, input_shapes={"ids": (2, 7)})  # 'seq' of mask follows
    assert d7.out_shape[-1].tolist() == [2, 7, 3, 0]
    assert d7.out_shape[1].tolist() == [2, 7, 0, 0]  # the mask input
    assert {"MatMul", "Softmax", "LayerNormalization", "Gather"} <= set(_ops(d7))
    d14 = from_onnx(encoder_path, batch_size=4, input_shapes={"mask": (1, 14)})
    assert d14.out_shape[-1].tolist() == [4, 14, 3, 0] and d14.static[0, 0] == 4
    assert d14.static[0, 1] > 2 * d7.static[0, 1]  # attention grows faster than linearly


def test_named_dims_are_one_value_everywhere():
    nodes = [h.make_node("Add", ["a", "b"], ["s"]), h.make_node("Relu", ["s"], ["y"])]
    m = _model(nodes, [_vi("a", ["batch", "seq", 8]), _vi("b", ["batch", "seq", 8])], [_vi("y", None)])
    d = from_onnx(m, input_shapes={"b": (3, 11, 8)})
    assert d.out_shape[:, :3].tolist() == [[3, 11, 8]] * 4
    with pytest.raises(OnnxGraphError, match="dimension 'seq' is 11 in graph input 'a' but 12 in graph input 'b'"):
        from_onnx(m, input_shapes={"a": (3, 11, 8), "b": (3, 12, 8)})
    with pytest.raises(OnnxGraphError, match="input_shapes names 'c' not a data input"):
        from_onnx(m, input_shapes={"c": (1, 2, 8)})
    with pytest.raises(OnnxGraphError, match=r"input_shapes\['a'\] = \(3, 11\) has rank 2"):
        from_onnx(m, input_shapes={"a": (3, 11)})
    # -1, '?' and empty dims are unknown too; an anonymous one is named by position
    m2 = _model(nodes, [_vi("a", [-1, "?", 8]), _vi("b", [1, None, 8])], [_vi("y", None)])
    m2.graph.input[0].type.tensor_type.shape.dim[0].Clear()  # empty
    with pytest.raises(OnnxGraphError, match=r"'a': \(1, D1, 8\), 'b': \(1, D1, 8\)"):
        from_onnx(m2)
    assert from_onnx(m2, input_shapes={"a": (1, 5, 8), "b": (1, 5, 8)}).out_shape[-1].tolist() == [1, 5, 8, 0]


def test_bad_declared_and_given_shapes_are_named():
    m = _model([h.make_node("Relu", ["x"], ["y"])], [_vi("x", [1, 0, 4])], [_vi("y", None)])
    with pytest.raises(OnnxGraphError, match="graph input 'x' declares dimension 1 as 0"):
        from_onnx(m)
    assert from_onnx(m, input_shapes={"x": (1, 2, 4)}).out_shape[-1].tolist() == [1, 2, 4, 0]
    for bad in ({"x": (1, -2, 4)}, {"x": (1, 0, 4)}, {"x": "1,2,4"}):
        with pytest.raises(OnnxGraphError, match="input_shapes"):
            from_onnx(m, input_shapes=bad)
    with pytest.raises(OnnxGraphError, match="batch_size must be a positive integer"):
        from_onnx(m, batch_size=0, input_shapes={"x": (1, 2, 4)})


# ------------------------------------------------------------------- validity
def test_models_breaking_onnx_rules_are_named():
    relu = h.make_node("Relu", ["x"], ["y"], name="r1")
    twice = _model([relu, h.make_node("Relu", ["x"], ["y"], name="r2")], [_vi("x", [1, 4])], [_vi("y", None)])
    with pytest.raises(OnnxGraphError, match="tensor 'y' is written by two operators"):
        from_onnx(twice)
    orphan = _model([relu], [_vi("x", [1, 4])], [_vi("y", None), _vi("z", None)])
    with pytest.raises(OnnxGraphError, match="graph output 'z' is not produced"):
        from_onnx(orphan)
    dup = _model([relu], [_vi("x", [1, 4]), _vi("x", [1, 4])], [_vi("y", None)])
    with pytest.raises(OnnxGraphError, match="graph input 'x' is listed twice"):
        from_onnx(dup)
    wrong = h.make_node("Transpose", ["x"], ["y"], name="tr")
    wrong.attribute.append(h.make_attribute("perm", 1.5))  # perm must be ints
    with pytest.raises(OnnxGraphError, match="attribute type in 'tr : perm'. Expected: 'INTS'"):
        from_onnx(_model([wrong], [_vi("x", [1, 4])], [_vi("y", None)]))
    w = h.make_tensor("w", F, [4, 4], [0.0] * 16)
    w.dims[0] = -4
    with pytest.raises(OnnxGraphError, match=r"initializer 'w' has negative dims \[-4, 4\]"):
        from_onnx(_model([h.make_node("MatMul", ["x", "w"], ["y"])], [_vi("x", [1, 4])], [_vi("y", None)], [w]))


# --------------------------------------------------------------- weight stripping
def test_upsampling_head_keeps_resize_scales_through_stripping():
    """A fixed-shape detector head: Resize reads float ``scales`` (4 elements, NCHW) through an
    Identity; stripping must keep them or shape inference fails on an empty tensor."""
    w = np.random.default_rng(0).standard_normal((8, 3, 3, 3)).astype(np.float32)
    nodes = [h.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             h.make_node("Identity", ["scales0"], ["scales"]),
             h.make_node("Resize", ["c", "", "scales"], ["up"], mode="nearest"),
             h.make_node("Concat", ["up", "skip"], ["cat"], axis=1),
             h.make_node("Pad", ["cat", "pads"], ["y"])]
    m = _model(nodes, [_vi("x", [1, 3, 13, 13]), _vi("skip", [1, 2, 26, 26])], [_vi("y", None)],
               [_init("w", w), _init("scales0", np.array([1, 1, 2, 2], np.float32)),
                _init("pads", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64))])
    stripped = strip_weights(m)
    kept = {t.name: bool(t.raw_data or t.float_data) for t in stripped.graph.initializer}
    assert kept == {"w": False, "scales0": True, "pads": True}
    for model in (m, stripped):
        d = from_onnx(model)
        assert d.out_shape[-1].tolist() == [1, 10, 28, 28]
        assert d.out_shape[_ops(d).index("Resize")].tolist() == [1, 8, 26, 26]
        assert "Identity" not in _ops(d)  # an Identity of a constant is a constant


# ----------------------------------------------------------------- control flow
def _branch(name, op, out, shape):
    return h.make_graph([h.make_node(op, ["x"], [out])], name, [], [_vi(out, shape)])


def test_if_keeps_both_branches_and_counts_one():
    then_g = h.make_graph([h.make_node("Relu", ["x"], ["t1"]), h.make_node("Sigmoid", ["t1"], ["t2"])],
                          "then", [], [_vi("t2", None)])
    else_g = h.make_graph([h.make_node("Tanh", ["x"], ["e1"])], "else", [], [_vi("e1", None)])
    nodes = [h.make_node("ReduceSum", ["x"], ["s"], keepdims=0),
             h.make_node("Greater", ["s", "zero"], ["cond"]),
             h.make_node("If", ["cond"], ["o"], then_branch=then_g, else_branch=else_g, name="if"),
             h.make_node("Exp", ["o"], ["y"])]
    d = from_onnx(_model(nodes, [_vi("x", [2, 6])], [_vi("y", None)], [_init("zero", np.array(0, np.float32))]))
    # the branches in the order of the If's attributes (helper.make_node sorts them)
    assert _ops(d) == ["Input", "ReduceSum", "Greater", "If", "Tanh", "Relu", "Sigmoid", "Exp"]
    assert d.subgraph_depth.tolist() == [0, 0, 0, 0, 1, 1, 1, 0]
    assert d.if_branch.tolist() == [0, 0, 0, 0, 2, 1, 1, 0]
    # a runtime condition: the then-branch is counted, the else-branch kept with repeats 0
    assert d.repeats.tolist() == [1, 1, 1, 1, 0, 1, 1, 1]
    edges = set(map(tuple, d.edge_index.t().tolist()))
    assert {(0, 4), (0, 5), (5, 6), (3, 7), (4, 7), (6, 7)} <= edges  # captured x; outputs
    assert d.out_shape[7].tolist() == [2, 6, 0, 0]
    # a constant condition picks the branch that runs
    nodes[1] = h.make_node("Identity", ["false"], ["cond"])
    d2 = from_onnx(_model(nodes, [_vi("x", [2, 6])], [_vi("y", None)],
                          [_init("zero", np.array(0, np.float32)), _init("false", np.array(False))]))
    assert _ops(d2)[-4:] == ["Tanh", "Relu", "Sigmoid", "Exp"] and d2.repeats.tolist()[-4:] == [1, 0, 0, 1]


def test_loop_with_static_trip_count():
    body = h.make_graph(
        [h.make_node("Identity", ["cond_in"], ["cond_out"]),
         h.make_node("MatMul", ["acc_in", "w"], ["mm"]),
         h.make_node("Relu", ["mm"], ["acc_out"]),
         h.make_node("ReduceSum", ["acc_out"], ["scan_out"], keepdims=0)],
        "body", [_vi("i", [], T.INT64), _vi("cond_in", [], T.BOOL), _vi("acc_in", None)],
        [_vi("cond_out", [], T.BOOL), _vi("acc_out", None), _vi("scan_out", None)])
    w = _init("w", np.eye(8, dtype=np.float32))
    nodes = [h.make_node("Loop", ["M", "cond", "x"], ["acc", "per_step"], body=body, name="loop"),
             h.make_node("Relu", ["acc"], ["y"])]
    m = _model(nodes, [_vi("x", [4, 8])], [_vi("y", None), _vi("per_step", None)],
               [_init("M", np.array(5, np.int64)), _init("cond", np.array(True)), w])
    d = from_onnx(m)
    assert _ops(d) == ["Input", "Loop", "Identity", "MatMul", "Relu", "ReduceSum", "Relu"]
    assert d.trip_count.tolist() == [0, 5, 0, 0, 0, 0, 0]
    assert d.repeats.tolist() == [1, 1, 5, 5, 5, 5, 1]
    assert d.out_shape[1].tolist() == [4, 8, 0, 0]  # the carried value keeps its shape
    mm_flops = 4 * 8 * 8  # FLOPs are multiply-accumulates, as for Conv
    assert 5 * mm_flops <= d.static[0, 1].item() * 1e6 <= 5 * (mm_flops + 3 * 32) + 32
    m.graph.initializer[0].CopyFrom(_init("M", np.array(2, np.int64)))
    assert from_onnx(m).static[0, 1] < d.static[0, 1]


def test_scan_body_repeats_per_slice():
    body = h.make_graph([h.make_node("Add", ["s_in", "xi"], ["s_out"]),
                         h.make_node("Relu", ["s_out"], ["yi"])],
                        "scan_body", [_vi("s_in", [3]), _vi("xi", [3])], [_vi("s_out", [3]), _vi("yi", [3])])
    nodes = [h.make_node("Scan", ["init", "xs"], ["final", "ys"], body=body, num_scan_inputs=1, name="scan"),
             h.make_node("Relu", ["ys"], ["y"])]
    d = from_onnx(_model(nodes, [_vi("init", [3]), _vi("xs", ["steps", 3])], [_vi("y", None), _vi("final", None)]),
                  input_shapes={"xs": (7, 3)})
    assert _ops(d) == ["Input", "Input", "Scan", "Add", "Relu", "Relu"]
    assert d.trip_count[2] == 7 and d.repeats.tolist() == [1, 1, 1, 7, 7, 1]
    assert d.out_shape[-1].tolist() == [7, 3, 0, 0]


@pytest.mark.parametrize("op,gates", [("LSTM", 4), ("GRU", 3), ("RNN", 1)])
def test_recurrent_layers_get_attributes_and_flops(op, gates):
    hidden, inp, steps, batch = 6, 5, 9, 2
    W = _init("W", np.zeros((2, gates * hidden, inp), np.float32))
    R = _init("R", np.zeros((2, gates * hidden, hidden), np.float32))
    nodes = [h.make_node(op, ["x", "W", "R"], ["Y", "Y_h"], hidden_size=hidden, direction="bidirectional"),
             h.make_node("Relu", ["Y"], ["y"])]
    d = from_onnx(_model(nodes, [_vi("x", ["T", "B", inp])], [_vi("y", None)], [W, R]),
                  input_shapes={"x": (steps, batch, inp)})
    assert _ops(d) == ["Input", op, "Relu"]
    assert d.out_shape[1].tolist() == [steps, 2, batch, hidden]
    assert d.op_attrs[1].abs().sum() > 0  # hidden size and directions are recorded
    macs = steps * 2 * batch * gates * hidden * (inp + hidden)
    assert macs <= d.static[0, 1].item() * 1e6 <= 1.25 * macs
    assert d.static[0, 2].item() * 1e6 == pytest.approx(W.dims[0] * (gates * hidden) * (inp + hidden))


# ------------------------------------------------------- onnxruntime's inference
def test_onnxruntime_symbolic_inference_writes_nothing_into_the_cwd(tmp_path, monkeypatch):
    """ONNX has no shape rule for com.microsoft.Gelu: onnxruntime's symbolic inference shapes
    it, though it cannot shape the ai.onnx.ml Scaler after it (its ``infer_shapes`` would then
    write sym_shape_infer_temp.onnx into the current directory and give up)."""
    pytest.importorskip("onnxruntime")
    nodes = [h.make_node("Gelu", ["x"], ["g"], domain="com.microsoft"),
             h.make_node("Scaler", ["g"], ["s"], domain="ai.onnx.ml", offset=[0.0] * 3, scale=[1.0, 2.0, 3.0]),
             h.make_node("Relu", ["s"], ["y"])]
    m = _model(nodes, [_vi("x", ["batch", 3])], [_vi("y", None)],
               extra=[h.make_opsetid("com.microsoft", 1), h.make_opsetid("ai.onnx.ml", 3)])
    onnx.save(m, tmp_path / "gelu.onnx")
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    d = from_onnx(tmp_path / "gelu.onnx", input_shapes={"x": (4, 3)})
    assert d.out_shape[:, :2].tolist() == [[4, 3]] * 4
    assert os.listdir(work) == [] and sorted(os.listdir(tmp_path)) == ["cwd", "gelu.onnx"]


def test_exporter_quirks_seen_in_shipped_models():
    """An empty shape tensor (Reshape to a scalar), a graph output declared with the wrong
    rank, and a sub-graph Pad whose pads are a constant of the enclosing graph."""
    nodes = [h.make_node("Reshape", ["five", "empty"], ["scalar"]),  # of constants: constants
             h.make_node("Unsqueeze", ["scalar", "zero"], ["n"]),
             h.make_node("Concat", ["minus1", "n"], ["shape"], axis=0),
             h.make_node("Reshape", ["x", "shape"], ["r"]),
             h.make_node("Relu", ["r"], ["y"])]
    inits = [_init("empty", np.zeros([0], np.int64)), _init("zero", np.array([0], np.int64)),
             _init("minus1", np.array([-1], np.int64)), _init("five", np.array([5], np.int64))]
    m = _model(nodes, [_vi("x", [2, 10])], [_vi("y", [1, "seqlen", 7])], inits)  # wrong rank
    d = from_onnx(m)
    assert _ops(d) == ["Input", "Reshape", "Relu"]
    assert d.out_shape[1:].tolist() == [[4, 5, 0, 0], [4, 5, 0, 0]]
    then_g = h.make_graph([h.make_node("Pad", ["x", "pads"], ["p"], mode="reflect")], "then", [], [_vi("p", None)])
    else_g = h.make_graph([h.make_node("Identity", ["x"], ["q"])], "else", [], [_vi("q", None)])
    nodes = [h.make_node("ReduceSum", ["x"], ["s"], keepdims=0),
             h.make_node("Greater", ["s", "s0"], ["cond"]),
             h.make_node("If", ["cond"], ["o"], then_branch=then_g, else_branch=else_g)]
    d = from_onnx(_model(nodes, [_vi("x", [2, 6])], [_vi("o", None)],
                         [_init("pads", np.array([0, 3, 0, 3], np.int64)), _init("s0", np.array(0, np.float32))]))
    assert d.out_shape[_ops(d).index("Pad")].tolist() == [2, 12, 0, 0]
