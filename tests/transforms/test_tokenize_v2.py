"""TokenizeV2: NAR-Former V2's tokens as a transform, the same numbers the model built itself."""
import pytest
import torch
import torch.nn.functional as F
from torch_geometric.data import Batch
from torch_geometric.loader import DataLoader

from pyg_nar.data import arch_data
from pyg_nar.datasets.nasbench201 import nb201_cell_graph
from pyg_nar.errors import FieldError
from pyg_nar.transforms import TokenizeV2, sinusoid_encoding, transformer_sinusoid

ARCHS = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
         "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
         "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"]
NUM_OPS = 9


def network(n, seed):
    g = torch.Generator().manual_seed(seed)
    edges = [(i, i + 1) for i in range(n - 1)] + [(i, i + 2) for i in range(0, n - 2, 3)]
    return arch_data(torch.randint(0, NUM_OPS, (n,), generator=g), edges, y=1.0,
                     op_attrs=torch.randint(0, 300, (n, 8), generator=g).float(),
                     out_shape=torch.randint(1, 2048, (n, 4), generator=g).float(),
                     static=torch.rand(1, 4, generator=g))


def reference_tokens(batch, num_ops=None):
    """The tokens pyg_nar 0.1.0's NARFormerV2.node_features built inside the model, over a
    whole batch: positions from the batch vector, every part computed on the batch."""
    op = batch.op
    if num_ops is not None:
        return torch.cat([F.one_hot(op, num_ops).float(), transformer_sinusoid(batch.op_attrs, 5),
                          transformer_sinusoid(batch.out_shape, 5)], dim=-1)
    counts = torch.bincount(batch.batch, minlength=batch.num_graphs)
    start = torch.cumsum(counts, 0) - counts
    position = torch.arange(batch.batch.numel()) - start[batch.batch]
    return torch.cat([sinusoid_encoding(op, 32), sinusoid_encoding(position, 32)], dim=-1)


def test_cell_tokens_equal_the_models_former_tokens():
    cells = [nb201_cell_graph(a) for a in ARCHS]
    out = Batch.from_data_list([TokenizeV2()(c.clone()) for c in cells])
    assert out.tokens.shape == (24, 128) and out.tokens.dtype == torch.float32
    assert torch.equal(out.tokens, reference_tokens(Batch.from_data_list(cells)))
    assert torch.equal(out.tokens[9, :64], sinusoid_encoding(cells[1].op[1], 32))


def test_network_tokens_equal_the_models_former_tokens():
    graphs = [network(n, seed=n) for n in (3, 11, 40)]
    tok = TokenizeV2(network_features=True, num_ops=NUM_OPS)
    out = Batch.from_data_list([tok(g.clone()) for g in graphs])
    assert out.tokens.shape == (54, NUM_OPS + 120) and tok.width == NUM_OPS + 120
    assert torch.equal(out.tokens, reference_tokens(Batch.from_data_list(graphs), NUM_OPS))
    # the one-hot part marks the operation, the rest encodes attributes and shapes
    assert torch.equal(out.tokens[:, :NUM_OPS].argmax(1), out.op)


def test_batches_with_the_stock_loader_and_repr():
    cells = [TokenizeV2()(nb201_cell_graph(a)) for a in ARCHS]
    batch = next(iter(DataLoader(cells, batch_size=3)))
    assert batch.tokens.shape == (24, 128)
    assert repr(TokenizeV2()) == "TokenizeV2()"
    assert repr(TokenizeV2(True, 72)) == "TokenizeV2(network_features=True, num_ops=72)"


def test_clear_errors():
    cell = nb201_cell_graph(ARCHS[0])
    with pytest.raises(FieldError, match="op_attrs"):
        TokenizeV2(network_features=True, num_ops=7)(cell.clone())
    with pytest.raises(ValueError, match="needs num_ops"):
        TokenizeV2(network_features=True)
    g = network(5, seed=0)
    g.op[2] = NUM_OPS
    with pytest.raises(FieldError, match=f"node 2 has operation index {NUM_OPS}"):
        TokenizeV2(network_features=True, num_ops=NUM_OPS)(g)
    g = network(5, seed=0)
    g.out_shape = g.out_shape[:, :3]
    with pytest.raises(FieldError, match=r"out_shape` must have shape \[5, 4\]"):
        TokenizeV2(network_features=True, num_ops=NUM_OPS)(g)
