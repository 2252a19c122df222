"""Devices, mixed precision and compilation (pyg_nar.devices), exercised on the CPU: the
`device` argument end to end, checkpoints saved on another device, bf16 autocast, a compiled
model against the eager one. Nothing here needs a GPU."""
import contextlib
import io
import math

import pytest
import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch_geometric.data import Batch
from torch_geometric.nn import global_mean_pool

from _synthetic import synthetic_graphs
from pyg_nar.checkpoint import load_checkpoint, save_checkpoint
from pyg_nar.data import arch_data
from pyg_nar.devices import autocast, compile_model, resolve_amp, resolve_device
from pyg_nar.errors import DeviceError
from pyg_nar.models import NNLP, FlowerFormer, NARFormer, NARFormerV2
from pyg_nar.training import TrainConfig, fit, predict
from pyg_nar.transforms import FlowMask, SymmetricAdjacency, TopologicalGenerations

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without CUDA")


def tiny_narformer(graphs, seed=0, **kw):
    torch.manual_seed(seed)
    return NARFormer.from_data(graphs[0], **{**dict(dim=32, num_layers=1, head_dim=16), **kw})


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device(None) == resolve_device("auto")
    for bad in ("gpu0", "tpu", ""):
        with pytest.raises(DeviceError, match="unknown device"):
            resolve_device(bad)
    with pytest.raises(DeviceError, match="cpu or cuda"):
        resolve_device("meta")


@no_cuda
def test_cuda_where_there_is_none_is_a_named_error(tmp_path):
    for spec in ("cuda", "cuda:1", torch.device("cuda", 0)):
        with pytest.raises(DeviceError, match="CUDA is not available here"):
            resolve_device(spec)
    graphs = synthetic_graphs(8, aug=False)
    with pytest.raises(DeviceError, match="CUDA is not available"):
        fit(tiny_narformer(graphs), graphs, None, TrainConfig(epochs=1, device="cuda", progress=False))
    with pytest.raises(DeviceError, match="CUDA is not available"):
        predict(tiny_narformer(graphs), graphs, device="cuda:0")
    # the command line: one line on stderr, exit code 1, nothing written
    from pyg_nar.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["train", "narformer", "nasbench201", "--device", "cuda", "--cache",
                     str(tmp_path / "data"), "--out", str(tmp_path / "run"), "--quiet"])
    assert code == 1 and "CUDA is not available here" in err.getvalue()
    assert len(err.getvalue().strip().splitlines()) == 1
    assert not (tmp_path / "run").exists() and not (tmp_path / "data").exists()


def test_mixed_precision_settings():
    cpu = torch.device("cpu")
    assert resolve_amp(None, cpu) is None and resolve_amp("none", cpu) is None
    assert resolve_amp("bf16", cpu) is torch.bfloat16
    with pytest.raises(DeviceError, match="fp16' needs a CUDA device"):
        resolve_amp("fp16", cpu)
    with pytest.raises(DeviceError, match="unknown mixed-precision"):
        resolve_amp("fp8", cpu)
    with pytest.raises(DeviceError, match="amp must be"):
        TrainConfig(amp="half")
    with pytest.raises(DeviceError, match="compile must be"):
        TrainConfig(compile="fastest")
    graphs = synthetic_graphs(8, aug=False)
    with pytest.raises(DeviceError, match="fp16"):
        fit(tiny_narformer(graphs), graphs, None, TrainConfig(epochs=1, amp="fp16", progress=False))


def test_device_argument_end_to_end_on_the_cpu():
    """``device`` given (cpu / auto here) trains and predicts exactly as the default does."""
    graphs = synthetic_graphs(48, seed=1)
    runs = []
    for device in (None, "cpu", "auto" if not torch.cuda.is_available() else "cpu"):
        model = tiny_narformer(graphs, seed=3)
        config = TrainConfig(epochs=2, batch_size=16, progress=False,
                             **({} if device is None else {"device": device}))
        res = fit(model, graphs[:32], graphs[32:], config)
        assert res.device == "cpu" and res.world_size == 1 and res.compile_seconds is None
        runs.append((res.best_metric, predict(model, graphs, device=device)))
    for metric, pred in runs[1:]:
        assert metric == runs[0][0] and torch.equal(pred, runs[0][1])
    assert runs[0][1].device.type == "cpu" and runs[0][1].dtype == torch.float32


def test_checkpoint_saved_on_a_gpu_loads_on_the_cpu(tmp_path, monkeypatch):
    """Weights saved from CUDA tensors (their storages tagged ``cuda:0`` in the file, as a
    GPU run writes them) load onto the CPU: ``map_location``."""
    graphs = synthetic_graphs(8, aug=False)
    model = tiny_narformer(graphs)
    monkeypatch.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
    save_checkpoint(str(tmp_path / "ck"), model)
    monkeypatch.undo()
    if not torch.cuda.is_available():  # the file really names a CUDA device
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(tmp_path / "ck" / "model.pt", weights_only=True)
    for where in ("cpu", "auto", torch.device("cpu")):
        loaded, _, _ = load_checkpoint(str(tmp_path / "ck"), map_location=where)
        assert all(p.device == resolve_device(where) for p in loaded.parameters())
        assert torch.allclose(predict(loaded, graphs), predict(model, graphs))
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="CUDA is not available"):
            load_checkpoint(str(tmp_path / "ck"), map_location="cuda")


