r"""The operator vocabulary and the attribute slots of whole-network graphs.

``op`` of a graph from :func:`~pyg_nar.networks.from_onnx` indexes into :data:`ONNX_OP_VOCAB`,
the vocabulary of version :data:`ONNX_OP_VOCAB_VERSION`. Vocabularies are versioned data
(:data:`ONNX_OP_VOCABS`): a new one gets a new version and a new tuple, and the old ones stay
readable, so a checkpoint trained on an old vocabulary (it records its vocabulary) still scores
graphs converted today once their ``op`` is mapped with :func:`op_remap`.

* **Version 1** (72 operators): the operators of exported CNNs and plain transformers.
* **Version 2** (current): version 1 in the same order (every operator of version 1 keeps its
  index, but ``"Other"`` moves to the end), then the operators of current CNN, transformer,
  recurrent, quantised, signal-processing and classical-ML exports: control flow (``If``,
  ``Loop``, ``Scan``), recurrent layers (``LSTM``, ``GRU``, ``RNN``), the fused ``com.microsoft``
  operators onnxruntime's optimiser and quantiser write (``FusedConv``, ``FusedMatMul``,
  ``Attention``, ``SkipLayerNormalization``, ``BiasGelu``, ``FastGelu``, ``QuickGelu``,
  ``DynamicQuantizeLSTM``, ...), quantisation (``QuantizeLinear``, ``MatMulInteger``, ...),
  ``STFT`` / ``DFT``, sequences and the ``ai.onnx.ml`` operators seen in shipped models.

An operator outside the vocabulary maps to ``"Other"`` (:func:`op_index`);
:func:`~pyg_nar.networks.from_onnx` warns with its name (:class:`~pyg_nar.errors.UnknownOperatorWarning`).

``op_attrs`` holds the 8 slots of :data:`OP_ATTR_FIELDS`, filled by :func:`op_attr_row`.
"""
from __future__ import annotations

from typing import Sequence

from pyg_nar.errors import OnnxGraphError

__all__ = [
    "ONNX_OP_VOCAB", "ONNX_OP_VOCAB_VERSION", "ONNX_OP_VOCABS", "GRAPH_FORMAT_VERSION",
    "OP_ATTR_FIELDS", "CONV_OPS", "POOL_OPS", "RECURRENT_OPS", "CONTROL_FLOW_OPS", "has_bias",
    "onnx_op_vocab", "op_index", "op_attr_row", "op_remap", "vocab_version",
]

#: Version of :data:`ONNX_OP_VOCAB`; bump it whenever the tuple changes (op indices change).
ONNX_OP_VOCAB_VERSION = 2
#: Version of what :func:`~pyg_nar.networks.from_onnx` computes (attribute reductions, shape
#: layout, static features, control-flow fields, node costs); bump it when they change so cached
#: datasets are rebuilt. 3: ``node_cost`` (per-node FLOPs and bytes).
GRAPH_FORMAT_VERSION = 3

