r"""Whole networks: ONNX import, a zoo of parametric CNN families, latency measurement.

* :mod:`~pyg_nar.networks.onnx_graph` -- :func:`from_onnx` turns an ONNX model into an
  architecture graph (``op``, ``op_attrs``, ``out_shape``, ``static``).
* :mod:`~pyg_nar.networks.vocab` -- the versioned operator vocabulary and attribute slots;
  :mod:`~pyg_nar.networks.flops` -- FLOPs per operator and the ``static`` row.
* :mod:`~pyg_nar.networks.zoo` -- ten CNN families in plain PyTorch, sampled from a seed.
* :mod:`~pyg_nar.networks.measure` -- onnxruntime latency and NNLQP-layout latency datasets,
  which :class:`pyg_nar.datasets.NNLQP` loads.

``onnx`` and ``onnxruntime`` are imported only inside the functions that use them.
"""
from pyg_nar.errors import OnnxGraphError
from pyg_nar.networks import zoo
from pyg_nar.networks.flops import STATIC_FIELDS, static_features
from pyg_nar.networks.measure import (build_latency_dataset, measure_latency, measure_onnx_folder,
                                      measurement_noise, prepare_for_runtime)
from pyg_nar.networks.onnx_graph import (data_inputs, floating_types, from_onnx, load_onnx,
                                         set_batch_size, strip_weights)
from pyg_nar.networks.vocab import (GRAPH_FORMAT_VERSION, ONNX_OP_VOCAB, ONNX_OP_VOCAB_VERSION,
                                    OP_ATTR_FIELDS, onnx_op_vocab)

__all__ = [
    "from_onnx", "load_onnx", "strip_weights", "data_inputs", "set_batch_size",
    "floating_types", "OnnxGraphError",
    "onnx_op_vocab", "ONNX_OP_VOCAB", "ONNX_OP_VOCAB_VERSION", "GRAPH_FORMAT_VERSION",
    "OP_ATTR_FIELDS", "STATIC_FIELDS", "static_features",
    "measure_latency", "prepare_for_runtime", "build_latency_dataset", "measure_onnx_folder",
    "measurement_noise", "zoo",
]
