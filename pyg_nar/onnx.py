r"""ONNX model -> architecture graph (NNLQP-style whole-network graphs).

:func:`from_onnx` turns an ONNX model into one PyG :class:`~torch_geometric.data.Data` that
follows the contract of :mod:`pyg_nar.data`:

* **Nodes.** One node per graph input (op ``"Input"``; NNLQP adds the same Input nodes), then
  one node per ONNX operator. Initializers and ``Constant`` operators are *not* nodes: they are
  weights / constants read by operators. Graph inputs that only feed parameter slots (a Conv's
  kernel, a BatchNormalization's statistics, ...; old exporters list weights as inputs) count as
  weights too, and their first dimension is never taken for a batch dimension. Nodes are numbered in a topological order, graph
  inputs first, so node 0 is the first graph input. Operators inside sub-graphs (``If``,
  ``Loop``) are not expanded: the outer operator is one node.
* **Edges** follow tensors: ``u -> v`` when operator ``v`` reads a tensor that ``u`` writes
  (one edge per pair, even if the tensor is read twice).
* ``op``: index into :data:`ONNX_OP_VOCAB` (see :func:`onnx_op_vocab`); operators outside the
  vocabulary map to ``"Other"``.
* ``op_attrs`` ``[N, 8]``: the 8 attribute slots of NAR-Former supp. Table 1, see
  :data:`OP_ATTR_FIELDS`. Multi-dimensional attributes are reduced to their **maximum**
  (kernel ``[3, 5]`` -> 5, pads ``[1, 1, 2, 2]`` -> 2); ``perm`` of a ``Transpose`` is written as
  the base-10 number of its digits (``[0, 2, 3, 1]`` -> 231). Convolution and pooling
  operators store their ONNX defaults (stride 1, dilation 1, group 1) when the attribute is
  absent; a slot an operator does not have is 0. ``has_bias`` is 1 for Conv / ConvTranspose /
  Gemm with a bias input.
* ``out_shape`` ``[N, 4]``: shape of the node's first output from
  ``onnx.shape_inference.infer_shapes`` (graph inputs: their declared shape). Rank-4 shapes
  are ``(N, C, H, W)``; lower ranks are zero-padded **at the end** (``(B, F)`` ->
  ``(B, F, 0, 0)``, a transformer's ``(B, L, D)`` -> ``(B, L, D, 0)``, a scalar -> zeros);
  higher ranks keep the first three dims and fold the rest into the last by product.
* ``static`` ``[1, 4]``: see :data:`STATIC_FIELDS` and :func:`static_features`.

Only the structure is read: initializer *dims* are used, never their values, so weight-stripped
models (NNLQP ships its ONNX files without weights) and models saved with external data (whose
data files need not be present) convert the same as complete ones.
"""
from __future__ import annotations

import math
import os
from typing import Sequence

import torch
from torch_geometric.data import Data

from pyg_nar.data import ArchitectureError, arch_data
from pyg_nar.errors import OnnxGraphError
from pyg_nar.utils.dag import find_cycle

__all__ = [
    "ONNX_OP_VOCAB",
    "ONNX_OP_VOCAB_VERSION",
    "GRAPH_FORMAT_VERSION",
    "OP_ATTR_FIELDS",
    "STATIC_FIELDS",
    "OnnxGraphError",
    "from_onnx",
    "load_onnx",
    "onnx_op_vocab",
    "static_features",
    "strip_weights",
]

#: Version of :data:`ONNX_OP_VOCAB`; bump it whenever the tuple changes (op indices change).
ONNX_OP_VOCAB_VERSION = 1
#: Version of what :func:`from_onnx` computes (attribute reductions, shape layout, static
#: features); bump it when they change so cached datasets are rebuilt.
GRAPH_FORMAT_VERSION = 1

