r"""The operator vocabulary and the attribute slots of whole-network graphs.

``op`` of a graph from :func:`~pyg_nar.networks.from_onnx` indexes into :data:`ONNX_OP_VOCAB`
(versioned: a new vocabulary gets a new version and a new tuple, old indices stay readable);
``op_attrs`` holds the 8 slots of :data:`OP_ATTR_FIELDS`, filled by :func:`op_attr_row`.
"""
from __future__ import annotations

__all__ = [
    "ONNX_OP_VOCAB", "ONNX_OP_VOCAB_VERSION", "GRAPH_FORMAT_VERSION", "OP_ATTR_FIELDS",
    "CONV_OPS", "POOL_OPS", "has_bias", "onnx_op_vocab", "op_index", "op_attr_row",
]

#: Version of :data:`ONNX_OP_VOCAB`; bump it whenever the tuple changes (op indices change).
ONNX_OP_VOCAB_VERSION = 1
#: Version of what :func:`~pyg_nar.networks.from_onnx` computes (attribute reductions, shape
#: layout, static features); bump it when they change so cached datasets are rebuilt.
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

#: Operators with a kernel, strides, pads and dilations (and, for convolutions, groups).
CONV_OPS = frozenset({"Conv", "ConvTranspose"})
POOL_OPS = frozenset({"MaxPool", "AveragePool", "LpPool"})

_VOCAB_INDEX = {name: i for i, name in enumerate(ONNX_OP_VOCAB)}


def onnx_op_vocab() -> list[str]:
    """The operator vocabulary (version :data:`ONNX_OP_VOCAB_VERSION`) as a list: ``op`` of a
    graph from :func:`~pyg_nar.networks.from_onnx` indexes into it."""
    return list(ONNX_OP_VOCAB)


def op_index(op_type: str) -> int:
    """Index of an ONNX ``op_type`` in :data:`ONNX_OP_VOCAB`; ``"Other"`` for one outside it."""
    return _VOCAB_INDEX.get(op_type, _VOCAB_INDEX["Other"])


def has_bias(node) -> bool:
    """Whether a Conv / ConvTranspose / Gemm reads a bias (a third, non-empty input)."""
    return len(node.input) > 2 and node.input[2] != ""


def _max(v, default) -> float:
    if v is None or (isinstance(v, (list, tuple)) and len(v) == 0):
        return float(default)
    return float(max(v)) if isinstance(v, (list, tuple)) else float(v)


def op_attr_row(node, attrs: dict, shapes: dict) -> list[float]:
    """The 8 :data:`OP_ATTR_FIELDS` of one operator.

    Multi-dimensional attributes are reduced to their maximum (kernel ``[3, 5]`` -> 5, pads
    ``[1, 1, 2, 2]`` -> 2); ``perm`` of a ``Transpose`` is written as the base-10 number of its
    digits (``[0, 2, 3, 1]`` -> 231). Convolution and pooling operators store their ONNX
    defaults (stride 1, dilation 1, group 1) when the attribute is absent; a slot an operator
    does not have is 0. ``has_bias`` is 1 for Conv / ConvTranspose / Gemm with a bias input.

    Args:
        node: the ``onnx.NodeProto``.
        attrs: its attributes as Python values (``{name: value}``).
        shapes: ``{tensor name: (dims or None, elem_type)}``; a Conv without ``kernel_shape``
            reads its kernel from the weight's dims.
    """
    row = [0.0] * len(OP_ATTR_FIELDS)
    op = node.op_type
    if op in CONV_OPS or op in POOL_OPS:
        kernel = attrs.get("kernel_shape")
        if kernel is None and op in CONV_OPS and len(node.input) > 1:
            w = shapes.get(node.input[1])
            kernel = list(w[0][2:]) if w is not None and w[0] is not None else None
        row[0] = _max(kernel, 0)
        row[1] = _max(attrs.get("strides"), 1)
        row[2] = _max(attrs.get("pads"), 0)
        row[3] = _max(attrs.get("dilations"), 1)
    if op in CONV_OPS:
        row[4] = float(attrs.get("group", 1))
        row[5] = float(has_bias(node))
        if op == "ConvTranspose":
            row[7] = _max(attrs.get("output_padding"), 0)
    elif op == "Gemm":
        row[5] = float(has_bias(node))
    elif op == "Transpose" and attrs.get("perm") is not None:
        row[6] = float(int("".join(str(int(p)) for p in attrs["perm"]) or 0))
    return row
