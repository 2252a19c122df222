r"""ONNX model -> architecture graph (NNLQP-style whole-network graphs).

:func:`from_onnx` turns an ONNX model into one PyG :class:`~torch_geometric.data.Data` that
follows the contract of :mod:`pyg_nar.data`:

* **Nodes.** One node per graph input (op ``"Input"``; NNLQP adds the same Input nodes), then
  one node per ONNX operator. Initializers and ``Constant`` operators are *not* nodes: they are
  weights / constants read by operators. Graph inputs that only feed parameter slots (a Conv's
  kernel, a BatchNormalization's statistics, ...; old exporters list weights as inputs) count as
  weights too, and their first dimension is never taken for a batch dimension. Nodes are
  numbered in a topological order, graph inputs first, so node 0 is the first graph input.
  Operators inside sub-graphs (``If``, ``Loop``) are not expanded: the outer operator is one node.
* **Edges** follow tensors: ``u -> v`` when operator ``v`` reads a tensor that ``u`` writes
  (one edge per pair, even if the tensor is read twice).
* ``op``: index into :data:`~pyg_nar.networks.vocab.ONNX_OP_VOCAB` (see
  :func:`~pyg_nar.networks.vocab.onnx_op_vocab`); operators outside the vocabulary map to
  ``"Other"``.
* ``op_attrs`` ``[N, 8]``: the 8 attribute slots of NAR-Former supp. Table 1, see
  :data:`~pyg_nar.networks.vocab.OP_ATTR_FIELDS` and :func:`~pyg_nar.networks.vocab.op_attr_row`.
* ``out_shape`` ``[N, 4]``: shape of the node's first output from
  ``onnx.shape_inference.infer_shapes`` (graph inputs: their declared shape). Rank-4 shapes
  are ``(N, C, H, W)``; lower ranks are zero-padded **at the end** (``(B, F)`` ->
  ``(B, F, 0, 0)``, a transformer's ``(B, L, D)`` -> ``(B, L, D, 0)``, a scalar -> zeros);
  higher ranks keep the first three dims and fold the rest into the last by product.
* ``static`` ``[1, 4]``: see :data:`~pyg_nar.networks.flops.STATIC_FIELDS` and
  :func:`~pyg_nar.networks.flops.static_features`.

Only the structure is read: initializer *dims* are used, never their values, so weight-stripped
models (NNLQP ships its ONNX files without weights) and models saved with external data (whose
data files need not be present) convert the same as complete ones.

The conversion runs in stages, each a function below: :func:`load_onnx` (load and validate),
``_split_constants`` (strip weights, separate constants and weight inputs from data inputs),
``_tensor_edges`` (nodes and edges along tensors, cycle check), ``_infer_shapes`` (declared
input shapes, ONNX shape inference with data propagation, folding of shape arithmetic),
``_node_features`` (``op``, ``op_attrs``, ``out_shape``) and ``_static_row`` (``static``).
"""
from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch_geometric.data import Data

from pyg_nar.data import ArchitectureError, arch_data
from pyg_nar.errors import OnnxGraphError
from pyg_nar.networks.flops import node_flops, static_features
from pyg_nar.networks.vocab import ONNX_OP_VOCAB, OP_ATTR_FIELDS, op_attr_row, op_index
from pyg_nar.utils.arguments import MAX_BATCH_SIZE, check_int
from pyg_nar.utils.dag import find_cycle

__all__ = ["from_onnx", "load_onnx", "check_structure", "has_values", "strip_weights",
           "floating_types", "data_inputs", "set_batch_size", "OnnxGraphError", "MAX_ELEMENTS"]

#: The most elements any tensor of a converted model may have (inputs, weights and inferred
#: outputs): 2**40, a thousand times a ResNet-50 activation at batch size 2**16. Larger dims
#: are an :class:`OnnxGraphError`, so no count overflows and no shape is absurd.
MAX_ELEMENTS = 2 ** 40


