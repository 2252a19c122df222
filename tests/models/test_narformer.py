import pytest
import torch
from torch_geometric.data import Batch

from _synthetic import synthetic_graphs
from pyg_nar.models import MODELS, NARFormer
from pyg_nar.nn import FusionTransformer




def tiny(**kw):
    return dict(dim=32, num_layers=2, head_dim=16, **kw)


def test_fusion_transformer_shapes():
    torch.manual_seed(0)
    ft = FusionTransformer(**tiny())
    x, batch = torch.randn(11, 32), torch.tensor([0] * 4 + [1] * 7)
    assert ft(x, batch).shape == (2, 32)
    assert ft(x, batch, extra=torch.randn(2, 3, 32)).shape == (2, 32)
    with pytest.raises(ValueError, match=r"\[N, 32\]"):
        ft(torch.randn(5, 16))
    with pytest.raises(ValueError, match="end with 1"):
        FusionTransformer(query_tokens=(4, 2))


def test_padded_batch_equals_one_by_one():
    torch.manual_seed(0)
    graphs = synthetic_graphs(5, sizes=(2, 9), seed=1)
    assert len({g.num_nodes for g in graphs}) > 1  # padding really happens
    model = NARFormer.from_data(graphs[0], **tiny()).eval()
    with torch.no_grad():
        together = model(Batch.from_data_list(graphs))
        alone = torch.cat([model(Batch.from_data_list([g])) for g in graphs])
    assert together.shape == (5,)
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=1e-5)


def test_narformer_fields_and_outputs():
    torch.manual_seed(0)
    graphs = synthetic_graphs(4, token_dim=48, depth_dim=12)
    b = Batch.from_data_list(graphs)
    model = NARFormer.from_data(graphs[0], **tiny()).eval()
    assert model.config["token_dim"] == 48 and model.config["depth_dim"] == 12
    out = model(b)
    assert out.shape == (4,) and bool(((out > 0) & (out < 1)).all())
    aug = model(b, tokens_field="aug_tokens")
    # a permutation of the node tokens is invisible to a position-free transformer
    torch.testing.assert_close(out, aug, atol=1e-5, rtol=1e-5)
    rebuilt = type(model)(**model.config)
    rebuilt.load_state_dict(model.state_dict())
    torch.testing.assert_close(rebuilt.eval()(b), out)
    assert MODELS["NARFormer"] is NARFormer
    lin = NARFormer(token_dim=48, depth_dim=None, end_token=False, output="linear", **tiny())
    assert lin(b).shape == (4,)
    b.static_enc = torch.randn(4, 10)
    stat = NARFormer(token_dim=48, depth_dim=12, static_dim=10, output="linear", **tiny()).eval()
    out = stat(b)
    b.static_enc = b.static_enc * 2
    assert out.shape == (4,) and not torch.allclose(out, stat(b))


def test_narformer_clear_errors():
    graphs = synthetic_graphs(2, token_dim=16)
    b = Batch.from_data_list(graphs)
    with pytest.raises(ValueError, match="'tokens' has width 16, the model expects 24"):
        NARFormer(token_dim=24, depth_dim=8, **tiny())(b)
    del b.depth_enc
    with pytest.raises(ValueError, match="no 'depth_enc' field"):
        NARFormer(token_dim=16, depth_dim=8, **tiny())(b)


def test_real_tokens_feed_narformer():
    """Tokenize + FlowConsistentPair output of real NB201 cells (no data files needed)."""
    from pyg_nar.datasets.nasbench201 import nb201_cell_graph
    from pyg_nar.transforms import FlowConsistentPair, FlowConsistentShuffle, Tokenize

    arch = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
            "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"]
    tok, pair = Tokenize(), FlowConsistentPair(FlowConsistentShuffle(seed=0))
    graphs = [pair(tok(nb201_cell_graph(a, y=0.9))) for a in arch]
    torch.manual_seed(0)
    model = NARFormer.from_data(graphs[0], **tiny()).eval()
    assert model.config["token_dim"] == 192 and model.config["depth_dim"] == 96
    b = Batch.from_data_list(graphs)
    out, aug = model(b), model(b, tokens_field="aug_tokens")
    assert out.shape == aug.shape == (2,)
    assert not torch.allclose(out[0], out[1])  # different cells, different predictions
