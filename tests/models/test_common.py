"""The predictors' shared blocks: field errors, output maps, MLP heads, static encoder, hooks."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Batch, Data

from _synthetic import synthetic_graphs
from pyg_nar.errors import FieldError, PygNarError
from pyg_nar.losses import PredictorLoss, hinge_ranking_loss
from pyg_nar.models import FlowerFormer, NARFormer
from pyg_nar.models.common import (OUTPUT_MAPS, OutputMap, StaticEncoder, check_ops, mlp,
                                   require_field, resolve_output)
from pyg_nar.training import TrainConfig, fit
from pyg_nar.transforms import transformer_sinusoid


def test_field_error_is_a_key_error_and_a_value_error_with_a_plain_message():
    batch = Data(op=torch.tensor([0, 3]), tokens=torch.zeros(2, 5))
    with pytest.raises(FieldError) as info:
        require_field(batch, "static", "Model", "add it")
    e = info.value
    assert isinstance(e, KeyError) and isinstance(e, ValueError) and isinstance(e, PygNarError)
    assert str(e) == "Model: the batch has no 'static' field (add it)"
    with pytest.raises(ValueError, match="'tokens' has width 5, the model expects 4"):
        require_field(batch, "tokens", "Model", width=4)
    assert require_field(batch, "tokens", "Model", width=5) is batch.tokens
    with pytest.raises(KeyError, match="node 1 of the batch has operation index 3"):
        check_ops(batch.op, 3, "Model")
    check_ops(batch.op, 4, "Model")


def test_output_maps():
    z = torch.linspace(-30, 30, 13)
    assert torch.equal(OutputMap("linear")(z), z)
    assert torch.equal(OutputMap("sigmoid")(z), torch.sigmoid(z))
    pos = OutputMap("neg_logsigmoid")(z)
    assert torch.allclose(pos, F.softplus(-z)) and bool((pos > 0).all())
    assert OutputMap("identity").name == "linear" and repr(OutputMap("sigmoid")) == "OutputMap('sigmoid')"
    assert set(OUTPUT_MAPS) == {"linear", "sigmoid", "neg_logsigmoid", "exp"}
    assert torch.allclose(OutputMap("exp")(z), torch.exp(z)) and float(OutputMap("exp")(z + 100).max()) < 1.1e13
    assert resolve_output("identity", ("linear",), "M") == "linear"
    with pytest.raises(ValueError, match="M: output must be one of 'linear', got 'sigmoid'"):
        resolve_output("sigmoid", ("linear",), "M")


def test_mlp_draws_the_initial_weights_of_torch_linear_layers_once():
    torch.manual_seed(0)
    ref = nn.Sequential(nn.Linear(7, 5), nn.ReLU(), nn.Dropout(0.3), nn.Linear(5, 5), nn.ReLU(),
                        nn.Dropout(0.3), nn.Linear(5, 1))
    after_ref = torch.rand(3)
    torch.manual_seed(0)
    head = mlp([7, 5, 5, 1], dropout=0.3)
    after_head = torch.rand(3)
    assert torch.equal(after_ref, after_head)  # the generator ends where it did
    for lin, ref_lin in zip(head.lins, [ref[0], ref[3], ref[6]]):
        assert torch.equal(lin.weight, ref_lin.weight) and torch.equal(lin.bias, ref_lin.bias)
    x = torch.randn(4, 7)
    for mode in ("eval", "train"):
        getattr(head, mode)()
        getattr(ref, mode)()
        torch.manual_seed(1)
        a = head(x)
        torch.manual_seed(1)
        assert torch.equal(a, ref(x)), mode  # same dropout masks, same numbers


def test_static_encoder_scales_encodes_and_checks_the_width():
    torch.manual_seed(0)
    enc = StaticEncoder(2, 6, scale=[1.0, 1e-3], num_freqs=5, who="M").eval()
    batch = Batch.from_data_list([Data(static=torch.tensor([[2.0, 3000.0]]), num_nodes=1),
                                  Data(static=torch.tensor([[1.0, 500.0]]), num_nodes=1)])
    lin = enc.mlp.lins[0]
    expected = F.relu(lin(transformer_sinusoid(batch.static * torch.tensor([1.0, 1e-3]), 5)))
    assert lin.in_channels == 20 and torch.equal(enc(batch, 2), expected)
    with pytest.raises(ValueError, match="M: static has 2 features per graph, expected static_dim=3"):
        StaticEncoder(3, 6, who="M")(batch, 2)
    with pytest.raises(KeyError, match="M: the batch has no 'static_enc' field"):
        StaticEncoder(2, 6, field="static_enc", who="M")(batch, 2)


def test_augmented_copy_is_a_model_hook():
    graphs = synthetic_graphs(4, token_dim=8, depth_dim=4)
    model = NARFormer.from_data(graphs[0], dim=16, num_layers=1, head_dim=8).eval()
    b = Batch.from_data_list(graphs)
    assert torch.equal(model.forward_augmented(b), model(b, tokens_field="aug_tokens"))
    del b.aug_tokens
    with pytest.raises(ValueError, match="'aug_tokens' field.*FlowConsistentPair"):
        model.forward_augmented(b)
    with pytest.raises(NotImplementedError, match="FlowerFormer reads no augmented copy"):
        FlowerFormer(3, channels=8, num_layers=1, heads=2).forward_augmented(b)
    with pytest.raises(ValueError, match="forward_augmented"):
        fit(nn.Linear(2, 1), graphs, None, TrainConfig(epochs=1, ac_weight=0.5, progress=False))


def test_base_losses_take_their_options_by_name():
    pred, y = torch.tensor([0.1, 0.5, 0.3]), torch.tensor([1.0, 2.0, 3.0])
    total, parts = PredictorLoss("hinge", margin=0.3)(pred, y)
    assert float(total) == pytest.approx(float(hinge_ranking_loss(pred, y, margin=0.3)))
    assert PredictorLoss("mse", margin=0.3).base_options == {}
    assert math.isclose(float(PredictorLoss("mse")(pred, y)[0]), float(((pred - y) ** 2).mean()),
                        rel_tol=1e-6)
