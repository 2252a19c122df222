r"""FLOPs of ONNX operators and the ``static`` row of whole-network graphs.

One multiply-accumulate counts as one FLOP, the convention of the ResNet / MobileNet papers.
What the count assumes, operator by operator, is in :func:`node_flops`; how sub-graphs (``If``
branches, ``Loop`` / ``Scan`` bodies) are counted is in :func:`static_features` and the data
contract (:mod:`pyg_nar.data`).
"""
from __future__ import annotations

import math

from pyg_nar.networks.vocab import CONV_OPS, POOL_OPS, RECURRENT_OPS, has_bias

__all__ = ["STATIC_FIELDS", "NODE_COST_FIELDS", "COMPUTE_OPS", "node_flops", "node_cost",
           "static_features"]

#: The 4 ``static`` columns and their units.
STATIC_FIELDS = ("batch_size", "mflops", "mparams", "memory_mb")
#: The 4 ``node_cost`` columns of a node and their units (its roofline terms).
NODE_COST_FIELDS = ("mflops", "read_mb", "write_mb", "weight_mb")

_ELEMENTWISE = {
    "Relu", "LeakyRelu", "PRelu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Elu",
    "Selu", "Gelu", "Erf", "Softplus", "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Exp", "Log",
    "Neg", "Abs", "Reciprocal", "Where", "Equal", "Resize", "Upsample", "BiasGelu", "FastGelu",
    "QuickGelu", "BiasAdd", "Mish", "Softsign", "ThresholdedRelu", "Swish", "Celu", "Sin", "Cos",
    "Tan", "Atan", "Floor", "Ceil", "Round", "Sign", "Mod", "CumSum", "QLinearAdd", "QLinearMul",
    "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "Scaler", "Normalizer",
}
_VARIADIC = {"Max", "Min", "Sum", "Mean"}
_REDUCE = {"GlobalAveragePool", "GlobalMaxPool", "ReduceMean", "ReduceSum", "ReduceMax",
           "ReduceMin", "ReduceProd", "ReduceSumSquare", "ReduceL1", "ReduceL2",
           "ReduceLogSumExp", "ArgMax", "ArgMin", "TopK"}
#: Normalisations: operations per output element (mean, variance, normalise, scale, shift).
_NORM = {"InstanceNormalization": 5, "LayerNormalization": 5, "GroupNormalization": 5,
         "SkipLayerNormalization": 6, "SimplifiedLayerNormalization": 4, "RMSNormalization": 4,
         "SkipSimplifiedLayerNormalization": 5, "EmbedLayerNormalization": 5,
         "MeanVarianceNormalization": 5, "LpNormalization": 2, "BatchNormalization": 2}
_MATMUL = {"MatMul", "FusedMatMul", "MatMulInteger", "QLinearMatMul", "DynamicQuantizeMatMul",
           "MatMulIntegerToFloat", "MatMulNBits"}
#: Gates of the recurrent layers (their weight matrices are ``gates * hidden`` tall).
_GATES = {"LSTM": 4, "DynamicQuantizeLSTM": 4, "GRU": 3, "RNN": 1}
#: Operators whose work is counted whatever their output type (quantised compute writes
#: integers); every other operator counts only when its first output is floating-point.
COMPUTE_OPS = frozenset(CONV_OPS) | _MATMUL | {"Gemm", "FusedGemm", "Einsum", "Attention",
                                               "MultiHeadAttention", "QAttention"} | RECURRENT_OPS


def _einsum_flops(equation: str, input_dims: list) -> float:
    """Multiply-accumulates of an Einsum: the product of the sizes of every index letter
    (each output element sums over the contracted letters)."""
    terms = equation.replace(" ", "").split("->")[0].split(",")
    sizes: dict[str, int] = {}
    for term, dims in zip(terms, input_dims):
        if dims is None:
            raise TypeError("an Einsum input shape is unknown")
        left, _, right = term.partition("...")
        for i, c in enumerate(left):
            sizes[c] = dims[i]
        for i, c in enumerate(right):
            sizes[c] = dims[len(dims) - len(right) + i]
        if "..." in term:  # the broadcast dims count once, as an index of their own
            for i, d in enumerate(dims[len(left):len(dims) - len(right)]):
                sizes[f"...{i}"] = max(sizes.get(f"...{i}", 1), d)
    return float(math.prod(sizes.values()))


