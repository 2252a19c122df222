r"""Whole networks: ONNX and PyTorch import, a zoo of parametric networks, latency measurement.

* :mod:`~pyg_nar.networks.onnx_graph` -- :func:`from_onnx` turns an ONNX model into an
  architecture graph (``op``, ``op_attrs``, ``out_shape``, ``static``);
  :mod:`~pyg_nar.networks.torch_export` -- :func:`from_torch` does the same for a PyTorch
  module (exported to a temporary ONNX file).
* :mod:`~pyg_nar.networks.onnx_shapes` -- input shapes (symbolic dims) and shape inference;
  :mod:`~pyg_nar.networks.onnx_check` -- the validity checks and size limits.
* :mod:`~pyg_nar.networks.vocab` -- the versioned operator vocabulary and attribute slots;
  :mod:`~pyg_nar.networks.flops` -- FLOPs per operator and the ``static`` row.
* :mod:`~pyg_nar.networks.zoo` -- ten CNN and three attention families in plain PyTorch,
  sampled from a seed.
* :mod:`~pyg_nar.networks.measure` -- onnxruntime latency and NNLQP-layout latency datasets,
  which :class:`pyg_nar.datasets.NNLQP` loads.

Importing this package is cheap: the names below are imported on first use (torch with the
converter and the zoo; ``onnx`` and ``onnxruntime`` only inside the functions that need them).
"""
from pyg_nar._lazy import lazy_names

#: public name -> module that defines it (imported on first access)
_LAZY = {
    "from_onnx": "pyg_nar.networks.onnx_graph",
    "from_torch": "pyg_nar.networks.torch_export",
    "load_onnx": "pyg_nar.networks.onnx_graph",
    "strip_weights": "pyg_nar.networks.onnx_graph",
    "data_inputs": "pyg_nar.networks.onnx_graph",
    "set_batch_size": "pyg_nar.networks.onnx_graph",
    "floating_types": "pyg_nar.networks.onnx_graph",
    "input_shapes_of": "pyg_nar.networks.onnx_graph",
    "input_shapes_for": "pyg_nar.networks.onnx_graph",
    "parse_input_shape": "pyg_nar.networks.onnx_graph",
    "shape_relevant": "pyg_nar.networks.onnx_graph",
    "OnnxGraphError": "pyg_nar.errors",
    "UnknownOperatorWarning": "pyg_nar.errors",
    "onnx_op_vocab": "pyg_nar.networks.vocab",
    "ONNX_OP_VOCAB": "pyg_nar.networks.vocab",
    "ONNX_OP_VOCAB_VERSION": "pyg_nar.networks.vocab",
    "ONNX_OP_VOCABS": "pyg_nar.networks.vocab",
    "op_remap": "pyg_nar.networks.vocab",
    "vocab_version": "pyg_nar.networks.vocab",
    "GRAPH_FORMAT_VERSION": "pyg_nar.networks.vocab",
    "OP_ATTR_FIELDS": "pyg_nar.networks.vocab",
    "STATIC_FIELDS": "pyg_nar.networks.flops",
    "static_features": "pyg_nar.networks.flops",
    "MeasureProtocol": "pyg_nar.networks.measure",
    "Measurement": "pyg_nar.networks.measure",
    "measure_latency": "pyg_nar.networks.measure",
    "measure_models": "pyg_nar.networks.measure",
    "prepare_for_runtime": "pyg_nar.networks.measure",
    "build_latency_dataset": "pyg_nar.networks.measure",
    "measure_onnx_folder": "pyg_nar.networks.measure",
    "measurement_noise": "pyg_nar.networks.measure",
    "compare_builds": "pyg_nar.networks.measure",
    "read_spread": "pyg_nar.networks.measure",
    "zoo": "pyg_nar.networks.zoo",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
