"""What every benchmark dataset of pyg_nar shares: the raw-data folder, fingerprinted
processed files read as data only (never unpickled; a damaged or foreign one is rebuilt from
the raw files), and readers that name the file and row of bad input."""
from __future__ import annotations

import csv
import gzip
import hashlib
import json
import math
import os
import os.path as osp
import warnings
import zlib
from typing import Callable, Iterator

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data, InMemoryDataset
from torch_geometric.data.data import BaseData

from pyg_nar.datasets.paths import data_root, missing_files, missing_files_message
from pyg_nar.errors import ArgumentError, DataFileError
from pyg_nar.utils.files import read_json_file, torch_file_problem, write_atomic, write_text

__all__ = ["BenchmarkDataset", "SafeCache", "CacheError", "read_csv_rows", "read_json",
           "check_label", "DataFileError", "LATENCY_RANGE_MS"]

#: Latencies (ms) a latency file (``gt.txt``, HELP's tables) may hold: positive and
#: representable in float32 (from a microsecond's thousandth to eleven days).
LATENCY_RANGE_MS = (1e-6, 1e9)


def _open_text(path: str):
    """A (gzipped) UTF-8 text file; a byte-order mark at its start is skipped."""
    if path.endswith(".gz"):
        return gzip.open(path, "rt", newline="", encoding="utf-8-sig")
    return open(path, newline="", encoding="utf-8-sig")