def node_flops(node, attrs: dict, shapes, out_dims: list[int]) -> float:
    """Multiply-accumulates of one operator, from its input and output shapes.

    Args:
        node: the ``onnx.NodeProto``.
        attrs: its attributes as Python values.
        shapes: ``{tensor name: (dims or None, elem_type)}`` (any mapping).
        out_dims: the dims of its first output.

    What is counted: convolutions (also fused and quantised ones) ``outputs x kernel volume x
    input channels / groups`` plus one add per output for a bias; MatMul / Gemm (and their
    fused, integer and quantised variants) ``outputs x inner dimension``; Einsum the product of
    every index size; ``Attention`` (com.microsoft) its QKV projection plus the two attention
    products, ``MultiHeadAttention`` the two products; recurrent layers (LSTM, GRU, RNN,
    DynamicQuantizeLSTM) ``steps x directions x batch x gates x hidden x (input + hidden)`` for
    their gate products, plus one operation per gate element for the biases and activations;
    pooling ``outputs x window``; reductions one per input element; Softmax 3 per element;
    normalisations 2-6 per element; element-wise operators one per output element; STFT / DFT
    a direct DFT (``frames x bins x frame length``). Data movement, shape arithmetic, control
    flow operators themselves (their sub-graphs' nodes are counted instead) and operators it
    does not know count 0. An input whose shape is unknown raises ``TypeError`` or
    ``IndexError``.
    """
    op = node.op_type
    out_numel = math.prod(out_dims) if out_dims else 1

    def dims(i):
        if i >= len(node.input) or node.input[i] == "":
            return None
        s = shapes.get(node.input[i])
        return s[0] if s is not None else None

    bias = out_numel if has_bias(node) else 0
    if op in CONV_OPS:
        w = dims(CONV_OPS[op])  # Conv: [C_out, C_in / group, k...]; ConvTranspose: [C_in, C_out / group, k...]
        if op == "ConvTranspose":
            return float(math.prod(dims(0)) * math.prod(w[1:]) + bias)
        return float(out_numel * math.prod(w[1:]) + bias)
    if op in ("Gemm", "FusedGemm"):
        a = dims(0)
        k = a[0] if attrs.get("transA", 0) else a[1]
        return float(out_numel * k + bias)
    if op in _MATMUL:
        a = dims(0)
        k = a[-2] if attrs.get("transA", 0) and len(a) > 1 else a[-1]
        return float(out_numel * k)
    if op == "Einsum":
        return _einsum_flops(str(attrs.get("equation", "")),
                             [dims(i) for i in range(len(node.input))])
    if op in ("Attention", "QAttention"):  # com.microsoft: x [B, S, D], weights [D, 3 D']
        x, w = dims(0), dims(1)
        b, s = x[0], x[1]
        d = w[1] // 3
        heads = max(1, int(attrs.get("num_heads", 1)))
        return float(b * s * x[2] * w[1] + 2 * b * s * s * d + 3 * b * heads * s * s)
    if op == "MultiHeadAttention":  # q [B, S, D], k [B, S_kv, D]
        q, k = dims(0), dims(1)
        heads = max(1, int(attrs.get("num_heads", 1)))
        s_kv = k[1] if k is not None and len(k) == 3 else q[1]
        return float(2 * q[0] * q[1] * s_kv * q[2] + 3 * q[0] * heads * q[1] * s_kv)
    if op in RECURRENT_OPS:  # X [T, B, I] (layout 0) or [B, T, I] (layout 1)
        x = dims(0)
        t, b = (x[1], x[0]) if attrs.get("layout", 0) else (x[0], x[1])
        hidden = int(attrs.get("hidden_size", 0)) or (dims(2)[-1] if dims(2) else 0)
        directions = 2 if attrs.get("direction") in ("bidirectional", b"bidirectional") else 1
        gates = _GATES[op]
        elements = t * directions * b * gates * hidden
        return float(elements * (x[2] + hidden) + elements * (1 + has_bias(node)))
    if op in POOL_OPS:
        return float(out_numel * math.prod(attrs.get("kernel_shape", [1])))
    if op in _REDUCE:
        x = dims(0)
        return float(math.prod(x))
    if op in ("Softmax", "LogSoftmax", "BiasSoftmax", "Hardmax"):
        return float(3 * out_numel)  # exp, sum, divide
    if op in _NORM:
        return float(_NORM[op] * out_numel)
    if op == "LRN":
        return float(out_numel * int(attrs.get("size", 1)))
    if op in ("STFT", "DFT"):  # output [..., bins, 2]: a direct DFT over the frame length
        length = dims(0)[-2] if op == "DFT" else (out_dims[-2] if len(out_dims) > 2 else 1)
        if op == "STFT" and dims(2) is not None:
            length = dims(2)[0]
        return float(out_numel // 2 * length)
    if op in _ELEMENTWISE:
        return float(out_numel)
    if op in _VARIADIC:
        return float(out_numel * max(1, len(node.input) - 1))
    return 0.0


def node_cost(flops: float, read_bytes: float, write_bytes: float, weight_bytes: float) -> list[float]:
    """A ``node_cost`` row: ``[MFLOPs, MB read, MB written, MB of weights read]``
    (:data:`NODE_COST_FIELDS`); the weights are part of what is read."""
    return [flops / 1e6, read_bytes / 1e6, write_bytes / 1e6, weight_bytes / 1e6]


def static_features(batch_size: int, flops: float, params: float, memory_bytes: float) -> list[float]:
    """The ``static`` row: ``[batch size, MFLOPs, M parameters, memory access in MB]``.

    FLOPs count multiply-accumulates summed over operators (:func:`node_flops`: quantised
    compute always, other operators when their output is floating-point, so integer shape
    arithmetic is not counted), each times the ``repeats`` of its node (sub-graph nodes: a
    ``Loop`` body times its static trip count, a ``Scan`` body times its iterations, only the
    counted branch of an ``If``); parameters are the elements of floating-point initializers
    (sub-graphs' included); memory access is the bytes every operator reads (activations and
    weights) and writes, summed over operators (no cache reuse) with the same repeats.
    """
    return [float(batch_size), flops / 1e6, params / 1e6, memory_bytes / 1e6]
