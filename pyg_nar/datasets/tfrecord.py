r"""Reading NAS-Bench-101's official ``nasbench_only108.tfrecord`` without TensorFlow.

A TFRecord file is a sequence of records, each framed as::

    uint64 length                 (little endian)
    uint32 masked_crc32c(length)
    byte   data[length]
    uint32 masked_crc32c(data)

with CRC-32C (Castagnoli, reflected polynomial ``0x82F63B78``) masked as
:math:`((c \gg 15) \,|\, (c \ll 17)) + \mathtt{0xa282ead8} \bmod 2^{32}`. NAS-Bench-101's
records (Ying et al., ICML 2019, `github.com/google-research/nasbench
<https://github.com/google-research/nasbench>`_, ``nasbench/api.py``) hold one training run
each: a JSON list ``[module_hash, epochs, adjacency, operations, metrics]`` where
``adjacency`` is the row-major 0/1 matrix as a string of digits, ``operations`` the
comma-separated vertex labels and ``metrics`` the base64 of a ``nasbench.ModelMetrics``
protobuf (``nasbench/lib/model_metrics.proto``), read here with the ``protobuf`` package from a
descriptor built by field number (:func:`model_metrics_class`): no generated code, no TensorFlow.

Every check names the file, the record and its byte offset: a truncated file, a length or data
CRC that does not match, a row that is not the JSON list above, metrics that do not parse.
Data CRCs are checked in vectorised batches (NumPy over thousands of records at once):
``python benchmarks/tfrecord_speed.py`` reads 11-18 MB/s on this project's (shared) 2-core
machines, 5-10x a byte loop in Python, so the 499 MB file takes under a minute.
"""
from __future__ import annotations

import base64
import json
import struct
from typing import Iterator, NamedTuple

import numpy as np

from pyg_nar.errors import DataFileError

__all__ = ["crc32c", "masked_crc32c", "read_tfrecord", "model_metrics_class", "NB101Run",
           "read_nasbench101_tfrecord"]

_POLY = 0x82F63B78
_TABLE = np.zeros(256, dtype=np.uint32)
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ _POLY if _c & 1 else _c >> 1
    _TABLE[_i] = _c
_TABLE_LIST = [int(v) for v in _TABLE]
_MASK_DELTA = 0xA282EAD8