#: Operator vocabulary (ONNX ``op_type`` names) of version 1: graph inputs first, the
#: catch-all ``"Other"`` last. Covers the operators of exported CNNs and transformers.
ONNX_OP_VOCAB: tuple[str, ...] = (
    "Input",
    # compute-heavy
    "Conv", "ConvTranspose", "Gemm", "MatMul", "Einsum",
    # normalisation
    "BatchNormalization", "InstanceNormalization", "LayerNormalization", "GroupNormalization",
    # activations
    "Relu", "LeakyRelu", "PRelu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Elu",
    "Selu", "Gelu", "Erf", "Softplus", "Softmax", "LogSoftmax",
    # element-wise arithmetic
    "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Exp", "Log", "Neg", "Abs", "Reciprocal",
    "Max", "Min", "Sum", "Mean", "Where", "Equal",
    # pooling and reductions
    "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
    "ReduceMean", "ReduceSum", "ReduceMax",
    # data movement
    "Concat", "Split", "Slice", "Gather", "Reshape", "Flatten", "Transpose", "Squeeze",
    "Unsqueeze", "Expand", "Tile", "Pad", "Resize", "Upsample", "DepthToSpace", "SpaceToDepth",
    # shape arithmetic and no-ops
    "Shape", "Cast", "ConstantOfShape", "Range", "Identity", "Dropout",
    "Other",
)

#: The 8 ``op_attrs`` slots (NAR-Former supplement, Table 1).
OP_ATTR_FIELDS = ("kernel", "stride", "padding", "dilation", "groups", "has_bias", "perm",
                  "output_padding")

#: The 4 ``static`` columns and their units.
STATIC_FIELDS = ("batch_size", "mflops", "mparams", "memory_mb")

_VOCAB_INDEX = {name: i for i, name in enumerate(ONNX_OP_VOCAB)}
_CONV_OPS = {"Conv", "ConvTranspose"}
_POOL_OPS = {"MaxPool", "AveragePool", "LpPool"}
_UNARY_BINARY = {
    "Relu", "LeakyRelu", "PRelu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Elu",
    "Selu", "Gelu", "Erf", "Softplus", "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Exp", "Log",
    "Neg", "Abs", "Reciprocal", "Where", "Equal", "Resize", "Upsample",
}
_VARIADIC = {"Max", "Min", "Sum", "Mean"}
_REDUCE = {"GlobalAveragePool", "GlobalMaxPool", "ReduceMean", "ReduceSum", "ReduceMax"}




def onnx_op_vocab() -> list[str]:
    """The operator vocabulary (version :data:`ONNX_OP_VOCAB_VERSION`) as a list: ``op`` of a
    graph from :func:`from_onnx` indexes into it."""
    return list(ONNX_OP_VOCAB)


def load_onnx(model_or_path, name: str | None = None):
    """Load an ONNX model's structure (no external weight data) and check it is one.

    Returns ``(model, name)``; raises :class:`OnnxGraphError` for a file that is not ONNX.
    """
    import onnx

    if isinstance(model_or_path, onnx.ModelProto):
        model = model_or_path
        name = name or model.graph.name or "<onnx model>"
    else:
        path = os.fspath(model_or_path)
        name = name or path
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: no such ONNX file")
        try:
            model = onnx.load(path, load_external_data=False)
        except Exception as e:  # protobuf DecodeError and friends
            raise OnnxGraphError(f"{name}: not an ONNX model ({type(e).__name__}: {e})") from None
    if model.ir_version <= 0 or not model.HasField("graph") or len(model.graph.node) == 0:
        raise OnnxGraphError(
            f"{name}: not an ONNX model (no IR version or an empty graph; "
            f"ir_version={model.ir_version}, {len(model.graph.node)} operators)")
    return model, name


def strip_weights(model, min_elements: int = 0):
    """A copy of ``model`` whose floating-point initializers keep their dims but no data
    (NNLQP's weight-stripped layout). Integer initializers (shapes, indices) are kept, since
    shape inference needs them. Only tensors with at least ``min_elements`` elements are
    stripped."""
    import onnx

    out = onnx.ModelProto()
    out.CopyFrom(model)
    _strip_in_place(out, min_elements)
    return out


def _floating_types() -> set:
    import onnx

    return {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.DOUBLE,
            onnx.TensorProto.BFLOAT16}


def _strip_in_place(model, min_elements: int = 0) -> None:
    import onnx

    floating = _floating_types()
    for t in model.graph.initializer:
        if t.data_type in floating and math.prod(t.dims) >= min_elements:
            for f in ("raw_data", "float_data", "double_data", "int32_data", "external_data"):
                t.ClearField(f)
            t.data_location = onnx.TensorProto.DEFAULT


def _describe(nodes, i: int) -> str:
    n = nodes[i]
    return f"node {i} ({n.op_type} {n.name!r})" if n.name else f"node {i} ({n.op_type})"


def _reduce_shape(dims: Sequence[int]) -> list[float]:
    """Rank-r shape -> 4 numbers: zero-padded at the end, ranks > 4 fold the tail by product."""
    dims = list(dims)
    if len(dims) > 4:
        dims = dims[:3] + [math.prod(dims[3:])]
    return [float(d) for d in dims] + [0.0] * (4 - len(dims))


