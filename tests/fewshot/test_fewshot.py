"""Few-shot latency adaptation on synthetic devices whose latencies the tests define, and the
named errors of bad input."""
import numpy as np
import pytest
import torch
from scipy import stats
from torch_geometric.loader import DataLoader

from pyg_nar.datasets import fbnet_graph, nb201_cell_graph
from pyg_nar.errors import ArchitectureError, PipelineError
from pyg_nar.fewshot import FAMILIES, adapt, pretrain
from pyg_nar.fewshot.encoding import FBNetEncoding, NB201Encoding
from pyg_nar.spaces import NB201_OPS, NB201SearchSpace

CELLS = NB201SearchSpace.all_arch_strs()
NB = NB201Encoding()
CHOICES = NB.choice_matrix(CELLS)
DEGENERATE = NB.degenerate(CHOICES).numpy()


def op_table_device(costs, base=1.0):
    """A device whose latency is ``base`` + the sum of a per-operation cost over the six edges."""
    table = np.array([costs.get(op, 0.0) for op in NB201_OPS])
    return base + table[CHOICES.numpy()].sum(1)


SOURCES = {
    "gpu": op_table_device({"nor_conv_3x3": 1.0, "nor_conv_1x1": 0.6, "avg_pool_3x3": 0.5, "skip_connect": 0.2}, 4.0),
    "cpu": op_table_device({"nor_conv_3x3": 4.0, "nor_conv_1x1": 0.8, "avg_pool_3x3": 0.6, "skip_connect": 0.1}, 1.0),
    "dsp": op_table_device({"nor_conv_3x3": 2.0, "nor_conv_1x1": 1.5, "avg_pool_3x3": 2.5, "skip_connect": 0.3}, 2.0),
}


@pytest.fixture(scope="module")
def nb201_model():
    return pretrain("nasbench201", CHOICES, SOURCES, ensemble=1, steps=300, seed=0)


def _rank(pred, true):
    return stats.spearmanr(pred, true).statistic


def test_pretrained_model_predicts_its_sources(nb201_model):
    pred = nb201_model.predict(CELLS[:2000], "cpu")
    assert _rank(pred, SOURCES["cpu"][:2000]) > 0.98
    assert nb201_model.predict(CELLS[:3]).shape == (3, 3)


def test_adapts_to_a_new_mix_of_operations_from_ten_cells(nb201_model):
    # a device none of the sources is: avg pooling is expensive, 1x1 convolutions cheap
    target = op_table_device({"nor_conv_3x3": 3.0, "nor_conv_1x1": 0.3, "avg_pool_3x3": 3.0, "skip_connect": 0.5}, 3.0)
    rng = np.random.default_rng(0)
    pick = rng.choice(np.flatnonzero(~DEGENERATE), 10, replace=False)
    adapted = adapt(nb201_model, [(CELLS[i], target[i]) for i in pick], name="synthetic")
    test = np.setdiff1d(np.arange(len(CELLS)), pick)
    pred = adapted.predict(CHOICES[test])
    assert _rank(pred, target[test]) > 0.97
    assert np.mean(np.abs(pred - target[test]) / target[test]) < 0.05
    # the same cells from scratch (no pre-training, ridge on the one-hot choices) rank far worse
    from pyg_nar.fewshot.protocol import scratch_predict
    x = NB.onehot(CHOICES).double().numpy()
    assert _rank(scratch_predict(x[pick], target[pick], x[test]), target[test]) < 0.9
    assert len(adapted.families) == 3 and set(adapted.families) <= set(FAMILIES)
    assert [f.family for f in adapted.selection][:3] == adapted.families
    assert "synthetic" in repr(adapted)


def test_a_source_device_is_recovered_exactly(nb201_model):
    pick = np.random.default_rng(1).choice(np.flatnonzero(~DEGENERATE), 8, replace=False)
    y = SOURCES["dsp"]
    adapted = adapt(nb201_model, {CELLS[i]: y[i] for i in pick})
    pred = adapted.predict(CELLS[::7])
    assert np.mean(np.abs(pred - y[::7]) / y[::7]) < 0.02


