"""Vision Transformer (Dosovitskiy et al., ICLR 2021): a patch-embedding convolution, a class
token or mean pooling, learned position embeddings and pre-LN encoder blocks."""
from __future__ import annotations

import torch
from torch import nn

from pyg_nar.networks.zoo.attention import ATTENTION_IMPLS, EncoderBlock, sample_heads
from pyg_nar.networks.zoo.blocks import NUM_CLASSES, Family

#: (input resolution, patch size) pairs: 3 x 3 to 8 x 8 patch grids (9 to 64 patch tokens).
GRIDS = ((32, 4), (32, 8), (48, 8), (48, 16), (64, 8), (64, 16), (96, 16), (96, 32))


def sample(r) -> dict:
    size, patch = r.choice(GRIDS)
    dim = r.choice([64, 96, 128])
    return {"input_size": size, "patch_size": patch, "dim": dim, "depth": r.randint(1, 4),
            "heads": sample_heads(r, dim), "mlp_ratio": r.choice([2, 3, 4]),
            "pool": r.choice(["cls", "mean"]), "attention": r.choice(ATTENTION_IMPLS)}


class VisionTransformer(nn.Module):
    """``(B, 3, S, S)`` images -> ``(S / patch)^2`` patch tokens (+ a class token) -> encoder
    blocks -> LayerNorm -> class token or token mean -> linear head."""

    def __init__(self, cfg):
        super().__init__()
        d, p = cfg["dim"], cfg["patch_size"]
        self.dim, self.patches = d, (cfg["input_size"] // p) ** 2
        self.embed = nn.Conv2d(3, d, p, p)
        self.cls = nn.Parameter(torch.zeros(1, 1, d)) if cfg["pool"] == "cls" else None
        tokens = self.patches + (self.cls is not None)
        self.pos = nn.Parameter(0.02 * torch.randn(1, tokens, d))
        self.blocks = nn.Sequential(*[
            EncoderBlock(d, cfg["heads"], cfg["mlp_ratio"], tokens, impl=cfg["attention"])
            for _ in range(cfg["depth"])])
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, NUM_CLASSES)

    def forward(self, x):
        x = self.embed(x).reshape(-1, self.dim, self.patches).transpose(1, 2)
        if self.cls is not None:
            x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1)
        x = self.norm(self.blocks(x + self.pos))
        return self.head(x[:, 0] if self.cls is not None else x.mean(1))


VIT = Family("vit", sample, VisionTransformer, input_sizes=())
