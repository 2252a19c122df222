"""Few-shot latency of whole networks (adapt_network) on synthetic settings the test defines:
the source setting is a known function of the graphs' static counts, the target another."""
import numpy as np
import pytest
import torch
from torch import nn
from torch_geometric.data import Batch, Data

from pyg_nar.checkpoint import load_checkpoint, save_checkpoint
from pyg_nar.errors import PipelineError
from pyg_nar.fewshot import NETWORK_FAMILIES, AdaptedNetworkLatency, adapt_network
from pyg_nar.fewshot.protocol import flops_predict
from pyg_nar.models import Predictor, register_model
from pyg_nar.training import predict


@register_model
class _SourceSetting(Predictor):
    """A "pre-trained" predictor that knows the source setting exactly:
    ``t = scale * MFLOPs^0.7 * Mparams^0.3``."""

    def __init__(self, scale: float = 0.5):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(float(scale)))

    def forward(self, batch):
        s = batch.static.view(-1, 4)
        return self.scale * s[:, 1] ** 0.7 * s[:, 2] ** 0.3


def graphs(n, seed=0):
    rng = np.random.default_rng(seed)
    flops, params = rng.uniform(20, 400, n), rng.uniform(0.5, 60, n)
    return [Data(x=torch.zeros(3, 1), edge_index=torch.tensor([[0, 1], [1, 2]]),
                 static=torch.tensor([[1.0, f, p, 3 * f]], dtype=torch.float)) for f, p in zip(flops, params)]


GRAPHS = graphs(300)
SOURCE = predict(_SourceSetting(), GRAPHS).double().numpy()
TARGET = 0.2 * SOURCE ** 1.2  # another setting: a power of the source's latency
FLOPS = np.array([float(g.static[0, 1]) for g in GRAPHS])


def mape(pred, y):
    return float(np.mean(np.abs(pred - y) / y))


def test_adapts_to_another_setting_from_ten_networks(tmp_path):
    base = _SourceSetting()
    pick, rest = np.arange(10), np.arange(10, 300)
    adapted = adapt_network(base, [GRAPHS[i] for i in pick], TARGET[pick], name="batch1")
    pred = predict(adapted, [GRAPHS[i] for i in rest]).double().numpy()
    assert mape(pred, TARGET[rest]) < 0.01
    # FLOPs alone cannot tell networks of equal FLOPs and different parameter counts apart
    assert mape(flops_predict(FLOPS[pick], TARGET[pick], FLOPS[rest]), TARGET[rest]) > 0.1
    assert adapted.families[0].startswith("base") and set(adapted.families) <= set(NETWORK_FAMILIES)
    assert len(adapted.selection) == len(NETWORK_FAMILIES) and "batch1" in repr(adapted)
    # a registered predictor: saved and loaded like any other, the base model's weights inside
    save_checkpoint(str(tmp_path / "a"), adapted)
    loaded, _, info = load_checkpoint(str(tmp_path / "a"))
    assert isinstance(loaded, AdaptedNetworkLatency) and info["config"]["base_class"] == "_SourceSetting"
    np.testing.assert_allclose(predict(loaded, GRAPHS).numpy(), predict(adapted, GRAPHS).numpy(), rtol=1e-6)
    batch = Batch.from_data_list(GRAPHS[:7])
    assert adapted(batch).shape == (7,)


def test_named_errors():
    base = _SourceSetting()
    with pytest.raises(PipelineError, match="at least 2 measured networks"):
        adapt_network(base, GRAPHS[:1], TARGET[:1])
    with pytest.raises(PipelineError, match="3 graphs but 2 latencies"):
        adapt_network(base, GRAPHS[:3], TARGET[:2])
    with pytest.raises(PipelineError, match="entry 1 has latency -1.0"):
        adapt_network(base, GRAPHS[:3], [1.0, -1.0, 2.0])
    with pytest.raises(PipelineError, match="unknown families"):
        adapt_network(base, GRAPHS[:3], TARGET[:3], families=["magic"])
    bare = [Data(x=torch.zeros(2, 1), edge_index=torch.tensor([[0], [1]])) for _ in range(3)]
    with pytest.raises(PipelineError, match="no 'static' row"):
        adapt_network(base, bare, [1.0, 2.0, 3.0])
    with pytest.raises(PipelineError, match="non-empty list of known families"):
        AdaptedNetworkLatency("_SourceSetting", {}, ["magic"], [None], [0.1], [1])