_V1: tuple[str, ...] = (
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

_V2_NEW: tuple[str, ...] = (
    # control flow and recurrent layers
    "If", "Loop", "Scan", "LSTM", "GRU", "RNN",
    # attention and fused operators (com.microsoft, written by onnxruntime's optimiser)
    "Attention", "MultiHeadAttention", "GroupQueryAttention", "RotaryEmbedding", "FusedConv",
    "FusedMatMul", "FusedGemm", "SkipLayerNormalization", "SimplifiedLayerNormalization",
    "SkipSimplifiedLayerNormalization", "EmbedLayerNormalization", "RMSNormalization",
    "BiasGelu", "FastGelu", "QuickGelu", "BiasAdd", "BiasSoftmax",
    # quantised compute (ai.onnx and com.microsoft)
    "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger",
    "ConvInteger", "QLinearConv", "QLinearMatMul", "QLinearAdd", "QLinearMul",
    "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "MatMulNBits", "QAttention",
    "DynamicQuantizeLSTM",
    # more normalisation and activations
    "LRN", "LpNormalization", "MeanVarianceNormalization", "Mish", "Softsign",
    "ThresholdedRelu", "Hardmax", "Swish",
    # more element-wise arithmetic and logic
    "Sin", "Cos", "Tan", "Atan", "Floor", "Ceil", "Round", "Sign", "Mod", "Not", "And", "Or",
    "Xor", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "IsNaN", "IsInf",
    # more reductions and index operators
    "ReduceMin", "ReduceProd", "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSumExp",
    "ArgMax", "ArgMin", "TopK", "CumSum", "LpPool",
    # more data movement
    "GatherElements", "GatherND", "ScatterElements", "ScatterND", "OneHot", "NonZero",
    "Compress", "Trilu", "GridSample", "ReverseSequence", "Unique", "Size", "EyeLike",
    "NonMaxSuppression", "RoiAlign",
    # signal processing
    "STFT", "DFT", "MelWeightMatrix", "HannWindow", "HammingWindow", "BlackmanWindow",
    # sequences (values without a tensor shape)
    "SequenceConstruct", "SequenceEmpty", "SequenceAt", "SequenceInsert", "SequenceLength",
    "SplitToSequence", "ConcatFromSequence",
    # classical ML (ai.onnx.ml)
    "Scaler", "Normalizer", "LinearClassifier", "LinearRegressor", "TreeEnsembleClassifier",
    "TreeEnsembleRegressor", "TreeEnsemble", "SVMClassifier", "SVMRegressor", "ZipMap",
    "ArrayFeatureExtractor",
)

#: Every operator vocabulary by version. Graph inputs are ``"Input"`` (index 0), operators
#: outside the vocabulary ``"Other"`` (the last index).
ONNX_OP_VOCABS: dict[int, tuple[str, ...]] = {
    1: _V1,
    2: _V1[:-1] + _V2_NEW + ("Other",),
}
#: The current operator vocabulary (version :data:`ONNX_OP_VOCAB_VERSION`).
ONNX_OP_VOCAB: tuple[str, ...] = ONNX_OP_VOCABS[ONNX_OP_VOCAB_VERSION]

#: The 8 ``op_attrs`` slots (NAR-Former supplement, Table 1).
OP_ATTR_FIELDS = ("kernel", "stride", "padding", "dilation", "groups", "has_bias", "perm",
                  "output_padding")

#: Convolutions (kernel, strides, pads, dilations, groups) and the input slot of their weight.
CONV_OPS = {"Conv": 1, "ConvTranspose": 1, "FusedConv": 1, "ConvInteger": 1, "QLinearConv": 3}
POOL_OPS = frozenset({"MaxPool", "AveragePool", "LpPool"})
#: Recurrent layers: ``op_attrs`` holds their hidden size and number of directions.
RECURRENT_OPS = frozenset({"LSTM", "GRU", "RNN", "DynamicQuantizeLSTM"})
#: Operators whose sub-graphs :func:`~pyg_nar.networks.from_onnx` expands into nodes.
CONTROL_FLOW_OPS = frozenset({"If", "Loop", "Scan"})
#: The input slot of the bias, per operator type that may have one.
_BIAS_SLOT = {"Conv": 2, "ConvTranspose": 2, "FusedConv": 2, "QLinearConv": 8, "Gemm": 2,
              "FusedGemm": 2, "LSTM": 3, "GRU": 3, "RNN": 3, "DynamicQuantizeLSTM": 3}

_INDEX = {v: {name: i for i, name in enumerate(vocab)} for v, vocab in ONNX_OP_VOCABS.items()}


def _version(version: int | None) -> int:
    if version is None:
        return ONNX_OP_VOCAB_VERSION
    if version not in ONNX_OP_VOCABS:
        raise ValueError(f"unknown ONNX operator vocabulary version {version!r}; known: "
                         f"{', '.join(map(str, ONNX_OP_VOCABS))}")
    return version


def onnx_op_vocab(version: int | None = None) -> list[str]:
    """The operator vocabulary of ``version`` (default: :data:`ONNX_OP_VOCAB_VERSION`) as a
    list: ``op`` of a graph from :func:`~pyg_nar.networks.from_onnx` indexes into it."""
    return list(ONNX_OP_VOCABS[_version(version)])


def op_index(op_type: str, version: int | None = None) -> int:
    """Index of an ONNX ``op_type`` in the vocabulary of ``version`` (default: the current
    one); the index of ``"Other"`` for an operator outside it."""
    index = _INDEX[_version(version)]
    return index.get(op_type, index["Other"])


def vocab_version(vocab: Sequence[str]) -> int | None:
    """The version of an ONNX operator vocabulary given as names (as a checkpoint records it),
    or ``None`` if it is none of :data:`ONNX_OP_VOCABS`."""
    names = tuple(vocab)
    return next((v for v, known in ONNX_OP_VOCABS.items() if known == names), None)


def op_remap(src: Sequence[str], dst: Sequence[str]) -> list[int]:
    """For each index of vocabulary ``src``, the index of the same operator in ``dst``, or
    of ``dst``'s ``"Other"`` when ``dst`` does not have it: ``op = torch.tensor(op_remap(src,
    dst))[op]`` moves a graph's ``op`` from ``src`` to ``dst`` (e.g. a graph converted today to
    the vocabulary of version 1 that a checkpoint was trained on)."""
    index = {name: i for i, name in enumerate(dst)}
    if "Other" not in index:
        raise ValueError("the target vocabulary has no 'Other' entry to map unknown operators to")
    return [index.get(name, index["Other"]) for name in src]


def has_bias(node) -> bool:
    """Whether a convolution, Gemm or recurrent layer reads a bias (a non-empty input in its
    bias slot: the third for Conv / ConvTranspose / Gemm, the fourth for LSTM / GRU / RNN)."""
    slot = _BIAS_SLOT.get(node.op_type, 2)
    return len(node.input) > slot and node.input[slot] != ""


def _numbers(node, attrs: dict, name: str, default):
    """Attribute ``name`` as a list of numbers (``default`` if absent); a value of another
    type (an exporter bug, or a custom operator the checker has no schema for) is an error."""
    v = attrs.get(name)
    if v is None:
        return default
    values = v if isinstance(v, (list, tuple)) else [v]
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in values):
        raise OnnxGraphError(f"attribute {name!r} should be numbers, got {type(v).__name__} "
                             f"{str(v)[:40]!r}")
    return list(values)


