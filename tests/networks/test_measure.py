import os
import os.path as osp

import onnx
import pytest
import torch

pytest.importorskip("onnxruntime")

from pyg_nar.datasets import NNLQP
from pyg_nar.datasets.nnlqp import read_gt
from pyg_nar.networks import (ONNX_OP_VOCAB, MeasureProtocol, OnnxGraphError, build_latency_dataset,
                              measure_latency, measurement_noise, prepare_for_runtime, strip_weights,
                              zoo)
from torch_geometric.loader import DataLoader

FAST = dict(protocol=MeasureProtocol(rounds=1, round_ms=0, warmup_ms=0, min_runs=3, max_rounds=1))


@pytest.fixture(scope="module")
def small_onnx(tmp_path_factory):
    cfg = zoo.sample_config("vgg", 1)
    cfg["input_size"] = 32
    path = str(tmp_path_factory.mktemp("lat") / "vgg.onnx")
    return zoo.export_onnx(zoo.build_model(cfg), path, 32)


def test_measure_latency_full_stripped_and_external(small_onnx, tmp_path):
    ms = measure_latency(small_onnx, batch_size=2, **FAST)
    assert isinstance(ms, float) and 0 < ms < 1000
    stripped = str(tmp_path / "stripped.onnx")
    onnx.save(strip_weights(onnx.load(small_onnx)), stripped)
    assert 0 < measure_latency(stripped, batch_size=1, **FAST) < 1000
    ext = str(tmp_path / "ext.onnx")
    onnx.save_model(onnx.load(small_onnx), ext, save_as_external_data=True,
                    all_tensors_to_one_file=True, location="ext.bin", size_threshold=0)
    # external data present: the real weights are loaded
    ref = onnx.load(small_onnx)
    prepared = prepare_for_runtime(ext)
    w = {t.name: onnx.numpy_helper.to_array(t) for t in prepared.graph.initializer}
    for t in ref.graph.initializer:
        assert (onnx.numpy_helper.to_array(t) == w[t.name]).all()
    os.remove(tmp_path / "ext.bin")  # missing external data: random weights, still runs
    assert 0 < measure_latency(ext, batch_size=1, **FAST) < 1000