def _attrs(node) -> dict:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _op_attr_row(node, attrs: dict, shapes: dict) -> list[float]:
    """The 8 attribute slots of one operator (see module docstring)."""
    row = [0.0] * 8
    op = node.op_type

    def _max(v, default):
        if v is None or (isinstance(v, (list, tuple)) and len(v) == 0):
            return float(default)
        return float(max(v)) if isinstance(v, (list, tuple)) else float(v)

    if op in _CONV_OPS or op in _POOL_OPS:
        kernel = attrs.get("kernel_shape")
        if kernel is None and op in _CONV_OPS and len(node.input) > 1:
            w = shapes.get(node.input[1])
            kernel = list(w[0][2:]) if w is not None and w[0] is not None else None
        row[0] = _max(kernel, 0)
        row[1] = _max(attrs.get("strides"), 1)
        row[2] = _max(attrs.get("pads"), 0)
        row[3] = _max(attrs.get("dilations"), 1)
    if op in _CONV_OPS:
        row[4] = float(attrs.get("group", 1))
        row[5] = float(len(node.input) > 2 and node.input[2] != "")
        if op == "ConvTranspose":
            row[7] = _max(attrs.get("output_padding"), 0)
    elif op == "Gemm":
        row[5] = float(len(node.input) > 2 and node.input[2] != "")
    elif op == "Transpose" and attrs.get("perm") is not None:
        row[6] = float(int("".join(str(int(p)) for p in attrs["perm"]) or 0))
    return row


def _node_flops(node, attrs: dict, shapes: dict, out_dims: list[int]) -> float:
    """Multiply-accumulates (one MAC = one FLOP, the convention of the ResNet / MobileNet
    papers) of one operator, from its input and output shapes."""
    op = node.op_type
    out_numel = math.prod(out_dims) if out_dims else 1

    def dims(i):
        if i >= len(node.input) or node.input[i] == "":
            return None
        s = shapes.get(node.input[i])
        return s[0] if s is not None else None

    has_bias = len(node.input) > 2 and node.input[2] != ""
    if op == "Conv":
        w = dims(1)  # [C_out, C_in / group, k...]
        return float(out_numel * math.prod(w[1:]) + (out_numel if has_bias else 0))
    if op == "ConvTranspose":
        w, x = dims(1), dims(0)  # w: [C_in, C_out / group, k...]
        return float(math.prod(x) * math.prod(w[1:]) + (out_numel if has_bias else 0))
    if op == "Gemm":
        a = dims(0)
        k = a[0] if attrs.get("transA", 0) else a[1]
        return float(out_numel * k + (out_numel if has_bias else 0))
    if op == "MatMul":
        a = dims(0)
        return float(out_numel * a[-1])
    if op in _POOL_OPS:
        return float(out_numel * math.prod(attrs.get("kernel_shape", [1])))
    if op in _REDUCE:
        x = dims(0)
        return float(math.prod(x))
    if op in ("Softmax", "LogSoftmax"):
        return float(3 * out_numel)  # exp, sum, divide
    if op == "BatchNormalization":
        return float(2 * out_numel)  # inference: scale and shift
    if op in ("InstanceNormalization", "LayerNormalization", "GroupNormalization"):
        return float(5 * out_numel)  # mean, variance, normalise, scale, shift
    if op in _UNARY_BINARY:
        return float(out_numel)
    if op in _VARIADIC:
        return float(out_numel * max(1, len(node.input) - 1))
    return 0.0  # data movement, shape arithmetic, unknown operators


def static_features(batch_size: int, flops: float, params: float, memory_bytes: float) -> list[float]:
    """The ``static`` row: ``[batch size, MFLOPs, M parameters, memory access in MB]``.

    FLOPs count multiply-accumulates summed over operators with floating-point outputs
    (:func:`_node_flops`; integer shape arithmetic is not counted); parameters are
    the elements of floating-point initializers; memory access is the bytes every operator
    reads (activations and weights) and writes, summed over operators (no cache reuse).
    """
    return [float(batch_size), flops / 1e6, params / 1e6, memory_bytes / 1e6]


def _itemsize(elem_type: int) -> int:
    import onnx

    try:
        return onnx.helper.tensor_dtype_to_np_dtype(elem_type).itemsize
    except Exception:
        return 4


