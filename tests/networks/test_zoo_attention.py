"""The zoo's attention families (ViT, BERT-style text encoder, MobileViT): seeded sampling,
correct ONNX exports (dynamic batch, int64 token ids), conversion and the latency dataset."""
import json
import os.path as osp
import random
import shutil

import numpy as np
import onnx
import pytest
import torch

from pyg_nar.networks import ONNX_OP_VOCAB, from_onnx, zoo
from pyg_nar.networks.zoo.attention import SelfAttention
from pyg_nar.networks.zoo.mobilevit import MobileViTBlock

#: model 0 of seed 0 (``random.Random("0-<family>-0")``): datasets depend on the samplers
#: giving the same configs from the same seeds.
CONFIG_0 = {
    "vit": {"family": "vit", "input_size": 32, "patch_size": 4, "dim": 96, "depth": 3, "heads": 3,
            "mlp_ratio": 3, "pool": "cls", "attention": "sdpa"},
    "bert": {"family": "bert", "input_size": 64, "vocab_size": 8192, "dim": 128, "depth": 2,
             "heads": 2, "mlp_ratio": 2, "norm": "post", "attention": "sdpa"},
    "mobilevit": {
        "family": "mobilevit", "input_size": 96, "width_mult": 0.75, "stem": 16,
        "stages": [{"c": 16, "n": 1, "s": 1, "e": 4}, {"c": 16, "n": 2, "s": 2, "e": 4},
                   {"c": 40, "n": 1, "s": 2, "e": 4}, {"c": 48, "n": 1, "s": 2, "e": 4},
                   {"c": 64, "n": 1, "s": 2, "e": 4,
                    "transformer": {"dim": 80, "depth": 3, "heads": 5, "mlp_ratio": 2, "patch": 2}}],
        "last": 240, "attention": "sdpa"},
}


def test_registry():
    assert zoo.ATTENTION_FAMILIES == ("vit", "bert", "mobilevit")
    assert tuple(zoo.REGISTRY) == zoo.FAMILIES + zoo.ATTENTION_FAMILIES
    assert len(zoo.FAMILIES) == 10  # the default of build_latency_dataset stays NNLQP's ten


@pytest.mark.parametrize("family", zoo.ATTENTION_FAMILIES)
def test_sampled_configs(family):
    assert zoo.sample_config(family, random.Random(f"0-{family}-0")) == CONFIG_0[family]
    for i in range(200):
        cfg = zoo.sample_config(family, random.Random(f"1-{family}-{i}"))
        assert json.loads(json.dumps(cfg)) == cfg and cfg["family"] == family
        assert cfg["attention"] in ("matmul", "sdpa")
        blocks = ([cfg] if family != "mobilevit" else
                  [st["transformer"] for st in cfg["stages"] if "transformer" in st])
        assert blocks and all(b["dim"] % b["heads"] == 0 for b in blocks)
        if family == "vit":
            assert cfg["input_size"] % cfg["patch_size"] == 0
            assert 9 <= (cfg["input_size"] // cfg["patch_size"]) ** 2 <= 64
        elif family == "bert":
            assert cfg["input_size"] in (16, 32, 64, 128) and cfg["norm"] in ("pre", "post")
        else:  # attention in the last stages only
            kinds = ["transformer" in st for st in cfg["stages"]]
            assert kinds[:2] == [False, False] and kinds == sorted(kinds)


@pytest.mark.parametrize("family", zoo.ATTENTION_FAMILIES)
def test_export_runs_at_any_batch_and_converts(family, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    cfg = CONFIG_0[family]
    model = zoo.build_model(cfg)
    path = zoo.export_onnx(model, str(tmp_path / f"{family}.onnx"), cfg["input_size"])
    graph = onnx.load(path).graph
    (inp,) = graph.input
    elem = inp.type.tensor_type.elem_type
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    if family == "bert":
        assert elem == onnx.TensorProto.INT64 and dims == ["batch", 64]
    else:
        assert elem == onnx.TensorProto.FLOAT and dims == ["batch", 3] + [cfg["input_size"]] * 2
    assert sum(n.op_type == "LayerNormalization" for n in graph.node) >= 2  # opset 17: one op
    # dynamic batch: exported at batch 1, onnxruntime agrees with torch at batch 3
    s = cfg["input_size"]
    x = zoo.example_input(model, s, 3)
    assert x.dtype == (torch.int64 if family == "bert" else torch.float32)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"input": x.numpy()})
    with torch.no_grad():
        want = model(x).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)

    d = from_onnx(path, batch_size=2)
    ops = [ONNX_OP_VOCAB[i] for i in d.op.tolist()]
    assert "Other" not in ops, ops
    assert ops.count("Softmax") >= 2 and "MatMul" in ops and "LayerNormalization" in ops
    assert ("Gather" in ops) == (family != "mobilevit")  # token embedding / class token
    assert ("Conv" in ops) == (family != "bert")
    assert d.out_shape[0].tolist() == ([2, 64, 0, 0] if family == "bert" else [2, 3, s, s])
    assert d.out_shape[-1].tolist() == [2, 10, 0, 0]
    assert d.static[0, 0] == 2 and d.static[0, 1] > 0


