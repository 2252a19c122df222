r"""ONNX model -> architecture graph (NNLQP-style whole-network graphs).

:func:`from_onnx` turns an ONNX model into one PyG :class:`~torch_geometric.data.Data` that
follows the contract of :mod:`pyg_nar.data`:

* **Nodes.** One node per graph input (op ``"Input"``; NNLQP adds the same Input nodes), then
  one node per ONNX operator. Initializers, ``Constant`` operators and operators that compute
  constants (all their inputs constants: the ``Identity`` of an initializer exporters write for
  a shared weight, the ``DequantizeLinear`` of a quantised weight) are *not* nodes: they are
  weights / constants read by operators. Graph inputs that only feed parameter slots (a Conv's
  kernel, a BatchNormalization's statistics, ...; old exporters list weights as inputs) count as
  weights too, and their first dimension is never taken for a batch dimension. Nodes are
  numbered in a topological order, graph inputs first, so node 0 is the first graph input.
* **Control flow.** The operators inside the sub-graphs of ``If`` (both branches), ``Loop``
  and ``Scan`` (the body, once) are nodes too, recursively, each right after the operator
  that owns it. ``subgraph_depth`` / ``if_branch`` / ``repeats`` / ``trip_count`` (see
  :mod:`pyg_nar.data`) say where a node sits and how often the FLOPs count it.
* **Edges** follow tensors: ``u -> v`` when operator ``v`` reads a tensor that ``u`` writes
  (one edge per pair, even if the tensor is read twice). Inside a sub-graph, a tensor captured
  from an enclosing graph gives an edge from its producer there; a sub-graph's own inputs
  (a loop's iteration number and carried values, a scan's slices) come from the owning
  operator, and so does every sub-graph operator that reads nothing produced in its sub-graph.
  A reader of a control-flow operator's output gets an edge from the operator and from the
  producers of the matching sub-graph output in each sub-graph.
* ``op``: index into :data:`~pyg_nar.networks.vocab.ONNX_OP_VOCAB` (see
  :func:`~pyg_nar.networks.vocab.onnx_op_vocab`); operators outside the vocabulary map to
  ``"Other"``, with an :class:`~pyg_nar.errors.UnknownOperatorWarning` naming them.
* ``op_attrs`` ``[N, 8]``: the 8 attribute slots of NAR-Former supp. Table 1, see
  :data:`~pyg_nar.networks.vocab.OP_ATTR_FIELDS` and :func:`~pyg_nar.networks.vocab.op_attr_row`.
* ``out_shape`` ``[N, 4]``: shape of the node's first output (graph inputs: their resolved
  shape). Rank-4 shapes are ``(N, C, H, W)``; lower ranks are zero-padded **at the end**
  (``(B, F)`` -> ``(B, F, 0, 0)``, a transformer's ``(B, L, D)`` -> ``(B, L, D, 0)``, a scalar,
  a sequence or a map -> zeros); higher ranks keep the first three dims and fold the rest into
  the last by product.
* ``static`` ``[1, 4]``: see :data:`~pyg_nar.networks.flops.STATIC_FIELDS` and
  :func:`~pyg_nar.networks.flops.static_features`.
* ``node_cost`` ``[N, 4]``: each node's share of ``static``, its roofline terms
  (:data:`~pyg_nar.networks.flops.NODE_COST_FIELDS`): MFLOPs, MB read (activations and
  weights), MB written, MB of weights read; a graph input writes its tensor. The columns of
  the operators sum to ``static``'s FLOPs and memory access.

Only the structure is read: floating-point initializer *dims* are used, never their values
(except small ones and those that shape computations read: Resize scales, Pad pads, ...), so
weight-stripped models (NNLQP ships its ONNX files without weights) and models saved with
external data (whose data files need not be present) convert the same as complete ones.

The conversion runs in stages, each a function below or in a sibling module: :func:`load_onnx`
(load), :func:`~pyg_nar.networks.onnx_check.check_structure` (ONNX's IR rules),
``_split_constants`` (strip weights, flatten sub-graphs, separate constants and weight inputs
from data inputs), ``_tensor_edges`` (edges along tensors, cycle check),
:func:`~pyg_nar.networks.onnx_check.run_checker` (``onnx.checker``), ``_declare_inputs``
(:func:`~pyg_nar.networks.onnx_shapes.resolve_input_shapes`),
:func:`~pyg_nar.networks.onnx_shapes.infer_shapes`, ``_node_features`` (``op``, ``op_attrs``,
``out_shape``, the control-flow fields) and ``_static_row`` (``static``).
"""
from __future__ import annotations

import functools
import math
import os
import warnings
from collections import ChainMap
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import torch
from torch_geometric.data import Data

from pyg_nar.data import ArchitectureError, arch_data
from pyg_nar.errors import OnnxGraphError, UnknownOperatorWarning
from pyg_nar.networks.flops import (COMPUTE_OPS, NODE_COST_FIELDS, node_cost, node_flops,
                                    static_features)
