r"""NN-Former (Xu et al., CVPR 2025, `arXiv:2507.00880 <https://arxiv.org/abs/2507.00880>`_): a
graph transformer whose attention heads are masked by the adjacency, its transpose and the
sibling relations, with a bidirectional graph-convolution feed-forward, and no positional
encoding.

Pipeline::

    x   = LayerNorm(Embedding(op))                      # operation tokens only
    x   = NNFormerLayer(x) x num_layers                 # pyg_nar.nn.NNFormerLayer (ASMA + BGIFFN)
    g   = mean_v LayerNorm(x)_v                         # graph embedding
    out = Linear(g)                                     # ranking score

The paper reads out a class token; we take the node mean (the class token of the official code
attends to every node, which a mean over the final states replaces without a token outside the
DAG). Sizes: the paper uses d 192, 12 blocks, 4 heads, FFN 768; :data:`NNFORMER_CPU_SIZE` is
the size trained here on a 2-core CPU.
"""
from __future__ import annotations

from torch import Tensor, nn
from torch_geometric.nn import global_mean_pool

from pyg_nar.models.common import check_ops, node_graph_index, require_field
from pyg_nar.models.base import Predictor
from pyg_nar.models.registry import register_model
from pyg_nar.nn import NNFormerLayer, sibling_pairs

__all__ = ["NNFormer", "NNFORMER_CPU_SIZE"]

#: A size that trains in minutes on a 2-core CPU (the paper: channels 192, 12 layers).
NNFORMER_CPU_SIZE = dict(channels=128, num_layers=4, heads=4)


@register_model
class NNFormer(Predictor):
    r"""NN-Former accuracy predictor; ``forward(batch) -> [B]`` scores.

    Args:
        num_ops (int): size of the operation vocabulary (``len(dataset.op_vocab)``).
        channels (int, optional): width :math:`d`. (default: ``192``, the paper's)
        num_layers (int, optional): blocks. (default: ``12``, the paper's)
        heads (int, optional): attention heads, a multiple of 4 (one group per relation).
            (default: ``4``)
        ffn_ratio (int, optional): FFN hidden width over :math:`d`. (default: ``4``)
        dropout (float, optional): dropout in every block. (default: ``0.1``)

    Shapes:
        - **input:** a batch with ``op`` :math:`(N)` and ``edge_index`` :math:`(2, E)`
        - **output:** :math:`(B)`
    """

    def __init__(self, num_ops: int, channels: int = 192, num_layers: int = 12, heads: int = 4,
                 ffn_ratio: int = 4, dropout: float = 0.1):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"NNFormer: num_layers must be >= 1, got {num_layers}")
        self.num_ops = num_ops
        self.embed = nn.Embedding(num_ops, channels)
        self.norm_in = nn.LayerNorm(channels)
        self.layers = nn.ModuleList(NNFormerLayer(channels, heads, ffn_ratio, dropout)
                                    for _ in range(num_layers))
        self.norm_out = nn.LayerNorm(channels)
        self.head = nn.Linear(channels, 1)
        self.reset_parameters()

    def reset_parameters(self):
        """Truncated-normal (std 0.02) weights, zero biases, as the official code."""
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if getattr(m, "bias", None) is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, batch) -> Tensor:
        op = require_field(batch, "op", "NNFormer")
        check_ops(op, self.num_ops, "NNFormer")
        edge_index = batch.edge_index
        pairs = sibling_pairs(edge_index, op.numel())  # once, shared by every layer
        x = self.norm_in(self.embed(op))
        for layer in self.layers:
            x = layer(x, edge_index, pairs)
        index, num_graphs = node_graph_index(batch)
        g = global_mean_pool(self.norm_out(x), index, size=num_graphs)
        return self.head(g).view(-1)
