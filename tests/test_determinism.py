"""Same seed, one thread => bit-identical weights and metrics, for NNLP, NAR-Former V2 and
NAR-Former, through the whole `pyg-nar train` path (dataset, transform, split, training,
checkpoint)."""
import json
import os.path as osp

import pytest
import torch

from pyg_nar import pipeline


def run(tiny_networks, model, out, seed):
    pipeline.train(model, f"nnlqp:{tiny_networks['nnlqp']}", str(out), protocol="flowerformer",
                   train_size=0.5, num_val=2, epochs=3, seed=seed, progress=False)
    weights = torch.load(osp.join(out, "model.pt"), weights_only=True)
    with open(osp.join(out, "metrics.json")) as f:
        metrics = json.load(f)
    with open(osp.join(out, "history.json")) as f:
        history = [{k: v for k, v in h.items() if k != "seconds"} for h in json.load(f)]
    return weights, metrics["metrics"]["test"], history


@pytest.mark.parametrize("model", ["nnlp", "narformer-v2", "narformer"])
def test_same_seed_same_bits(tiny_networks, tmp_path, model):
    assert torch.get_num_threads() == 1
    w1, m1, h1 = run(tiny_networks, model, tmp_path / "a", seed=3)
    w2, m2, h2 = run(tiny_networks, model, tmp_path / "b", seed=3)
    assert w1.keys() == w2.keys()
    for key in w1:
        assert w1[key].dtype == w2[key].dtype and torch.equal(w1[key], w2[key]), key
    assert m1 == m2 and h1 == h2  # metrics and every epoch's losses, exactly
    w3, _, _ = run(tiny_networks, model, tmp_path / "c", seed=4)
    assert any(not torch.equal(w1[k], w3[k]) for k in w1)  # the seed matters