def test_predicts_graph_batches_like_strings(nb201_model):
    pick = np.flatnonzero(~DEGENERATE)[::2500]
    adapted = adapt(nb201_model, [(CELLS[i], SOURCES["gpu"][i]) for i in pick])
    cells = CELLS[300:340]
    batch = next(iter(DataLoader([nb201_cell_graph(c) for c in cells], batch_size=40)))
    by_graph = adapted(batch).numpy()
    assert by_graph.shape == (40,)
    np.testing.assert_allclose(by_graph, adapted.predict(cells), rtol=1e-6)


def test_degenerate_cells_are_left_out_of_the_fit(nb201_model):
    dead = [i for i in np.flatnonzero(DEGENERATE)[:2]]
    live = [i for i in np.flatnonzero(~DEGENERATE)[:6]]
    measured = [(CELLS[i], 0.01) for i in dead] + [(CELLS[i], SOURCES["gpu"][i]) for i in live]
    adapted = adapt(nb201_model, measured)
    assert [i for i, _ in adapted.excluded] == [0, 1]
    assert "no path" in adapted.excluded[0][1]
    with pytest.raises(PipelineError, match="2 of them degenerate"):
        adapt(nb201_model, measured[:3])


@pytest.mark.parametrize("measured, error, match", [
    ([], PipelineError, "at least 2 measured architectures are needed, got 0"),
    ([(CELLS[1], 3.0)], PipelineError, "got 1"),
    ([(CELLS[1], 3.0), (CELLS[2], 0.0)], PipelineError, "entry 1 has latency 0.0"),
    ([(CELLS[1], -1.0), (CELLS[2], 2.0)], PipelineError, "entry 0 has latency -1.0"),
    ([(CELLS[1], 3.0), (CELLS[2], float("inf"))], PipelineError, "entry 1 has latency inf"),
    ([(CELLS[1], float("nan")), (CELLS[2], 2.0)], PipelineError, "finite and positive"),
    ([(CELLS[1], 3.0), ("|conv~0|", 2.0)], ArchitectureError, "measurement 1: '|conv~0|': not an NB201"),
    ([(CELLS[1], 3.0), (["k3_e1"] * 22, 2.0)], ArchitectureError, "measurement 1"),
    ([(CELLS[1], 3.0, 1)], PipelineError, "pairs"),
    ([(CELLS[1], "fast"), (CELLS[2], 2.0)], PipelineError, "must be numbers"),
])
def test_bad_measurements_are_named_errors(nb201_model, measured, error, match):
    with pytest.raises(error, match=match.replace("|", r"\|").replace("(", r"\(")):
        adapt(nb201_model, measured)


def test_other_named_errors(nb201_model):
    with pytest.raises(PipelineError, match="unknown device 'tpu'; known: gpu, cpu, dsp"):
        nb201_model.predict(CELLS[:2], "tpu")
    with pytest.raises(PipelineError, match="unknown space 'darts'"):
        pretrain("darts", CELLS[:2], {"gpu": [1.0, 2.0]})
    with pytest.raises(PipelineError, match="device 'gpu': entry 1 has latency -2.0"):
        pretrain("nasbench201", CELLS[:2], {"gpu": [1.0, -2.0]}, steps=1)
    with pytest.raises(PipelineError, match="2 architectures but 3 latencies"):
        pretrain("nasbench201", CELLS[:2], {"gpu": [1.0, 2.0, 3.0]}, steps=1)
    with pytest.raises(PipelineError, match="unknown families"):
        adapt(nb201_model, [(CELLS[1], 1.0), (CELLS[2], 2.0)], families=["magic"])


