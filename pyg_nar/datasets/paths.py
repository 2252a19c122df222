"""Where the benchmark data lives: the ``PYG_NAR_DATA`` environment variable."""
from __future__ import annotations

import os
import os.path as osp

__all__ = ["data_root", "data_file"]


def data_root() -> str:
    """The benchmark-data folder: ``$PYG_NAR_DATA``, else ``../shared/data`` seen from the
    current directory (the layout of a checkout of this repository)."""
    return os.environ.get("PYG_NAR_DATA") or osp.abspath(osp.join("..", "shared", "data"))


def data_file(*parts: str) -> str:
    """Path of a file under :func:`data_root`; a clear error if it is not there."""
    path = osp.join(data_root(), *parts)
    if not osp.exists(path):
        raise FileNotFoundError(
            f"{path} not found: set PYG_NAR_DATA to the folder that holds the benchmark data "
            f"(it should contain {osp.join(*parts)})")
    return path