# ------------------------------------------------------------------- load and validate
def load_onnx(model_or_path, name: str | None = None, check: bool = True):
    """Load an ONNX model's structure (no external weight data) and check it is one.

    Returns ``(model, name)``; raises :class:`OnnxGraphError` for a file that is not ONNX
    or, with ``check``, one that :func:`check_structure` rejects.
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
    if check:
        check_structure(model, name)
    return model, name


_VALUE_FIELDS = ("raw_data", "float_data", "int32_data", "string_data", "int64_data",
                 "double_data", "uint64_data")


def has_values(t) -> bool:
    """Whether a ``TensorProto`` holds its values in the file (not as external data)."""
    return any(len(getattr(t, f)) for f in _VALUE_FIELDS)


def check_structure(model, name: str) -> None:
    """Reject what ``onnx.checker.check_model(full_check=True)`` rejects (two producers of one
    tensor, graph outputs nothing produces, unknown or misspelt attributes, attributes of the
    wrong type, initializer data that does not match its dims, declared shapes that contradict
    inference, ...), as an :class:`OnnxGraphError` naming ``name`` and the checker's reason.

    Weight-stripped initializers (dims, no values: NNLQP's files) and external data (whose
    files need not exist) are valid: the checker sees them as graph inputs of their type and
    shape, and the data of the others is checked against their dims here, so no weight is
    copied or serialised for the checker."""
    import onnx

    _check_initializer_sizes(model, name)
    _run_checker(_checker_copy(model), name)


def _checker_copy(model):
    """A copy of ``model`` for ``onnx.checker`` whose initializers without data in the file, or
    of more than 4096 elements, are declared as graph inputs of their type and shape instead
    (the checker and shape inference see the same shapes; no large weight is serialised)."""
    import onnx
    from onnx import helper

    light = onnx.ModelProto()
    light.CopyFrom(model)
    g = light.graph
    keep = [has_values(t) and t.data_location != onnx.TensorProto.EXTERNAL
            and math.prod(t.dims) <= _FOLD_MAX_ELEMENTS for t in g.initializer]
    moved = [t for t, k in zip(g.initializer, keep) if not k]
    if moved:
        inputs = {vi.name for vi in g.input}
        declared = [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
                    for t in moved if t.name not in inputs]
        kept = [t for t, k in zip(g.initializer, keep) if k]
        del g.initializer[:]
        g.initializer.extend(kept)
        g.input.extend(declared)
    return light


def _run_checker(light, name: str) -> None:
    """``onnx.checker.check_model(full_check=True)`` on a :func:`_checker_copy`; an error is an
    :class:`OnnxGraphError` naming ``name``.

    One leniency: the checker wants every graph output's shape declared, which
    :func:`set_batch_size` drops (to be inferred anew) and onnxruntime does not need; graph
    outputs without a declared shape are left out of the check once it is known that
    something produces them."""
    import onnx

    g = light.graph
    shaped = [o for o in g.output if o.type.tensor_type.HasField("shape")]
    if len(shaped) < len(g.output):
        produced = {t for nd in g.node for t in nd.output} | {t.name for t in g.initializer} | {
            vi.name for vi in g.input}
        for o in g.output:
            if o.name not in produced:
                raise OnnxGraphError(f"{name}: graph output {o.name!r} is produced by no operator, "
                                     f"graph input or initializer")
        kept = [onnx.ValueInfoProto() for _ in shaped]
        for k, o in zip(kept, shaped):
            k.CopyFrom(o)
        del g.output[:]
        g.output.extend(kept)
    try:
        onnx.checker.check_model(light, full_check=True)
    except Exception as e:  # noqa: BLE001  (ValidationError, InferenceError, and C++ errors)
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
        raise OnnxGraphError(f"{name}: rejected by onnx.checker: {reason}") from None


def _check_initializer_sizes(model, name: str) -> None:
    """That each initializer's data (when it holds any in the file) has as many elements as
    its dims say, as ``onnx.checker`` requires; else an :class:`OnnxGraphError` naming it."""
    import onnx

    T = onnx.TensorProto
    complex_types = {T.COMPLEX64, T.COMPLEX128}
    packed = {getattr(T, n) for n in ("INT4", "UINT4", "FLOAT4E2M1") if hasattr(T, n)}
    for t in model.graph.initializer:
        if any(d < 0 for d in t.dims):
            raise OnnxGraphError(f"{name}: initializer {t.name!r} has a negative dimension {list(t.dims)}")
        n = math.prod(t.dims)
        if t.data_location == T.EXTERNAL or t.data_type in packed:
            continue
        if t.raw_data:
            try:
                want = n * onnx.helper.tensor_dtype_to_np_dtype(t.data_type).itemsize
            except Exception:  # noqa: BLE001  (an unknown element type: the checker's call)
                continue
            got = len(t.raw_data)
        else:
            got = sum(len(getattr(t, f)) for f in _VALUE_FIELDS)
            if not got:  # weight-stripped
                continue
            want = n * (2 if t.data_type in complex_types else 1)
        if got != want:
            raise OnnxGraphError(f"{name}: initializer {t.name!r} holds {got} "
                                 f"{'bytes' if t.raw_data else 'values'} for dims "
                                 f"{list(t.dims)} ({want} expected)")


# -------------------------------------------------------------- weights and constants
def floating_types() -> set:
    """The ONNX element types of floating-point tensors (weights, activations): the ones
    :func:`strip_weights` strips and FLOPs are counted for."""
    import onnx

    return {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.DOUBLE,
            onnx.TensorProto.BFLOAT16}


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


def _strip_in_place(model, min_elements: int = 0) -> None:
    import onnx

    floating = floating_types()
    for t in model.graph.initializer:
        if t.data_type in floating and math.prod(t.dims) >= min_elements:
            for f in ("raw_data", "float_data", "double_data", "int32_data", "external_data"):
                t.ClearField(f)
            t.data_location = onnx.TensorProto.DEFAULT


def _is_constant(node) -> bool:
    return node.op_type == "Constant" and node.domain in ("", "ai.onnx")


def _attrs(node) -> dict:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _constant_value(node):
    """The value of a ``Constant`` operator as a numpy array (any of its attribute forms:
    ``value``, ``value_float(s)``, ``value_int(s)``, ``value_string(s)``), or ``None`` when it
    has none that can be read (a sparse value, or data that does not match its dims)."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    for key, value in _attrs(node).items():
        try:
            if key == "value" and isinstance(value, onnx.TensorProto):
                return numpy_helper.to_array(value)
            if key in ("value_float", "value_floats"):
                return np.asarray(value, dtype=np.float32)
            if key in ("value_int", "value_ints"):
                return np.asarray(value, dtype=np.int64)
            if key in ("value_string", "value_strings"):
                return np.asarray(value, dtype=object)
        except (ValueError, TypeError):
            return None
    return None


