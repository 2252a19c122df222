"""What every benchmark dataset of pyg_nar shares: the raw-data folder, fingerprinted
processed files, and readers that name the file and row of bad input."""
from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os.path as osp
from typing import Callable, Iterator

from torch_geometric.data import InMemoryDataset

from pyg_nar.datasets.paths import data_root, missing_files, missing_files_message
from pyg_nar.errors import DataFileError

__all__ = ["BenchmarkDataset", "read_csv_rows", "read_json", "DataFileError"]




def _open_text(path: str):
    return gzip.open(path, "rt", newline="") if path.endswith(".gz") else open(path, newline="")


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
    except (EOFError, gzip.BadGzipFile, OSError, UnicodeDecodeError, csv.Error) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise DataFileError(f"{path}: cannot be read ({e}); is it truncated or corrupt?") from None


def read_json(path: str):
    """Read a (gzipped) JSON file; a truncated or invalid file is a :class:`DataFileError`."""
    try:
        with _open_text(path) as f:
            return json.load(f)
    except (EOFError, gzip.BadGzipFile, OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise DataFileError(f"{path}: cannot be read as JSON ({e}); is it truncated or corrupt?") from None


def parse_float(value: str, path: str, line: int, column: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise DataFileError(f"{path}, line {line}: column {column!r} is not a number: {value!r}") from None


class BenchmarkDataset(InMemoryDataset):
    """An :class:`~torch_geometric.data.InMemoryDataset` over read-only benchmark files.

    ``raw_dir`` is the folder holding the benchmark files (default: ``$PYG_NAR_DATA``, see
    :func:`pyg_nar.datasets.data_root`); processed graphs go to ``<root>/processed``. The
    processed folder's name carries a fingerprint of the raw files' contents and of the options
    that shape the graphs, so a changed raw file or option is processed anew while an
    unchanged one is loaded from disk.
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
        """Hash of the raw files' contents, :meth:`options` and the ``pre_transform``."""
        if self._fingerprint is None:
            h = hashlib.sha1()
            for path in self.raw_paths:
                if osp.exists(path):
                    with open(path, "rb") as f:
                        h.update(hashlib.sha1(f.read()).digest())
            h.update(self.options().encode())
            h.update(self._pre_transform_repr.encode())
            self._fingerprint = h.hexdigest()[:12]
        return self._fingerprint

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
        if self.pre_filter is not None:
            graphs = [g for g in graphs if self.pre_filter(g)]
        if self.pre_transform is not None:
            graphs = [self.pre_transform(g) for g in graphs]
        self.save(graphs, self.processed_paths[0])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)}{', ' + self.options() if self.options() else ''})"

