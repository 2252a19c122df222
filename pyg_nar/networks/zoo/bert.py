"""A BERT-style text encoder (Devlin et al., NAACL 2019): token and learned position
embeddings, post-LN (BERT) or pre-LN encoder blocks, a tanh pooler on the first token.

Its input is a ``(B, L)`` int64 tensor of token ids; ``input_size`` is the sequence length ``L``.
"""
from __future__ import annotations

import torch
from torch import nn

from pyg_nar.networks.zoo.attention import ATTENTION_IMPLS, EncoderBlock, sample_heads
from pyg_nar.networks.zoo.blocks import NUM_CLASSES, Family


def sample(r) -> dict:
    dim = r.choice([64, 96, 128])
    return {"vocab_size": r.choice([1024, 8192, 30522]), "dim": dim, "depth": r.randint(1, 4),
            "heads": sample_heads(r, dim, (32, 64)), "mlp_ratio": r.choice([2, 4]),
            "norm": r.choice(["post", "pre"]), "attention": r.choice(ATTENTION_IMPLS)}


class TextEncoder(nn.Module):
    """``(B, L)`` token ids -> token + position embeddings -> encoder blocks -> the first
    token through ``Linear`` + ``Tanh`` (BERT's pooler) -> linear head."""

    def __init__(self, cfg):
        super().__init__()
        d, length = cfg["dim"], cfg["input_size"]
        self.vocab_size, self.pre_norm = cfg["vocab_size"], cfg["norm"] == "pre"
        self.tokens = nn.Embedding(self.vocab_size, d)
        self.pos = nn.Parameter(0.02 * torch.randn(1, length, d))
        self.norm = nn.LayerNorm(d)  # post-LN: on the embeddings; pre-LN: after the last block
        self.blocks = nn.Sequential(*[
            EncoderBlock(d, cfg["heads"], cfg["mlp_ratio"], length, pre_norm=self.pre_norm,
                         impl=cfg["attention"]) for _ in range(cfg["depth"])])
        self.pooler = nn.Sequential(nn.Linear(d, d), nn.Tanh())
        self.head = nn.Linear(d, NUM_CLASSES)

    def example_input(self, batch_size: int, input_size: int):
        """Random token ids ``(batch_size, input_size)`` (int64): what the model is exported with."""
        return torch.randint(0, self.vocab_size, (batch_size, input_size))

    def forward(self, ids):
        x = self.tokens(ids) + self.pos
        x = self.norm(self.blocks(x)) if self.pre_norm else self.blocks(self.norm(x))
        return self.head(self.pooler(x[:, 0]))


BERT = Family("bert", sample, TextEncoder, input_sizes=(16, 32, 64, 128))