def _shape_of(value_info):
    """(dims or None when any dim is unknown, elem_type) of a ValueInfoProto."""
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return None, t.elem_type
    dims = [d.dim_value for d in t.shape.dim]
    if 0 not in dims:  # every dim has a (positive) value: the common case, and fast
        return dims, t.elem_type
    dims = []
    for d in t.shape.dim:
        if d.HasField("dim_value"):
            dims.append(int(d.dim_value))
        else:
            return None, t.elem_type
    return dims, t.elem_type


#: Input slots that hold parameters (weights, biases, statistics), per operator type.
_PARAM_SLOTS = {"Conv": {1, 2}, "ConvTranspose": {1, 2}, "Gemm": {1, 2}, "MatMul": {1},
                "BatchNormalization": {1, 2, 3, 4}, "InstanceNormalization": {1, 2},
                "LayerNormalization": {1, 2}, "GroupNormalization": {1, 2}, "PRelu": {1}}


def _weight_inputs(graph_inputs, ops) -> set:
    """Graph inputs that are weights: every operator reading them reads them in a parameter
    slot (:data:`_PARAM_SLOTS`), e.g. the kernel of a Conv. They are not Input nodes."""
    names = {vi.name for vi in graph_inputs}
    param_use, data_use = set(), set()
    for nd in ops:
        slots = _PARAM_SLOTS.get(nd.op_type, ())
        for pos, t in enumerate(nd.input):
            if t in names:
                (param_use if pos in slots else data_use).add(t)
    return param_use - data_use