def test_bf16_autocast_on_the_cpu():
    """bf16 autocast: float32 predictions close to float32 ones (bf16 keeps ~3 digits), and a
    training run that works."""
    graphs = synthetic_graphs(40, seed=5)
    model = tiny_narformer(graphs, dropout=0.0)
    full = predict(model, graphs)
    half = predict(model, graphs, amp="bf16")
    assert half.dtype == torch.float32
    assert (half - full).abs().max() <= 0.05 * full.abs().max()
    with autocast(torch.device("cpu"), "bf16"):
        assert model.input(graphs[0].tokens).dtype == torch.bfloat16
    res = fit(model, graphs[:32], graphs[32:], TrainConfig(epochs=2, batch_size=8, amp="bf16",
                                                           progress=False))
    assert res.history[-1]["loss"] < res.history[0]["loss"] * 1.5
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert all(p.dtype == torch.float32 for p in model.parameters())


class TinyPredictor(nn.Module):
    """The smallest predictor of the training loop's contract, so that compiling it is quick."""

    def __init__(self, dim: int):
        super().__init__()
        self.lin = nn.Linear(dim, 8)
        self.head = nn.Linear(8, 1)

    def forward(self, batch):
        h = torch.tanh(self.lin(batch.tokens))
        return self.head(global_mean_pool(h, batch.batch, size=batch.num_graphs)).view(-1)


def test_compiled_model_predicts_as_the_eager_one():
    graphs = synthetic_graphs(40, seed=6, aug=False)
    torch.manual_seed(0)
    model = TinyPredictor(graphs[0].tokens.size(-1))
    eager = predict(model, graphs, batch_size=16)
    regions = compile_model(model)
    assert regions == [model]
    assert torch.allclose(predict(model, graphs, batch_size=16), eager, atol=1e-5, rtol=1e-5)
    assert set(model.state_dict()) == {"lin.weight", "lin.bias", "head.weight", "head.bias"}
    # fit compiles on request and reports the seconds spent compiling
    torch.manual_seed(0)
    model = TinyPredictor(graphs[0].tokens.size(-1))
    res = fit(model, graphs[:32], graphs[32:], TrainConfig(epochs=2, batch_size=16, compile=True,
                                                           progress=False))
    assert res.compile_seconds is not None and res.compile_seconds >= 0
    assert all("compile_seconds" in h for h in res.history)
    assert res.history[0]["compile_seconds"] >= res.history[1]["compile_seconds"]
    with pytest.raises(DeviceError, match="unknown compile mode"):
        compile_model(model, "fastest")


def test_flowerformer_compiles_its_layers_not_the_schedule():
    model = FlowerFormer(7, channels=16, num_layers=3)
    assert model.compile_regions() == list(model.layers)


def test_flowerformer_under_bf16_autocast():
    """The GRU update keeps the float32 state under autocast (no dtype clash inside torch);
    bf16 predictions stay close to float32 ones, and a bf16 training epoch runs."""
    graphs = [flow_dag(12, seed) for seed in range(24)]
    torch.manual_seed(0)
    model = FlowerFormer(5, channels=16, num_layers=2, dropout=0.0)
    full, half = predict(model, graphs), predict(model, graphs, amp="bf16")
    assert half.dtype == torch.float32
    assert (half - full).abs().max() <= 0.05 * full.abs().max()
    res = fit(model, graphs[:16], graphs[16:], TrainConfig.flowerformer(
        epochs=1, batch_size=8, amp="bf16", progress=False))
    assert math.isfinite(res.history[0]["loss"])
    assert all(p.dtype == torch.float32 and torch.isfinite(p).all() for p in model.parameters())


# ------------------------------------------------------------------ waits for the device
#: What makes the host wait for the device (a value read back to Python).
HOST_SYNCS = ("tolist", "item", "__bool__", "__int__", "__float__", "__index__", "cpu", "numpy")


