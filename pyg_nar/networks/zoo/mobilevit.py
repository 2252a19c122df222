"""MobileViT (Mehta & Rastegari, ICLR 2022): a conv stem and MobileNetV2 stages, with
MobileViT blocks in the later stages -- local convolutions, then a transformer across the
patches of each pixel position (unfold / fold), then a fusing convolution."""
from __future__ import annotations

import torch
from torch import nn

from pyg_nar.networks.zoo.attention import ATTENTION_IMPLS, EncoderBlock, sample_heads
from pyg_nar.networks.zoo.blocks import Classifier, ConvBNAct, Family, InvertedResidual, make_divisible

# MobileViT-XXS (MV2 channels, MV2 repeats, stride, (transformer width, depth) or None),
# Mehta & Rastegari 2022, Table 4
_XXS = [(16, 1, 1, None), (24, 3, 2, None), (48, 1, 2, (64, 2)), (64, 1, 2, (80, 4)),
        (80, 1, 2, (96, 3))]


def sample(r) -> dict:
    wm = r.choice([0.5, 0.75, 1.0])
    attention_stages = r.randint(1, 3)  # the last 1-3 stages end with a MobileViT block
    expand = r.choice([2, 4])
    stages = []
    for i, (c, n, s, t) in enumerate(_XXS):
        st = {"c": make_divisible(c * wm), "n": r.randint(1, n), "s": s, "e": expand}
        if t and i >= len(_XXS) - attention_stages:
            dim = make_divisible(t[0] * wm, 16)
            st["transformer"] = {"dim": dim, "depth": r.randint(1, t[1]),
                                 "heads": sample_heads(r, dim, (16, 32)),
                                 "mlp_ratio": r.choice([2, 3, 4]), "patch": r.choice([2, 4])}
        stages.append(st)
    return {"width_mult": wm, "stem": make_divisible(16 * wm), "stages": stages,
            "last": make_divisible(320 * wm), "attention": r.choice(ATTENTION_IMPLS)}


class MobileViTBlock(nn.Module):
    """Local ``3x3`` conv + ``1x1`` projection to ``dim``; unfold the ``(H, W)`` map into
    ``patch x patch`` patches and attend across patches (one sequence per pixel position of a
    patch); fold back, project to ``c`` channels, concatenate with the input, fuse by a ``3x3``
    conv. A patch size that does not divide the map is lowered to the largest one that does
    (a ``3 x 3`` map with patch 2: patch 1, attention across pixels)."""

    def __init__(self, c: int, t: dict, size: int, impl: str):
        super().__init__()
        d, p = t["dim"], max(q for q in range(1, t["patch"] + 1) if size % q == 0)
        self.dim, self.patch, self.grid = d, p, size // p
        tokens = self.grid ** 2
        self.local = nn.Sequential(ConvBNAct(c, c, 3, act="silu"), nn.Conv2d(c, d, 1, bias=False))
        self.transformer = nn.Sequential(
            *[EncoderBlock(d, t["heads"], t["mlp_ratio"], tokens, impl=impl, act="silu")
              for _ in range(t["depth"])], nn.LayerNorm(d))
        self.proj = ConvBNAct(d, c, 1, act="silu")
        self.fuse = ConvBNAct(2 * c, c, 3, act="silu")

    def forward(self, x):
        d, p, g = self.dim, self.patch, self.grid
        y = self.local(x).reshape(-1, d, g, p, g, p).permute(0, 3, 5, 2, 4, 1).reshape(-1, g * g, d)
        y = self.transformer(y)
        y = y.reshape(-1, p, p, g, g, d).permute(0, 5, 3, 1, 4, 2).reshape(-1, d, g * p, g * p)
        return self.fuse(torch.cat([x, self.proj(y)], 1))


def build(cfg) -> nn.Module:
    layers = [ConvBNAct(3, cfg["stem"], 3, 2, act="silu")]
    c, size = cfg["stem"], (cfg["input_size"] + 1) // 2
    for st in cfg["stages"]:
        for i in range(st["n"]):
            s = st["s"] if i == 0 else 1
            layers.append(InvertedResidual(c, st["c"], 3, s, st["e"], act="silu"))
            c, size = st["c"], (size + s - 1) // s
        if st.get("transformer"):
            layers.append(MobileViTBlock(c, st["transformer"], size, cfg["attention"]))
    layers.append(ConvBNAct(c, cfg["last"], 1, act="silu"))
    return Classifier(nn.Sequential(*layers), cfg["last"])


MOBILEVIT = Family("mobilevit", sample, build, input_sizes=(48, 64, 96))
