"""NNLQP over a folder laid out like a real NNLQP download: hand-written gt files (header,
comments, several platforms, the optional stage column), weight-stripped ONNX files."""
import os
import os.path as osp

import onnx
import pytest
from onnx import TensorProto, helper

from pyg_nar.datasets import NNLQP
from pyg_nar.datasets.base import BenchmarkDataset
from pyg_nar.datasets.nnlqp import read_gt
from pyg_nar.networks import strip_weights


def _net(channels: int):
    w = helper.make_tensor("w", TensorProto.FLOAT, [channels, 3, 3, 3], [0.1] * (channels * 27))
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["c"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    return strip_weights(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))


@pytest.fixture
def nnlqp_root(tmp_path):
    root = tmp_path / "unseen_structure"
    for fam, c in (("resnet", 4), ("vgg", 8)):
        os.makedirs(root / "onnx" / fam)
        onnx.save(_net(c), str(root / "onnx" / fam / f"{fam}_0.onnx"))
    lines = ["GraphID OnnxPath BatchSize Latency(ms) ModelType PlatformId Stage\n",
             "# measured on two platforms\n",
             "0 onnx/resnet/resnet_0.onnx 1 1.5 resnet 2 train\n",
             "1 onnx/resnet/resnet_0.onnx 1 0.5 resnet 10 train\n",
             "2 onnx/vgg/vgg_0.onnx 4 3.0 vgg 2 test\n",
             "\n"]
    (root / "gt_stage.txt").write_text("".join(lines))
    return str(root)


def test_nnlqp_folder_loads(nnlqp_root):
    assert [r["graph_id"] for r in read_gt(osp.join(nnlqp_root, "gt_stage.txt"))] == [0, 1, 2]
    ds = NNLQP(nnlqp_root, gt_file="gt_stage.txt")
    assert isinstance(ds, BenchmarkDataset) and len(ds) == 3
    assert ds.platforms == ["2", "10"] and ds.model_types == ["resnet", "vgg"]
    assert ds.stages == ["train", "train", "test"]
    assert ds.y.tolist() == [1.5, 0.5, 3.0] and ds.platform.tolist() == [0, 1, 0]
    assert ds[2].static[0, 0] == 4 and ds[2].out_shape[0].tolist() == [4, 3, 8, 8]
    assert osp.basename(ds.processed_dir).startswith("nnlqp_gt_stage_")
    assert ds.raw_dir == osp.abspath(nnlqp_root)

    # filters are part of the fingerprint: their own processed folder, indices kept
    only = NNLQP(nnlqp_root, platforms=[10], gt_file="gt_stage.txt")
    assert len(only) == 1 and only.platform.tolist() == [1]
    assert only.processed_dir != ds.processed_dir
    assert NNLQP(nnlqp_root, gt_file="gt_stage.txt").processed_dir == ds.processed_dir
    with pytest.raises(ValueError, match="no line matches"):
        NNLQP(nnlqp_root, model_types=["alexnet"], gt_file="gt_stage.txt")


def test_nb201_latency_goes_through_its_parents_constructor(data_root, tmp_path, monkeypatch):
    """NASBench201Latency is built by NASBench201.__init__ (no skipped constructor), on a
    30-cell accuracy file and the real latency file."""
    import gzip
    import numpy as np
    from pyg_nar.datasets import NASBench201, NASBench201Latency

    raw = tmp_path / "raw"
    (raw / "nasbench201").mkdir(parents=True)
    with gzip.open(osp.join(data_root, NASBench201.ACCURACY_FILE), "rt") as f:
        lines = [next(f) for _ in range(31)]
    with gzip.open(raw / NASBench201.ACCURACY_FILE, "wt") as f:
        f.writelines(lines)
    (raw / "latency_help").mkdir()
    os.symlink(osp.join(data_root, NASBench201Latency.LATENCY_FILE), raw / NASBench201Latency.LATENCY_FILE)

    calls = []
    parent_init = NASBench201.__init__

    def spy(self, *args, **kwargs):
        calls.append(type(self).__name__)
        parent_init(self, *args, **kwargs)

    monkeypatch.setattr(NASBench201, "__init__", spy)
    ds = NASBench201Latency(str(tmp_path / "root"), device="gold_6226", raw_dir=str(raw))
    assert calls == ["NASBench201Latency"]
    assert ds.device == "gold_6226" and ds.target == "cifar10_test_200ep" and len(ds) == 30
    with np.load(osp.join(data_root, NASBench201Latency.LATENCY_FILE)) as z:
        pos = {int(i): k for k, i in enumerate(z["index"])}
        expected = [float(z["lat_gold_6226"][pos[int(i)]]) for i in ds.arch_id]
    assert ds.y.tolist() == pytest.approx(expected, rel=1e-6)
    assert osp.basename(ds.processed_dir).startswith("nasbench201_latency_")