def _split_inputs(graph, ops, constants: set) -> tuple[list, set]:
    """(data inputs, names of weight inputs) among the graph inputs that are not constants."""
    inputs = [vi for vi in graph.input if vi.name not in constants]
    # old exporters (IR < 4) and some weight strippers list weights as graph inputs
    weights = _weight_inputs(inputs, ops)
    return [vi for vi in inputs if vi.name not in weights], weights


def data_inputs(graph) -> list:
    """The graph inputs of an ``onnx.GraphProto`` that carry data (the Input nodes of
    :func:`from_onnx`): not initializers, not ``Constant`` outputs, and not weights listed as
    inputs (graph inputs read only in parameter slots, as old exporters wrote them)."""
    constants = {t.name for t in graph.initializer}
    constants.update(t for nd in graph.node if _is_constant(nd) for t in nd.output)
    return _split_inputs(graph, [nd for nd in graph.node if not _is_constant(nd)], constants)[0]


def set_batch_size(graph, batch_size: int, inputs: Sequence | None = None) -> None:
    """Declare ``batch_size`` as the first dimension of ``inputs`` (default: the
    :func:`data_inputs` of ``graph``; scalars are left alone) and drop the shapes inferred
    for the old one (``value_info`` and the outputs' shapes), so they are inferred anew."""
    for vi in data_inputs(graph) if inputs is None else inputs:
        dims = vi.type.tensor_type.shape.dim
        if len(dims):
            dims[0].Clear()
            dims[0].dim_value = int(batch_size)
    del graph.value_info[:]
    for o in graph.output:
        o.type.tensor_type.ClearField("shape")


@dataclass
class _Network:
    """What the stages of :func:`from_onnx` share about one model."""
    name: str
    model: Any  #: the weight-stripped copy that shape inference rewrites
    inputs: list  #: ValueInfoProto of the data inputs, in graph order (the Input nodes)
    ops: list  #: NodeProto of the operators (no Constants), in file order
    constants: set  #: tensors read as weights or constants (no edges)
    weights: set  #: graph inputs that are weights
    shapes: dict  #: tensor name -> (dims or None, elem_type)

    def describe(self, i: int) -> str:
        """How errors name node ``i`` (an operator: ``i >= len(inputs)``)."""
        n = self.ops[i - len(self.inputs)]
        return f"node {i} ({n.op_type} {n.name!r})" if n.name else f"node {i} ({n.op_type})"


def _split_constants(model, name: str) -> _Network:
    """Copy ``model`` without weight values (only integer constants are read, for shape
    arithmetic: dropping the rest makes the copy like NNLQP's files, and shape inference
    faster) and separate its constants, weight inputs, data inputs and operators."""
    import onnx

    m = onnx.ModelProto()
    m.CopyFrom(model)  # inputs / outputs / value_info are rewritten by the shape stage
    _strip_in_place(m)
    g = m.graph
    constants = {t.name for t in g.initializer}
    shapes: dict[str, tuple] = {t.name: (list(t.dims), t.data_type) for t in g.initializer}
    ops = []
    for nd in g.node:
        if _is_constant(nd):
            constants.update(nd.output)
            value = _constant_value(nd) if len(nd.output) == 1 else None
            if value is not None:
                shapes[nd.output[0]] = (list(value.shape), _tensor_type(value))
        else:
            ops.append(nd)
    inputs, weights = _split_inputs(g, ops, constants)
    constants.update(weights)
    for vi in g.input:
        if vi.name in weights:
            shapes[vi.name] = _shape_of(vi)
    if not inputs:
        raise OnnxGraphError(f"{name}: the graph has no data input (every graph input is a weight)")
    for vi in inputs:
        if not vi.type.tensor_type.HasField("shape"):
            raise OnnxGraphError(f"{name}: graph input {vi.name!r} has no declared shape; "
                                 f"from_onnx needs fixed input shapes")
    if not ops:
        raise OnnxGraphError(f"{name}: the graph has no operators besides constants")
    return _Network(name, m, inputs, ops, constants, weights, shapes)


