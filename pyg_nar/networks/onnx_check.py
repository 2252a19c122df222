r"""Validity checks that :func:`~pyg_nar.networks.from_onnx` runs before converting a model.

Every check raises :class:`~pyg_nar.errors.OnnxGraphError` naming the model and the tensor,
node or attribute at fault:

* :func:`check_arguments` -- ``batch_size`` (a positive integer up to :data:`MAX_DIM`; not a
  bool, NaN, infinity or a float) and ``input_shapes`` (names to tuples of positive integers).
* :func:`check_structure` -- the rules of ONNX's IR, in every graph and sub-graph: no
  duplicate graph inputs, one producer per tensor (no operator writing a graph input, an
  initializer or another operator's output), every graph output produced, ``Constant``
  operators with one output and one value of a valid kind, initializer data that matches its
  dims and type exactly, dims that are not negative, no tensor larger than
  :data:`MAX_ELEMENTS`.
* :func:`run_checker` -- ``onnx.checker.check_model`` (operator schemas: attribute names and
  types, input and output counts, opset imports, topological order, SSA) on a *skeleton* of
  the model that keeps its structure and drops what the converter deliberately accepts
  although the checker does not:

  - initializers **without data** (weight-stripped models, NNLQP's layout) or whose data lives
    in **external files** that are not present (only dims are read);
  - under IR version 3, initializers **not listed as graph inputs** (onnxruntime runs such
    files, e.g. its own ``mul_1.onnx``);
  - graph inputs and outputs **without a declared shape** (the checker requires one; the IR
    makes it optional, and shapes are inferred).

  Everything else the checker rejects, the converter rejects.

The size limits guard against pathological models (a 200-byte file can declare a tensor of
10**15 elements): :data:`MAX_DIM` per dimension, :data:`MAX_ELEMENTS` per tensor and
:data:`FOLD_MAX_ELEMENTS` for the shape arithmetic the converter evaluates.
"""
from __future__ import annotations

import math
import numbers
from typing import Mapping

from pyg_nar.errors import OnnxGraphError

__all__ = ["MAX_DIM", "MAX_ELEMENTS", "FOLD_MAX_ELEMENTS", "check_arguments", "check_structure",
           "run_checker", "check_dims"]

#: The largest dimension accepted (of a declared, given or inferred shape).
MAX_DIM = 2 ** 31 - 1
#: The most elements one tensor may have (about 10**12: 4 TB of floats).
MAX_ELEMENTS = 2 ** 40
#: The most elements a tensor of shape arithmetic may have for the converter to evaluate it.
FOLD_MAX_ELEMENTS = 4096