@pytest.mark.parametrize("impl", ["matmul", "sdpa"])
def test_self_attention_matches_torch(impl):
    torch.manual_seed(0)
    attn = SelfAttention(32, 4, 5, impl).eval()
    ref = torch.nn.MultiheadAttention(32, 4, batch_first=True).eval()
    ref.in_proj_weight.data, ref.in_proj_bias.data = attn.qkv.weight.data, attn.qkv.bias.data
    ref.out_proj.weight.data, ref.out_proj.bias.data = attn.proj.weight.data, attn.proj.bias.data
    x = torch.randn(2, 5, 32)
    with torch.no_grad():
        torch.testing.assert_close(attn(x), ref(x, x, x, need_weights=False)[0])
    with pytest.raises(ValueError, match="multiple of heads"):
        SelfAttention(30, 4, 5)


def test_mobilevit_patch_that_does_not_divide_the_map():
    t = {"dim": 16, "depth": 1, "heads": 1, "mlp_ratio": 2}
    assert MobileViTBlock(8, dict(t, patch=4), 6, "matmul").patch == 3  # largest divisor <= 4
    assert MobileViTBlock(8, dict(t, patch=2), 3, "matmul").patch == 1
    block = MobileViTBlock(8, dict(t, patch=2), 6, "matmul").eval()
    x = torch.randn(2, 8, 6, 6)
    assert block(x).shape == x.shape


def test_latency_dataset_of_attention_families(tmp_path):
    """build_latency_dataset measures them, and a stored folder (gt.txt + configs.jsonl)
    re-exports byte-identical ONNX files."""
    pytest.importorskip("onnxruntime")
    from pyg_nar.datasets.nnlqp import read_gt
    from pyg_nar.networks import MeasureProtocol, build_latency_dataset

    QUICK = MeasureProtocol(rounds=1, round_ms=0, warmup_ms=0, min_runs=1)
    root, copy = str(tmp_path / "zoo"), str(tmp_path / "copy")
    fams = list(zoo.ATTENTION_FAMILIES)
    build_latency_dataset(root, fams, per_family=1, batch_sizes=(1, 2), progress=False,
                          protocol=QUICK)
    rows = read_gt(osp.join(root, "gt.txt"))
    assert [(r["model_type"], r["batch_size"]) for r in rows] == [(f, b) for f in fams for b in (1, 2)]
    assert all(r["latency_ms"] > 0 for r in rows)
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("onnx"))
    build_latency_dataset(copy, fams, per_family=1, batch_sizes=(1, 2), progress=False,
                          protocol=QUICK)
    for r in rows:
        with open(osp.join(root, r["onnx_path"]), "rb") as a, open(osp.join(copy, r["onnx_path"]), "rb") as b:
            assert a.read() == b.read(), r["onnx_path"]
    with open(osp.join(root, "gt.txt")) as a, open(osp.join(copy, "gt.txt")) as b:
        assert a.read() == b.read()  # nothing measured again