# ------------------------------------------------------------------ nodes and edges
def _tensor_edges(net: _Network) -> tuple[list[int], list[int]]:
    """Edges ``u -> v`` where operator ``v`` reads a tensor ``u`` writes (node ``i`` of the
    graph: input ``i`` for ``i < len(net.inputs)``, then the operators); checks every read
    tensor has a producer and that the graph is acyclic."""
    k = len(net.inputs)
    producer = {vi.name: i for i, vi in enumerate(net.inputs)}
    for j, nd in enumerate(net.ops):
        for t in nd.output:
            if t:
                producer[t] = k + j
    src, dst = [], []
    for j, nd in enumerate(net.ops):
        seen = set()
        for t in nd.input:
            if t == "" or t in net.constants:
                continue
            if t not in producer:
                raise OnnxGraphError(
                    f"{net.name}: {net.describe(k + j)} reads tensor {t!r}, which no operator, "
                    f"graph input or initializer produces")
            u = producer[t]
            if u not in seen:
                seen.add(u)
                src.append(u)
                dst.append(k + j)
    produced = set(producer) | net.constants
    for o in net.model.graph.output:
        if o.name not in produced:
            raise OnnxGraphError(f"{net.name}: graph output {o.name!r} is produced by no operator, "
                                 f"graph input or initializer")
    if any(s >= d for s, d in zip(src, dst)):
        cycle = find_cycle(src, dst, k + len(net.ops))
        if cycle is not None:
            names = " -> ".join(net.describe(u) for u in cycle + cycle[:1])
            raise OnnxGraphError(f"{net.name}: the graph has a cycle: {names}")
    return src, dst


# --------------------------------------------------------------------------- shapes
_MAX_FOLD_ROUNDS = 4
#: Operators evaluated (with ``onnx.reference``) when all their inputs are known small tensors.
_FOLDABLE = {"Gather", "Unsqueeze", "Squeeze", "Concat", "Slice", "Cast", "Equal", "Where",
             "ConstantOfShape", "Mul", "Add", "Sub", "Div", "Range", "Reshape", "Expand",
             "Identity", "ReduceProd", "Max", "Min", "Not", "Less", "Greater", "And", "Or",
             "Floor", "Ceil", "Neg", "Abs", "Size", "Tile", "Transpose", "Sqrt", "Mod", "Pow",
             "Sign", "ReduceSum", "ReduceMax", "ReduceMin", "Split", "Flatten", "Clip",
             "LessOrEqual", "GreaterOrEqual", "Xor"}
_FOLD_MAX_ELEMENTS = 4096


def _declare_input_shapes(net: _Network, batch_size: int | None) -> None:
    """Fix the data inputs' shapes: ``batch_size`` as their first dimension (a symbolic one
    becomes 1 when it is ``None``); any other unknown dimension is an error."""
    if batch_size is not None:
        set_batch_size(net.model.graph, batch_size, net.inputs)
    for vi in net.inputs:
        for pos, d in enumerate(vi.type.tensor_type.shape.dim):
            if d.HasField("dim_value"):
                continue
            if pos == 0:
                d.Clear()
                d.dim_value = 1
            else:
                raise OnnxGraphError(
                    f"{net.name}: graph input {vi.name!r} has an unknown dimension {pos} "
                    f"({d.dim_param or '?'}); from_onnx needs fixed input shapes")


def _infer_shapes(net: _Network, batch_size: int | None) -> None:
    """Fill ``net.shapes`` for every operator output: ONNX shape inference (strict, with data
    propagation), re-run after evaluating the shape arithmetic it cannot follow. An operator
    whose first output's shape stays unknown is an error."""
    _declare_input_shapes(net, batch_size)
    _run_inference(net)
    values: dict = {}
    for _ in range(_MAX_FOLD_ROUNDS):
        # shape arithmetic that ONNX's data propagation cannot follow (Where, Equal, ... on
        # Shape outputs, as exporters write for dynamic batch sizes): evaluate it and re-infer
        if all(nd.output and net.shapes.get(nd.output[0], (None,))[0] is not None for nd in net.ops):
            break
        if not _fold_shape_arithmetic(net, values):
            break
        _run_inference(net)
    for j, nd in enumerate(net.ops):
        out = net.shapes.get(nd.output[0]) if nd.output else None
        if out is None or out[0] is None:
            raise OnnxGraphError(
                f"{net.name}: the shape of output {nd.output[0] if nd.output else '?'!r} of "
                f"{net.describe(len(net.inputs) + j)} could not be inferred")
    _check_sizes(net)


