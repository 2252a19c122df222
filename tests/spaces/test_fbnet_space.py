"""The FBNet space: layer settings (HW-NAS-Bench's FBNet v1 code), parsing, costs against a
real torch network's convolutions."""
import numpy as np
import pytest
import torch
from torch import nn

from pyg_nar.errors import ArchitectureError
from pyg_nar.spaces import (FBNET_OPS, FBNetSearchSpace, fbnet_costs, fbnet_layers, parse_fbnet,
                            to_fbnet_str)
from pyg_nar.spaces.fbnet import FBNET_BLOCKS, FBNET_DATASETS, block_cost


def test_layer_settings_follow_fbnet_v1():
    layers = fbnet_layers("cifar100")
    assert len(layers) == 22
    assert [l.out_channels for l in layers] == [16] + [24] * 4 + [32] * 4 + [64] * 4 + [112] * 4 + [184] * 4 + [352]
    assert [i for i, l in enumerate(layers) if l.stride == 2] == [5, 9, 17]  # CIFAR: stages 3, 4, 6
    assert layers[0].in_size == 32 and layers[-1].out_size == 4
    assert all(b.in_channels == a.out_channels and b.in_size == a.out_size for a, b in zip(layers, layers[1:]))
    imagenet = fbnet_layers("imagenet")
    assert [i for i, l in enumerate(imagenet) if l.stride == 2] == [1, 5, 9, 17]
    assert imagenet[0].in_size == 112 and imagenet[-1].out_size == 7
    with pytest.raises(ArchitectureError, match="unknown dataset setting 'mnist'"):
        fbnet_layers("mnist")


def test_parse_forms_and_errors():
    names = [FBNET_OPS[i % 9] for i in range(22)]
    assert parse_fbnet(names) == tuple(names)
    assert parse_fbnet(list(range(9)) * 2 + [0, 1, 2, 8]) == parse_fbnet(",".join(names[:18] + ["k3_e1", "k3_e1_g2", "k3_e3", "skip"]))
    assert parse_fbnet(np.arange(22) % 9) == tuple(names)
    assert parse_fbnet(" ".join(names)) == tuple(names)
    assert to_fbnet_str(names).split(",") == names
    with pytest.raises(ArchitectureError, match="has 22 layers, got 21"):
        parse_fbnet(names[:21])
    with pytest.raises(ArchitectureError, match="layer 3 has unknown block 'k7_e6'"):
        parse_fbnet(names[:3] + ["k7_e6"] + names[4:])
    with pytest.raises(ArchitectureError, match="layer 0 has block index 9"):
        parse_fbnet([9] + [0] * 21)


def test_search_space_moves():
    rng = np.random.default_rng(0)
    a = FBNetSearchSpace.sample(rng)
    b = FBNetSearchSpace.mutate(a, rng)
    assert sum(x != y for x, y in zip(parse_fbnet(a), parse_fbnet(b))) == 1
    nb = FBNetSearchSpace.neighbours(a)
    assert len(nb) == 22 * 8 == len(set(nb)) and a not in nb


class _Block(nn.Module):
    """HW-NAS-Bench's FBNet block, written out here to count its convolutions independently."""

    def __init__(self, layer, op):
        super().__init__()
        spec = FBNET_BLOCKS[op]
        if spec is None:
            conv = layer.stride != 1 or layer.in_channels != layer.out_channels
            self.body = nn.Conv2d(layer.in_channels, layer.out_channels, 1, layer.stride, bias=False) if conv else nn.Identity()
        else:
            k, e, g = spec
            mid = layer.in_channels * e
            self.body = nn.Sequential(nn.Conv2d(layer.in_channels, mid, 1, groups=g, bias=False),
                                      nn.Conv2d(mid, mid, k, layer.stride, k // 2, groups=mid, bias=False),
                                      nn.Conv2d(mid, layer.out_channels, 1, groups=g, bias=False))

    def forward(self, x):
        return self.body(x)


def _torch_costs(ops, dataset):
    size, stem_stride, _, head, classes = FBNET_DATASETS[dataset]
    layers = fbnet_layers(dataset)
    net = nn.Sequential(nn.Conv2d(3, 16, 3, stem_stride, 1, bias=False),
                        *[_Block(l, op) for l, op in zip(layers, ops)],
                        nn.Conv2d(352, head, 1, bias=False), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(head, classes))
    macs = []

    def hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            macs.append(out.numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1])
        elif isinstance(m, nn.Linear):
            macs.append(m.in_features * m.out_features)
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.register_forward_hook(hook)
    with torch.no_grad():
        out = net(torch.zeros(1, 3, size, size))
    assert out.shape == (1, classes)
    return sum(macs) / 1e6, sum(p.numel() for p in net.parameters()) / 1e6


@pytest.mark.parametrize("dataset", ["cifar100", "imagenet"])
def test_costs_match_a_torch_network(dataset):
    rng = np.random.default_rng(1)
    for ops in (["skip"] * 22, list(FBNET_OPS) * 2 + ["k5_e6"] * 4,
                [FBNET_OPS[i] for i in rng.integers(0, 9, 22)]):
        mflops, mparams = _torch_costs(ops, dataset)
        c = fbnet_costs(ops, dataset)
        assert c["mflops"] == pytest.approx(mflops, rel=1e-12)
        assert c["mparams"] == pytest.approx(mparams, rel=1e-12)
        assert c["memory_mb"] > 0


def test_block_cost_by_hand():
    layer = fbnet_layers()[0]  # 16 -> 16 channels, stride 1, 32x32
    c = block_cost(layer, "k3_e1")
    assert (c.pointwise_macs, c.depthwise_macs) == (2 * 32 * 32 * 16 * 16, 32 * 32 * 16 * 9)
    assert block_cost(layer, "skip") == (0, 0, 0, 0, 0, 0)  # identity
    assert block_cost(fbnet_layers()[1], "skip").pointwise_macs == 32 * 32 * 16 * 24  # widening 1x1
    g2 = block_cost(layer, "k3_e1_g2")
    assert g2.pointwise_macs == c.pointwise_macs // 2 and g2.depthwise_macs == c.depthwise_macs
