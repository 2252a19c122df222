"""HELP's 5,000 FBNet-space networks with latencies on 27 devices, as chain graphs."""
from __future__ import annotations

import os.path as osp
from typing import Callable

import torch
from torch_geometric.data import Data

from pyg_nar.data import arch_data
from pyg_nar.datasets.base import LATENCY_RANGE_MS, BenchmarkDataset
from pyg_nar.datasets.help_latency import (HELP_LATENCY_FILES, check_device, help_devices,
                                            load_help_latencies)
from pyg_nar.datasets.paths import data_root
from pyg_nar.spaces.fbnet import (FBNET_BLOCKS, FBNET_DATASETS, FBNET_OPS, block_cost,
                                  fbnet_costs, fbnet_layers, parse_fbnet, to_fbnet_str)

__all__ = ["FBNet", "FBNET_VOCAB", "fbnet_graph"]

#: Operation vocabulary of the chain graph: the stem (``input``), the 9 blocks, the head (``output``).
FBNET_VOCAB = ["input", *FBNET_OPS, "output"]


def fbnet_graph(arch, y: float | None = None, arch_id: int | None = None,
                dataset: str = "cifar100") -> Data:
    r"""The chain graph of an FBNet network: node 0 the stem, nodes 1..22 the searchable layers
    (``op`` = the block, an index into :data:`FBNET_VOCAB`), node 23 the head, edges
    :math:`i \to i + 1`.

    Per node, as for whole networks (:mod:`pyg_nar.data`): ``op_attrs`` ``[24, 8]`` (kernel,
    stride, padding, dilation, groups, has-bias, perm, output padding of the block's
    spatial convolution; a ``skip`` that changes width or stride is a 1x1 convolution, an identity
    ``skip`` is all zeros), ``out_shape`` ``[24, 4]`` (1, channels, height, width), and ``static``
    ``[1, 4]`` (batch 1, MFLOPs, M parameters, memory MB from
    :func:`~pyg_nar.spaces.fbnet.fbnet_costs`). Also ``expansion`` ``[24]`` (the block's width
    factor, 0 for skip, stem and head) and ``arch_str`` (comma-separated block names).
    """
    ops = parse_fbnet(arch)
    layers = fbnet_layers(dataset)
    size, stem_stride, _, head, _ = FBNET_DATASETS[dataset]
    attrs = [[3.0, stem_stride, 1, 1, 1, 0, 0, 0]]
    shapes = [[1.0, layers[0].in_channels, size // stem_stride, size // stem_stride]]
    expansion = [0.0]
    for layer, op in zip(layers, ops):
        block = FBNET_BLOCKS[op]
        if block is None:
            conv = block_cost(layer, op).convs > 0
            attrs.append([1.0, layer.stride, 0, 1, 1, 0, 0, 0] if conv else [0.0] * 8)
            expansion.append(0.0)
        else:
            k, e, g = block
            attrs.append([float(k), layer.stride, k // 2, 1, g, 0, 0, 0])
            expansion.append(float(e))
        shapes.append([1.0, layer.out_channels, layer.out_size, layer.out_size])
    attrs.append([1.0, 1, 0, 1, 1, 0, 0, 0])
    shapes.append([1.0, head, 1, 1])
    expansion.append(0.0)
    cost = fbnet_costs(ops, dataset)
    n = len(attrs)
    name = to_fbnet_str(ops)
    return arch_data([0, *(1 + FBNET_OPS.index(op) for op in ops), len(FBNET_VOCAB) - 1],
                     [list(range(n - 1)), list(range(1, n))], y, name=name, arch_id=arch_id,
                     num_ops=len(FBNET_VOCAB),
                     op_attrs=torch.tensor(attrs), out_shape=torch.tensor(shapes),
                     static=torch.tensor([[1.0, cost["mflops"], cost["mparams"], cost["memory_mb"]]]),
                     expansion=torch.tensor(expansion), arch_str=name)


class FBNet(BenchmarkDataset):
    r"""The 5,000 FBNet-space networks of HELP (Lee et al., NeurIPS 2021,
    `arXiv:2106.08630 <https://arxiv.org/abs/2106.08630>`_) with their latencies on one device.

    The space (Wu et al., CVPR 2019, `arXiv:1812.03443 <https://arxiv.org/abs/1812.03443>`_) is
    22 searchable layers of 9 blocks each between a fixed stem and head
    (:mod:`pyg_nar.spaces.fbnet`, CIFAR-100 setting). Each network becomes the 24-node chain of
    :func:`fbnet_graph` (``op_vocab``: :data:`FBNET_VOCAB`) with ``y`` the latency in
    **milliseconds** of one forward pass at the device's batch size (the suffix ``_1``, ``_32``,
    ``_64`` of a GPU/CPU name) and ``arch_id`` the row of HELP's table (0..4999).

    Args:
        root (str): where processed graphs are cached (``root/processed``).
        device (str, optional): one of :meth:`devices` (default ``"titan_rtx_64"``); an unknown
            name is a :class:`~pyg_nar.errors.PipelineError` listing the known ones.
        raw_dir (str, optional): the benchmark-data folder (default ``$PYG_NAR_DATA``); reads
            ``latency_help/fbnet_latency.npz`` (see its README).
        transform, pre_transform, pre_filter, force_reload: as in PyG.

    Shapes:
        - per graph: ``op`` :math:`[24]`, ``edge_index`` :math:`[2, 23]`, ``op_attrs``
          :math:`[24, 8]`, ``out_shape`` :math:`[24, 4]`, ``static`` :math:`[1, 4]`, ``y``
          :math:`[1]`.
    """

    op_vocab = FBNET_VOCAB
    name = "fbnet"
    LATENCY_FILE = HELP_LATENCY_FILES["fbnet"]
    setting = "cifar100"

    def __init__(self, root: str, device: str = "titan_rtx_64", raw_dir: str | None = None,
                 transform: Callable | None = None, pre_transform: Callable | None = None,
                 pre_filter: Callable | None = None, force_reload: bool = False):
        self.device = device
        raw = osp.abspath(osp.expanduser(raw_dir or data_root()))
        if osp.exists(osp.join(raw, self.LATENCY_FILE)):  # a missing file is download()'s error
            check_device("fbnet", device, raw, who="FBNet")
        super().__init__(root, raw_dir, transform, pre_transform, pre_filter, force_reload)

    @property
    def raw_file_names(self) -> list[str]:
        return [self.LATENCY_FILE]

    def options(self) -> str:
        return f"device={self.device},setting={self.setting}"

    @classmethod
    def devices(cls, raw_dir: str | None = None) -> list[str]:
        """Device names available in the latency file."""
        return help_devices("fbnet", raw_dir)

    def process(self):
        table = load_help_latencies("fbnet", self.raw_dir, [self.device])
        lat = table.latency[self.device]
        self._save_graphs([fbnet_graph(ops, float(y), i, self.setting)
                           for i, (ops, y) in enumerate(zip(table.archs, lat))])

    def label_range(self) -> tuple[float, float, bool]:
        return 0.0, LATENCY_RANGE_MS[1], True  # milliseconds, as load_help_latencies checks

    @property
    def arch_strs(self) -> list[str]:
        """Comma-separated block names of the networks, in dataset order."""
        return list(self._data.arch_str)
