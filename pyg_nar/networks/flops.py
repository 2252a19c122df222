r"""FLOPs of ONNX operators and the ``static`` row of whole-network graphs.

One multiply-accumulate counts as one FLOP, the convention of the ResNet / MobileNet papers.
"""
from __future__ import annotations

import math

from pyg_nar.networks.vocab import POOL_OPS, has_bias

__all__ = ["STATIC_FIELDS", "node_flops", "static_features"]

#: The 4 ``static`` columns and their units.
STATIC_FIELDS = ("batch_size", "mflops", "mparams", "memory_mb")

_ELEMENTWISE = {
    "Relu", "LeakyRelu", "PRelu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Elu",
    "Selu", "Gelu", "Erf", "Softplus", "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Exp", "Log",
    "Neg", "Abs", "Reciprocal", "Where", "Equal", "Resize", "Upsample",
}
_VARIADIC = {"Max", "Min", "Sum", "Mean"}
_REDUCE = {"GlobalAveragePool", "GlobalMaxPool", "ReduceMean", "ReduceSum", "ReduceMax"}


def node_flops(node, attrs: dict, shapes: dict, out_dims: list[int]) -> float:
    """Multiply-accumulates of one operator, from its input and output shapes.

    Args:
        node: the ``onnx.NodeProto``.
        attrs: its attributes as Python values.
        shapes: ``{tensor name: (dims or None, elem_type)}``.
        out_dims: the dims of its first output.

    Data movement, shape arithmetic and operators it does not know count 0. An input whose
    shape is unknown raises ``TypeError`` or ``IndexError``.
    """
    op = node.op_type
    out_numel = math.prod(out_dims) if out_dims else 1

    def dims(i):
        if i >= len(node.input) or node.input[i] == "":
            return None
        s = shapes.get(node.input[i])
        return s[0] if s is not None else None

    bias = out_numel if has_bias(node) else 0
    if op == "Conv":
        w = dims(1)  # [C_out, C_in / group, k...]
        return float(out_numel * math.prod(w[1:]) + bias)
    if op == "ConvTranspose":
        w, x = dims(1), dims(0)  # w: [C_in, C_out / group, k...]
        return float(math.prod(x) * math.prod(w[1:]) + bias)
    if op == "Gemm":
        a = dims(0)
        k = a[0] if attrs.get("transA", 0) else a[1]
        return float(out_numel * k + bias)
    if op == "MatMul":
        a = dims(0)
        return float(out_numel * a[-1])
    if op in POOL_OPS:
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
    if op in _ELEMENTWISE:
        return float(out_numel)
    if op in _VARIADIC:
        return float(out_numel * max(1, len(node.input) - 1))
    return 0.0


def static_features(batch_size: int, flops: float, params: float, memory_bytes: float) -> list[float]:
    """The ``static`` row: ``[batch size, MFLOPs, M parameters, memory access in MB]``.

    FLOPs count multiply-accumulates summed over operators with floating-point outputs
    (:func:`node_flops`; integer shape arithmetic is not counted); parameters are
    the elements of floating-point initializers; memory access is the bytes every operator
    reads (activations and weights) and writes, summed over operators (no cache reuse).
    """
    return [float(batch_size), flops / 1e6, params / 1e6, memory_bytes / 1e6]