def read_csv_rows(path: str, required: list[str]) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, row)`` of a (gzipped) CSV file with a header.

    Raises :class:`DataFileError` naming the file and line for a missing column, a short row
    or a truncated file.
    """
    try:
        with _open_text(path) as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise DataFileError(f"{path}: the file is empty")
            missing = [c for c in required if c not in header]
            if missing:
                raise DataFileError(f"{path}: missing column(s) {', '.join(missing)}")
            for row in reader:
                if len(row) != len(header):
                    raise DataFileError(
                        f"{path}, line {reader.line_num}: expected {len(header)} fields, got "
                        f"{len(row)} (truncated or corrupt file?)")
                yield reader.line_num, dict(zip(header, row))
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError, UnicodeDecodeError, csv.Error) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise DataFileError(f"{path}: cannot be read ({e}); is it truncated or corrupt?") from None


def read_json(path: str):
    """Read a (gzipped) JSON file; a truncated or invalid file is a :class:`DataFileError`."""
    try:
        with _open_text(path) as f:
            return json.load(f)
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError, UnicodeDecodeError, json.JSONDecodeError,
            RecursionError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise DataFileError(f"{path}: cannot be read as JSON ({e}); is it truncated or corrupt?") from None


def parse_float(value: str, path: str, line: int, column: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise DataFileError(f"{path}, line {line}: column {column!r} is not a number: {value!r}") from None


def check_label(value: float, where: str, name: str, low: float, high: float, unit: str,
                open_low: bool = False) -> float:
    """``value`` if it is finite and within ``low .. high`` (``low`` excluded with
    ``open_low``); else a :class:`DataFileError` naming ``where`` (file and line), the field
    and the ``unit`` the file stores."""
    single = float(np.float32(value)) if math.isfinite(value) and abs(value) < 3.4e38 else math.inf
    if (not math.isfinite(single) or value > high or (value <= low if open_low else value < low)
            or (open_low and single <= low)):
        bound = f"({low}, {high}]" if open_low else f"[{low}, {high}]"
        raise DataFileError(f"{where}: {name} is {value}, outside {bound} ({unit}, as a float32)")
    return value


class CacheError(Exception):
    """A processed file that is not what this dataset writes (internal: it is rebuilt)."""


class SafeCache:
    """The processed file of an :class:`~torch_geometric.data.InMemoryDataset`, read as data:
    ``torch.load(weights_only=True)`` (tensors, containers and PyG's data classes only; an
    archive of uncompressed records, so it cannot inflate), never PyG's fallback to a full unpickling, and never its
    ``pre_transform.pt`` / ``pre_filter.pt`` (the folder's fingerprint holds the
    ``pre_transform``). The file is written to a temporary sibling and renamed, with a
    SHA-256 sidecar (``data.pt.json``); a file that does not match its sidecar, does not load
    as data, or holds inconsistent slices or labels (:meth:`check_graphs`) is rebuilt from the
    raw files with a warning naming it, its content never run."""

    #: written next to the processed file: its SHA-256, size and this version
    CACHE_FORMAT = 1

    def _process(self) -> None:
        path = self.processed_paths[0]
        self._cached = None
        if not self.force_reload and osp.lexists(path):
            try:
                self._cached = self._read_cache(path)
                return
            except CacheError as e:
                warnings.warn(f"{path}: {e}; rebuilding it from the raw files (nothing in it was "
                              f"loaded or run)", stacklevel=2)
        os.makedirs(self.processed_dir, exist_ok=True)
        self.process()

    def load(self, path: str, data_cls: type = Data) -> None:
        cached, self._cached = getattr(self, "_cached", None), None
        if cached is None:
            try:
                cached = self._read_cache(path)
            except CacheError as e:
                raise DataFileError(f"{path}: {e} (just written: is the disk full?)") from None
        self.data, self.slices = cached

    @classmethod
    def save(cls, data_list, path: str) -> None:
        data, slices = cls.collate(data_list)
        write_atomic(path, lambda tmp: torch.save((data.to_dict(), slices, data.__class__), tmp))
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        write_text(path + ".json", json.dumps({"format": cls.CACHE_FORMAT, "sha256": digest,
                                               "bytes": osp.getsize(path)}))

    def _read_cache(self, path: str) -> tuple[BaseData, dict | None]:
        try:
            meta = read_json_file(path + ".json", CacheError, max_bytes=4096)
        except CacheError as e:
            raise CacheError(f"no readable checksum ({e}); written by an earlier pyg_nar?") from None
        if not osp.isfile(path) or meta.get("format") != self.CACHE_FORMAT or \
                meta.get("bytes") != osp.getsize(path):
            raise CacheError("it does not match its checksum file")
        with open(path, "rb") as f:
            if hashlib.sha256(f.read()).hexdigest() != meta.get("sha256"):
                raise CacheError("its SHA-256 does not match its checksum file (damaged?)")
        problem = torch_file_problem(path)
        if problem:
            raise CacheError(problem)
        try:
            out = torch.load(path, weights_only=True)
        except Exception as e:  # noqa: BLE001  (a foreign file raises many kinds)
            raise CacheError(f"not loadable as data ({type(e).__name__})") from None
        if not (isinstance(out, tuple) and len(out) == 3 and isinstance(out[0], dict)
                and isinstance(out[2], type) and issubclass(out[2], BaseData)
                and (out[1] is None or isinstance(out[1], dict))):
            raise CacheError("not a processed dataset (data, slices, class)")
        raw, slices, data_cls = out
        _check_slices(raw, slices)
        try:
            data = data_cls.from_dict(raw)
        except Exception as e:  # noqa: BLE001
            raise CacheError(f"its graphs do not load ({type(e).__name__})") from None
        problem = self.check_graphs(data, slices)
        if problem:
            raise CacheError(problem)
        return data, slices

    def check_graphs(self, data: BaseData, slices: dict | None) -> str | None:
        """What is wrong with processed graphs read back from disk (``None``: nothing):
        ``y`` must be finite and within :meth:`label_range`, and every ``*_index`` field
        must refer to nodes of its own graph."""
        y = getattr(data, "y", None)
        if isinstance(y, Tensor) and y.numel():
            low, high, open_low = self.label_range()
            y = y.double()
            if not torch.isfinite(y).all() or (y > high).any() or ((y <= low) if open_low else (y < low)).any():
                return "it holds labels that are not finite or out of range"
        if slices is None or "op" not in slices:
            return None
        nodes = slices["op"].diff()
        graphs = nodes.numel()
        for key, s in slices.items():  # a per-node or per-graph field split like op, or one each
            counts = s.diff()
            if int(counts.sum()) == int(nodes.sum()) and not torch.equal(counts, nodes) and \
                    not key.endswith("_index") and not (int(counts.sum()) == graphs and bool((counts == 1).all())):
                return f"its {key} is split across graphs unlike its nodes"
            if int(counts.sum()) == graphs and not bool((counts == 1).all()) and not torch.equal(counts, nodes) \
                    and not key.endswith("_index"):
                return f"its {key} is split across graphs unlike one value per graph"
        for key, value in data.to_dict().items():
            if key.endswith("_index") and key in slices and isinstance(value, Tensor) and value.numel():
                counts = slices[key].diff()
                if value.dim() != 2 or int(counts.sum()) != value.size(-1):
                    return f"its {key} has the wrong shape"
                limit = nodes.repeat_interleave(counts)
                if (value < 0).any() or (value >= limit).any():
                    return f"its {key} refers to nodes outside its graph"
        return None

    def label_range(self) -> tuple[float, float, bool]:
        """``(low, high, low excluded)`` of the labels ``y`` (default: any finite value)."""
        return -math.inf, math.inf, False


def _check_slices(raw: dict, slices: dict | None) -> None:
    if slices is None:
        return
    lengths = set()
    for key, s in slices.items():
        if not (isinstance(s, Tensor) and s.dim() == 1 and s.dtype == torch.long and s.numel() >= 1):
            raise CacheError(f"slices of {key!r} are not a 1-D long tensor")
        if int(s[0]) != 0 or bool((s.diff() < 0).any()):
            raise CacheError(f"slices of {key!r} are not increasing from 0")
        lengths.add(s.numel())
        value = raw.get(key)
        if isinstance(value, Tensor):
            size = value.size(Data().__cat_dim__(key, value)) if value.dim() else 1
        elif isinstance(value, (list, tuple)):
            size = len(value)
        else:
            raise CacheError(f"field {key!r} is missing or of type {type(value).__name__}")
        if int(s[-1]) != size:
            raise CacheError(f"slices of {key!r} do not match its {size} entries")
    if len(lengths) > 1:
        raise CacheError("fields of different graph counts")


class BenchmarkDataset(SafeCache, InMemoryDataset):
    """An :class:`~torch_geometric.data.InMemoryDataset` over read-only benchmark files.

    ``raw_dir`` is the folder holding the benchmark files (default: ``$PYG_NAR_DATA``, see
    :func:`pyg_nar.datasets.data_root`); processed graphs go to ``<root>/processed``. The
    processed folder's name carries a fingerprint of the raw files' contents and of the options
    that shape the graphs, so a changed raw file or option is processed anew while an
    unchanged one is loaded from disk. Processed files are read as data only
    (:class:`SafeCache`).
    """

    #: operation vocabulary: ``op`` indexes into it
    op_vocab: list[str] = []
    #: short name used in processed file names
    name: str = "benchmark"

    def __init__(self, root: str, raw_dir: str | None = None, transform: Callable | None = None,
                 pre_transform: Callable | None = None, pre_filter: Callable | None = None,
                 force_reload: bool = False, log: bool = False):
        self._raw_dir = osp.abspath(osp.expanduser(raw_dir or data_root()))
        self._fingerprint: str | None = None
        self._pre_transform_repr = repr(pre_transform)
        super().__init__(root, transform, pre_transform, pre_filter, force_reload=force_reload, log=log)
        self.load(self.processed_paths[0])

    @property
    def raw_dir(self) -> str:
        return self._raw_dir

    def options(self) -> str:
        """The options that change the processed graphs (part of the fingerprint)."""
        return ""

    def fingerprint(self) -> str:
        """Hash of the contents of :meth:`fingerprint_paths`, :meth:`options` and the
        ``pre_transform``."""
        if self._fingerprint is None:
            h = hashlib.sha1()
            for path in self.fingerprint_paths():
                if osp.exists(path):
                    with open(path, "rb") as f:
                        h.update(hashlib.sha1(f.read()).digest())
            h.update(self.options().encode())
            h.update(self._pre_transform_repr.encode())
            self._fingerprint = h.hexdigest()[:12]
        return self._fingerprint

    def fingerprint_paths(self) -> list[str]:
        """The files whose contents key the processed folder (default: the raw files)."""
        return list(self.raw_paths)

    @property
    def processed_dir(self) -> str:
        return osp.join(self.root, "processed", f"{self.name}_{self.fingerprint()}")

    @property
    def processed_file_names(self) -> list[str]:
        return ["data.pt"]

    def download(self):
        missing = missing_files(self.raw_file_names, self.raw_dir)
        raise FileNotFoundError(missing_files_message(type(self).__name__, missing, self.raw_dir))

    def _save_graphs(self, graphs: list) -> None:
        if not graphs:
            raise DataFileError(f"{', '.join(self.raw_paths)}: no architectures in the raw files")
        if self.pre_filter is not None:
            graphs = [g for g in graphs if self.pre_filter(g)]
            if not graphs:
                raise ArgumentError(f"{type(self).__name__}: pre_filter kept none of the graphs")
        if self.pre_transform is not None:
            graphs = [self.pre_transform(g) for g in graphs]
        self.save(graphs, self.processed_paths[0])
        # use the graphs just built, not the file: another process building the same cache at
        # once (two jobs on one dataset) may replace it between this write and a read-back
        self._cached = self.collate(graphs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)}{', ' + self.options() if self.options() else ''})"

