"""Zero-cost proxies (NASLib's tables, the ZeroCostProxies transform, the computed data-free
proxies), the zero-cost predictors, and NAS-Bench-301's two-cell graphs."""
import gzip
import json
import os.path as osp

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch, Data

from pyg_nar.datasets import NASBench101, NASBench201, NASBench301
from pyg_nar.datasets.nasbench301 import darts_cell_edges
from pyg_nar.datasets.zero_cost import nb201_flops_params, zero_cost_table
from pyg_nar.errors import ArchitectureError, DataFileError
from pyg_nar.metrics import kendall_tau
from pyg_nar.models import GNN, ProxyFusion, ScoreEnsemble, ZeroCostPredictor
from pyg_nar.proxies import FAILED, nb201_proxies, nwot_jacov, synflow
from pyg_nar.transforms import ZeroCostProxies

CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|none~2|"


def test_nb201_flops_params_by_hand():
    # per op: 5 cells x (C^2 k^2 + 2C) parameters over C = 16, 32, 64
    conv3 = 5 * sum(c * c * 9 + 2 * c for c in (16, 32, 64)) / 1e6
    conv1 = 5 * sum(c * c + 2 * c for c in (16, 32, 64)) / 1e6
    flops, params = nb201_flops_params(CELL)
    assert params == pytest.approx(0.073306 + 2 * conv3 + conv1)
    assert flops == pytest.approx(7.943872 + 2 * 35.81952 + 4.36224 + 1.29024)
    with pytest.raises(ValueError, match="unknown dataset"):
        nb201_flops_params(CELL, "mnist")


def test_nb201_table_agrees_with_naslib_and_the_transform_reads_it(data_root, tmp_path):
    t = zero_cost_table("nasbench201", raw_dir=data_root)
    assert len(t.rows) == 15625 and t.names[:3] == ("zen", "flops", "params")
    full = ~np.isnan(t.values).any(1)
    assert full.sum() == 724  # 725 subset cells, one without synflow
    # our exact flops / params equal NASLib's on the subset (read from its file directly)
    import csv
    with gzip.open(osp.join(data_root, "naslib_zc_subsets", "nb201_zc_subset.csv.gz"), "rt") as f:
        rows = [r for r in csv.DictReader(f) if r["dataset"] == "cifar10"]
    for r in rows[:50]:
        flops, params = nb201_flops_params(r["arch_str"])
        assert flops == pytest.approx(float(r["flops"]), abs=1e-9)
        assert params == pytest.approx(float(r["params"]), abs=1e-9)
    ds = NASBench201(str(tmp_path), raw_dir=data_root)
    tf = ZeroCostProxies("nasbench201", ("params", "zen"), raw_dir=data_root)
    g = tf(ds[6111])
    assert g.zc.shape == (1, 2)
    assert float(g.zc[0, 0]) == pytest.approx(nb201_flops_params(g.arch_str)[1], rel=1e-6)
    with pytest.raises(ArchitectureError, match="no synflow"):
        ZeroCostProxies("nasbench201", ("synflow",), raw_dir=data_root)(ds[0])
    missing = int(np.nonzero(np.isnan(t.values[:, t.names.index("synflow")]))[0][0])
    arch = next(i for i, r in t.rows.items() if r == missing)
    assert torch.isnan(ZeroCostProxies("nasbench201", ("synflow",), raw_dir=data_root,
                                       allow_missing=True)(ds[arch]).zc).all()
    with pytest.raises(ValueError, match="unknown proxies"):
        ZeroCostProxies("nasbench201", ("magic",), raw_dir=data_root)
    assert "params" in repr(tf) and "nasbench201" in repr(tf)


def test_nb101_and_nb301_proxies_are_found(data_root, tmp_path):
    nb101 = NASBench101(str(tmp_path / "101"), raw_dir=data_root)
    tf = ZeroCostProxies("nasbench101", ("synflow", "params"), raw_dir=data_root)
    with gzip.open(osp.join(data_root, "naslib_zc_subsets", "nb101_zc_subset.json.gz"), "rt") as f:
        recs = json.load(f)
    for k in (0, 123, 499):
        assert tf(nb101[k]).zc.tolist() == [[pytest.approx(recs[k]["synflow"], rel=1e-6),
                                             pytest.approx(recs[k]["params"], rel=1e-6)]]
    nb301 = NASBench301(str(tmp_path / "301"), raw_dir=data_root)
    z = ZeroCostProxies("nasbench301", ("nwot",), raw_dir=data_root)(nb301[3]).zc
    with gzip.open(osp.join(data_root, "naslib_zc_subsets", "nb301_zc_subset.json.gz"), "rt") as f:
        assert float(z) == pytest.approx(json.load(f)[3]["nwot"], rel=1e-6)


def test_darts_cell_graph_by_hand():
    genotype = [["sep_conv_3x3", 0], ["skip_connect", 1], ["max_pool_3x3", 2], ["dil_conv_3x3", 0],
                ["avg_pool_3x3", 3], ["sep_conv_5x5", 1], ["skip_connect", 2], ["dil_conv_5x5", 4]]
    ops, edges = darts_cell_edges(genotype)
    assert ops[:3] == ["input", "input", "sep_conv_3x3"] and ops[-1] == "output" and len(ops) == 11
    # op 2 (node 4) reads intermediate node 2 = ops 0 and 1 (nodes 2, 3)
    assert (2, 4) in edges and (3, 4) in edges
    # op 4 (node 6) reads node 3 = ops 2, 3 (nodes 4, 5); op 7 (node 9) reads node 4 = nodes 6, 7
    assert {(4, 6), (5, 6), (6, 9), (7, 9)} <= set(edges)
    assert all((k, 10) in edges for k in range(2, 10))
    with pytest.raises(ArchitectureError, match="reads node 5"):
        darts_cell_edges([["skip_connect", 0]] * 7 + [["skip_connect", 5]])
    with pytest.raises(ArchitectureError, match="unknown operation 'conv_7x7'"):
        darts_cell_edges([["conv_7x7", 0]] + [["skip_connect", 0]] * 7)


