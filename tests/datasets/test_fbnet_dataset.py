"""pyg_nar.datasets.FBNet over HELP's FBNet table, and the HELP latency reader."""
import numpy as np
import pytest
from torch_geometric.loader import DataLoader

from pyg_nar.datasets import FBNET_VOCAB, FBNet, fbnet_graph, help_devices, load_help_latencies
from pyg_nar.errors import PipelineError
from pyg_nar.fewshot import HELP_SPLITS, help_pools
from pyg_nar.spaces import FBNET_OPS, fbnet_costs, parse_fbnet


@pytest.fixture(scope="module")
def fpga(data_root, tmp_path_factory):
    return FBNet(str(tmp_path_factory.mktemp("fbnet")), device="fpga", raw_dir=data_root)


def test_fbnet_graphs_and_labels(fpga, data_root):
    assert len(fpga) == 5000 and fpga.op_vocab == FBNET_VOCAB
    z = np.load(f"{data_root}/latency_help/fbnet_latency.npz")
    np.testing.assert_allclose(fpga.y.numpy(), z["lat_fpga"], rtol=1e-6)
    g = fpga[0]
    assert g.num_nodes == 24 and g.edge_index.tolist() == [list(range(23)), list(range(1, 24))]
    ops = [FBNET_OPS[i] for i in z["op_idx"][0]]
    assert [FBNET_VOCAB[i] for i in g.op.tolist()] == ["input", *ops, "output"]
    assert parse_fbnet(g.arch_str) == tuple(ops) and g.arch_id.item() == 0
    assert g.static[0, 1].item() == pytest.approx(fbnet_costs(ops)["mflops"], rel=1e-6)
    assert g.op_attrs.shape == (24, 8) and g.out_shape.shape == (24, 4)
    batch = next(iter(DataLoader(fpga[:4], batch_size=4)))
    assert batch.num_graphs == 4 and batch.op.shape == (96,) and batch.y.shape == (4,)


def test_fbnet_graph_attributes():
    arch = ["k5_e6"] + ["skip"] * 4 + ["k3_e1_g2"] + ["k3_e3"] * 16
    g = fbnet_graph(arch)
    # layer 1 (node 1): 5x5 depthwise, stride 1, padding 2, expansion 6, 16 channels at 32x32
    assert g.op_attrs[1, :5].tolist() == [5, 1, 2, 1, 1] and g.expansion[1].item() == 6
    assert g.out_shape[1].tolist() == [1, 16, 32, 32]
    # layer 2 widens 16 -> 24: its skip is a 1x1 convolution; layer 3's skip is the identity
    assert g.op_attrs[2, :2].tolist() == [1, 1] and g.op_attrs[3].abs().sum() == 0
    # layer 6 (first of stage 3) has stride 2 and 2 groups
    assert g.op_attrs[6, :5].tolist() == [3, 2, 1, 1, 2] and g.out_shape[6].tolist() == [1, 32, 16, 16]
    assert g.out_shape[22].tolist() == [1, 352, 4, 4] and g.out_shape[23].tolist() == [1, 1504, 1, 1]


def test_unknown_device_names_the_known_ones(data_root, tmp_path):
    with pytest.raises(PipelineError, match="FBNet: unknown device 'tpu_v9'; known: 1080ti_1, .*fpga"):
        FBNet(str(tmp_path), device="tpu_v9", raw_dir=data_root)
    assert len(FBNet.devices(data_root)) == 27
    with pytest.raises(PipelineError, match="unknown device 'nope'"):
        load_help_latencies("nasbench201", data_root, ["nope"])


def test_help_splits_are_devices_of_the_tables(data_root):
    for space, split in HELP_SPLITS.items():
        known = set(help_devices(space, data_root))
        groups = [set(split[k]) for k in ("meta_train", "meta_valid", "meta_test")]
        assert all(g <= known for g in groups)
        assert not (groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2])
        table = load_help_latencies(space, data_root, [split["meta_test"][0]])
        pool, query = help_pools(space, table.latency[split["meta_test"][0]])
        assert len(pool) == int(0.8 * split["pool"]) and len(query) == 800
        assert pool.max() < split["pool"] <= query.min()


def test_a_cache_replaced_while_it_is_built_does_not_fail(data_root, tmp_path, monkeypatch):
    """Two jobs processing one dataset at once: the other one's file lands between this one's
    write and its read-back. The graphs just built are used; the next load rebuilds the
    mismatched file with a warning."""
    import torch

    from pyg_nar.datasets.base import SafeCache

    save = SafeCache.save.__func__

    def save_then_replaced(cls, data_list, path):
        save(cls, data_list, path)
        with open(path, "ab") as f:  # the concurrent writer's different bytes, same sidecar
            f.write(b"\0")

    monkeypatch.setattr(SafeCache, "save", classmethod(save_then_replaced))
    ds = FBNet(str(tmp_path), device="fpga", raw_dir=data_root)
    assert len(ds) == 5000 and torch.isfinite(ds.y).all()
    monkeypatch.undo()
    with pytest.warns(UserWarning, match="rebuilding it from the raw files"):
        again = FBNet(str(tmp_path), device="fpga", raw_dir=data_root)
    assert torch.equal(again.y, ds.y)
