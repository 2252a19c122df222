"""register_model: constructor arguments recorded as config; old checkpoints still load."""
import json

import pytest
import torch
from torch import nn
from torch_geometric.data import Batch
from torch_geometric.transforms import Compose

from pyg_nar.checkpoint import load_checkpoint, save_checkpoint
from pyg_nar.data import arch_data
from pyg_nar.datasets.nasbench201 import nb201_cell_graph
from pyg_nar.models import MODELS, NNLP, NARFormer, NARFormerV2, Predictor, register_model
from pyg_nar.transforms import NodeDegree, SymmetricAdjacency, TokenizeV2

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


@register_model
class _Toy(Predictor):
    def __init__(self, width: int, sizes=(1, 2), scale: float = 0.5, mode: str | None = None):
        super().__init__()
        self.seen = dict(width=width, sizes=sizes, scale=scale, mode=mode)
        self.lin = nn.Linear(width, 1)

    @classmethod
    def resolve_config(cls, config):
        return {**config, "mode": config["mode"] or ("wide" if config["width"] > 4 else "narrow")}


@register_model
class _ToyChild(_Toy):
    def __init__(self, depth: int = 3):
        super().__init__(width=2 * depth)


def test_config_is_the_bound_arguments_with_defaults_and_resolution():
    toy = _Toy(8, scale=2)
    assert toy.config == {"width": 8, "sizes": [1, 2], "scale": 2, "mode": "wide"}
    assert toy.seen["mode"] == "wide"  # __init__ receives the resolved arguments
    assert json.loads(json.dumps(toy.config)) == toy.config
    assert type(toy)(**toy.config).config == toy.config
    assert MODELS["_Toy"] is _Toy and _Toy(2).config["mode"] == "narrow"
    child = _ToyChild()
    assert child.config == {"depth": 3} and child.lin.in_features == 6
    with pytest.raises(TypeError, match="_Toy: .*unexpected keyword argument 'depth'"):
        _Toy(4, depth=2)
    from pyg_nar.errors import PygNarError
    with pytest.raises(PygNarError):  # a named error, for pipeline.train(model_kwargs=...)
        _Toy(4, depth=2)


def test_register_model_rejects_what_cannot_be_a_config():
    class Star(nn.Module):
        def __init__(self, **kwargs):
            super().__init__()

    with pytest.raises(TypeError, match=r"takes \*kwargs"):
        register_model(Star)
    with pytest.raises(TypeError, match="not a torch.nn.Module"):
        register_model(int)


def test_old_output_names_are_read():
    model = NARFormerV2(7, hidden=16, head_hidden=16, groups=4, num_layers=1, output="identity")
    assert model.config["output"] == "linear"
    with pytest.raises(ValueError, match="output must be one of"):
        NARFormerV2(7, output="softmax")


def _old_layout(state: dict, legacy: dict) -> dict:
    """The state dict under pyg_nar 0.1.0's key names (the inverse of LEGACY_KEYS)."""
    inverse = {new: old for old, new in legacy.items()}
    out = {}
    for key, value in state.items():
        for new, old in inverse.items():
            if key.startswith(new):
                key = old + key[len(new):]
                break
        out[key] = value
    return out


def test_a_checkpoint_folder_of_the_old_layout_loads(tmp_path):
    """model.json and model.pt as pyg_nar 0.1.0 wrote them for NAR-Former V2 (config with
    'identity', head weights under Sequential indices, a transform without TokenizeV2)."""
    torch.manual_seed(0)
    model = NARFormerV2(7, hidden=16, head_hidden=16, groups=4, num_layers=2, output="linear").eval()
    folder = tmp_path / "old"
    folder.mkdir()
    old_config = {**model.config, "output": "identity"}
    (folder / "model.json").write_text(json.dumps({"class": "NARFormerV2", "config": old_config,
                                                   "pyg_nar_version": "0.1.0"}))
    old_state = _old_layout(model.state_dict(), NARFormerV2.LEGACY_KEYS)
    assert "head.6.weight" in old_state and "layer_weights.2.bias" in old_state
    torch.save(old_state, folder / "model.pt")
    old_transform = Compose([SymmetricAdjacency(), NodeDegree()])
    torch.save(old_transform, folder / "transform.pt")  # never opened: rebuilt from transform.txt
    (folder / "transform.txt").write_text(repr(old_transform) + "\n")
    loaded, transform, info = load_checkpoint(str(folder))
    assert info["config"]["output"] == "identity" and loaded.config["output"] == "linear"
    assert isinstance(transform.transforms[-1], TokenizeV2)  # completed by upgrade_transform
    cells = [nb201_cell_graph(ARCH), nb201_cell_graph(ARCH.replace("skip_connect", "none"))]
    batch = Batch.from_data_list([transform(c) for c in cells])
    assert torch.equal(loaded(batch), model(batch))


@pytest.mark.parametrize("make", [
    lambda: NNLP(5, hidden=16),
    lambda: NARFormer(token_dim=12, depth_dim=6, dim=16, num_layers=1, head_dim=8, static_dim=4),
])
def test_old_state_dict_keys_load(make):
    torch.manual_seed(1)
    model = make()
    old = _old_layout(model.state_dict(), type(model).LEGACY_KEYS)
    assert set(old) != set(model.state_dict())
    torch.manual_seed(2)
    fresh = make()
    fresh.load_state_dict(old)
    for key, value in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key


def test_save_checkpoint_names_a_config_json_cannot_write(tmp_path):
    from pyg_nar.checkpoint import CheckpointError

    toy = _Toy(3, sizes=(object(),))
    with pytest.raises(CheckpointError, match="config of _Toy cannot be written as JSON"):
        save_checkpoint(str(tmp_path / "toy"), toy)
    assert not (tmp_path / "toy").exists()


def test_network_checkpoint_round_trip_with_its_transform(tmp_path):
    g = torch.Generator().manual_seed(0)
    graphs = [arch_data(torch.randint(0, 5, (n,), generator=g), [(i, i + 1) for i in range(n - 1)],
                        y=1.0, op_attrs=torch.rand(n, 8, generator=g),
                        out_shape=torch.rand(n, 4, generator=g) * 9, static=torch.rand(1, 4, generator=g))
              for n in (4, 7)]
    model = NARFormerV2(5, task="latency", network_features=True, static_dim=4, hidden=16,
                        head_hidden=16, groups=4).eval()
    transform = Compose([model.tokenizer(), SymmetricAdjacency()])
    loaded, saved, _ = load_checkpoint(save_checkpoint(str(tmp_path / "v2"), model, transform))
    assert repr(saved) == repr(transform)  # nothing appended: it has its tokenizer
    batch = Batch.from_data_list([transform(d) for d in graphs])
    assert torch.equal(loaded(batch), model(batch))