def _check_sizes(net: _Network) -> None:
    """Every known shape (inputs, weights, operator inputs and outputs) has non-negative dims
    and at most :data:`MAX_ELEMENTS` elements; else an :class:`OnnxGraphError` naming the
    tensor (and the operator that writes it)."""
    writer = {t: len(net.inputs) + j for j, nd in enumerate(net.ops) for t in nd.output if t}
    for t, (dims, _) in net.shapes.items():
        if dims is None:
            continue
        if any(d < 0 for d in dims) or math.prod(dims) > MAX_ELEMENTS:
            where = f" (written by {net.describe(writer[t])})" if t in writer else ""
            problem = "a negative dimension" if any(d < 0 for d in dims) else \
                f"more than {MAX_ELEMENTS} elements"
            raise OnnxGraphError(f"{net.name}: tensor {t!r}{where} has shape {dims}: {problem}")


def _run_inference(net: _Network) -> None:
    """Run ONNX shape inference (strict) and record the new shapes. Data propagation (which
    follows shape arithmetic) runs only when no integer tensor is larger than 4096 elements:
    onnx propagates a 1-D integer tensor as a list of dims, so a ``Range`` of 10**9 elements
    would take minutes and gigabytes; without it such a model is still converted, or fails
    with a named error."""
    import onnx

    def infer(data_prop: bool):
        try:
            return onnx.shape_inference.infer_shapes(net.model, strict_mode=True, data_prop=data_prop)
        except Exception as e:  # noqa: BLE001  (InferenceError, and C++ errors)
            raise OnnxGraphError(f"{net.name}: shape inference failed: {str(e).strip()}") from None

    inferred = infer(False)
    integer = {onnx.TensorProto.INT64, onnx.TensorProto.INT32}
    large = False
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
        if vi.type.tensor_type.elem_type in integer:
            dims = _shape_of(vi)[0]
            if dims is not None and math.prod(dims) > _FOLD_MAX_ELEMENTS:
                large = True
                break
    if not large:
        inferred = infer(True)
    g, shapes = inferred.graph, net.shapes
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        if vi.name not in shapes or shapes[vi.name][0] is None:
            shapes[vi.name] = _shape_of(vi)


def _tensor_type(value) -> int:
    import onnx

    if value.dtype == object:
        return onnx.TensorProto.STRING
    return onnx.helper.np_dtype_to_tensor_dtype(value.dtype)


def _fold_size(nd, ins: list, values: dict) -> float:
    """An upper bound of the elements an operator's outputs would have when folded, known
    before evaluating it (the operators whose outputs can outgrow their inputs: ``Range``,
    ``ConstantOfShape``, ``Expand``, ``Tile``); the total size of the inputs for the others."""
    import numpy as np

    try:
        if nd.op_type == "Range" and len(ins) == 3:
            start, limit, delta = (float(np.asarray(values[t]).reshape(-1)[0]) for t in ins)
            return math.inf if delta == 0 or not math.isfinite((limit - start) / delta) \
                else max(0.0, math.ceil((limit - start) / delta))
        if nd.op_type == "ConstantOfShape" and ins:
            return float(np.prod(np.maximum(np.asarray(values[ins[0]], dtype=np.float64), 0)))
        if nd.op_type == "Expand" and len(ins) == 2:
            shape = np.asarray(values[ins[1]], dtype=np.float64).reshape(-1)
            x = np.asarray(values[ins[0]]).shape
            width = max(len(x), len(shape))
            x = [1] * (width - len(x)) + list(x)
            shape = [1.0] * (width - len(shape)) + list(shape)
            return float(np.prod([max(a, b) for a, b in zip(x, shape)]))
        if nd.op_type == "Tile" and len(ins) == 2:
            repeats = np.asarray(values[ins[1]], dtype=np.float64).reshape(-1)
            return float(np.size(values[ins[0]]) * np.prod(np.maximum(repeats, 0)))
    except (ValueError, TypeError, IndexError, OverflowError, ZeroDivisionError):
        return math.inf
    return float(sum(np.size(values[t]) for t in ins))


