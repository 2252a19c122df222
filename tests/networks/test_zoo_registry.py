"""The zoo after its split into one file per family: the same configs from the same seeds
(the stored dataset examples/data/zoo_cpu_b16 depends on it) and the same networks."""
import json
import os.path as osp
import random

import pytest

from pyg_nar.networks import from_onnx, zoo
from pyg_nar.networks.zoo.blocks import Family

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STORED = osp.join(REPO, "examples", "data", "zoo_cpu_b16", "configs.jsonl")

#: (nodes, edges) of the graph of model 0 of seed 0 (``random.Random("0-<family>-0")``),
#: measured with the single-file zoo before the split, less the ``Identity`` nodes of
#: initializers the exporter writes for shared (BatchNorm-folded) weights, which are constants
#: since graph format 2 (efficientnet 19 of them, googlenet 30, mnasnet 33, mobilenetv2 25,
#: mobilenetv3 9, nasbench201 17, resnet 12, squeezenet 2; before: (170, 214), (123, 140),
#: (161, 175), (97, 102), (65, 69), (71, 81), (51, 56), (40, 43)).
GRAPH_SIZES = {
    "alexnet": (19, 18), "efficientnet": (151, 195), "googlenet": (93, 110),
    "mnasnet": (128, 142), "mobilenetv2": (72, 77), "mobilenetv3": (56, 60),
    "nasbench201": (54, 64), "resnet": (39, 44), "squeezenet": (38, 41), "vgg": (27, 26),
}


def test_registry_order_and_names():
    # NNLQP's order; build_latency_dataset interleaves families (and numbers GraphIDs) in it
    assert zoo.FAMILIES == ("alexnet", "efficientnet", "googlenet", "mnasnet", "mobilenetv2",
                            "mobilenetv3", "nasbench201", "resnet", "squeezenet", "vgg")
    for name, fam in zoo.REGISTRY.items():
        assert isinstance(fam, Family) and fam.name == name
    assert zoo.REGISTRY["vgg"].input_sizes == (32, 48, 64)
    assert zoo.REGISTRY["nasbench201"].input_sizes == (32, 48)


def test_stored_configs_are_sampled_again():
    with open(STORED) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    assert len(rows) == 500
    for row in rows:
        cfg = row["config"]
        fam, i = cfg["family"], int(osp.basename(row["onnx_path"])[:-5].rsplit("_", 1)[1])
        assert zoo.sample_config(fam, random.Random(f"0-{fam}-{i}")) == cfg, row["onnx_path"]


@pytest.mark.parametrize("family", sorted(GRAPH_SIZES))
def test_same_network_as_before_the_split(family, tmp_path):
    cfg = zoo.sample_config(family, random.Random(f"0-{family}-0"))
    path = zoo.export_onnx(zoo.build_model(cfg), str(tmp_path / f"{family}.onnx"), cfg["input_size"])
    d = from_onnx(path)
    assert (d.num_nodes, d.num_edges) == GRAPH_SIZES[family]


def test_stored_13_family_dataset_is_consistent():
    """examples/data/zoo_cpu13_b16: every config is sampled again from its seed, and gt.txt,
    gt_spread.jsonl and configs.jsonl name the same 520 models of the 13 families."""
    from pyg_nar.datasets.nnlqp import read_gt
    from pyg_nar.networks.measure import read_spread

    root = osp.join(REPO, "examples", "data", "zoo_cpu13_b16")
    with open(osp.join(root, "configs.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    for row in rows:
        cfg = row["config"]
        i = int(osp.basename(row["onnx_path"])[:-5].rsplit("_", 1)[1])
        assert zoo.sample_config(cfg["family"], random.Random(f"0-{cfg['family']}-{i}")) == cfg
    gt = read_gt(osp.join(root, "gt.txt"))
    spread = read_spread(root)
    assert len(gt) == len(rows) == len(spread) == 520
    assert {r["onnx_path"] for r in gt} == {r["onnx_path"] for r in rows}
    assert {r["model_type"] for r in gt} == set(zoo.REGISTRY)
    for r in gt:
        s = spread[(r["onnx_path"], r["batch_size"], r["platform"])]
        assert r["batch_size"] == 16 and s["latency_ms"] == pytest.approx(r["latency_ms"], rel=1e-5)
        assert s["latency_ms"] == pytest.approx(min(s["rounds_ms"]), rel=1e-5)
