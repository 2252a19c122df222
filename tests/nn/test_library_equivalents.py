"""Where a layer of pyg_nar.nn writes out what a library module computes, the two agree
numerically with the same weights (the equivalents each docstring names)."""
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import TransformerConv
from torch_geometric.utils import to_dense_batch

from pyg_nar.data import arch_data
from pyg_nar.nn import FlowAttention, GroupedLinear, TransformerBlock
from pyg_nar.nn.flow_message_passing import gru_update
from pyg_nar.transforms import FlowMask

TOL = dict(atol=1e-6, rtol=1e-5)


def random_dag_flow_index(n, p, seed):
    g = torch.Generator().manual_seed(seed)
    edges = torch.triu(torch.rand(n, n, generator=g) < p, diagonal=1).nonzero().tolist()
    return FlowMask()(arch_data(torch.zeros(n, dtype=torch.long), edges)).flow_index


@torch.no_grad()
def test_flow_attention_is_transformer_conv_without_root_weight():
    torch.manual_seed(0)
    flow_index = random_dag_flow_index(12, 0.3, 1)
    for d, heads in ((16, 4), (64, 8)):
        attn = FlowAttention(d, heads=heads).eval()
        conv = TransformerConv(d, d // heads, heads=heads, root_weight=False, bias=False).eval()
        wq, wk, wv = attn.qkv.weight.chunk(3, 0)
        conv.lin_query.weight.copy_(wq)
        conv.lin_key.weight.copy_(wk)
        conv.lin_value.weight.copy_(wv)
        x = torch.randn(12, d)
        out, (_, alpha) = attn(x, flow_index, return_attention_weights=True)
        ref, (_, ref_alpha) = conv(x, flow_index, return_attention_weights=True)
        torch.testing.assert_close(out, attn.out_proj(ref), **TOL)
        torch.testing.assert_close(alpha, ref_alpha, **TOL)


@torch.no_grad()
def test_inlined_gru_gates_are_gru_cell():
    torch.manual_seed(0)
    for d in (8, 64):
        gru = nn.GRUCell(d, d)
        x, h = torch.randn(10, d), torch.randn(10, d)
        gi = F.linear(x, gru.weight_ih, gru.bias_ih)
        gh = F.linear(h, gru.weight_hh, gru.bias_hh)
        torch.testing.assert_close(gru_update(gi, gh, h), gru(x, h), **TOL)
        # a flow's first generation: no message, the hidden projection is its bias alone
        zero = torch.zeros(10, d)
        torch.testing.assert_close(gru_update(gi, gru.bias_hh.expand(10, 3 * d), zero), gru(x, zero), **TOL)


@torch.no_grad()
def test_grouped_linear_is_grouped_conv1d():
    torch.manual_seed(0)
    for norm in (False, True):
        gl = GroupedLinear(8, 12, groups=4, norm=norm)
        conv = nn.Conv1d(8, 12, kernel_size=1, groups=4)
        conv.weight.copy_(gl.weight.transpose(1, 2).reshape(12, 2, 1))  # block g is W_g^T
        conv.bias.copy_(gl.bias.reshape(-1))
        x = torch.randn(2, 5, 8)  # any leading shape
        ref = conv(x.reshape(-1, 8, 1)).reshape(2, 5, 4, 3)
        if norm:
            ref = gl.norm(ref)  # one LayerNorm over each group's output
        torch.testing.assert_close(gl(x), ref.reshape(2, 5, 12), **TOL)


def padded_tokens(dim, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(11, dim, generator=g)
    batch = torch.tensor([0] * 4 + [1] * 7)
    return to_dense_batch(x, batch)  # [2, 7, dim], the first graph padded


def test_self_attention_block_is_transformer_encoder_layer():
    torch.manual_seed(0)
    blk = TransformerBlock(16, 4, ffn_ratio=2.0, dropout=0.1).eval()
    ref = nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, dropout=0.1, activation="relu",
                                     batch_first=True, norm_first=True).eval()
    with torch.no_grad():
        ref.self_attn.in_proj_weight.copy_(blk.qkv_proj.weight)
        ref.self_attn.in_proj_bias.copy_(blk.qkv_proj.bias)
        for mine, theirs in ((blk.out_proj, ref.self_attn.out_proj), (blk.ffn[0], ref.linear1),
                             (blk.ffn[3], ref.linear2), (blk.norm_q, ref.norm1),
                             (blk.norm_ffn, ref.norm2)):
            theirs.load_state_dict(mine.state_dict())
    h, mask = padded_tokens(16)
    # gradients enabled: PyTorch's reference (not its fused inference path) runs
    torch.testing.assert_close(blk(h, attn_mask=mask[:, None, None, :]),
                               ref(h, src_key_padding_mask=~mask), **TOL)
    torch.testing.assert_close(blk(h), ref(h), **TOL)


def test_cross_attention_is_multihead_attention():
    torch.manual_seed(0)
    blk = TransformerBlock(16, 4, dropout=0.1, cross=True).eval()
    mha = nn.MultiheadAttention(16, 4, dropout=0.1, batch_first=True).eval()
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([blk.q_proj.weight, blk.kv_proj.weight]))
        mha.in_proj_bias.copy_(torch.cat([blk.q_proj.bias, blk.kv_proj.bias]))
        mha.out_proj.load_state_dict(blk.out_proj.state_dict())
    memory, mask = padded_tokens(16, seed=1)
    q = torch.randn(2, 3, 16)
    m = blk.norm_kv(memory)
    x = q + mha(blk.norm_q(q), m, m, key_padding_mask=~mask, need_weights=False)[0]
    ref = x + blk.ffn(blk.norm_ffn(x))
    torch.testing.assert_close(blk(q, memory, attn_mask=mask[:, None, None, :]), ref, **TOL)