def _fold_shape_arithmetic(net: _Network, values: dict) -> bool:
    """Evaluate the shape-computing operators whose inputs are known (``Shape`` of a tensor of
    known shape, integer constants, small results of such operators) and replace them, in the
    inference copy ``net.model`` only, by initializers holding their values. ``values`` keeps
    the known tensors between rounds. Returns whether anything new was folded. The graph's
    nodes (``net.ops``) are not changed: this only helps shape inference."""
    import numpy as np
    import onnx
    from onnx import numpy_helper
    from onnx.reference import ReferenceEvaluator

    g, shapes = net.model.graph, net.shapes
    if not values:
        floating = floating_types()
        for t in g.initializer:
            if (t.data_location != onnx.TensorProto.EXTERNAL and t.data_type not in floating
                    and math.prod(t.dims) <= _FOLD_MAX_ELEMENTS):
                try:
                    values[t.name] = numpy_helper.to_array(t)
                except (ValueError, TypeError, KeyError):  # data that does not match dims
                    continue
        for nd in g.node:
            if _is_constant(nd) and len(nd.output) == 1:
                value = _constant_value(nd)
                if value is not None and value.dtype != object and value.size <= _FOLD_MAX_ELEMENTS:
                    values[nd.output[0]] = value
    folded = {}
    for nd in net.ops:  # ONNX files list operators in a topological order
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
            if _fold_size(nd, ins, values) > _FOLD_MAX_ELEMENTS:
                continue  # never materialise a large tensor (a Range of 10**9 elements)
            try:
                out = ReferenceEvaluator(nd).run(None, {t: values[t] for t in ins})
            except Exception:
                continue
        else:
            continue
        if len(out) != len(nd.output) or any(np.size(v) > _FOLD_MAX_ELEMENTS for v in out):
            continue
        out = [np.asarray(v) for v in out]
        if any(v.dtype == object for v in out):  # strings: not shape arithmetic
            continue
        for t, v in zip(nd.output, out):
            values[t] = v
            folded[t] = v
            shapes[t] = (list(v.shape), _tensor_type(v))
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


# -------------------------------------------------------------------- node features
def _reduce_shape(dims: Sequence[int]) -> list[float]:
    """Rank-r shape -> 4 numbers: zero-padded at the end, ranks > 4 fold the tail by product."""
    dims = list(dims)
    if len(dims) > 4:
        dims = dims[:3] + [math.prod(dims[3:])]
    return [float(d) for d in dims] + [0.0] * (4 - len(dims))


def _node_features(net: _Network) -> tuple[list[int], list[list[float]], list[list[float]], list[dict]]:
    """``op``, ``op_attrs`` and ``out_shape`` rows of every node (inputs first), and the
    operators' attributes (for :func:`_static_row`)."""
    k = len(net.inputs)
    op = [op_index("Input")] * k + [op_index(nd.op_type) for nd in net.ops]
    op_attrs = [[0.0] * len(OP_ATTR_FIELDS) for _ in range(k)]
    out_shape = [_reduce_shape(net.shapes[vi.name][0]) for vi in net.inputs]
    attrs = [_attrs(nd) for nd in net.ops]
    for j, (nd, a) in enumerate(zip(net.ops, attrs)):
        try:
            row = op_attr_row(nd, a, net.shapes)
        except (TypeError, ValueError, OverflowError) as e:  # an attribute of an odd type
            raise OnnxGraphError(f"{net.name}: {net.describe(k + j)} has an attribute the "
                                 f"features cannot use ({type(e).__name__}: {e})") from None
        if not all(-3.4e38 < v < 3.4e38 for v in row):  # NaN, an infinity, or beyond float32
            raise OnnxGraphError(f"{net.name}: {net.describe(k + j)} has an attribute value "
                                 f"that is not a finite float32 ({row})")
        op_attrs.append(row)
        out_shape.append(_reduce_shape(net.shapes[nd.output[0]][0]))
    return op, op_attrs, out_shape, attrs