from pyg_nar.networks.onnx_check import (FOLD_MAX_ELEMENTS, check_arguments, check_dims,
                                         check_structure, run_checker)
from pyg_nar.networks.onnx_shapes import (counted_branch, declare_input_shapes, infer_shapes,
                                          input_symbols, node_attrs as _attrs, resolve_input_shapes,
                                          shape_of,
                                          small_value, static_trip_count, _sanitize_declared)
from pyg_nar.networks.vocab import (ONNX_OP_VOCAB, ONNX_OP_VOCAB_VERSION, OP_ATTR_FIELDS,
                                    op_attr_row, op_index)
from pyg_nar.utils.dag import find_cycle

__all__ = ["from_onnx", "load_onnx", "strip_weights", "shape_relevant", "floating_types",
           "data_inputs", "set_batch_size", "input_shapes_of", "input_shapes_for",
           "parse_input_shape", "SHAPE_SLOTS", "OnnxGraphError"]


# ------------------------------------------------------------------- load and validate
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


# -------------------------------------------------------------- weights and constants
def floating_types() -> set:
    """The ONNX element types of floating-point tensors (weights, activations): the ones
    :func:`strip_weights` strips and FLOPs are counted for."""
    import onnx

    return {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.DOUBLE,
            onnx.TensorProto.BFLOAT16}


#: Input slots whose *values* shape or data propagation read (the rest are data), per operator.
SHAPE_SLOTS = {
    "Reshape": (1,), "Expand": (1,), "Tile": (1,), "ConstantOfShape": (0,), "Range": (0, 1, 2),
    "Resize": (1, 2, 3), "Upsample": (1,), "Pad": (1, 3), "Slice": (1, 2, 3, 4), "Split": (1,),
    "Squeeze": (1,), "Unsqueeze": (1,), "TopK": (1,), "OneHot": (1,), "CenterCropPad": (1,),
    "STFT": (1, 3), "DFT": (1, 2), "Loop": (0, 1), "If": (0,), "Col2Im": (1, 2),
    "AffineGrid": (1,), "MelWeightMatrix": (0, 1, 2, 3, 4), "HannWindow": (0,),
    "HammingWindow": (0,), "BlackmanWindow": (0,), "Compress": (1,), "ReduceMean": (1,),
    "ReduceSum": (1,), "ReduceMax": (1,), "ReduceMin": (1,), "ReduceProd": (1,),
    "ReduceL1": (1,), "ReduceL2": (1,), "ReduceLogSum": (1,), "ReduceLogSumExp": (1,),
    "ReduceSumSquare": (1,), "NonMaxSuppression": (2,),
}
#: Operators that read only the *shape* of their input: the search for what shapes read stops.
_SHAPE_READERS = {"Shape", "Size"}
#: Floating-point initializers of at most this many elements are never stripped.
_KEEP_SMALL = 64


def _all_nodes(graph):
    """Every node of ``graph`` and its sub-graphs, outer ones first."""
    import onnx

    for nd in graph.node:
        yield nd
        for a in nd.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                yield from _all_nodes(a.g)


def shape_relevant(graph) -> set:
    """Names of the tensors whose values shape or data propagation reads: the inputs in the
    :data:`SHAPE_SLOTS` of every operator (sub-graphs included) and, transitively, what
    computes them (stopping at ``Shape`` / ``Size``, which read only shapes)."""
    producer, stack = {}, []
    for nd in _all_nodes(graph):
        for t in nd.output:
            producer[t] = nd
        for i in SHAPE_SLOTS.get(nd.op_type, ()):
            if i < len(nd.input) and nd.input[i]:
                stack.append(nd.input[i])
    seen = set()
    while stack:
        t = stack.pop()
        if t in seen:
            continue
        seen.add(t)
        nd = producer.get(t)
        if nd is not None and nd.op_type not in _SHAPE_READERS:
            stack.extend(i for i in nd.input if i)
    return seen


def strip_weights(model, min_elements: int = 0):
    """A copy of ``model`` whose floating-point initializers keep their dims but no data
    (NNLQP's weight-stripped layout), in every graph and sub-graph. Integer initializers
    (shapes, indices) and every initializer that shape or data propagation reads (Resize
    scales, Pad pads, Slice starts, ...: :func:`shape_relevant`) are kept. Only tensors with at
    least ``min_elements`` elements are stripped."""
    import onnx

    out = onnx.ModelProto()
    out.CopyFrom(model)
    _strip_in_place(out, min_elements)
    return out


def _strip_in_place(model, min_elements: int = 0) -> None:
    import onnx

    floating = floating_types()
    keep = shape_relevant(model.graph)

    def strip(graph):
        for t in graph.initializer:
            if t.data_type in floating and t.name not in keep and math.prod(t.dims) >= min_elements:
                for f in ("raw_data", "float_data", "double_data", "int32_data", "external_data"):
                    t.ClearField(f)
                t.data_location = onnx.TensorProto.DEFAULT

    strip(model.graph)
    for nd in _all_nodes(model.graph):
        for a in nd.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                strip(a.g)


