"""Datasets over the real benchmark data (``PYG_NAR_DATA``)."""
import gzip
import os.path as osp

import pytest
import torch
from torch_geometric.loader import DataLoader

from pyg_nar.data import ArchitectureError
from pyg_nar.datasets import (DataFileError, NASBench101, NASBench201, NASBench201Latency,
                              NASBenchGraph, nb201_cell_graph)
from pyg_nar.datasets.nasbench201 import NB201_VOCAB

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


@pytest.fixture(scope="module")
def nb201(data_root, tmp_path_factory):
    return NASBench201(str(tmp_path_factory.mktemp("nb201")), raw_dir=data_root)


def test_nb201_size_and_published_optimum(nb201):
    assert len(nb201) == 15625
    assert all(n == 8 for n in [nb201[0].num_nodes, nb201[15624].num_nodes])
    assert nb201._data.op.numel() == 15625 * 8
    best = int(nb201.y.argmax())
    assert nb201[best].arch_id.item() == 6111
    assert nb201[best].arch_str == BEST
    assert nb201.y.max().item() == pytest.approx(0.943733, abs=1e-5)  # published 94.37 %
    assert nb201.y.mean().item() == pytest.approx(0.8706, abs=1e-3)
    assert nb201[0].y.item() == pytest.approx(0.8586333, abs=1e-6)  # index 0, official API value


def test_nb201_graph_matches_arch_string(nb201):
    g = nb201[6111]
    names = [NB201_VOCAB[i] for i in g.op.tolist()]
    assert names == ["input", "nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3", "skip_connect",
                     "nor_conv_3x3", "nor_conv_1x1", "output"]
    # node k+1 is the k-th edge op (e01, e02, e12, e03, e13, e23); an edge op on i->j reads the
    # op node(s) that produce cell node i, and feeds those that read cell node j
    assert g.edge_index.t().tolist() == [[0, 1], [0, 2], [0, 4], [1, 3], [1, 5], [2, 6], [3, 6],
                                         [4, 7], [5, 7], [6, 7]]


def test_nb201_batches_with_stock_loader(nb201):
    batch = next(iter(DataLoader(nb201[:5], batch_size=5)))
    assert batch.num_graphs == 5 and batch.y.shape == (5,) and batch.op.shape == (40,)
    assert batch.edge_index.max().item() == 39


def test_nb201_other_targets(data_root, tmp_path):
    ds = NASBench201(str(tmp_path), target="cifar10valid_1seed", raw_dir=data_root)
    assert ds.y.max().item() == pytest.approx(0.9157, abs=1e-6)  # README: best 91.57 at 1459
    assert int(ds.y.argmax()) == 1459
    with pytest.raises(ValueError, match="unknown target 'cifar10'"):
        NASBench201(str(tmp_path), target="cifar10", raw_dir=data_root)


def test_nb201_latency(data_root, tmp_path):
    ds = NASBench201Latency(str(tmp_path), device="titan_rtx_256", raw_dir=data_root)
    assert len(ds) == 15625
    assert ds.y.median().item() == pytest.approx(18.06, abs=0.01)  # README's median
    assert "gold_6226" in NASBench201Latency.devices(data_root)
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        NASBench201Latency(str(tmp_path), device="tpu", raw_dir=data_root)


def _small_raw(data_root, tmp_path, rows=30):
    raw = tmp_path / "raw"
    (raw / "nasbench201").mkdir(parents=True)
    with gzip.open(osp.join(data_root, "nasbench201", "nb201_accuracy.csv.gz"), "rt") as f:
        lines = [next(f) for _ in range(rows + 1)]
    path = raw / "nasbench201" / "nb201_accuracy.csv.gz"
    with gzip.open(path, "wt") as f:
        f.writelines(lines)
    return raw, path, lines


def test_processed_files_reused_and_rebuilt_on_raw_change(data_root, tmp_path, monkeypatch):
    raw, path, lines = _small_raw(data_root, tmp_path)
    root = str(tmp_path / "root")
    first = NASBench201(root, raw_dir=str(raw))
    assert len(first) == 30

    def fail(self):
        raise AssertionError("process() ran although nothing changed")

    monkeypatch.setattr(NASBench201, "process", fail)
    again = NASBench201(root, raw_dir=str(raw))  # reused: process() is not called
    assert torch.equal(again.y, first.y)
    monkeypatch.undo()

    fields = lines[1].split(",")
    fields[8] = "50.0"  # cifar10_test_200ep of index 0
    lines[1] = ",".join(fields)
    with gzip.open(path, "wt") as f:
        f.writelines(lines)
    changed = NASBench201(root, raw_dir=str(raw))
    assert changed[0].y.item() == pytest.approx(0.5)
    assert torch.equal(changed.y[1:], first.y[1:])