def crc32c(data: bytes) -> int:
    """CRC-32C of ``data`` (``crc32c(b"123456789") == 0xE3069283``)."""
    crc = 0xFFFFFFFF
    table = _TABLE_LIST
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _mask(crc):
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC-32C of ``data``."""
    return _mask(crc32c(data))


def _masked_crc32c_many(chunks: list[bytes]) -> np.ndarray:
    """:func:`masked_crc32c` of many byte strings at once: one NumPy table step per byte
    position, over all strings still that long."""
    n = len(chunks)
    lengths = np.fromiter((len(c) for c in chunks), dtype=np.int64, count=n)
    order = np.argsort(-lengths, kind="stable")          # longest first: active = a prefix
    width = int(lengths.max()) if n else 0
    buf = np.zeros((n, width), dtype=np.uint8, order="F")  # columns contiguous
    for row, k in enumerate(order):
        c = chunks[k]
        buf[row, :len(c)] = np.frombuffer(c, dtype=np.uint8)
    sorted_len = lengths[order]
    crc = np.full(n, 0xFFFFFFFF, dtype=np.uint32)
    active = n
    for pos in range(width):
        while active and sorted_len[active - 1] <= pos:
            active -= 1
        c = crc[:active]
        crc[:active] = _TABLE[(c ^ buf[:active, pos]) & 0xFF] ^ (c >> 8)
    crc ^= np.uint32(0xFFFFFFFF)
    out = np.empty(n, dtype=np.uint64)
    c64 = crc.astype(np.uint64)
    out[order] = (((c64 >> 15) | (c64 << 17)) + _MASK_DELTA) & 0xFFFFFFFF
    return out


def read_tfrecord(path: str, check_crc: bool = True, batch: int = 20000) -> Iterator[bytes]:
    """Yield the data of every record of the TFRecord file ``path``, checking both CRCs of
    every record (the length's at once, the data's in batches of ``batch`` records); a :class:`DataFileError` names the record
    and byte offset of any damage."""
    try:
        f = open(path, "rb")
    except OSError as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise DataFileError(f"{path}: cannot be opened ({e})") from None
    with f:
        pending: list[tuple[int, int, bytes, int]] = []
        index, offset = 0, 0
        while True:
            head = f.read(12)
            if not head:
                break
            if len(head) < 12:
                raise DataFileError(f"{path}: record {index} at byte {offset} is truncated "
                                    f"(its 12-byte header has {len(head)} bytes)")
            length, length_crc = struct.unpack("<QI", head)
            if check_crc and masked_crc32c(head[:8]) != length_crc:  # before trusting the length
                raise DataFileError(f"{path}: record {index} at byte {offset}: the CRC of its "
                                    f"length does not match (damaged file?)")
            body = f.read(length + 4)
            if len(body) < length + 4:
                raise DataFileError(f"{path}: record {index} at byte {offset} is truncated "
                                    f"(needs {length} data bytes + CRC, the file ends after "
                                    f"{max(len(body), 0)})")
            data, data_crc = body[:length], struct.unpack("<I", body[length:])[0]
            pending.append((index, offset, data, data_crc))
            index += 1
            offset += 12 + length + 4
            if len(pending) >= batch:
                yield from _checked(path, pending, check_crc)
                pending = []
        yield from _checked(path, pending, check_crc)


def _checked(path: str, pending: list, check_crc: bool) -> Iterator[bytes]:
    if check_crc and pending:
        crcs = _masked_crc32c_many([p[2] for p in pending])
        for (index, offset, _, data_crc), crc in zip(pending, crcs):
            if int(crc) != data_crc:
                raise DataFileError(f"{path}: record {index} at byte {offset}: the CRC of its "
                                    f"data does not match (damaged file?)")
    for p in pending:
        yield p[2]


_METRICS_CLASS = None


def model_metrics_class():
    """The ``nasbench.ModelMetrics`` message class, built from a descriptor that lists
    ``model_metrics.proto``'s fields by number (proto2):

    * ``ModelMetrics``: 1 ``repeated EvaluationData evaluation_data``, 2 ``int32
      trainable_parameters``, 3 ``double total_time``;
    * ``EvaluationData``: 1 ``double current_epoch``, 2 ``double training_time``, 3 ``double
      train_accuracy``, 4 ``double validation_accuracy``, 5 ``double test_accuracy``, 6
      ``string checkpoint_path``.
    """
    global _METRICS_CLASS
    if _METRICS_CLASS is not None:
        return _METRICS_CLASS
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    F = descriptor_pb2.FieldDescriptorProto
    fd = descriptor_pb2.FileDescriptorProto(name="pyg_nar_nasbench_model_metrics.proto",
                                            package="pyg_nar_nasbench", syntax="proto2")
    ev = fd.message_type.add(name="EvaluationData")
    for number, name, kind in [(1, "current_epoch", F.TYPE_DOUBLE), (2, "training_time", F.TYPE_DOUBLE),
                               (3, "train_accuracy", F.TYPE_DOUBLE),
                               (4, "validation_accuracy", F.TYPE_DOUBLE),
                               (5, "test_accuracy", F.TYPE_DOUBLE), (6, "checkpoint_path", F.TYPE_STRING)]:
        ev.field.add(name=name, number=number, type=kind, label=F.LABEL_OPTIONAL)
    mm = fd.message_type.add(name="ModelMetrics")
    mm.field.add(name="evaluation_data", number=1, type=F.TYPE_MESSAGE, label=F.LABEL_REPEATED,
                 type_name=".pyg_nar_nasbench.EvaluationData")
    mm.field.add(name="trainable_parameters", number=2, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL)
    mm.field.add(name="total_time", number=3, type=F.TYPE_DOUBLE, label=F.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    _METRICS_CLASS = message_factory.GetMessageClass(
        pool.FindMessageTypeByName("pyg_nar_nasbench.ModelMetrics"))
    return _METRICS_CLASS


class NB101Run(NamedTuple):
    """One training run of an NB101 cell, as the official API reads a record."""

    module_hash: str
    epochs: int
    adjacency: np.ndarray       #: [V, V] int8, row = source
    operations: list
    trainable_parameters: int
    final: dict                 #: training_time, train/validation/test_accuracy at the end
    halfway: dict               #: the same at half of the epochs


_EVAL_FIELDS = ("training_time", "train_accuracy", "validation_accuracy", "test_accuracy")


def read_nasbench101_tfrecord(path: str, check_crc: bool = True) -> Iterator[NB101Run]:
    """Yield every run of an NB101 tfrecord (module docstring), with named errors."""
    metrics_cls = model_metrics_class()
    from google.protobuf.message import DecodeError

    for k, raw in enumerate(read_tfrecord(path, check_crc)):
        where = f"{path}, record {k}"
        try:
            row = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise DataFileError(f"{where}: not a JSON row ({e})") from None
        if not (isinstance(row, list) and len(row) == 5 and isinstance(row[1], int)
                and all(isinstance(row[i], str) for i in (0, 2, 3, 4))):
            raise DataFileError(f"{where}: expected [module_hash, epochs, adjacency, operations, "
                                f"metrics], got {str(row)[:80]!r}")
        module_hash, epochs, adj, ops, metrics = row
        dim = int(round(len(adj) ** 0.5))
        if dim * dim != len(adj) or set(adj) - {"0", "1"}:
            raise DataFileError(f"{where} ({module_hash}): adjacency {adj!r} is not a square 0/1 matrix")
        try:
            m = metrics_cls.FromString(base64.b64decode(metrics, validate=True))
        except (ValueError, DecodeError) as e:
            raise DataFileError(f"{where} ({module_hash}): metrics do not parse as base64 "
                                f"ModelMetrics ({e})") from None
        if len(m.evaluation_data) < 3:
            raise DataFileError(f"{where} ({module_hash}): {len(m.evaluation_data)} evaluations, "
                                f"expected 3 (start, halfway, end)")
        operations = ops.split(",")
        if len(operations) != dim:
            raise DataFileError(f"{where} ({module_hash}): {len(operations)} operations for "
                                f"{dim} vertices")
        half, final = m.evaluation_data[1], m.evaluation_data[2]
        yield NB101Run(module_hash, int(epochs),
                       np.frombuffer(adj.encode(), dtype=np.uint8).reshape(dim, dim).astype(np.int8) - ord("0"),
                       operations, int(m.trainable_parameters),
                       {f: float(getattr(final, f)) for f in _EVAL_FIELDS},
                       {f: float(getattr(half, f)) for f in _EVAL_FIELDS})