def test_missing_source_latencies_are_left_out():
    lat = SOURCES["gpu"][:500].copy()
    lat[::2] = np.nan
    model = pretrain("nasbench201", CELLS[:500], {"gpu": lat}, ensemble=1, steps=50)
    assert model.table_scale[0].item() == pytest.approx(np.nanmean(lat))


def test_fbnet_additive_device_from_ten_networks():
    enc = FBNetEncoding()
    rng = np.random.default_rng(0)
    choices = torch.as_tensor(rng.integers(0, 9, size=(1500, 22)))
    costs = enc.costs(choices).double().numpy()  # pw MMACs, dw MMACs, M weights, M in, M out, convs/10

    def device(v, base):
        return base + costs @ np.asarray(v)
    sources = {"a": device([0.02, 0.20, 1.0, 0.5, 0.5, 1.0], 2.0),
               "b": device([0.10, 0.05, 0.2, 0.1, 0.1, 3.0], 5.0),
               "c": device([0.05, 0.10, 0.1, 1.0, 1.0, 0.5], 1.0)}
    model = pretrain("fbnet", choices[:1000], {k: v[:1000] for k, v in sources.items()},
                     ensemble=1, steps=200)
    target = device([0.08, 0.02, 0.5, 0.2, 0.3, 2.0], 4.0)
    pick = np.arange(10)
    adapted = adapt(model, [(enc.to_str(choices[i]), target[i]) for i in pick])
    pred = adapted.predict(choices[1000:])
    assert _rank(pred, target[1000:]) > 0.97
    assert np.mean(np.abs(pred - target[1000:]) / target[1000:]) < 0.03
    graphs = [fbnet_graph(choices[i].tolist()) for i in range(1000, 1005)]
    batch = next(iter(DataLoader(graphs, batch_size=5)))
    np.testing.assert_allclose(adapted(batch).numpy(), pred[:5], rtol=1e-6)


def test_rebuilt_from_config_and_state_dict(nb201_model, tmp_path):
    pick = np.flatnonzero(~DEGENERATE)[:12]
    adapted = adapt(nb201_model, [(CELLS[i], SOURCES["cpu"][i] * 1.5) for i in pick], name="mine")
    import json
    path = tmp_path / "weights.pt"
    torch.save(adapted.state_dict(), path)
    config = json.loads(json.dumps(adapted.config))
    again = type(adapted).from_config(config, torch.load(path, weights_only=True))
    np.testing.assert_allclose(again.predict(CELLS[:500]), adapted.predict(CELLS[:500]), rtol=1e-6)
    assert again.name == "mine" and again.families == adapted.families


def test_encodings_agree_with_the_spaces():
    from pyg_nar.spaces import fbnet_costs, nb201_flops
    sample = CELLS[::97]
    np.testing.assert_allclose(NB.flops(NB.choice_matrix(sample)), [nb201_flops(c) for c in sample], rtol=1e-12)
    fb = FBNetEncoding()
    rng = np.random.default_rng(3)
    archs = [rng.integers(0, 9, 22).tolist() for _ in range(20)]
    c = fb.choice_matrix(archs)
    np.testing.assert_allclose(fb.flops(c), [fbnet_costs(a)["mflops"] for a in archs], rtol=1e-12)
    costs = fb.costs(c).double().numpy()
    np.testing.assert_allclose(costs[:, :2].sum(1) + fb._flops_const, fb.flops(c), rtol=1e-6)  # float32 costs
    assert NB.onehot(NB.choice_matrix(CELLS[:3])).shape == (3, 60) and fb.onehot(c).shape == (20, 198)
    # graphs of another space are not architectures of this one
    with pytest.raises(ArchitectureError, match="graphs must have 8 nodes"):
        NB.choice_matrix(next(iter(DataLoader([fbnet_graph(archs[0])], batch_size=1))))
    with pytest.raises(ArchitectureError, match=r"must be \[N, 22\]"):
        fb.choice_matrix(np.zeros((2, 6), dtype=int))
