r"""Few-shot latency prediction: a predictor for a new device from a handful of measurements.

HELP's protocol (Lee et al., NeurIPS 2021, https://arxiv.org/abs/2106.08630): pre-train on
source devices' latencies, then adapt to an unseen device from k measured architectures::

    from pyg_nar.fewshot import HELP_SPLITS, adapt, help_pretraining_data, pretrain

    choices, lat = help_pretraining_data("nasbench201", HELP_SPLITS["nasbench201"]["meta_train"])
    base = pretrain("nasbench201", choices, lat)              # 9 source devices
    mine = adapt(base, [(arch_str, ms), ...])                 # k measured cells on my device
    mine.predict(["|nor_conv_3x3~0|+|none~0|skip_connect~1|+|...|"])   # ms

* :mod:`pyg_nar.fewshot.model` -- :class:`MultiDeviceLatency` and :func:`pretrain`;
* :mod:`pyg_nar.fewshot.adapt` -- :func:`adapt` and the :class:`AdaptedLatency` it returns;
* :mod:`pyg_nar.fewshot.encoding` -- the spaces' fixed-length encodings and cost counts;
* :mod:`pyg_nar.fewshot.help` -- HELP's device splits, pools and reported figures, as data;
* :mod:`pyg_nar.fewshot.protocol` -- the evaluation with its baselines;
* :mod:`pyg_nar.fewshot.networks` -- the same for whole networks (ONNX graphs):
  :func:`adapt_network` of a pre-trained latency predictor to another setting;
* :mod:`pyg_nar.fewshot.jobs` -- measured files, checkpoint folders, ``pyg-nar pretrain`` / ``adapt``.
"""
from pyg_nar.fewshot.adapt import FAMILIES, AdaptedLatency, FamilyFit, adapt
from pyg_nar.fewshot.encoding import FBNetEncoding, NB201Encoding, SpaceEncoding, space_encoding
from pyg_nar.fewshot.help import (HELP_REFERENCE_ARCHS, HELP_REPORTED, HELP_SPLITS, help_pools,
                                  help_pretraining_data)
from pyg_nar.fewshot.model import MultiDeviceLatency, pretrain
from pyg_nar.fewshot.networks import NETWORK_FAMILIES, AdaptedNetworkLatency, adapt_network

__all__ = ["pretrain", "adapt", "MultiDeviceLatency", "AdaptedLatency", "FamilyFit", "FAMILIES",
           "SpaceEncoding", "NB201Encoding", "FBNetEncoding", "space_encoding",
           "HELP_SPLITS", "HELP_REFERENCE_ARCHS", "HELP_REPORTED", "help_pools", "help_pretraining_data",
           "adapt_network", "AdaptedNetworkLatency", "NETWORK_FAMILIES"]