def test_stripped_integer_initializer_is_an_error(tmp_path):
    from onnx import TensorProto, helper
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [3, 2])
    shape.ClearField("int64_data")
    g = helper.make_graph([helper.make_node("Reshape", ["x", "shape"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [shape])
    path = str(tmp_path / "int.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)
    with pytest.raises(OnnxGraphError, match="int.onnx.*'shape'.*no data"):
        measure_latency(path, **FAST)


def test_dataset_round_trip(tmp_path):
    root = str(tmp_path / "zoo")
    build_latency_dataset(root, ["alexnet", "squeezenet"], per_family=1, seed=3,
                          batch_sizes=(1, 2), progress=False, **FAST)
    rows = read_gt(osp.join(root, "gt.txt"))
    assert [(r["model_type"], r["batch_size"]) for r in rows] == [
        ("alexnet", 1), ("alexnet", 2), ("squeezenet", 1), ("squeezenet", 2)]
    assert [r["graph_id"] for r in rows] == [0, 1, 2, 3]
    assert all(osp.isfile(osp.join(root, r["onnx_path"])) for r in rows)
    stored = onnx.load(osp.join(root, rows[0]["onnx_path"]))
    assert all(not t.raw_data for t in stored.graph.initializer)  # weight-stripped like NNLQP
    with open(osp.join(root, "configs.jsonl")) as f:
        assert len(f.readlines()) == 2

    # resuming measures nothing new
    with open(osp.join(root, "gt.txt")) as f:
        before = f.read()
    build_latency_dataset(root, ["alexnet", "squeezenet"], per_family=1, seed=3,
                          batch_sizes=(1, 2), progress=False, **FAST)
    with open(osp.join(root, "gt.txt")) as f:
        assert f.read() == before

    ds = NNLQP(root)
    assert len(ds) == 4
    assert ds.model_types == ["alexnet", "squeezenet"]
    assert ds.op_vocab == list(ONNX_OP_VOCAB)
    assert torch.allclose(ds.y, torch.tensor([r["latency_ms"] for r in rows]), rtol=1e-5)
    assert ds[0].model_type.item() == 0 and ds[3].model_type.item() == 1
    assert ds[1].static[0, 0] == 2 and ds[1].out_shape[0, 0] == 2
    assert ds[0].arch_id.item() == 0
    batch = next(iter(DataLoader(ds, batch_size=4)))
    assert batch.num_graphs == 4 and batch.static.shape == (4, 4)

    parallel = NNLQP(root, force_reload=True, num_workers=2)
    for a, b in zip(ds, parallel):
        assert torch.equal(a.op_attrs, b.op_attrs) and torch.equal(a.y, b.y)

    # another pre_transform gets its own processed graphs, never the cached ones of the first
    from pyg_nar.transforms import SymmetricAdjacency
    sym = NNLQP(root, pre_transform=SymmetricAdjacency())
    assert "adj_index" in sym[0] and "adj_index" not in NNLQP(root)[0]

    only = NNLQP(root, model_types=["squeezenet"])
    assert len(only) == 2 and only.model_types == ["alexnet", "squeezenet"]
    assert (only.model_type == 1).all()

    # processed files are reused ...
    processed = sorted(os.listdir(osp.join(root, "processed")))
    mtime = os.path.getmtime(NNLQP(root).processed_paths[0])
    assert os.path.getmtime(NNLQP(root).processed_paths[0]) == mtime
    # ... and rebuilt when gt.txt changes (here: one more line, NNLQP's optional stage column)
    with open(osp.join(root, "gt.txt"), "a") as f:
        f.write(f"7 {rows[0]['onnx_path']} 3 1.5 alexnet {rows[0]['platform']} test\n")
    ds2 = NNLQP(root)
    assert len(ds2) == 5 and ds2[4].y.item() == 1.5 and ds2[4].static[0, 0] == 3
    assert ds2.stages == [None, None, None, None, "test"]
    assert len(os.listdir(osp.join(root, "processed"))) > len(processed)

    noise = measurement_noise(root, num_samples=2, seed=0, **FAST)
    assert len(noise["pairs"]) == 2 and noise["mape"] >= 0 and noise["mape_back_to_back"] >= 0
    assert noise["mape"] == pytest.approx(
        sum(abs(n - o) / o for o, n in noise["pairs"]) / 2)


def test_gt_errors(tmp_path):
    (tmp_path / "gt.txt").write_text("0 a.onnx 1 2.0 resnet\n")
    with pytest.raises(ValueError, match=r"gt.txt:1: expected 'GraphID"):
        read_gt(str(tmp_path / "gt.txt"))
    with pytest.raises(FileNotFoundError, match="build_latency_dataset"):
        NNLQP(str(tmp_path / "nowhere"))


def test_missing_onnxruntime_is_a_clear_error(small_onnx, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime -> ImportError
    with pytest.raises(ImportError, match=r"pip install 'pyg-nar\[latency\]'"):
        measure_latency(small_onnx)


def test_fixed_batch_old_style_file_runs_at_any_batch(tmp_path):
    """A file exported at batch 1 without dynamic axes, weights also listed as graph inputs
    (keep_initializers_as_inputs, as old exporters wrote), then weight-stripped."""
    import warnings
    from torch import nn
    from pyg_nar.networks import from_onnx

    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU6(),
                          nn.Upsample(scale_factor=2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(8, 4)).eval()
    path = str(tmp_path / "old.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(1, 3, 16, 16),), path, dynamo=False,
                          opset_version=11, do_constant_folding=False,
                          keep_initializers_as_inputs=True)
    onnx.save(strip_weights(onnx.load(path)), path)
    d = from_onnx(path, batch_size=3)
    assert d.op[0] == ONNX_OP_VOCAB.index("Input") and (d.op == 0).sum() == 1
    assert d.out_shape[-1].tolist() == [3, 4, 0, 0]
    assert 0 < measure_latency(path, batch_size=3, **FAST) < 1000


def test_stored_measurement_restores_its_onnx_files(tmp_path):
    """gt.txt + configs.jsonl (what a stored measurement keeps) give back the ONNX files,
    identical graphs, without measuring again."""
    import shutil
    root, copy = str(tmp_path / "zoo"), str(tmp_path / "copy")
    build_latency_dataset(root, ["alexnet", "vgg"], per_family=2, seed=5, progress=False, **FAST)
    os.makedirs(copy)
    for name in ("gt.txt", "configs.jsonl"):
        shutil.copy(osp.join(root, name), copy)
    build_latency_dataset(copy, ["alexnet", "vgg"], per_family=2, seed=99, progress=False, **FAST)
    for name in ("gt.txt", "configs.jsonl"):
        with open(osp.join(root, name)) as a, open(osp.join(copy, name)) as b:
            assert a.read() == b.read()  # nothing measured, no config written twice
    for a, b in zip(NNLQP(root), NNLQP(copy)):
        assert torch.equal(a.op, b.op) and torch.equal(a.edge_index, b.edge_index)
        assert torch.equal(a.op_attrs, b.op_attrs) and torch.equal(a.y, b.y)
    with open(osp.join(copy, "configs.jsonl"), "a") as f:
        f.write("{not json\n")
    with pytest.raises(ValueError, match="configs.jsonl, line 5"):
        build_latency_dataset(copy, ["alexnet"], per_family=1, progress=False, **FAST)