def _shape_of(value_info):
    """(dims or None when any dim is unknown, elem_type) of a ValueInfoProto."""
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return None, t.elem_type
    dims = []
    for d in t.shape.dim:
        if d.HasField("dim_value"):
            dims.append(int(d.dim_value))
        else:
            return None, t.elem_type
    return dims, t.elem_type


def from_onnx(model_or_path, batch_size: int | None = None, *, name: str | None = None,
              y: float | None = None, arch_id: int | None = None) -> Data:
    """Convert an ONNX model (path or ``onnx.ModelProto``) into an architecture graph.

    Args:
        model_or_path: path of a ``.onnx`` file or a loaded ``onnx.ModelProto``.
        batch_size: overrides the first dimension of every graph input; shapes are re-inferred.
            ``None`` keeps the declared batch size (a symbolic batch dimension becomes 1).
            The model must be batch-agnostic (no reshape hard-coding the batch size).
        name: how error messages refer to the model (default: the path / graph name).
        y: target stored as ``data.y`` (latency in ms for NNLQP).
        arch_id: stored as ``data.arch_id``.

    Returns a :class:`~torch_geometric.data.Data` with ``op``, ``edge_index``, ``op_attrs``
    ``[N, 8]``, ``out_shape`` ``[N, 4]`` and ``static`` ``[1, 4]`` (module docstring).

    Raises :class:`OnnxGraphError` (a ``ValueError``) for a file that is not ONNX, a tensor
    read but never written, a cycle, or an operator whose output shape cannot be determined
    (ONNX shape inference, helped by evaluating integer shape arithmetic).
    """
    import onnx

    if batch_size is not None and (int(batch_size) != batch_size or batch_size < 1):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    model, name = load_onnx(model_or_path, name)
    # work on a copy: inputs / outputs / value_info are rewritten below
    m = onnx.ModelProto()
    m.CopyFrom(model)
    # weight values are never used (only integer constants, for shape arithmetic): dropping
    # them makes the copy weight-stripped, like NNLQP's files, and shape inference faster
    _strip_in_place(m)
    g = m.graph
    nodes = list(g.node)

    const_names = {t.name for t in g.initializer}
    shapes: dict[str, tuple] = {t.name: (list(t.dims), t.data_type) for t in g.initializer}
    op_nodes = []
    for nd in nodes:
        if nd.op_type == "Constant" and nd.domain in ("", "ai.onnx"):
            const_names.update(nd.output)
            a = _attrs(nd)
            if "value" in a:
                shapes[nd.output[0]] = (list(a["value"].dims), a["value"].data_type)
        else:
            op_nodes.append(nd)
    graph_inputs = [vi for vi in g.input if vi.name not in const_names]
    # old exporters (IR < 4) and some weight strippers list weights as graph inputs
    weight_inputs = _weight_inputs(graph_inputs, op_nodes)
    if weight_inputs:
        const_names.update(weight_inputs)
        for vi in graph_inputs:
            if vi.name in weight_inputs:
                shapes[vi.name] = _shape_of(vi)
        graph_inputs = [vi for vi in graph_inputs if vi.name not in weight_inputs]
    if not graph_inputs:
        raise OnnxGraphError(f"{name}: the graph has no data input (every graph input is a weight)")
    if not op_nodes:
        raise OnnxGraphError(f"{name}: the graph has no operators besides constants")

    # ---- structure: nodes and edges along tensors --------------------------------------
    k = len(graph_inputs)
    producer = {vi.name: i for i, vi in enumerate(graph_inputs)}
    for j, nd in enumerate(op_nodes):
        for t in nd.output:
            if t:
                producer[t] = k + j
    src, dst = [], []
    all_nodes = [None] * k + op_nodes
    for j, nd in enumerate(op_nodes):
        seen = set()
        for t in nd.input:
            if t == "" or t in const_names:
                continue
            if t not in producer:
                raise OnnxGraphError(
                    f"{name}: {_describe(all_nodes, k + j)} reads tensor {t!r}, which no operator, "
                    f"graph input or initializer produces")
            u = producer[t]
            if u not in seen:
                seen.add(u)
                src.append(u)
                dst.append(k + j)
    n = k + len(op_nodes)
    if any(s >= d for s, d in zip(src, dst)):
        _check_acyclic(n, src, dst, all_nodes, name)

    # ---- shapes ----------------------------------------------------------------------
    for vi in graph_inputs:
        dims = vi.type.tensor_type.shape.dim
        for pos, d in enumerate(dims):
            if pos == 0 and (batch_size is not None or not d.HasField("dim_value")):
                d.Clear()
                d.dim_value = int(batch_size if batch_size is not None else 1)
            elif not d.HasField("dim_value"):
                raise OnnxGraphError(
                    f"{name}: graph input {vi.name!r} has an unknown dimension {pos} "
                    f"({d.dim_param or '?'}); from_onnx needs fixed input shapes")
    if batch_size is not None:
        del g.value_info[:]
        for o in g.output:
            o.type.tensor_type.ClearField("shape")
    _infer_into(m, shapes, name)
    values: dict = {}
    for _ in range(_MAX_FOLD_ROUNDS):
        # shape arithmetic that ONNX's data propagation cannot follow (Where, Equal, ... on
        # Shape outputs, as exporters write for dynamic batch sizes): evaluate it and re-infer
        if all(nd.output and shapes.get(nd.output[0], (None,))[0] is not None for nd in op_nodes):
            break
        if not _fold_shape_arithmetic(m, op_nodes, shapes, values):
            break
        _infer_into(m, shapes, name)

    # ---- node features -------------------------------------------------------------------
    other = _VOCAB_INDEX["Other"]
    op = [_VOCAB_INDEX["Input"]] * k + [_VOCAB_INDEX.get(nd.op_type, other) for nd in op_nodes]
    op_attrs = [[0.0] * 8 for _ in range(k)]
    out_shape = []
    for vi in graph_inputs:
        out_shape.append(_reduce_shape(shapes[vi.name][0]))
    flops = 0.0
    mem = 0.0
    floating = _floating_types()
    for j, nd in enumerate(op_nodes):
        out = shapes.get(nd.output[0]) if nd.output else None
        if out is None or out[0] is None:
            raise OnnxGraphError(
                f"{name}: the shape of output {nd.output[0] if nd.output else '?'!r} of "
                f"{_describe(all_nodes, k + j)} could not be inferred")
        a = _attrs(nd)
        op_attrs.append(_op_attr_row(nd, a, shapes))
        out_shape.append(_reduce_shape(out[0]))
        try:
            if out[1] in floating:  # integer shape arithmetic is not floating-point work
                flops += _node_flops(nd, a, shapes, out[0])
        except (TypeError, IndexError) as e:  # an input shape unknown
            raise OnnxGraphError(
                f"{name}: cannot count the FLOPs of {_describe(all_nodes, k + j)}: an input "
                f"shape is unknown ({e})") from None
        for t in list(nd.input) + list(nd.output):
            s = shapes.get(t)
            if t and s is not None and s[0] is not None:
                mem += math.prod(s[0]) * _itemsize(s[1])
    params = sum(math.prod(t.dims) for t in g.initializer if t.data_type in floating)
    params += sum(math.prod(shapes[w][0] or [0]) for w in weight_inputs if shapes[w][1] in floating)
    batch = out_shape[0][0] if k else (batch_size or 1)
    if batch_size is not None:
        batch = batch_size
    static = static_features(int(batch), flops, params, mem)

    try:
        return arch_data(
            op, [src, dst], y, name=name, num_ops=len(ONNX_OP_VOCAB), arch_id=arch_id,
            renumber=True,
            op_attrs=torch.tensor(op_attrs, dtype=torch.float).view(n, 8),
            out_shape=torch.tensor(out_shape, dtype=torch.float).view(n, 4),
            static=torch.tensor([static], dtype=torch.float),
        )
    except OnnxGraphError:
        raise
    except ArchitectureError as e:
        raise OnnxGraphError(str(e)) from None


