r"""Input shapes and shape inference for :func:`~pyg_nar.networks.from_onnx`.

**Input shapes** (:func:`resolve_input_shapes`). A data input's declared dimension is known
(a positive ``dim_value``) or unknown: ``-1`` (paddle2onnx writes it), an empty dimension, the
name ``"?"`` or any other name (``batch``, ``seq``, ``height``, ...). Unknown dimensions are
resolved consistently, in this order:

1. ``input_shapes`` gives whole shapes (its rank must be the declared one);
2. ``batch_size`` is the first dimension of every data input (of rank >= 1), also of those
   ``input_shapes`` gives;
3. a **named** dimension gets one value everywhere it occurs: once it is known in one input
   (from 1. or 2.), it is known in every input that names it (``seq`` of ``input_ids`` and
   ``attention_mask``; ``batch`` of an audio input and of a recurrent state ``[2, batch, 128]``);
   two different values for one name are an error;
4. without ``batch_size``, a first dimension still unknown is the batch and becomes 1 (and
   its name gets 1 everywhere);
5. whatever is left unknown is **one** error listing every such input and dimension, with the
   ``input_shapes=`` and ``--input-shape`` text to pass.

A declared dimension of 0 or below -1 is an error (unless ``input_shapes`` replaces the input).

**Shape inference** (:func:`infer_shapes`) uses ONNX's own machinery, with fallbacks where it
breaks: ``onnx.shape_inference.infer_shapes`` (strict, with data propagation; when that fails:
without data propagation, then without the file's declared intermediate shapes, then lenient),
re-run after

* evaluating the shape arithmetic ONNX cannot follow (``Shape`` of known tensors, integer and
  small float constants, ``Where`` / ``Equal`` / ``Range`` ... on them), with ``onnx.reference``
  at the model's own opset, bounded by :data:`~pyg_nar.networks.onnx_check.FOLD_MAX_ELEMENTS`
  (checked before evaluating);
* rules of its own for what ONNX cannot infer: ``If`` outputs whose branches differ (the
  counted branch's shapes, see :func:`counted_branch`), ``Loop`` bodies (loop-carried shapes
  are taken as invariant; scan outputs are ``[trip count] + body output``), ``STFT`` (ONNX's
  rule ignores ``onesided``), recurrent layers without a rule (``DynamicQuantizeLSTM``) and the
  ``ai.onnx.ml`` operators seen in shipped models;
* onnxruntime's symbolic shape inference (``onnxruntime.tools.symbolic_shape_infer``) once,
  when the above make no progress and onnxruntime is installed.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

from pyg_nar.errors import OnnxGraphError
from pyg_nar.networks.onnx_check import FOLD_MAX_ELEMENTS

__all__ = ["resolve_input_shapes", "declare_input_shapes", "input_symbols", "shape_of",
           "infer_shapes", "counted_branch", "static_trip_count", "NON_TENSOR"]

#: ``elem_type`` recorded for values that are not tensors (sequences, maps, optionals): their
#: dims are ``[]`` and their ``out_shape`` row is zeros.
NON_TENSOR = 0


def shape_of(value_info):
    """``(dims or None, elem_type)`` of a ValueInfoProto: ``None`` when the rank or any dim is
    unknown; ``([], NON_TENSOR)`` for a sequence, map or optional value."""
    kind = value_info.type.WhichOneof("value")
    if kind != "tensor_type":
        return ([], NON_TENSOR) if kind is not None else (None, NON_TENSOR)
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return None, t.elem_type
    dims = [d.dim_value for d in t.shape.dim]
    if 0 not in dims:  # every dim has a (positive) value: the common case, and fast
        return (dims, t.elem_type) if min(dims, default=1) > 0 else (None, t.elem_type)
    dims = []
    for d in t.shape.dim:
        if d.HasField("dim_value") and d.dim_value >= 0:
            dims.append(int(d.dim_value))
        else:
            return None, t.elem_type
    return dims, t.elem_type


# ------------------------------------------------------------------------ input shapes
def _declared(vi, name: str, replaced: bool):
    """Declared dims of a data input: ints, names (str) and None (anonymous unknown); None for
    an unknown rank."""
    t = vi.type.tensor_type
    if not t.HasField("shape"):
        return None
    dims = []
    for pos, d in enumerate(t.shape.dim):
        if d.HasField("dim_value"):
            v = int(d.dim_value)
            if v == -1:
                dims.append(None)
            elif v <= 0 and not replaced:
                raise OnnxGraphError(f"{name}: graph input {vi.name!r} declares dimension {pos} "
                                     f"as {v}; dimensions must be positive (or -1: unknown)")
            else:
                dims.append(v)
        elif d.dim_param and d.dim_param != "?":
            dims.append(d.dim_param)
        else:
            dims.append(None)
    return dims


def resolve_input_shapes(inputs: Sequence, batch_size: int | None = None,
                         input_shapes: Mapping[str, Sequence[int]] | None = None,
                         name: str = "<onnx model>") -> dict[str, list[int]]:
    """The shape of every tensor data input (``onnx.ValueInfoProto`` of
    :func:`~pyg_nar.networks.data_inputs`), resolved as the module docstring says.

    ``batch_size`` and ``input_shapes`` must be checked already
    (:func:`~pyg_nar.networks.onnx_check.check_arguments`). Raises
    :class:`~pyg_nar.errors.OnnxGraphError` for a name in ``input_shapes`` that is no data
    input, a rank that differs from the declared one, a name given two values, or inputs left
    unresolved (one error listing them all).
    """
    input_shapes = dict(input_shapes or {})
    tensors = [vi for vi in inputs if vi.type.WhichOneof("value") == "tensor_type"]
    names = [vi.name for vi in tensors]
    unknown = [k for k in input_shapes if k not in names]
    if unknown:
        others = [vi.name for vi in inputs if vi.name in unknown]
        what = (f"{', '.join(map(repr, others))} not a tensor" if others else
                f"{', '.join(map(repr, unknown))} not a data input")
        raise OnnxGraphError(f"{name}: input_shapes names {what}; the tensor data inputs are "
                             f"{', '.join(map(repr, names)) or 'none'}")
    declared = {vi.name: _declared(vi, name, vi.name in input_shapes) for vi in tensors}
    dims: dict[str, list] = {}
    for n in names:
        decl = declared[n]
        if n in input_shapes:
            given = list(input_shapes[n])
            if decl is not None and len(decl) != len(given):
                raise OnnxGraphError(f"{name}: input_shapes[{n!r}] = {tuple(given)} has rank "
                                     f"{len(given)}, but graph input {n!r} has rank {len(decl)}")
            dims[n] = given
        else:
            dims[n] = None if decl is None else [d if isinstance(d, int) else None for d in decl]
    if batch_size is not None:
        for d in dims.values():
            if d:
                d[0] = int(batch_size)
    symbols: dict[str, tuple] = {}

    def bind():
        for n in names:
            for pos, sym in enumerate(declared[n] or []):
                if isinstance(sym, str) and dims[n] is not None and dims[n][pos] is not None:
                    v = dims[n][pos]
                    if sym in symbols and symbols[sym][0] != v:
                        raise OnnxGraphError(
                            f"{name}: dimension {sym!r} is {symbols[sym][0]} in graph input "
                            f"{symbols[sym][1]!r} but {v} in graph input {n!r}; a named dimension "
                            f"has one value in every input")
                    symbols.setdefault(sym, (v, n))
        for n in names:
            for pos, sym in enumerate(declared[n] or []):
                if isinstance(sym, str) and dims[n] is not None and dims[n][pos] is None \
                        and sym in symbols:
                    dims[n][pos] = symbols[sym][0]

    bind()
    if batch_size is None:
        for d in dims.values():
            if d and d[0] is None:
                d[0] = 1
        bind()
    missing = [(n, None) if dims[n] is None else (n, [p for p, v in enumerate(dims[n]) if v is None])
               for n in names]
    missing = [(n, p) for n, p in missing if p is None or p]
    if missing:
        raise OnnxGraphError(_unresolved_message(name, missing, dims, declared))
    return dims


def _unresolved_message(name, missing, dims, declared) -> str:
    parts, py, cli = [], [], []
    for n, positions in missing:
        if positions is None:
            parts.append(f"graph input {n!r} has no declared shape (its rank is unknown)")
            template = ["D0", "D1", "..."]
        else:
            labels = [declared[n][p] if isinstance(declared[n][p], str) else f"D{p}"
                      for p in positions]
            parts.append(f"graph input {n!r} has an unknown dimension"
                         f"{'s' if len(positions) > 1 else ''} "
                         + ", ".join(f"{p} ({lab})" for p, lab in zip(positions, labels)))
            template = [str(v) if v is not None else (declared[n][p] if isinstance(declared[n][p], str)
                                                      else f"D{p}")
                        for p, v in enumerate(dims[n])]
        py.append(f"{n!r}: ({', '.join(template)}{',' if len(template) == 1 else ''})")
        cli.append(f"--input-shape {n}={','.join(template)}")
    return (f"{name}: {'; '.join(parts)}. from_onnx needs fixed input shapes: give them, with "
            f"the names replaced by sizes, as input_shapes={{{', '.join(py)}}} (Python) or "
            f"{' '.join(cli)} (pyg-nar predict / measure)")


def declare_input_shapes(graph, shapes: Mapping[str, Sequence[int]]) -> bool:
    """Write ``shapes`` into the graph inputs of ``graph`` (their dims replaced). Returns
    whether a declared *fixed* dimension changed (then the shapes inferred or declared for
    the old ones are stale)."""
    changed = False
    for vi in graph.input:
        if vi.name not in shapes:
            continue
        t = vi.type.tensor_type
        old = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
               for d in t.shape.dim] if t.HasField("shape") else []
        new = [int(v) for v in shapes[vi.name]]
        changed |= any(o is not None and o != v for o, v in zip(old, new))
        t.ClearField("shape")
        t.shape.SetInParent()
        for v in new:
            t.shape.dim.add().dim_value = v
    return changed


def _sanitize_declared(graph, symbols: Mapping[str, int], stale: bool, main: bool = True) -> None:
    """Declared intermediate and output shapes of ``graph`` and its sub-graphs: all dropped
    when ``stale``; otherwise named dims take their resolved values and dims of ``-1`` or
    below (paddle2onnx) become unknown, so strict inference does not trip over them. In the
    main graph a declared shape still not fully known is dropped (exporters declare outputs
    of the wrong rank, ``[1, "seqlen"]`` for a rank-3 tensor, which ONNX's inference keeps)."""
    import onnx

    if stale:
        del graph.value_info[:]
    for vi in list(graph.value_info) + list(graph.output):
        t = vi.type.tensor_type if vi.type.HasField("tensor_type") else None
        if t is None or not t.HasField("shape"):
            continue
        if stale:
            t.ClearField("shape")
            continue
        for d in t.shape.dim:
            if d.HasField("dim_value") and d.dim_value <= 0 and d.dim_value != 0:
                d.Clear()
            elif d.HasField("dim_param") and d.dim_param in symbols:
                v = symbols[d.dim_param]
                d.Clear()
                d.dim_value = v
        if main and not all(d.HasField("dim_value") for d in t.shape.dim):
            t.ClearField("shape")
    for nd in graph.node:
        for a in nd.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                _sanitize_declared(a.g, symbols, stale, False)
            elif a.type == onnx.AttributeProto.GRAPHS:
                for g in a.graphs:
                    _sanitize_declared(g, symbols, stale, False)


def input_symbols(inputs: Sequence, shapes: Mapping[str, Sequence[int]]) -> dict[str, int]:
    """``{dim name: value}`` that resolved input ``shapes`` give the names the inputs declare."""
    out = {}
    for vi in inputs:
        t = vi.type.tensor_type if vi.type.HasField("tensor_type") else None
        if t is None or vi.name not in shapes or not t.HasField("shape"):
            continue
        for d, v in zip(t.shape.dim, shapes[vi.name]):
            if d.dim_param and d.dim_param != "?":
                out.setdefault(d.dim_param, int(v))
    return out


# ---------------------------------------------------------------------- the inference loop
_MAX_ROUNDS = 8
#: (strict, data propagation) modes tried in turn when ONNX's inference raises
_MODES = ((True, True), (True, False), (False, True), (False, False))
#: Operators evaluated (with ``onnx.reference``) when all their inputs are known small tensors.
_FOLDABLE = {"Gather", "Unsqueeze", "Squeeze", "Concat", "Slice", "Cast", "Equal", "Where",
             "ConstantOfShape", "Mul", "Add", "Sub", "Div", "Range", "Reshape", "Expand",
             "Identity", "ReduceProd", "Max", "Min", "Not", "Less", "Greater", "And", "Or",
             "Floor", "Ceil", "Neg", "Abs", "Size", "Tile", "Transpose", "Sqrt", "Mod", "Pow",
             "Sign", "ReduceSum", "ReduceMax", "ReduceMin", "Split", "Flatten", "Clip",
             "LessOrEqual", "GreaterOrEqual", "Xor", "Round", "Reciprocal", "CastLike"}
#: Private domain the inference copy moves operators to whose ONNX rule is replaced by ours.
_OWN_DOMAIN = "pyg_nar.shapes"
#: Operators whose ONNX shape rule is wrong for some attributes (STFT ignores ``onesided``).
_REPLACED = {"STFT"}


def _known(s) -> bool:
    return s is not None and s[0] is not None


def infer_shapes(net) -> None:
    """Fill the shapes of every tensor of ``net`` (``net.scopes[k].shapes``), the main graph's
    in ``net.shapes``. ``net`` is the converter's ``_Network``; its ``infer_model`` is the copy
    this rewrites (folded constants, declared shapes, private domains)."""
    import onnx

    m = net.infer_model
    replaced = False
    for nd in m.graph.node:
        if nd.op_type in _REPLACED and nd.domain in ("", "ai.onnx"):
            nd.domain = _OWN_DOMAIN
            replaced = True
    if replaced:
        m.opset_import.append(onnx.helper.make_opsetid(_OWN_DOMAIN, 1))
    state = _State(net)
    state.run_onnx()
    tried_ort = False
    for _ in range(_MAX_ROUNDS):
        if all(_known(net.lookup(j).get(t)) for j, nd in enumerate(net.ops) for t in nd.output[:1]):
            break
        progress = state.apply_rules()
        progress |= state.fold()
        if not progress and not tried_ort:
            tried_ort = True
            progress = state.run_ort()
        if not progress:
            break
        state.run_onnx()
    state._init_values()
    net.inference_error = state.first_error


class _State:
    """What the rounds of :func:`infer_shapes` share."""

    def __init__(self, net):
        self.net = net
        self.mode = 0
        self.cleared = False
        self.first_error: str | None = None
        self.added: list[tuple] = []  # (scope index, ValueInfoProto) our rules declared
        self.values = net.values  # main-graph tensors with known values (folding)
        self.values_ready = False
        self.folded: set = set()
        self.opsets = list(net.infer_model.opset_import)

    # ---------------------------------------------------------------- ONNX's inference
    def run_onnx(self) -> None:
        import onnx

        net = self.net
        while True:
            strict, data_prop = _MODES[self.mode]
            try:
                inferred = onnx.shape_inference.infer_shapes(net.infer_model, strict_mode=strict,
                                                             data_prop=data_prop)
                break
            except Exception as e:  # onnx raises InferenceError, RuntimeError, ValidationError
                if self.first_error is None:
                    self.first_error = " ".join(str(e).split())[:500]
                if self.mode == 1 and not self.cleared:
                    self._clear_declared()
                    self.mode = 0
                    continue
                self.mode += 1
                if self.mode == len(_MODES):
                    raise OnnxGraphError(f"{net.name}: shape inference failed: "
                                         f"{self.first_error}") from None
        self._record(inferred.graph, 0)

    def _record(self, graph, scope: int) -> None:
        import onnx

        shapes = self.net.scopes[scope].shapes
        for vi in list(graph.input) + list(graph.value_info) + list(graph.output):
            s = shapes.get(vi.name)
            if s is None or s[0] is None:
                shapes[vi.name] = shape_of(vi)
        for nd in graph.node:
            for a in nd.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    sub = self.net.scope_by_key.get((scope, _node_key(nd), a.name))
                    if sub is not None:
                        self._record(a.g, sub)

    def _clear_declared(self) -> None:
        """Drop the file's declared intermediate and output shapes of the inference copy
        (they may contradict what ONNX infers); keep those our rules added."""
        self.cleared = True
        _sanitize_declared(self.net.infer_model.graph, {}, stale=True)
        for scope, vi in self.added:
            self._graph_of(scope).value_info.append(vi)

    def _graph_of(self, scope: int):
        """The GraphProto of ``scope`` in the inference copy."""
        import onnx

        g = self.net.infer_model.graph
        for key, attr in self.net.scopes[scope].path:
            nd = next((n for n in g.node if _node_key(n) == key), None)
            a = next((a for a in nd.attribute if a.name == attr)) if nd is not None else None
            if a is None or a.type != onnx.AttributeProto.GRAPH:
                raise OnnxGraphError(f"{self.net.name}: sub-graph {attr!r} of {key!r} not found")
            g = a.g
        return g

    def declare(self, scope: int, tensor: str, dims, elem_type: int) -> None:
        import onnx

        vi = onnx.helper.make_tensor_value_info(tensor, elem_type or onnx.TensorProto.FLOAT,
                                                [int(d) for d in dims])
        self.added.append((scope, vi))
        g = self._graph_of(scope)
        for old in g.value_info:
            if old.name == tensor:
                old.CopyFrom(vi)
                break
        else:
            g.value_info.append(vi)
        for out in g.output:
            if out.name == tensor:
                out.CopyFrom(vi)
        self.net.scopes[scope].shapes[tensor] = ([int(d) for d in dims], elem_type)

    # ------------------------------------------------------------------ our own rules
    def apply_rules(self) -> bool:
        net = self.net
        progress = False
        for j, nd in enumerate(net.ops):
            rule = _RULES.get(nd.op_type)
            if rule is None:
                continue
            lookup = net.lookup(j)
            outs = [t for t in nd.output if t]
            if outs and all(_known(lookup.get(t)) for t in outs) and nd.op_type != "Loop":
                continue
            result = rule(self, j, nd, net.attrs(j), lookup)
            if result is True:
                progress = True
                continue
            for t, s in zip(nd.output, result or []):
                if t and s is not None and s[0] is not None and not _known(lookup.get(t)):
                    self.declare(net.scope_of[j], t, s[0], s[1])
                    progress = True
        return progress

    def scope_values(self, j: int):
        """The known constant values node ``j`` sees (:meth:`_Network.scope_values`)."""
        self._init_values()
        return self.net.scope_values(j)

    def value(self, j: int, tensor: str):
        """The value of ``tensor`` as read by node ``j``, or ``None``."""
        return self.scope_values(j).get(tensor)

    # -------------------------------------------------------------------- folding
    def _init_values(self) -> None:
        import numpy as np

        if self.values_ready:
            return
        self.values_ready = True
        net = self.net
        for t in net.infer_model.graph.initializer:
            v = small_value(t)
            if v is not None:
                self.values[t.name] = v
        for name, v in net.constant_values.items():
            self.values.setdefault(name, v)
        for k, v in list(self.values.items()):
            self.values[k] = np.asarray(v)
        for s, nd in net.constant_ops:  # in order: one may read another
            self._constant_op(s, nd)

    def _constant_op(self, s: int, nd) -> None:
        """The value of an operator that computes a constant (small, with known inputs)."""
        net = self.net
        local = self.values if s == 0 else net.scopes[s].values
        out = self._node_value(nd, node_attrs(nd), net._value_chains[s], net._lookups[s], None)
        for t, v in zip(nd.output, out or []):
            if t:
                local[t] = v

    def _node_value(self, nd, attrs: dict, values, shapes, out_shape) -> list | None:
        """The outputs (numpy) of node ``nd`` when ``values`` know its inputs (``Shape`` /
        ``Size``: when ``shapes`` know its input's dims), all of at most
        :data:`~pyg_nar.networks.onnx_check.FOLD_MAX_ELEMENTS` elements; else ``None``."""
        import numpy as np

        ins = [t for t in nd.input if t]
        if nd.op_type in ("Shape", "Size"):
            dims = shapes.get(ins[0], (None,))[0] if ins else None
            if dims is None:
                return None
            if nd.op_type == "Size":
                return [np.array(math.prod(dims), dtype=np.int64)]
            start, end = attrs.get("start", 0), attrs.get("end", None)
            if not isinstance(start, int) or not isinstance(end, (int, type(None))):
                return None
            return [np.array(dims[start:end], dtype=np.int64)]
        if nd.op_type not in _FOLDABLE or not all(t in values for t in ins):
            return None
        if nd.op_type == "Identity":
            return [np.asarray(values[ins[0]])]
        bound = _fold_bound(nd, [values[t] for t in ins], attrs, out_shape)
        if bound is None or bound > FOLD_MAX_ELEMENTS:
            return None
        try:
            out = self._evaluate(nd, {t: values[t] for t in ins})
        except Exception:  # noqa: BLE001 - anything the reference runtime refuses
            return None
        if any(np.size(v) > FOLD_MAX_ELEMENTS for v in out):
            return None
        return [np.asarray(v) for v in out]

    def fold(self) -> bool:
        """Evaluate the shape arithmetic whose inputs are known, in every graph, and replace
        it, in the inference copy only, by initializers (ONNX's data propagation does not
        reach into sub-graphs, nor through ``Where``, ``Equal``, ...). Returns whether anything
        was folded."""
        import onnx
        from onnx import numpy_helper

        net = self.net
        self._init_values()
        folded: dict[int, dict] = {}
        for j, nd in enumerate(net.ops):
            if not nd.output or not nd.output[0] or nd.domain not in ("", "ai.onnx"):
                continue
            s = net.scope_of[j]
            values = self.scope_values(j)
            if s > 0:  # ONNX's sub-graph inference sees no data of the enclosing graphs
                for t in nd.input:
                    if (t and t in values and t not in net.scopes[s].values
                            and (s, t) not in self.folded):
                        self.folded.add((s, t))
                        folded.setdefault(s, {})[t] = values[t]
            if nd.output[0] in values:
                continue
            shapes = net.lookup(j)
            out = self._node_value(nd, net.attrs(j), values, shapes, shapes.get(nd.output[0]))
            if out is None:
                continue
            local = self.values if s == 0 else net.scopes[s].values
            for t, v in zip(nd.output, out):
                if not t:
                    continue
                local[t] = v
                folded.setdefault(s, {})[t] = v
                try:
                    net.scopes[s].shapes[t] = (list(v.shape),
                                               onnx.helper.np_dtype_to_tensor_dtype(v.dtype))
                except (KeyError, ValueError, TypeError):
                    pass
        for s, nd in net.constant_ops:  # computed constants become initializers once
            local = self.values if s == 0 else net.scopes[s].values
            for t in nd.output:
                if t and t in local and t not in self.folded:
                    self.folded.add(t)
                    folded.setdefault(s, {})[t] = local[t]
        for s, new in folded.items():
            g = self._graph_of(s)
            have = {t.name for t in g.initializer}
            for t, v in new.items():
                if t not in have:
                    try:
                        g.initializer.append(numpy_helper.from_array(v, t))
                        have.add(t)
                    except (TypeError, ValueError):
                        pass
            # operators whose every output is now an initializer go (Constants stay)
            keep = [nd for nd in g.node if nd.op_type == "Constant"
                    or not (nd.output and all(t in have for t in nd.output if t))]
            del g.node[:]
            g.node.extend(keep)
            del g.value_info[:]
            for scope, vi in self.added:
                if scope == s:
                    g.value_info.append(vi)
        return bool(folded)

    def _evaluate(self, nd, feeds: dict) -> list:
        """Run one node with ``onnx.reference`` at the model's own opsets (an opset-11
        Unsqueeze takes its axes as an attribute, an opset-13 one as an input)."""
        import onnx
        from onnx.reference import ReferenceEvaluator

        graph = onnx.helper.make_graph(
            [nd], "fold", [onnx.helper.make_tensor_value_info(t, 0, None) for t in feeds],
            [onnx.helper.make_tensor_value_info(t, 0, None) for t in nd.output if t])
        model = onnx.helper.make_model(graph, opset_imports=self.opsets,
                                       ir_version=max(self.net.infer_model.ir_version, 3))
        return ReferenceEvaluator(model).run(None, feeds)

    # -------------------------------------------------------------- onnxruntime's rules
    def run_ort(self) -> bool:
        """onnxruntime's symbolic shape inference on the inference copy: the main graph's
        tensors still unknown that it shapes fully are declared. Returns whether any was."""
        import onnx

        try:
            from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference
        except ImportError:
            return False
        net = self.net
        try:
            copy = onnx.ModelProto()
            copy.CopyFrom(net.infer_model)
            out = _ort_symbolic(SymbolicShapeInference, copy)
        except Exception:  # noqa: BLE001 - its rules raise many kinds (asserts, KeyError, ...)
            return False
        if out is None:
            return False
        progress = False
        for vi in list(out.graph.value_info) + list(out.graph.output):
            s = shape_of(vi)
            if s[0] is not None and s[1] != NON_TENSOR and not _known(net.shapes.get(vi.name)):
                self.declare(0, vi.name, s[0], s[1])
                progress = True
        return progress


def _ort_symbolic(cls, model):
    """The model onnxruntime's symbolic shape inference returns, also when it is incomplete
    (then its ``infer_shapes`` would write ``sym_shape_infer_temp.onnx`` and external-data files
    into the current directory and raise): its own loop, run here, writes no file. ``None`` for
    an opset it does not support or an onnxruntime without these methods."""
    from onnxruntime.tools.symbolic_shape_infer import get_opset

    opset = get_opset(model)
    if not opset or opset < 7 or not all(hasattr(cls, m) for m in ("_preprocess", "_infer_impl")):
        return None
    ssi = cls(2**31 - 1, True, False, 0)  # int_max, auto_merge, guess_output_rank, verbose
    ssi._preprocess(model)
    while ssi.run_:
        ssi._infer_impl()
    if hasattr(ssi, "_update_output_from_vi"):
        ssi._update_output_from_vi()
    return ssi.out_mp_


def small_value(t):
    """The value (numpy) of an initializer that holds its data and has at most
    :data:`~pyg_nar.networks.onnx_check.FOLD_MAX_ELEMENTS` elements, else ``None``."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    if (t.data_location == onnx.TensorProto.EXTERNAL or math.prod(t.dims) > FOLD_MAX_ELEMENTS
            or t.data_type == onnx.TensorProto.STRING):
        return None
    if not (t.raw_data or t.int64_data or t.int32_data or t.float_data or t.double_data
            or t.uint64_data):
        if math.prod(t.dims) != 0:  # stripped or missing data
            return None
        try:  # an empty tensor (a Reshape to a scalar reads the shape [])
            return np.zeros(list(t.dims), dtype=onnx.helper.tensor_dtype_to_np_dtype(t.data_type))
        except (KeyError, TypeError, ValueError):
            return None
    try:
        return numpy_helper.to_array(t)
    except Exception:  # noqa: BLE001 - an exotic element type: no value
        return None


#: AttributeProto type -> how to read its value (``onnx.helper.get_attribute_value`` for the
#: rest; it is slow for these common ones): FLOAT, INT, STRING, FLOATS, INTS, STRINGS
_ATTR_READERS = {1: lambda a: a.f, 2: lambda a: a.i, 3: lambda a: a.s,
                 6: lambda a: list(a.floats), 7: lambda a: list(a.ints),
                 8: lambda a: list(a.strings)}


def node_attrs(node) -> dict:
    """``{name: value}`` of the attributes of ``node`` (sub-graphs left out), as
    ``onnx.helper.get_attribute_value`` reads them."""
    import onnx

    out = {}
    for a in node.attribute:
        if a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
            continue
        read = _ATTR_READERS.get(a.type)
        out[a.name] = read(a) if read is not None else onnx.helper.get_attribute_value(a)
    return out


def _node_key(nd) -> str:
    """How sub-graph scopes name their owner: its first output (unique in its graph), or
    its name."""
    return next((t for t in nd.output if t), nd.name)


def _fold_bound(nd, ins: list, attrs: dict, out_shape):
    """An upper bound of the elements node ``nd`` writes from its known inputs ``ins``
    (numpy arrays), computed *before* evaluating it; ``None`` when it cannot be bounded."""
    import numpy as np

    if out_shape is not None and out_shape[0] is not None:
        return math.prod(out_shape[0])
    op = nd.op_type
    sizes = [int(np.size(v)) for v in ins]
    try:
        if op == "Range":
            start, limit, delta = (float(np.asarray(v).reshape(-1)[0]) for v in ins[:3])
            if not all(map(math.isfinite, (start, limit, delta))) or delta == 0:
                return None
            return max(0, math.ceil((limit - start) / delta))
        if op == "ConstantOfShape":
            shape = np.asarray(ins[0]).reshape(-1)
            return math.prod(int(d) for d in shape) if (shape >= 0).all() else None
        if op == "Expand":
            shape = [int(d) for d in np.asarray(ins[1]).reshape(-1)]
            if any(d < 0 for d in shape):
                return None
            return math.prod(np.broadcast_shapes(np.shape(ins[0]), tuple(shape)))
        if op == "Tile":
            reps = [int(d) for d in np.asarray(ins[1]).reshape(-1)]
            return sizes[0] * math.prod(reps) if all(r >= 0 for r in reps) else None
        if op == "Gather":
            axis = int(attrs.get("axis", 0))
            data = np.shape(ins[0])
            if not data:
                return None
            return sizes[1] * (sizes[0] // max(1, data[axis % len(data)]))
        if op in ("Concat", "Split", "Slice", "Squeeze", "Unsqueeze", "Reshape", "Identity", "Cast",
                  "Transpose", "Flatten", "CastLike") or op.startswith("Reduce"):
            return sizes[0] if op != "Concat" else sum(sizes)
        # element-wise: the broadcast shape of the inputs
        return math.prod(np.broadcast_shapes(*(np.shape(v) for v in ins)))
    except (ValueError, TypeError, IndexError, OverflowError):
        return None


# ----------------------------------------------------------------------- own rules
def counted_branch(net, j: int) -> str:
    """The branch of ``If`` operator ``j`` of ``net`` whose shapes its outputs take and whose
    operators the FLOPs count: the branch taken when the condition is a known constant; else
    the then-branch, or the else-branch when only its output shapes can be inferred."""
    nd = net.ops[j]
    cond = net.scope_values(j).get(nd.input[0]) if nd.input else None
    if cond is not None and getattr(cond, "size", 0) == 1:
        return "then_branch" if bool(cond.reshape(-1)[0]) else "else_branch"

    def inferable(attr):
        s = net.scope_by_key.get((net.scope_of[j], _node_key(nd), attr))
        if s is None:
            return False
        lookup = net.scope_lookup(s)
        return all(_known(lookup.get(t)) for t in net.scopes[s].outputs)

    return "else_branch" if not inferable("then_branch") and inferable("else_branch") else "then_branch"


def static_trip_count(node, values: Mapping) -> int | None:
    """The trip count of ``Loop`` ``node`` when its ``M`` input is a known constant (the loop
    may still stop earlier when its condition turns false), else ``None``."""
    if not node.input or not node.input[0]:
        return None
    v = values.get(node.input[0])
    if v is None or getattr(v, "size", 0) != 1:
        return None
    return max(0, int(v.reshape(-1)[0]))


def _if_rule(state, j, nd, attrs, lookup):
    net = state.net
    state._init_values()
    branch = counted_branch(net, j)
    scope = net.scope_by_key.get((net.scope_of[j], _node_key(nd), branch))
    if scope is None:
        return None
    lookup = net.scope_lookup(scope)
    return [lookup.get(t) for t in net.scopes[scope].outputs]


def _loop_rule(state, j, nd, attrs, lookup):
    """Loop: first give the body its inputs' shapes (iteration number, condition, the
    loop-carried values' initial shapes, taken as invariant), then the outputs: carried values
    keep their initial shape, scan outputs are ``[trip count] + body output``."""
    import onnx

    net = state.net
    scope = net.scope_by_key.get((net.scope_of[j], _node_key(nd), "body"))
    if scope is None:
        return None
    trip = static_trip_count(nd, state.scope_values(j))
    body = state._graph_of(scope)
    carried = list(nd.input[2:])
    changed = False
    fixed = [([], onnx.TensorProto.INT64), ([], onnx.TensorProto.BOOL)] + [lookup.get(t) for t in carried]
    for vi, s in zip(body.input, fixed):
        if not _known(s) or s[1] == NON_TENSOR:
            continue
        if not _known(shape_of(vi)):
            t = vi.type.tensor_type
            t.ClearField("shape")
            t.shape.SetInParent()
            for d in s[0]:
                t.shape.dim.add().dim_value = int(d)
            if not t.elem_type:
                t.elem_type = s[1]
            changed = True
    if changed:
        return True
    sub = net.scopes[scope]
    outs = []
    for k, t in enumerate(nd.output):
        if k < len(carried):
            outs.append(lookup.get(carried[k]))
        else:
            body_out = sub.outputs[1 + k] if 1 + k < len(sub.outputs) else None
            s = sub.shapes.get(body_out) if body_out else None
            outs.append(([max(trip or 1, 0)] + list(s[0]), s[1]) if _known(s) else None)
    return outs


def _recurrent_rule(state, j, nd, attrs, lookup):
    """LSTM-like outputs (``DynamicQuantizeLSTM`` has no ONNX rule): Y ``[T, D, B, H]``,
    Y_h / Y_c ``[D, B, H]`` (layout 0; layout 1 puts the batch first)."""
    import onnx

    x = lookup.get(nd.input[0]) if nd.input else None
    hidden = attrs.get("hidden_size")
    if not _known(x) or len(x[0]) != 3 or not isinstance(hidden, int):
        return None
    layout = attrs.get("layout", 0)
    t, b = (x[0][1], x[0][0]) if layout else (x[0][0], x[0][1])
    dirs = 2 if attrs.get("direction") in ("bidirectional", b"bidirectional") else 1
    f = x[1] if x[1] else onnx.TensorProto.FLOAT
    y = [b, t, dirs, hidden] if layout else [t, dirs, b, hidden]
    state_shape = [b, dirs, hidden] if layout else [dirs, b, hidden]
    return [(y, f), (state_shape, f), (state_shape, f)]


def _stft_rule(state, j, nd, attrs, lookup):
    """STFT (opset 17): ``[batch, frames, bins, 2]`` with ``frames = (length - frame_length)
    // frame_step + 1`` and ``bins = frame_length // 2 + 1`` when ``onesided`` (the default)."""
    import onnx

    sig = lookup.get(nd.input[0]) if nd.input else None
    step = state.value(j, nd.input[1]) if len(nd.input) > 1 and nd.input[1] else None
    length = None
    if len(nd.input) > 3 and nd.input[3]:
        v = state.value(j, nd.input[3])
        length = int(v.reshape(-1)[0]) if v is not None and v.size == 1 else None
    elif len(nd.input) > 2 and nd.input[2]:
        w = lookup.get(nd.input[2])
        length = w[0][0] if _known(w) and len(w[0]) == 1 else None
    if not _known(sig) or len(sig[0]) < 2 or step is None or step.size != 1 or not length:
        return None
    step = int(step.reshape(-1)[0])
    if step <= 0:
        return None
    frames = (sig[0][1] - length) // step + 1
    bins = length // 2 + 1 if attrs.get("onesided", 1) else length
    return [([sig[0][0], max(frames, 0), bins, 2], sig[1] or onnx.TensorProto.FLOAT)]


def _same_as_input(state, j, nd, attrs, lookup):
    """ai.onnx.ml element-wise transforms (Scaler, Normalizer, Binarizer, Imputer): float
    output of the input's shape."""
    import onnx

    x = lookup.get(nd.input[0]) if nd.input else None
    return [(list(x[0]), onnx.TensorProto.FLOAT)] if _known(x) else None


def _classifier_rule(state, j, nd, attrs, lookup):
    """ai.onnx.ml classifiers: labels ``[N]``, scores ``[N, classes]``."""
    import onnx

    x = lookup.get(nd.input[0]) if nd.input else None
    if not _known(x) or not x[0]:
        return None
    labels = attrs.get("classlabels_ints") or attrs.get("classlabels_int64s")
    strings = attrs.get("classlabels_strings")
    n_classes = len(labels or strings or [])
    if not n_classes:
        return None
    label_type = onnx.TensorProto.STRING if strings else onnx.TensorProto.INT64
    return [([x[0][0]], label_type), ([x[0][0], n_classes], onnx.TensorProto.FLOAT)]


def _regressor_rule(state, j, nd, attrs, lookup):
    """ai.onnx.ml regressors: ``[N, targets]``."""
    import onnx

    x = lookup.get(nd.input[0]) if nd.input else None
    targets = attrs.get("n_targets") or attrs.get("targets") or 1
    if not _known(x) or not x[0] or not isinstance(targets, int):
        return None
    return [([x[0][0], targets], onnx.TensorProto.FLOAT)]


_RULES = {
    "If": _if_rule, "Loop": _loop_rule, "STFT": _stft_rule,
    "DynamicQuantizeLSTM": _recurrent_rule, "LSTM": _recurrent_rule,
    "Scaler": _same_as_input, "Normalizer": _same_as_input, "Binarizer": _same_as_input,
    "Imputer": _same_as_input,
    "LinearClassifier": _classifier_rule, "TreeEnsembleClassifier": _classifier_rule,
    "SVMClassifier": _classifier_rule,
    "LinearRegressor": _regressor_rule, "TreeEnsembleRegressor": _regressor_rule,
    "SVMRegressor": _regressor_rule,
}