def test_bad_input_names_file_and_row(data_root, tmp_path):
    raw, path, lines = _small_raw(data_root, tmp_path)
    # unknown operation on line 3
    bad = list(lines)
    bad[2] = bad[2].replace("nor_conv_3x3", "conv_7x7", 1)
    with gzip.open(path, "wt") as f:
        f.writelines(bad)
    with pytest.raises(DataFileError, match=r"nb201_accuracy.csv.gz, line 3: .*unknown operation 'conv_7x7'"):
        NASBench201(str(tmp_path / "a"), raw_dir=str(raw))
    # a row cut short
    with gzip.open(path, "wt") as f:
        f.writelines(lines[:5] + [lines[5][:40] + "\n"])
    with pytest.raises(DataFileError, match=r"line 6: expected 17 fields, got"):
        NASBench201(str(tmp_path / "b"), raw_dir=str(raw))
    # a truncated gzip stream
    blob = gzip.compress("".join(lines).encode())
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataFileError, match=r"nb201_accuracy.csv.gz: cannot be read"):
        NASBench201(str(tmp_path / "c"), raw_dir=str(raw))
    # a missing file
    with pytest.raises(FileNotFoundError, match=r"missing raw file\(s\) .*nb201_accuracy.csv.gz"):
        NASBench201(str(tmp_path / "d"), raw_dir=str(tmp_path / "nowhere"))


def test_cell_string_errors():
    with pytest.raises(ArchitectureError, match="unknown operation 'conv_9x9'"):
        nb201_cell_graph("|conv_9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    with pytest.raises(ArchitectureError, match="not an NB201 arch string"):
        nb201_cell_graph("|none~0|+|none~0|")
    with pytest.raises(ArchitectureError, match=r"should read '<op>~1'"):
        nb201_cell_graph("|none~0|+|none~0|none~0|+|none~0|none~1|none~2|")


def test_nb101_subset(data_root, tmp_path):
    ds = NASBench101(str(tmp_path), raw_dir=data_root)
    assert len(ds) == 500 and ds.op_vocab[0] == "input"
    assert ds.y.min().item() == pytest.approx(0.7338, abs=1e-4)
    assert ds.y.max().item() == pytest.approx(0.9471, abs=1e-4)
    g = ds[0]
    assert g.num_nodes == 7 and g.op[0].item() == 0 and g.op[-1].item() == 4
    assert bool((g.edge_index[0] < g.edge_index[1]).all())


def test_nb101_official_field_names_and_errors(tmp_path):
    import json
    recs = [{"module_adjacency": [[0, 1, 1], [0, 0, 1], [0, 0, 0]],
             "module_operations": ["input", "conv3x3-bn-relu", "output"], "validation_accuracy": 0.91}]
    (tmp_path / "cells.json").write_text(json.dumps(recs))
    ds = NASBench101(str(tmp_path / "r"), target="validation_accuracy", raw_file=str(tmp_path / "cells.json"))
    assert ds[0].y.item() == pytest.approx(0.91) and ds[0].edge_index.tolist() == [[0, 0, 1], [1, 2, 2]]
    recs[0]["module_operations"][1] = "conv5x5"
    (tmp_path / "bad.json").write_text(json.dumps(recs))
    with pytest.raises(DataFileError, match=r"bad.json, record 0: node 1 has unknown operation 'conv5x5'"):
        NASBench101(str(tmp_path / "s"), target="validation_accuracy", raw_file=str(tmp_path / "bad.json"))


def test_nasbench_graph(data_root, tmp_path):
    ds = NASBenchGraph(str(tmp_path), "cora", raw_dir=data_root)
    assert len(ds) == 26206 and len(ds.op_vocab) == 11
    # the package README's example, canonical form: links [0,1,1,2], ops gcn gin cheb fc
    k = int((ds._data.arch_id == 61237).nonzero()[0])
    g = ds[k]
    assert g.y.item() == pytest.approx(0.8046667, abs=1e-6)
    assert [ds.op_vocab[i] for i in g.op.tolist()] == ["input", "gcn", "gin", "cheb", "fc", "output"]
    assert g.edge_index.t().tolist() == [[0, 1], [1, 2], [1, 3], [2, 4], [3, 5], [4, 5]]
    assert len(NASBenchGraph(str(tmp_path), "proteins", raw_dir=data_root)) == 2021