def test_nasbench301_has_725_two_cell_graphs(data_root, tmp_path):
    ds = NASBench301(str(tmp_path), raw_dir=data_root)
    assert len(ds) == 725
    g = ds[0]
    assert g.num_nodes == 22 and g.cell.tolist() == [0] * 11 + [1] * 11
    assert bool(((g.edge_index < 11).all(0) | (g.edge_index >= 11).all(0)).all())  # two components
    assert 0.91 < float(ds.y.min()) and float(ds.y.max()) < 0.95


def test_nasbench301_bad_record_is_named(tmp_path):
    raw = tmp_path / "raw" / "naslib_zc_subsets"
    raw.mkdir(parents=True)
    with gzip.open(raw / "nb301_zc_subset.json.gz", "wt") as f:
        json.dump([{"normal": [["skip_connect", 0]] * 8, "reduce": [["skip_connect", 0]] * 7,
                    "val_accuracy": 93.0}], f)
    with pytest.raises(DataFileError, match="record 0.*reduction cell.*8 \\[op, input\\] pairs"):
        NASBench301(str(tmp_path / "out"), raw_dir=str(tmp_path / "raw"))


def test_computed_proxies_on_tiny_networks():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1, bias=False), torch.nn.ReLU(),
                              torch.nn.Flatten(), torch.nn.Linear(4 * 4 * 4, 2, bias=False))
    # with |w| and an all-ones input the network is linear in each layer's weights, so
    # sum_w w dR/dw = R per layer: two layers give 2 R
    s = synflow(net, (3, 4, 4))
    with torch.no_grad():
        r = float(net(torch.ones(1, 3, 4, 4, dtype=torch.float64)).sum())
    assert s == pytest.approx(2 * r, rel=1e-9)
    nw, jc = nwot_jacov(torch.nn.Sequential(torch.nn.Linear(10, 64), torch.nn.ReLU(),
                                            torch.nn.Linear(64, 1)), torch.randn(6, 10))
    assert np.isfinite(nw) and np.isfinite(jc)
    dead = torch.nn.Sequential(torch.nn.Linear(5, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    with torch.no_grad():
        dead[2].weight.zero_()
    assert nwot_jacov(dead, torch.randn(6, 5))[1] == FAILED  # output does not depend on the input


def test_nb201_proxies_rank_cells_sensibly():
    cells = ["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",   # no path: fails
             "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
             "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"]
    v = nb201_proxies(cells, channels=4, batch_size=8, input_size=8, progress=False)
    assert v.shape == (3, 3)
    assert v[0, 0] == FAILED and v[0, 2] == FAILED
    assert v[2, 0] > v[1, 0]  # more parameters on more paths: larger synflow
    assert np.array_equal(v, nb201_proxies(cells, channels=4, batch_size=8, input_size=8, progress=False))


def proxy_graphs(n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        z = torch.rand(1, 3, generator=g) * torch.tensor([[1e3, 1.0, 1e-2]])
        ops = torch.randint(0, 4, (5,), generator=g)
        out.append(Data(op=ops, edge_index=torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]]), num_nodes=5,
                        zc=z, y=(torch.log(z[0, 0]) + (ops == 1).sum() * 0.3).view(1)))
    return out


def test_zero_cost_predictor_and_fusion_learn_a_proxy_ranking():
    from pyg_nar.training import TrainConfig, fit, predict
    graphs = proxy_graphs()
    y = torch.cat([g.y for g in graphs])
    cfg = TrainConfig(epochs=60, batch_size=8, lr=5e-3, loss="hinge", warmup=0.0, progress=False)
    zc = ZeroCostPredictor(3, hidden=16)
    fit(zc, graphs, None, cfg)
    assert kendall_tau(predict(zc, graphs), y) > 0.6
    fused = ProxyFusion("GNN", dict(num_ops=4, channels=16, num_layers=1), 3)
    fit(fused, graphs, None, cfg)
    assert kendall_tau(predict(fused, graphs), y) > 0.6
    # a checkpoint rebuilds it from its config
    again = ProxyFusion(**fused.config)
    again.load_state_dict(fused.state_dict())
    assert torch.allclose(predict(again, graphs), predict(fused, graphs))
    with pytest.raises(KeyError, match="zc"):
        zc(Batch.from_data_list([Data(op=torch.zeros(2, dtype=torch.long), num_nodes=2)]))


def test_score_ensemble_standardises_members():
    from pyg_nar.training import predict
    graphs = proxy_graphs(20)
    a, b = ZeroCostPredictor(3, hidden=0), ZeroCostPredictor(3, hidden=0)
    ens = ScoreEnsemble.from_models([a, b]).calibrate(graphs)
    s = predict(ens, graphs)
    sa, sb = predict(a, graphs), predict(b, graphs)
    expected = ((sa - sa.mean()) / sa.std() + (sb - sb.mean()) / sb.std()) / 2
    assert torch.allclose(s, expected, atol=1e-5)
    batch = Batch.from_data_list(graphs[:4])
    ens.eval()
    assert ens.member_scores(batch).shape == (2, 4)
    rebuilt = ScoreEnsemble(ens.config["members"])
    rebuilt.load_state_dict(ens.state_dict())
    assert torch.allclose(predict(rebuilt, graphs), s)