@functools.lru_cache(maxsize=None)
def _itemsize(elem_type: int) -> int:
    """Bytes per element of an ONNX element type (4 for one numpy does not know)."""
    import onnx

    try:
        return onnx.helper.tensor_dtype_to_np_dtype(elem_type).itemsize
    except Exception:
        return 4


def _static_row(net: _Network, attrs: list[dict], batch: int) -> list[float]:
    """The ``static`` row: FLOPs of the floating-point operators, parameters (floating-point
    initializers and weight inputs) and the bytes every operator reads and writes."""
    flops = mem = 0.0
    floating = floating_types()
    shapes, k = net.shapes, len(net.inputs)
    for j, (nd, a) in enumerate(zip(net.ops, attrs)):
        out = shapes[nd.output[0]]
        try:
            if out[1] in floating:  # integer shape arithmetic is not floating-point work
                flops += node_flops(nd, a, shapes, out[0])
        except (TypeError, IndexError, ValueError) as e:  # an input shape unknown
            raise OnnxGraphError(
                f"{net.name}: cannot count the FLOPs of {net.describe(k + j)}: an input "
                f"shape is unknown ({e})") from None
        for t in list(nd.input) + list(nd.output):
            s = shapes.get(t)
            if t and s is not None and s[0] is not None:
                mem += math.prod(s[0]) * _itemsize(s[1])
    params = sum(math.prod(t.dims) for t in net.model.graph.initializer if t.data_type in floating)
    params += sum(math.prod(shapes[w][0] or [0]) for w in net.weights if shapes[w][1] in floating)
    return static_features(batch, flops, params, mem)


# ---------------------------------------------------------------------------- all
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

    Raises :class:`OnnxGraphError` (a ``ValueError``) for a file that is not ONNX or that
    ``onnx.checker`` rejects (:func:`check_structure`), a tensor read but never written, a
    cycle, an operator whose output shape cannot be determined (ONNX shape inference, helped
    by evaluating integer shape arithmetic of at most 4096 elements a tensor), or a tensor of
    more than :data:`MAX_ELEMENTS` elements; an
    :class:`~pyg_nar.errors.ArgumentError` for a ``batch_size`` that is not an integer in
    ``1 ..`` :data:`~pyg_nar.utils.arguments.MAX_BATCH_SIZE`.
    """
    check_int(batch_size, "batch_size", "from_onnx", 1, MAX_BATCH_SIZE, none=True)
    model, name = load_onnx(model_or_path, name, check=False)
    _check_initializer_sizes(model, name)
    net = _split_constants(model, name)
    src, dst = _tensor_edges(net)  # the named structural errors first, then the checker's
    _run_checker(_checker_copy(net.model), name)  # of the weight-stripped copy: no weight copied
    _infer_shapes(net, batch_size)
    op, op_attrs, out_shape, attrs = _node_features(net)
    batch = int(batch_size if batch_size is not None else out_shape[0][0])
    static = _static_row(net, attrs, batch)
    n, width = len(op), len(OP_ATTR_FIELDS)
    try:
        return arch_data(
            op, [src, dst], y, name=name, num_ops=len(ONNX_OP_VOCAB), arch_id=arch_id,
            renumber=True,
            op_attrs=torch.tensor(op_attrs, dtype=torch.float).view(n, width),
            out_shape=torch.tensor(out_shape, dtype=torch.float).view(n, 4),
            static=torch.tensor([static], dtype=torch.float),
        )
    except OnnxGraphError:
        raise
    except ArchitectureError as e:
        raise OnnxGraphError(str(e)) from None