def _is_constant(node) -> bool:
    return node.op_type == "Constant" and node.domain in ("", "ai.onnx")


#: Operators that are no constants even when their inputs are (they draw random numbers).
_RANDOM_OPS = {"RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli", "Dropout"}


def _of_constants(node, is_constant) -> bool:
    """Whether ``node`` computes a constant: a standard operator without sub-graphs or
    randomness whose inputs (at least one) are all constants (``is_constant(name)``), like the
    ``Identity`` of an initializer that exporters write for a shared weight."""
    import onnx

    return (node.domain in ("", "ai.onnx") and node.op_type not in _RANDOM_OPS
            and any(node.input) and all(is_constant(t) for t in node.input if t)
            and not any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
                        for a in node.attribute))


def _constant(node):
    """``(dims, elem_type, numpy value or None)`` of a ``Constant`` operator (checked by
    :func:`~pyg_nar.networks.onnx_check.check_structure`); small values only."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    a = node.attribute[0] if len(node.attribute) == 1 else next(
        a for a in node.attribute if a.name.startswith("value") or a.name == "sparse_value")
    if a.name == "value":
        t = a.t
        value = None
        if math.prod(t.dims) <= FOLD_MAX_ELEMENTS and t.data_location != onnx.TensorProto.EXTERNAL:
            try:
                value = numpy_helper.to_array(t)
            except Exception:  # noqa: BLE001 - a string or exotic type: its shape is enough
                value = None
        return list(t.dims), t.data_type, value
    if a.name == "sparse_value":
        return list(a.sparse_tensor.dims), a.sparse_tensor.values.data_type, None
    T = onnx.TensorProto
    kinds = {"value_float": (np.float32, T.FLOAT), "value_floats": (np.float32, T.FLOAT),
             "value_int": (np.int64, T.INT64), "value_ints": (np.int64, T.INT64)}
    if a.name in kinds:
        dtype, elem = kinds[a.name]
        v = np.asarray(onnx.helper.get_attribute_value(a), dtype=dtype)
        return list(v.shape), elem, v
    n = len(a.strings) if a.name == "value_strings" else None
    return ([n] if n is not None else []), T.STRING, None


#: Input slots that hold parameters (weights, biases, statistics), per operator type.
_PARAM_SLOTS = {"Conv": {1, 2}, "ConvTranspose": {1, 2}, "FusedConv": {1, 2}, "Gemm": {1, 2},
                "FusedGemm": {1, 2}, "MatMul": {1}, "BatchNormalization": {1, 2, 3, 4},
                "InstanceNormalization": {1, 2}, "LayerNormalization": {1, 2},
                "GroupNormalization": {1, 2}, "PRelu": {1}, "LSTM": {1, 2, 3, 7},
                "GRU": {1, 2, 3}, "RNN": {1, 2, 3}}


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
    return _split_inputs(graph, [nd for nd in _all_nodes(graph) if not _is_constant(nd)],
                         constants)[0]


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


def input_shapes_of(model, batch_size: int | None = None,
                    input_shapes: Mapping[str, Sequence[int]] | None = None,
                    name: str | None = None) -> dict[str, list[int]]:
    """The shape of every tensor data input of ``model`` (an ``onnx.ModelProto``), resolved as
    :func:`from_onnx` resolves it (:func:`~pyg_nar.networks.onnx_shapes.resolve_input_shapes`):
    what :func:`~pyg_nar.networks.measure_latency` feeds onnxruntime. Raises
    :class:`OnnxGraphError` naming every input left unresolved."""
    name = name or model.graph.name or "<onnx model>"
    batch_size, input_shapes = check_arguments(batch_size, input_shapes, name)
    return resolve_input_shapes(data_inputs(model.graph), batch_size, input_shapes, name)


def parse_input_shape(text: str) -> tuple[str, tuple[int, ...]]:
    """``"NAME=D0,D1,..."`` (the CLI's ``--input-shape``) as ``(name, dims)``; a
    :class:`OnnxGraphError` saying what is wrong otherwise. The name is everything before the
    last ``=`` (graph-input names may hold ``=`` and ``,``, not both ``=`` and a trailing
    list)."""
    name, sep, dims = text.rpartition("=")
    if not sep or not name:
        raise OnnxGraphError(f"--input-shape {text!r}: expected NAME=D0,D1,... (e.g. "
                             f"input_ids=1,128)")
    try:
        shape = tuple(int(d) for d in dims.split(","))
    except ValueError:
        raise OnnxGraphError(f"--input-shape {text!r}: the dims must be integers separated by "
                             f"commas, got {dims!r}") from None
    if any(d <= 0 for d in shape):
        raise OnnxGraphError(f"--input-shape {text!r}: dims must be positive")
    return name, shape


def input_shapes_for(model_or_path, input_shapes: Mapping[str, Sequence[int]] | None) -> dict:
    """The entries of ``input_shapes`` that name a data input of a model (path or
    ``onnx.ModelProto``): one set of shapes given for several models (``pyg-nar predict a.onnx
    b.onnx --input-shape ...``, ``pyg-nar measure --onnx-dir``) applies to each model's own
    inputs. ``{}`` when ``input_shapes`` is empty."""
    if not input_shapes:
        return {}
    model, _ = load_onnx(model_or_path)
    names = {vi.name for vi in data_inputs(model.graph)}
    return {k: tuple(int(d) for d in v) for k, v in input_shapes.items() if k in names}


@dataclass
class _Scope:
    """One graph of the model: the main graph (scope 0) or a sub-graph of a control-flow
    operator."""
    parent: int  #: enclosing scope (-1 for the main graph)
    owner: int  #: index in ``ops`` of the operator that owns it (-1 for the main graph)
    attr: str  #: the owner's attribute holding it (``then_branch``, ``else_branch``, ``body``)
    path: tuple  #: ``((owner key, attr), ...)`` from the main graph, to find it in a copy
    depth: int  #: nesting depth (0: the main graph)
    branch: int  #: 0, or 1 / 2 inside the then / else branch of the innermost ``If``
    inputs: list  #: names of its formal inputs (the owner produces them)
    outputs: list  #: names of its outputs
    constants: set = field(default_factory=set)  #: initializers and Constant outputs
    values: dict = field(default_factory=dict)  #: small constant values (numpy)
    shapes: dict = field(default_factory=dict)  #: tensor -> (dims or None, elem_type)


@dataclass
class _Network:
    """What the stages of :func:`from_onnx` share about one model."""
    name: str
    model: Any  #: the weight-stripped copy (structure; not modified after the split)
    infer_model: Any  #: a copy of it that shape inference rewrites
    inputs: list  #: ValueInfoProto of the data inputs, in graph order (the Input nodes)
    ops: list  #: NodeProto of the operators (no Constants), sub-graphs' flattened in order
    scope_of: list  #: scope index of each operator
    scopes: list  #: :class:`_Scope` objects, 0 is the main graph
    scope_by_key: dict  #: (parent scope, owner key, attr) -> scope index
    constants: set  #: main-graph tensors read as weights or constants (no edges)
    weights: set  #: graph inputs that are weights
    constant_values: dict  #: small values of the main graph's Constant operators
    #: ``(scope, NodeProto)`` of the operators that compute constants (:func:`_of_constants`):
    #: no nodes; their outputs are constants of their scope
    constant_ops: list = field(default_factory=list)
    values: dict = field(default_factory=dict)  #: main-graph constant values after inference
    inference_error: str | None = None  #: ONNX's first strict-inference error, if any

    @property
    def shapes(self) -> dict:
        return self.scopes[0].shapes

    @functools.cached_property
    def _lookups(self) -> list:
        out = []
        for s in self.scopes:
            maps, p = [s.shapes], s.parent
            while p >= 0:
                maps.append(self.scopes[p].shapes)
                p = self.scopes[p].parent
            out.append(ChainMap(*maps) if len(maps) > 1 else s.shapes)
        return out

    def lookup(self, j: int):
        """The shapes operator ``j`` sees (its graph's, then the enclosing graphs')."""
        return self._lookups[self.scope_of[j]]

    def scope_lookup(self, s: int):
        """The shapes the operators of scope ``s`` see."""
        return self._lookups[s]

    @functools.cached_property
    def _value_chains(self) -> list:
        out = []
        for s in self.scopes:
            maps, p = [], s
            while p.parent >= 0:
                maps.append(p.values)
                p = self.scopes[p.parent]
            out.append(ChainMap(*maps, self.values) if maps else self.values)
        return out

    def scope_values(self, j: int):
        """The known constant values operator ``j`` sees (its graph's small constants and
        folded shape arithmetic first, then the enclosing graphs', the main graph's last)."""
        return self._value_chains[self.scope_of[j]]

    @functools.cached_property
    def _attr_cache(self) -> list:
        return [None] * len(self.ops)

    def attrs(self, j: int) -> dict:
        a = self._attr_cache[j]
        if a is None:
            a = self._attr_cache[j] = _attrs(self.ops[j])
        return a

    def describe(self, i: int) -> str:
        """How errors name node ``i`` (an operator: ``i >= len(inputs)``)."""
        j = i - len(self.inputs)
        n = self.ops[j]
        text = f"node {i} ({n.op_type} {n.name!r})" if n.name else f"node {i} ({n.op_type})"
        s = self.scopes[self.scope_of[j]]
        if s.owner >= 0:
            text += f" in the {s.attr} of {self.describe(s.owner + len(self.inputs))}"
        return text


def _split_constants(model, name: str) -> _Network:
    """Copy ``model`` without weight values (only integer, small and shape-read constants are
    kept: the copy is like NNLQP's files, and shape inference is faster), flatten its
    sub-graphs and separate constants, weight inputs, data inputs and operators."""
    import onnx

    if len(model.functions):  # model-local functions: their operators become nodes too
        import onnx.inliner

        try:
            model = onnx.inliner.inline_local_functions(model)
        except Exception as e:  # noqa: BLE001
            raise OnnxGraphError(f"{name}: cannot inline the model's local functions: "
                                 f"{' '.join(str(e).split())[:300]}") from None
    m = onnx.ModelProto()
    m.CopyFrom(model)
    _strip_in_place(m, _KEEP_SMALL + 1)
    g = m.graph
    ops, scope_of = [], []
    scopes = [_Scope(-1, -1, "", (), 0, 0, [], [vi.name for vi in g.output])]
    scope_by_key = {}
    constant_values = {}
    constant_ops = []

    def is_constant(s: int, t: str) -> bool:
        while s >= 0:
            if t in scopes[s].constants:
                return True
            s = scopes[s].parent
        return False

    def walk(graph, s: int):
        scope = scopes[s]
        for t in graph.initializer:
            scope.constants.add(t.name)
            scope.shapes[t.name] = (list(t.dims), t.data_type)
            if s > 0 and (v := small_value(t)) is not None:
                scope.values[t.name] = v
        for nd in graph.node:
            if _is_constant(nd):
                dims, elem, value = _constant(nd)
                scope.constants.add(nd.output[0])
                scope.shapes[nd.output[0]] = (dims, elem)
                if value is not None:
                    (constant_values if s == 0 else scope.values)[nd.output[0]] = value
                continue
            if _of_constants(nd, functools.partial(is_constant, s)):
                scope.constants.update(t for t in nd.output if t)
                constant_ops.append((s, nd))
                continue
            j = len(ops)
            ops.append(nd)
            scope_of.append(s)
            for a in nd.attribute:
                if a.type != onnx.AttributeProto.GRAPH:
                    continue
                key = next((t for t in nd.output if t), nd.name)
                branch = {"then_branch": 1, "else_branch": 2}.get(a.name, scope.branch) \
                    if nd.op_type == "If" else scope.branch
                sub = _Scope(s, j, a.name, scope.path + ((key, a.name),), scope.depth + 1, branch,
                             [vi.name for vi in a.g.input], [vi.name for vi in a.g.output])
                for vi in a.g.input:
                    sub.shapes[vi.name] = shape_of(vi)
                scopes.append(sub)
                scope_by_key[(s, key, a.name)] = len(scopes) - 1
                walk(a.g, len(scopes) - 1)

    walk(g, 0)
    constants = scopes[0].constants
    inputs, weights = _split_inputs(g, ops, constants)
    constants.update(weights)
    for vi in g.input:
        if vi.name in weights:
            scopes[0].shapes[vi.name] = shape_of(vi)
    if not inputs:
        raise OnnxGraphError(f"{name}: the graph has no data input (every graph input is a weight)")
    if not ops:
        raise OnnxGraphError(f"{name}: the graph has no operators besides constants")
    infer = onnx.ModelProto()
    infer.CopyFrom(m)
    return _Network(name, m, infer, inputs, ops, scope_of, scopes, scope_by_key, constants,
                    weights, constant_values, constant_ops=constant_ops)


# ------------------------------------------------------------------ nodes and edges
_OUTPUT_OFFSET = {"Loop": 1}  # Loop output k is body output k + 1 (body output 0: the condition)


def _tensor_edges(net: _Network) -> tuple[list[int], list[int]]:
    """Edges along tensors (module docstring) between node numbers (input ``i`` for ``i <
    len(net.inputs)``, then the operators); checks every read tensor has a producer in scope
    and that the graph is acyclic and in topological order."""
    k = len(net.inputs)
    scopes = net.scopes
    producers: list[dict] = [dict() for _ in scopes]
    for i, vi in enumerate(net.inputs):
        producers[0][vi.name] = [i]
    formal = [set(s.inputs) for s in scopes]
    for j, nd in enumerate(net.ops):
        for t in nd.output:
            if t:
                producers[net.scope_of[j]][t] = [k + j]

    def resolve(s: int, t: str):
        while s >= 0:
            if t in scopes[s].constants:
                return []
            if t in producers[s]:
                return producers[s][t]
            if t in formal[s]:
                return [k + scopes[s].owner]
            s = scopes[s].parent
        return None

    # a control-flow operator's outputs also come from its sub-graphs' producers (inner first)
    owned: dict[int, list[int]] = {}
    for s, scope in enumerate(scopes[1:], 1):
        owned.setdefault(scope.owner, []).append(s)
    for j in sorted(owned, reverse=True):
        nd, extra = net.ops[j], {}
        off = _OUTPUT_OFFSET.get(nd.op_type, 0)
        for s in owned[j]:
            outs = scopes[s].outputs
            for pos, t in enumerate(nd.output):
                if t and pos + off < len(outs):
                    for u in resolve(s, outs[pos + off]) or []:
                        if u != k + j:
                            extra.setdefault(t, []).append(u)
        for t, us in extra.items():
            producers[net.scope_of[j]][t] = [k + j] + sorted(set(us))
    src, dst = [], []
    for j, nd in enumerate(net.ops):
        s = net.scope_of[j]
        seen, inner = set(), False
        for t in nd.input:
            if t == "":
                continue
            us = resolve(s, t)
            if us is None:
                raise OnnxGraphError(
                    f"{net.name}: {net.describe(k + j)} reads tensor {t!r}, which no operator, "
                    f"graph input or initializer produces")
            for u in us:
                if u not in seen:
                    seen.add(u)
                    src.append(u)
                    dst.append(k + j)
                if s > 0 and (u == k + scopes[s].owner or
                              (u >= k and net.scope_of[u - k] == s)):
                    inner = True
        if s > 0 and not inner:  # reads only constants or captured tensors: hangs off its owner
            src.append(k + scopes[s].owner)
            dst.append(k + j)
    if any(a >= b for a, b in zip(src, dst)):
        cycle = find_cycle(src, dst, k + len(net.ops))
        if cycle is not None:
            names = " -> ".join(net.describe(u) for u in cycle + cycle[:1])
            raise OnnxGraphError(f"{net.name}: the graph has a cycle: {names}")
        a, b = next((a, b) for a, b in zip(src, dst) if a >= b)
        raise OnnxGraphError(
            f"{net.name}: {net.describe(b)} reads a tensor that {net.describe(a)} writes later: "
            f"ONNX requires the operators of a graph in topological order")
    return src, dst


# --------------------------------------------------------------------------- shapes
def _declare_inputs(net: _Network, batch_size: int | None, input_shapes) -> dict:
    """Resolve the data inputs' shapes and declare them in the inference copy (stale declared
    shapes dropped, -1 and named dims of the others made consistent)."""
    shapes = resolve_input_shapes(net.inputs, batch_size, input_shapes, net.name)
    g = net.infer_model.graph
    stale = declare_input_shapes(g, shapes)
    _sanitize_declared(g, input_symbols(net.inputs, shapes), stale)
    for vi in net.inputs:
        if vi.name in shapes:
            net.shapes[vi.name] = (list(shapes[vi.name]), vi.type.tensor_type.elem_type)
        else:  # a sequence, map or optional input
            net.shapes[vi.name] = shape_of(vi)
    return shapes


# -------------------------------------------------------------------- node features
def _reduce_shape(dims: Sequence[int]) -> list[float]:
    """Rank-r shape -> 4 numbers: zero-padded at the end, ranks > 4 fold the tail by product."""
    dims = list(dims)
    if len(dims) > 4:
        dims = dims[:3] + [math.prod(dims[3:])]
    return [float(d) for d in dims] + [0.0] * (4 - len(dims))


def _op_name(nd) -> str:
    return nd.op_type if nd.domain in ("", "ai.onnx") else f"{nd.domain}.{nd.op_type}"


def _node_features(net: _Network, repeats: list[float]
                   ) -> tuple[list[int], list[list[float]], list[list[float]]]:
    """``op``, ``op_attrs`` and ``out_shape`` rows of every node (inputs first). An operator
    whose first output's shape is unknown is an error, unless it never runs (``repeats`` 0:
    the branch of an ``If`` that is not counted, which need not be valid for these input
    shapes; its ``out_shape`` is zeros)."""
    k = len(net.inputs)
    op = [op_index("Input")] * k
    other = op_index("Other")
    op_attrs = [[0.0] * len(OP_ATTR_FIELDS) for _ in range(k)]
    out_shape = [_reduce_shape(net.shapes[vi.name][0]) for vi in net.inputs]
    unknown: dict[str, int] = {}
    for j, nd in enumerate(net.ops):
        idx = op_index(nd.op_type)
        op.append(idx)
        if idx == other:
            unknown[_op_name(nd)] = unknown.get(_op_name(nd), 0) + 1
        lookup = net.lookup(j)
        out = lookup.get(nd.output[0]) if nd.output and nd.output[0] else ([], 0)
        if (out is None or out[0] is None) and repeats[k + j] == 0:
            out = ([], 0)
        if out is None or out[0] is None:
            why = f" (ONNX shape inference: {net.inference_error})" if net.inference_error else ""
            raise OnnxGraphError(
                f"{net.name}: the shape of output {nd.output[0] if nd.output else '?'!r} of "
                f"{net.describe(k + j)} could not be inferred{why}")
        check_dims(out[0], f"output {nd.output[0]!r} of {net.describe(k + j)}", net.name)
        try:
            op_attrs.append(op_attr_row(nd, net.attrs(j), lookup))
        except OnnxGraphError as e:
            raise OnnxGraphError(f"{net.name}: {net.describe(k + j)}: {e}") from None
        out_shape.append(_reduce_shape(out[0]))
    if unknown:
        names = ", ".join(f"{n} ({c} node{'s' if c > 1 else ''})" for n, c in sorted(unknown.items()))
        warnings.warn(f"{net.name}: operators outside the ONNX operator vocabulary (version "
                      f"{ONNX_OP_VOCAB_VERSION}) map to 'Other': {names}",
                      UnknownOperatorWarning, stacklevel=3)
    return op, op_attrs, out_shape


def _control_flow_fields(net: _Network) -> tuple[list[int], list[int], list[float], list[float]]:
    """``subgraph_depth``, ``if_branch``, ``repeats`` and ``trip_count`` of every node."""
    k = len(net.inputs)
    scope_repeats = [1.0] * len(net.scopes)
    trip = [0.0] * (k + len(net.ops))
    for s, scope in enumerate(net.scopes[1:], 1):  # parents come before their sub-graphs
        j = scope.owner
        nd = net.ops[j]
        r = scope_repeats[net.scope_of[j]]
        if nd.op_type == "If":
            r = r if scope.attr == counted_branch(net, j) else 0.0
        elif nd.op_type == "Loop":
            t = static_trip_count(nd, net.scope_values(j))
            trip[k + j] = float(t or 0)
            r = r * (t if t is not None else 1)
        elif nd.op_type == "Scan":
            t = _scan_iterations(net, j)
            trip[k + j] = float(t or 0)
            r = r * (t if t is not None else 1)
        scope_repeats[s] = r
    depth = [0] * k + [net.scopes[s].depth for s in net.scope_of]
    branch = [0] * k + [net.scopes[s].branch for s in net.scope_of]
    repeats = [1.0] * k + [scope_repeats[s] for s in net.scope_of]
    return depth, branch, repeats, trip


def _scan_iterations(net: _Network, j: int) -> int | None:
    """Iterations of Scan ``j``: the length of its first scan input along its scan axis."""
    nd, a = net.ops[j], net.attrs(j)
    n_scan = a.get("num_scan_inputs")
    if not isinstance(n_scan, int) or n_scan < 1:
        return None
    first = len(nd.input) - n_scan  # opset >= 9: [states..., scan inputs...]
    if first < 0 or not nd.input[first]:
        return None
    s = net.lookup(j).get(nd.input[first])
    if s is None or s[0] is None or not s[0]:
        return None
    axes = a.get("scan_input_axes") or [0]
    axis = axes[0] if isinstance(axes[0], int) else 0
    if net.model.opset_import and any(o.domain in ("", "ai.onnx") and o.version < 9
                                      for o in net.model.opset_import):
        axis = 1  # opset 8: [batch, sequence, ...]
    return s[0][axis % len(s[0])]


@functools.lru_cache(maxsize=None)
def _itemsize(elem_type: int) -> int:
    """Bytes per element of an ONNX element type (0 for a non-tensor, 4 for one numpy does
    not know)."""
    import onnx

    if elem_type == 0:
        return 0
    try:
        return onnx.helper.tensor_dtype_to_np_dtype(elem_type).itemsize
    except Exception:
        return 4


def _bytes(lookup, t: str) -> float:
    s = lookup.get(t) if t else None
    return math.prod(s[0]) * _itemsize(s[1]) if s is not None and s[0] is not None else 0.0


def _static_row(net: _Network, repeats: list[float], batch: int) -> tuple[list[float], list[list[float]]]:
    """The ``static`` row: FLOPs (quantised compute always, other operators with
    floating-point outputs), parameters (floating-point initializers of every graph and weight
    inputs) and the bytes every operator reads and writes, each operator times its repeats;
    and the ``node_cost`` rows of every node (inputs first), each times its repeats."""
    floating = floating_types()
    k = len(net.inputs)
    costs = [node_cost(0.0, 0.0, _bytes(net.shapes, vi.name), 0.0) for vi in net.inputs]
    fixed = net.constants | net.weights
    for j, nd in enumerate(net.ops):
        r = repeats[k + j]
        if r == 0:
            costs.append(node_cost(0.0, 0.0, 0.0, 0.0))
            continue
        lookup = net.lookup(j)
        out = lookup[nd.output[0]] if nd.output and nd.output[0] else ([], 0)
        f = 0.0
        try:
            if out[1] in floating or nd.op_type in COMPUTE_OPS:
                f = node_flops(nd, net.attrs(j), lookup, out[0])
                if not (math.isfinite(f) and f >= 0):
                    raise ValueError(f"{f} FLOPs")
        except (TypeError, IndexError, KeyError, ValueError, ZeroDivisionError) as e:
            raise OnnxGraphError(
                f"{net.name}: cannot count the FLOPs of {net.describe(k + j)}: an input "
                f"shape is unknown or invalid ({type(e).__name__}: {e})") from None
        read = sum(_bytes(lookup, t) for t in nd.input)
        weights = sum(_bytes(lookup, t) for t in nd.input if t in fixed)
        costs.append(node_cost(f * r, read * r, sum(_bytes(lookup, t) for t in nd.output) * r,
                               weights * r))
    params = 0
    for scope_graph in _graphs(net.model.graph):
        params += sum(math.prod(t.dims) for t in scope_graph.initializer if t.data_type in floating)
    params += sum(math.prod(net.shapes[w][0] or [0]) for w in net.weights
                  if net.shapes[w][1] in floating)
    ops = costs[k:]
    return (static_features(batch, 1e6 * sum(c[0] for c in ops), params,
                            1e6 * sum(c[1] + c[2] for c in ops)), costs)


def _graphs(graph):
    """``graph`` and every sub-graph in it."""
    import onnx

    yield graph
    for nd in _all_nodes(graph):
        for a in nd.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                yield a.g


# ---------------------------------------------------------------------------- all
def from_onnx(model_or_path, batch_size: int | None = None, *,
              input_shapes: Mapping[str, Sequence[int]] | None = None, name: str | None = None,
              y: float | None = None, arch_id: int | None = None, check: bool = True) -> Data:
    """Convert an ONNX model (path or ``onnx.ModelProto``) into an architecture graph.

    Args:
        model_or_path: path of a ``.onnx`` file or a loaded ``onnx.ModelProto``.
        batch_size (int, optional): the first dimension of every data input (also of those
            ``input_shapes`` gives); shapes are re-inferred. ``None`` keeps the declared batch
            size, and an unknown one becomes 1. The model must be batch-agnostic (no reshape
            hard-coding the batch size). Models whose inputs do not all start with the batch
            (a recurrent state ``[layers, batch, hidden]``) take ``input_shapes`` instead.
            (default: ``None``)
        input_shapes (dict, optional): ``{graph input name: tuple of ints}``, the shapes of
            inputs with unknown dimensions (``-1``, ``?``, empty or named: ``batch``, ``seq``,
            ``height``, ...). A dimension name shared by several inputs gets one value
            everywhere; see :mod:`~pyg_nar.networks.onnx_shapes` for the rules. Inputs left
            unresolved are one error listing each, with the text to pass. (default: ``None``)
        name (str, optional): how error messages refer to the model (default: the path /
            graph name).
        y (float, optional): target stored as ``data.y`` (latency in ms for NNLQP).
        arch_id (int, optional): stored as ``data.arch_id``.
        check (bool): run ``onnx.checker`` (on a skeleton, see
            :mod:`~pyg_nar.networks.onnx_check`); the structural checks always run.
            (default: ``True``)

    Returns a :class:`~torch_geometric.data.Data` with ``op``, ``edge_index``, ``op_attrs``
    ``[N, 8]``, ``out_shape`` ``[N, 4]``, ``static`` ``[1, 4]``, ``node_cost`` ``[N, 4]`` and the
    control-flow fields ``subgraph_depth``, ``if_branch``, ``repeats``, ``trip_count`` ``[N]``
    (module docstring and :mod:`pyg_nar.data`).

    Raises :class:`OnnxGraphError` (a ``ValueError``) for a file that is not ONNX, a model that
    breaks ONNX's rules (:mod:`~pyg_nar.networks.onnx_check`: two producers of one tensor, an
    output nothing produces, duplicate inputs, wrong attribute types, data that does not match
    its dims, pathological sizes, anything ``onnx.checker`` rejects), a tensor read but never
    written, a cycle, bad ``batch_size`` / ``input_shapes``, unresolved input dimensions, or an
    operator whose output shape cannot be determined.
    """
    model, name = load_onnx(model_or_path, name)
    batch_size, input_shapes = check_arguments(batch_size, input_shapes, name)
    check_structure(model, name)
    net = _split_constants(model, name)
    src, dst = _tensor_edges(net)
    if check:
        run_checker(net.model, name)
    resolved = _declare_inputs(net, batch_size, input_shapes)
    infer_shapes(net)
    for scope in net.scopes:
        for t, s in scope.shapes.items():
            if s is not None and s[0] is not None:
                check_dims(s[0], f"tensor {t!r}", name)
    depth, branch, repeats, trip = _control_flow_fields(net)
    op, op_attrs, out_shape = _node_features(net, repeats)
    first = next((d[0] for d in resolved.values() if d), 1)
    batch = int(batch_size if batch_size is not None else first)
    static, costs = _static_row(net, repeats, batch)
    n, width = len(op), len(OP_ATTR_FIELDS)
    try:
        return arch_data(
            op, [src, dst], y, name=name, num_ops=len(ONNX_OP_VOCAB), arch_id=arch_id,
            renumber=True,
            op_attrs=torch.tensor(op_attrs, dtype=torch.float).view(n, width),
            out_shape=torch.tensor(out_shape, dtype=torch.float).view(n, 4),
            static=torch.tensor([static], dtype=torch.float),
            node_cost=torch.tensor(costs, dtype=torch.float).view(n, len(NODE_COST_FIELDS)),
            subgraph_depth=torch.tensor(depth, dtype=torch.long),
            if_branch=torch.tensor(branch, dtype=torch.long),
            repeats=torch.tensor(repeats, dtype=torch.float),
            trip_count=torch.tensor(trip, dtype=torch.float),
        )
    except OnnxGraphError:
        raise
    except ArchitectureError as e:
        raise OnnxGraphError(str(e)) from None
