"""NAS-Bench-101's official tfrecord, read without TensorFlow: a file written here in exactly
the official format (TFRecord framing with masked CRC-32C, JSON rows, base64 protobuf
metrics) from the 500 real cells of NASLib's subset, read back by ``NASBench101``.

The writer below is independent of the reader: a bit-by-bit CRC-32C and a hand-rolled
protobuf wire-format encoder (field numbers of nasbench's ``model_metrics.proto``)."""
import base64
import gzip
import hashlib
import json
import os.path as osp
import struct

import numpy as np
import pytest
import torch

from pyg_nar.datasets import NASBench101
from pyg_nar.datasets.tfrecord import crc32c, masked_crc32c, model_metrics_class, read_tfrecord
from pyg_nar.errors import DataFileError


def bitwise_crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(data: bytes) -> int:
    c = bitwise_crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame(data: bytes) -> bytes:
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked(length)) + data + struct.pack("<I", masked(data))


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def pb_double(field: int, value: float) -> bytes:
    return varint(field << 3 | 1) + struct.pack("<d", value)


def evaluation(epoch, time_, train, valid, test) -> bytes:
    return (pb_double(1, epoch) + pb_double(2, time_) + pb_double(3, train) + pb_double(4, valid)
            + pb_double(5, test))


def model_metrics(evals: list[bytes], params: int, total: float) -> bytes:
    out = b"".join(varint(1 << 3 | 2) + varint(len(e)) + e for e in evals)
    return out + varint(2 << 3 | 0) + varint(params) + pb_double(3, total)


OFFSETS = (-0.004, 0.001, 0.003)  # the three runs of a cell; they average to its accuracy


def write_nasbench_tfrecord(path, cells) -> list[dict]:
    """Three 108-epoch runs per cell, as nasbench's generator wrote them."""
    rows = []
    with open(path, "wb") as f:
        for k, c in enumerate(cells):
            adj = "".join(str(int(v)) for row in c["adjacency"] for v in row)
            ops = ",".join(c["ops"])
            module_hash = hashlib.md5((adj + ops).encode()).hexdigest()
            acc = c["val_accuracy"] / 100.0
            for r, d in enumerate(OFFSETS):
                evals = [evaluation(0.0, 0.0, 0.1, 0.1, 0.1),
                         evaluation(54.0, 500.0 + k, acc - 0.05, acc - 0.04 + d, acc - 0.045),
                         evaluation(108.0, 1000.0 + k, 1.0, acc + d, acc - 0.01 + d)]
                metrics = base64.b64encode(model_metrics(evals, 1000 + k, 1234.5)).decode()
                f.write(frame(json.dumps([module_hash, 108, adj, ops, metrics]).encode()))
            rows.append(dict(hash=module_hash, val=acc, test=acc - 0.01))
    return rows


@pytest.fixture(scope="module")
def real_cells(data_root):
    with gzip.open(osp.join(data_root, "naslib_zc_subsets", "nb101_zc_subset.json.gz"), "rt") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def official_file(real_cells, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("nb101") / "nasbench_only108.tfrecord")
    return path, write_nasbench_tfrecord(path, real_cells)


def test_crc32c_known_values():
    assert crc32c(b"123456789") == 0xE3069283 == bitwise_crc32c(b"123456789")
    assert crc32c(b"") == 0
    for n in (1, 7, 100):
        data = bytes(range(n))
        assert crc32c(data) == bitwise_crc32c(data)
        assert masked_crc32c(data) == masked(data)


def test_metrics_message_reads_the_official_wire_format():
    raw = model_metrics([evaluation(1, 2, 3, 4, 5), evaluation(6, 7, 8, 9, 10)], 4097, 12.5)
    m = model_metrics_class().FromString(raw)
    assert m.trainable_parameters == 4097 and m.total_time == 12.5
    assert [e.validation_accuracy for e in m.evaluation_data] == [4.0, 9.0]
    assert m.evaluation_data[1].test_accuracy == 10.0