# --------------------------------------------------------------------------- arguments
def _positive_int(value, what: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise OnnxGraphError(f"{name}: {what} must be a positive integer, got "
                             f"{type(value).__name__} {value!r}")
    value = int(value)
    if not 1 <= value <= MAX_DIM:
        raise OnnxGraphError(f"{name}: {what} must be a positive integer up to {MAX_DIM}, "
                             f"got {value}")
    return value


def check_arguments(batch_size, input_shapes, name: str) -> tuple[int | None, dict | None]:
    """``(batch_size, input_shapes)`` checked and normalised: ``batch_size`` an ``int`` or
    ``None``; ``input_shapes`` ``{input name: tuple of ints}`` or ``None``."""
    if batch_size is not None:
        batch_size = _positive_int(batch_size, "batch_size", name)
    if input_shapes is None:
        return batch_size, None
    if not isinstance(input_shapes, Mapping):
        raise OnnxGraphError(f"{name}: input_shapes must map graph-input names to shapes "
                             f"(tuples of ints), got {type(input_shapes).__name__}")
    shapes = {}
    for key, dims in input_shapes.items():
        if not isinstance(key, str):
            raise OnnxGraphError(f"{name}: input_shapes keys must be graph-input names, got "
                                 f"{type(key).__name__} {key!r}")
        if isinstance(dims, (str, bytes)) or not hasattr(dims, "__iter__"):
            raise OnnxGraphError(f"{name}: input_shapes[{key!r}] must be a tuple of ints, got "
                                 f"{type(dims).__name__} {dims!r}")
        dims = tuple(_positive_int(d, f"dimension {i} of input_shapes[{key!r}]", name)
                     for i, d in enumerate(dims))
        _check_numel(dims, f"input_shapes[{key!r}]", name)
        shapes[key] = dims
    return batch_size, shapes


def _check_numel(dims, what: str, name: str) -> None:
    n = math.prod(dims)
    if n > MAX_ELEMENTS:
        raise OnnxGraphError(f"{name}: {what} has shape {list(dims)}, {n:.3g} elements, more "
                             f"than the limit of {MAX_ELEMENTS:.3g} (2**40)")


def check_dims(dims, what: str, name: str) -> None:
    """A shape (inferred or declared) within the limits: no negative dimension, none above
    :data:`MAX_DIM`, at most :data:`MAX_ELEMENTS` elements."""
    for d in dims:
        if d < 0 or d > MAX_DIM:
            raise OnnxGraphError(f"{name}: {what} has shape {list(dims)}: dimensions must be "
                                 f"between 0 and {MAX_DIM}")
    _check_numel(dims, what, name)


# --------------------------------------------------------------------------- structure
#: TensorProto data field holding each element type, and values per element.
def _data_field(data_type: int):
    from onnx import TensorProto as T

    table = {T.FLOAT: ("float_data", 1), T.COMPLEX64: ("float_data", 2),
             T.DOUBLE: ("double_data", 1), T.COMPLEX128: ("double_data", 2),
             T.INT64: ("int64_data", 1), T.UINT32: ("uint64_data", 1),
             T.UINT64: ("uint64_data", 1), T.STRING: ("string_data", 1)}
    return table.get(data_type, ("int32_data", 1))


def _packed(data_type: int) -> bool:
    """4-bit types: two elements per byte (and per int32_data entry)."""
    from onnx import TensorProto as T

    return data_type in {getattr(T, n) for n in ("INT4", "UINT4", "FLOAT4E2M1") if hasattr(T, n)}


def _check_tensor(t, where: str, name: str) -> None:
    """Dims, type and (when present) data of one TensorProto: the data must hold exactly the
    elements its dims declare."""
    import onnx

    what = f"{where} {t.name!r}" if t.name else where
    if t.data_type not in onnx.TensorProto.DataType.values() or t.data_type == 0:
        raise OnnxGraphError(f"{name}: {what} has an unknown element type {t.data_type}")
    if any(d < 0 for d in t.dims):
        raise OnnxGraphError(f"{name}: {what} has negative dims {list(t.dims)}")
    numel = math.prod(t.dims)
    _check_numel(list(t.dims), what, name)
    if t.data_location == onnx.TensorProto.EXTERNAL:
        return
    packed = _packed(t.data_type)
    if t.raw_data:
        if t.data_type == onnx.TensorProto.STRING:
            raise OnnxGraphError(f"{name}: {what} is a string tensor with raw_data")
        itemsize = onnx.helper.tensor_dtype_to_np_dtype(t.data_type).itemsize
        want = (numel + 1) // 2 if packed else numel * itemsize
        if len(t.raw_data) != want:
            raise OnnxGraphError(
                f"{name}: {what} declares dims {list(t.dims)} "
                f"({onnx.TensorProto.DataType.Name(t.data_type)}, {want} bytes) but holds "
                f"{len(t.raw_data)} bytes of data")
        return
    field, per = _data_field(t.data_type)
    have = len(getattr(t, field))
    others = [f for f in ("float_data", "double_data", "int32_data", "int64_data", "uint64_data",
                          "string_data") if f != field and len(getattr(t, f))]
    if others:
        raise OnnxGraphError(f"{name}: {what} ({onnx.TensorProto.DataType.Name(t.data_type)}) "
                             f"holds its data in {others[0]}, the field of another type")
    if have == 0:
        return  # no data: a weight-stripped tensor (only its dims are read)
    want = (numel + 1) // 2 if packed else numel * per
    if have != want:
        raise OnnxGraphError(
            f"{name}: {what} declares dims {list(t.dims)} ({want} values) but holds {have} "
            f"values in {field}")


def _constant_value_count(nd) -> int:
    return sum(a.name in ("value", "value_float", "value_floats", "value_int", "value_ints",
                          "value_string", "value_strings", "sparse_value") for a in nd.attribute)


def _check_constant(nd, where: str, name: str) -> None:
    import onnx

    if len(nd.output) != 1 or not nd.output[0]:
        raise OnnxGraphError(f"{name}: {where} (Constant) must have exactly one output, has "
                             f"{len(nd.output)}")
    if _constant_value_count(nd) != 1:
        raise OnnxGraphError(f"{name}: {where} (Constant) must have exactly one value attribute "
                             f"(value, value_float, value_ints, ...)")
    A = onnx.AttributeProto
    kinds = {"value": A.TENSOR, "value_float": A.FLOAT, "value_floats": A.FLOATS,
             "value_int": A.INT, "value_ints": A.INTS, "value_string": A.STRING,
             "value_strings": A.STRINGS, "sparse_value": A.SPARSE_TENSOR}
    for a in nd.attribute:
        if a.name in kinds and a.type != kinds[a.name]:
            raise OnnxGraphError(
                f"{name}: {where} (Constant): attribute {a.name!r} should be "
                f"{A.AttributeType.Name(kinds[a.name])}, is {A.AttributeType.Name(a.type)}")
        if a.name == "value":
            _check_tensor(a.t, f"{where} (Constant) value", name)


def _node_name(nd, k: int, scope: str) -> str:
    where = f"operator {k} of {scope}" if scope else f"operator {k}"
    return f"{where} ({nd.op_type} {nd.name!r})" if nd.name else f"{where} ({nd.op_type})"


def check_structure(model, name: str) -> None:
    """The IR rules of the module docstring, in the main graph and recursively in every
    sub-graph (with the tensors of the enclosing scopes visible)."""
    _check_graph(model.graph, name, "", set(), model.ir_version)


def _check_graph(graph, name: str, scope: str, outer: set, ir_version: int) -> None:
    import onnx

    where = f" of {scope}" if scope else ""
    known = set(outer)
    inputs = set()
    for vi in graph.input:
        if vi.name in inputs:
            raise OnnxGraphError(f"{name}: graph input {vi.name!r}{where} is listed twice")
        inputs.add(vi.name)
    inits = set()
    for t in graph.initializer:
        if t.name in inits:
            raise OnnxGraphError(f"{name}: initializer {t.name!r}{where} is defined twice")
        inits.add(t.name)
        _check_tensor(t, f"initializer{where}", name)
    for t in graph.sparse_initializer:
        inits.add(t.values.name)
    for t in inputs | inits:
        if t in outer:
            raise OnnxGraphError(f"{name}: {t!r}{where} is already a tensor of an enclosing graph")
    known |= inputs | inits
    writer: dict[str, str] = {}
    for k, nd in enumerate(graph.node):
        desc = _node_name(nd, k, scope)
        if nd.op_type == "Constant" and nd.domain in ("", "ai.onnx"):
            _check_constant(nd, desc, name)
        for t in nd.output:
            if not t:
                continue
            if t in writer:
                raise OnnxGraphError(f"{name}: tensor {t!r} is written by two operators: "
                                     f"{writer[t]} and {desc}")
            if t in known:
                kind = ("a graph input" if t in inputs else "an initializer" if t in inits
                        else "a tensor of an enclosing graph")
                raise OnnxGraphError(f"{name}: {desc} writes tensor {t!r}, which is {kind}")
            writer[t] = desc
        for a in nd.attribute:
            subs = [a.g] if a.type == onnx.AttributeProto.GRAPH else (
                list(a.graphs) if a.type == onnx.AttributeProto.GRAPHS else [])
            for sub in subs:
                _check_graph(sub, name, f"{desc}.{a.name}", known | set(writer), ir_version)
    produced = known | set(writer)
    for vi in graph.output:
        if vi.name not in produced:
            raise OnnxGraphError(f"{name}: graph output {vi.name!r}{where} is not produced by "
                                 f"any operator, graph input or initializer")


# ---------------------------------------------------------------------------- checker
def _skeleton(model):
    """A copy of ``model`` for ``onnx.checker``: initializers become empty (their data was
    checked by :func:`check_structure`, and may be absent on purpose), IR-3 initializers are
    listed as graph inputs, graph inputs and outputs without a shape get an empty one."""
    import onnx

    m = onnx.ModelProto()
    m.CopyFrom(model)
    if m.ir_version < 4:
        listed = {vi.name for vi in m.graph.input}
        for t in m.graph.initializer:
            if t.name not in listed:
                m.graph.input.append(onnx.helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    _skeleton_graph(m.graph)
    return m


def _skeleton_graph(graph) -> None:
    import onnx

    for t in graph.initializer:
        tensor_name, data_type = t.name, t.data_type
        t.Clear()  # keep name and type: the checker only checks the tensor's own consistency
        t.name, t.data_type = tensor_name, data_type
        t.dims.append(0)
    for vi in list(graph.input) + list(graph.output):
        if vi.type.HasField("tensor_type") and not vi.type.tensor_type.HasField("shape"):
            vi.type.tensor_type.shape.SetInParent()
    for nd in graph.node:
        for a in nd.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                _skeleton_graph(a.g)
            elif a.type == onnx.AttributeProto.GRAPHS:
                for g in a.graphs:
                    _skeleton_graph(g)


def run_checker(model, name: str) -> None:
    """``onnx.checker.check_model`` on the :func:`_skeleton` of ``model``; its rejection is an
    :class:`OnnxGraphError` quoting the checker."""
    import onnx

    try:
        onnx.checker.check_model(_skeleton(model))
    except onnx.checker.ValidationError as e:
        text = " ".join(str(e).split())
        raise OnnxGraphError(f"{name}: onnx.checker rejects the model: {text}") from None
    except UnicodeDecodeError as e:  # a name or string attribute that is not UTF-8
        raise OnnxGraphError(f"{name}: onnx.checker rejects the model: a string that is not "
                             f"UTF-8 (byte {e.start} of {e.object[:40]!r})") from None