_MAX_FOLD_ROUNDS = 4
#: Operators evaluated (with ``onnx.reference``) when all their inputs are known small tensors.
_FOLDABLE = {"Gather", "Unsqueeze", "Squeeze", "Concat", "Slice", "Cast", "Equal", "Where",
             "ConstantOfShape", "Mul", "Add", "Sub", "Div", "Range", "Reshape", "Expand",
             "Identity", "ReduceProd", "Max", "Min", "Not", "Less", "Greater", "And", "Or",
             "Floor", "Ceil", "Neg", "Abs", "Size", "Tile", "Transpose", "Sqrt", "Mod", "Pow",
             "Sign", "ReduceSum", "ReduceMax", "ReduceMin", "Split", "Flatten", "Clip",
             "LessOrEqual", "GreaterOrEqual", "Xor"}
_FOLD_MAX_ELEMENTS = 4096


def _infer_into(m, shapes: dict, name: str) -> None:
    """Run ONNX shape inference (strict, with data propagation) and record the shapes."""
    import onnx

    try:
        inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True, data_prop=True)
    except Exception as e:
        raise OnnxGraphError(f"{name}: shape inference failed: {e}") from None
    for vi in list(inferred.graph.input) + list(inferred.graph.value_info) + list(inferred.graph.output):
        if vi.name not in shapes or shapes[vi.name][0] is None:
            shapes[vi.name] = _shape_of(vi)