def test_tfrecord_round_trip_of_the_500_real_cells(official_file, real_cells, tmp_path, data_root):
    path, rows = official_file
    assert sum(1 for _ in read_tfrecord(path)) == 3 * len(real_cells) == 1500
    root = str(tmp_path)
    ds = NASBench101(osp.join(root, "tf"), raw_file=path)
    assert len(ds) == 500
    js = NASBench101(osp.join(root, "json"), raw_dir=data_root)  # the same cells from the JSON
    for k in range(500):
        a, b = ds[k], js[k]
        assert torch.equal(a.op, b.op) and torch.equal(a.edge_index, b.edge_index)
        assert a.module_hash == rows[k]["hash"]
    y = torch.tensor([r["val"] for r in rows], dtype=torch.float32)
    assert torch.allclose(ds.y, y, atol=1e-6)
    assert torch.allclose(ds.y, js.y, atol=1e-6)  # validation accuracy, as NASLib's val_accuracy
    test = NASBench101(osp.join(root, "tf"), raw_file=path, target="test_accuracy")
    assert torch.allclose(test.y, y - 0.01, atol=1e-6)
    half = NASBench101(osp.join(root, "tf"), raw_file=path, target="halfway_validation_accuracy")
    assert torch.allclose(half.y, y - 0.04, atol=1e-6)


def test_tfrecord_other_epochs_and_unknown_target(official_file, tmp_path):
    path, _ = official_file
    with pytest.raises(DataFileError, match="no run at epochs=36.*108"):
        NASBench101(str(tmp_path / "a"), raw_file=path, epochs=36)
    with pytest.raises(ValueError, match="unknown tfrecord target"):
        NASBench101(str(tmp_path / "b"), raw_file=path, target="final_loss")


def damaged_copy(src: str, dst, change) -> str:
    data = bytearray(open(src, "rb").read())
    change(data)
    dst.write_bytes(bytes(data))
    return str(dst)


def record_offset(path: str, index: int) -> int:
    data, off = open(path, "rb").read(), 0
    for _ in range(index):
        off += 12 + struct.unpack("<Q", data[off:off + 8])[0] + 4
    return off


def test_damaged_tfrecords_name_the_record(official_file, tmp_path):
    path, _ = official_file
    off = record_offset(path, 5)

    def flip(data):
        data[off + 12 + 20] ^= 0x01
    bad = damaged_copy(path, tmp_path / "flip.tfrecord", flip)
    with pytest.raises(DataFileError, match=f"record 5 at byte {off}: the CRC of its data"):
        list(read_tfrecord(bad))

    def length(data):
        data[off] ^= 0x02
    bad = damaged_copy(path, tmp_path / "len.tfrecord", length)
    with pytest.raises(DataFileError, match="record 5 .*CRC of its length|truncated"):
        list(read_tfrecord(bad))

    short = damaged_copy(path, tmp_path / "short.tfrecord", lambda d: d.__delitem__(slice(-10, None)))
    with pytest.raises(DataFileError, match="record 1499 .*truncated"):
        list(read_tfrecord(short))


def test_bad_rows_and_metrics_are_named(tmp_path):
    path = tmp_path / "rows.tfrecord"
    path.write_bytes(frame(b'["abc", 108, "0110", "input,output", "!!notbase64"]'))
    with pytest.raises(DataFileError, match="record 0 \\(abc\\): metrics do not parse"):
        NASBench101(str(tmp_path / "r"), raw_file=str(path))
    path.write_bytes(frame(b'{"not": "a list"}'))
    with pytest.raises(DataFileError, match="record 0: expected \\[module_hash"):
        NASBench101(str(tmp_path / "s"), raw_file=str(path))
    metrics = base64.b64encode(model_metrics([evaluation(0, 0, 0, 0, 0)], 1, 1.0)).decode()
    path.write_bytes(frame(json.dumps(["h", 108, "0100", "input,output", metrics]).encode()))
    with pytest.raises(DataFileError, match="1 evaluations, expected 3"):
        NASBench101(str(tmp_path / "t"), raw_file=str(path))