class CountHostSyncs(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in HOST_SYNCS:
            self.calls.append(func.__name__)
        return func(*args, **(kwargs or {}))


def flow_dag(n: int, seed: int, num_ops: int = 5):
    gen = torch.Generator().manual_seed(seed)
    edges = torch.triu(torch.rand(n, n, generator=gen) < 0.3, diagonal=1).nonzero().t()
    data = arch_data(torch.randint(0, num_ops, (n,), generator=gen), edges.tolist(), y=0.5)
    return FlowMask()(TopologicalGenerations()(data))


def network(n: int, seed: int, num_ops: int = 5):
    gen = torch.Generator().manual_seed(seed)
    edges = [(i, i + 1) for i in range(n - 1)] + [(i, i + 2) for i in range(0, n - 2, 3)]
    return SymmetricAdjacency()(arch_data(
        torch.randint(0, num_ops, (n,), generator=gen), edges, y=1.0,
        op_attrs=torch.randint(0, 4, (n, 8), generator=gen).float(),
        out_shape=torch.randint(1, 64, (n, 4), generator=gen).float(),
        static=torch.rand(1, 4, generator=gen) + 0.1))


@pytest.mark.parametrize("name, budget", [
    ("flowerformer", 3),  # the op check; the schedule's checks + depth; its group sizes
    ("narformer", 1),     # to_dense_batch's largest graph
    ("narformer-v2", 1),  # the op check (the adjacency comes from SymmetricAdjacency)
    ("nnlp", 1),          # the op check
])
def test_host_waits_per_forward_are_few_and_do_not_grow_with_the_batch(name, budget):
    """Every value a forward pass reads back to the host (a wait for the device on a GPU) is
    counted: at most ``budget`` per forward, the same for 4 graphs as for 64."""
    if name == "flowerformer":
        model, make = FlowerFormer(5, channels=16, num_layers=3), lambda k: flow_dag(10 + k % 5, k)
    elif name == "narformer":
        pool = synthetic_graphs(64, seed=1, aug=False)
        model, make = tiny_narformer(pool), pool.__getitem__
    elif name == "narformer-v2":
        model = NARFormerV2(5, task="latency", network_features=True, static_dim=4, hidden=32,
                            head_hidden=32, groups=4)
        tokenizer = model.tokenizer()
        make = lambda k: tokenizer(network(5 + k % 7, k))  # noqa: E731
    else:
        model, make = NNLP(5, hidden=32, static_dim=4), lambda k: network(5 + k % 7, k)
    model.eval()
    counts = []
    for n in (4, 64):
        batch = Batch.from_data_list([make(k) for k in range(n)])
        with torch.no_grad(), CountHostSyncs() as counter:
            model(batch)
        counts.append(len(counter.calls))
    assert counts[0] == counts[1] <= budget, counts


# ------------------------------------------------------------------ divergence
def big_static_networks(count: int) -> list:
    """Networks with unscaled static features: ResNet-50-sized MFLOPs at batch 64 (> 65,504)."""
    graphs = []
    for k in range(count):
        g = network(6 + k % 5, k)
        g.static = torch.tensor([[64.0, 2.6e5 + 1e4 * k, 25.0, 3e3]])
        g.y = torch.tensor([20.0 + k])
        graphs.append(g)
    return graphs


def test_fp16_overflow_is_a_named_error_and_bf16_trains(monkeypatch):
    """Training that diverges on a device we did not tune for, reproduced on the CPU: fp16
    autocast (a GPU's usual setting, emulated here with the CPU's fp16 autocast and a grad
    scaler) on NNLP without its static scaling overflows fp16's 65,504 in the first forward;
    fit stops with TrainingDivergedError naming fp16 and the fix, and the fix (bf16) trains."""
    from pyg_nar import training
    from pyg_nar.errors import TrainingDivergedError

    graphs = big_static_networks(16)

    def run(amp):
        torch.manual_seed(0)
        model = NNLP(5, hidden=32, static_dim=4, static_scale=None)
        return fit(model, graphs, None, TrainConfig(epochs=1, batch_size=8, lr=1e-3, amp=amp,
                                                    loss="relative_mse", progress=False))

    res = run("bf16")  # float32's range: finite
    assert math.isfinite(res.history[0]["loss"])
    with monkeypatch.context() as m:  # fp16 on the CPU, as a GPU would run it
        m.setattr(training, "resolve_device", lambda device: torch.device("cpu"))
        m.setattr(training, "autocast", lambda device, amp: torch.autocast("cpu", dtype=torch.float16))
        m.setattr(training, "grad_scaler", lambda device, amp: torch.amp.GradScaler("cpu"))
        with pytest.raises(TrainingDivergedError, match="fp16 overflows beyond 65,504") as err:
            run("fp16")
    assert err.value.epoch == 1 and err.value.step == 1
    assert "amp fp16" in str(err.value) and "amp='bf16'" in str(err.value)


def test_a_diverging_run_is_a_named_error_with_its_step_and_fix():
    from pyg_nar.errors import PygNarError, TrainingDivergedError

    graphs = synthetic_graphs(32, seed=7, aug=False)
    bad = [g.clone() for g in graphs]
    bad[5].y = torch.tensor([float("nan")])
    config = dict(epochs=2, batch_size=8, progress=False)
    with pytest.raises(TrainingDivergedError, match=r"targets \(y\) are NaN") as err:
        fit(TinyPredictor(graphs[0].tokens.size(-1)), bad, None, TrainConfig(**config))
    assert err.value.epoch == 1 and 1 <= err.value.step <= 4
    assert isinstance(err.value, FloatingPointError) and isinstance(err.value, PygNarError)
    assert "device cpu, amp none" in str(err.value)
    # a learning rate far too high for float32: the weights, then the loss overflow
    torch.manual_seed(0)
    with pytest.raises(TrainingDivergedError, match="lower the learning rate") as err:
        fit(TinyPredictor(graphs[0].tokens.size(-1)), graphs, None,
            TrainConfig(lr=1e30, schedule="constant", warmup=0.0, **config))
    assert err.value.step is not None