def _fold_shape_arithmetic(m, op_nodes, shapes: dict, values: dict) -> bool:
    """Evaluate the shape-computing operators whose inputs are known (``Shape`` of a tensor of
    known shape, integer constants, small results of such operators) and replace them, in the
    inference copy ``m`` only, by initializers holding their values. Returns whether anything
    new was folded. The graph's nodes are not changed: this only helps shape inference."""
    import numpy as np
    import onnx
    from onnx import numpy_helper
    from onnx.reference import ReferenceEvaluator

    g = m.graph
    if not values:
        for t in g.initializer:
            if t.data_location != onnx.TensorProto.EXTERNAL and t.data_type not in _floating_types():
                values[t.name] = numpy_helper.to_array(t)
        for nd in g.node:
            if nd.op_type == "Constant" and "value" in (a := _attrs(nd)):
                values[nd.output[0]] = numpy_helper.to_array(a["value"])
    folded = {}
    for nd in op_nodes:  # ONNX files list operators in a topological order
        if not nd.output or nd.output[0] in values:
            continue
        ins = [t for t in nd.input if t]
        if nd.op_type == "Shape":
            dims = shapes.get(nd.input[0], (None,))[0]
            if dims is None:
                continue
            a = _attrs(nd)
            start, end = a.get("start", 0), a.get("end", None)
            out = [np.array(dims[start:end], dtype=np.int64)]
        elif nd.op_type in _FOLDABLE and nd.domain in ("", "ai.onnx") and all(
                t in values and np.size(values[t]) <= _FOLD_MAX_ELEMENTS for t in ins):
            try:
                out = ReferenceEvaluator(nd).run(None, {t: values[t] for t in ins})
            except Exception:
                continue
        else:
            continue
        if any(np.size(v) > _FOLD_MAX_ELEMENTS for v in out):
            continue
        for t, v in zip(nd.output, out):
            v = np.asarray(v)
            values[t] = v
            folded[t] = v
            shapes[t] = (list(v.shape), onnx.helper.np_dtype_to_tensor_dtype(v.dtype))
    if not folded:
        return False
    keep = [nd for nd in g.node if not (nd.output and all(t in values for t in nd.output if t))
            or nd.op_type == "Constant"]
    del g.node[:]
    g.node.extend(keep)
    have = {t.name for t in g.initializer}
    g.initializer.extend(numpy_helper.from_array(v, t) for t, v in folded.items() if t not in have)
    del g.value_info[:]
    return True


#: Input slots that hold parameters (weights, biases, statistics), per operator type.
_PARAM_SLOTS = {"Conv": {1, 2}, "ConvTranspose": {1, 2}, "Gemm": {1, 2}, "MatMul": {1},
                "BatchNormalization": {1, 2, 3, 4}, "InstanceNormalization": {1, 2},
                "LayerNormalization": {1, 2}, "GroupNormalization": {1, 2}, "PRelu": {1}}


def _weight_inputs(graph_inputs, op_nodes) -> set:
    """Graph inputs that are weights: every operator reading them reads them in a parameter
    slot (:data:`_PARAM_SLOTS`), e.g. the kernel of a Conv. They are not Input nodes."""
    names = {vi.name for vi in graph_inputs}
    param_use, data_use = set(), set()
    for nd in op_nodes:
        slots = _PARAM_SLOTS.get(nd.op_type, ())
        for pos, t in enumerate(nd.input):
            if t in names:
                (param_use if pos in slots else data_use).add(t)
    return param_use - data_use


def _check_acyclic(n, src, dst, all_nodes, name):
    """Raise :class:`OnnxGraphError` naming the operators of a cycle, if there is one."""
    cycle = find_cycle(src, dst, n)
    if cycle is None:
        return
    names = " -> ".join(_describe(all_nodes, u) for u in cycle + cycle[:1])
    raise OnnxGraphError(f"{name}: the graph has a cycle: {names}")