def _max(values, default) -> float:
    return float(max(values)) if values else float(default)


def op_attr_row(node, attrs: dict, shapes) -> list[float]:
    """The 8 :data:`OP_ATTR_FIELDS` of one operator.

    Multi-dimensional attributes are reduced to their maximum (kernel ``[3, 5]`` -> 5, pads
    ``[1, 1, 2, 2]`` -> 2); ``perm`` of a ``Transpose`` is written as the base-10 number of its
    digits (``[0, 2, 3, 1]`` -> 231). Convolution and pooling operators store their ONNX
    defaults (stride 1, dilation 1, group 1) when the attribute is absent; a slot an operator
    does not have is 0. ``has_bias`` is 1 for convolutions, Gemm and recurrent layers with a
    bias input. Recurrent layers (:data:`RECURRENT_OPS`) store their hidden size in ``kernel``
    and their number of directions (1, or 2 when bidirectional) in ``groups``.

    Args:
        node: the ``onnx.NodeProto``.
        attrs: its attributes as Python values (``{name: value}``).
        shapes: ``{tensor name: (dims or None, elem_type)}`` (any mapping); a convolution
            without ``kernel_shape`` reads its kernel from the weight's dims.

    Raises :class:`~pyg_nar.errors.OnnxGraphError` for an attribute of the wrong type.
    """
    row = [0.0] * len(OP_ATTR_FIELDS)
    op = node.op_type
    if op in CONV_OPS or op in POOL_OPS:
        kernel = _numbers(node, attrs, "kernel_shape", None)
        slot = CONV_OPS.get(op)
        if kernel is None and slot is not None and len(node.input) > slot:
            w = shapes.get(node.input[slot])
            kernel = list(w[0][2:]) if w is not None and w[0] is not None else None
        row[0] = _max(kernel, 0)
        row[1] = _max(_numbers(node, attrs, "strides", None), 1)
        row[2] = _max(_numbers(node, attrs, "pads", None), 0)
        row[3] = _max(_numbers(node, attrs, "dilations", None), 1)
    if op in CONV_OPS:
        row[4] = _max(_numbers(node, attrs, "group", None), 1)
        row[5] = float(has_bias(node))
        if op == "ConvTranspose":
            row[7] = _max(_numbers(node, attrs, "output_padding", None), 0)
    elif op in ("Gemm", "FusedGemm"):
        row[5] = float(has_bias(node))
    elif op in RECURRENT_OPS:
        row[0] = _max(_numbers(node, attrs, "hidden_size", None), 0)
        row[4] = 2.0 if attrs.get("direction") in ("bidirectional", b"bidirectional") else 1.0
        row[5] = float(has_bias(node))
    elif op == "Transpose" and attrs.get("perm") is not None:
        perm = _numbers(node, attrs, "perm", [])
        row[6] = float(int("".join(str(int(p)) for p in perm) or 0)) if len(perm) <= 12 else 0.0
    return row
