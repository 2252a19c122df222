"""The one reader of HELP's latency tables (``latency_help/*.npz`` of ``$PYG_NAR_DATA``).

HELP (Lee et al., NeurIPS 2021, https://arxiv.org/abs/2106.08630) measured (or took from
HW-NAS-Bench and BRP-NAS) the latency of every architecture of a space on 27 devices; the
shared data repacks them into ``.npz`` files that load without pickle (README there).
"""
from __future__ import annotations

import os.path as osp
import zipfile
import zlib
from typing import NamedTuple

import numpy as np

from pyg_nar.datasets.base import LATENCY_RANGE_MS, DataFileError
from pyg_nar.datasets.paths import HELP_LATENCY_FILES, data_root
from pyg_nar.errors import PipelineError
from pyg_nar.spaces.fbnet import FBNET_OPS

__all__ = ["HELP_LATENCY_FILES", "HelpLatencies", "load_help_latencies", "help_devices", "check_device",
           "open_npz"]


class HelpLatencies(NamedTuple):
    """One space's table: ``archs`` (NB201 arch strings, or ``[N, 22]`` FBNet block indices),
    ``devices`` (file order) and ``latency`` (device -> float64 ``[N]`` in ms)."""
    archs: list | np.ndarray
    devices: list[str]
    latency: dict[str, np.ndarray]


def _path(space: str, raw_dir: str | None) -> str:
    if space not in HELP_LATENCY_FILES:
        raise PipelineError(f"HELP latency data: unknown space {space!r} (known: {', '.join(HELP_LATENCY_FILES)})")
    return osp.join(raw_dir or data_root(), HELP_LATENCY_FILES[space])


def open_npz(path: str):
    """An ``.npz`` archive read without pickle (:class:`DataFileError` naming ``path`` for a
    damaged or foreign file; ``FileNotFoundError`` for a missing one)."""
    if not osp.exists(path):
        raise FileNotFoundError(f"{path} not found: set PYG_NAR_DATA (or raw_dir) to the folder "
                                f"that holds latency_help/")
    try:
        z = np.load(path, allow_pickle=False)  # arrays of objects (pickles) are refused
    except Exception as e:  # noqa: BLE001  (numpy raises many kinds on a foreign file)
        raise DataFileError(f"{path}: cannot be read as .npz ({type(e).__name__}: {e})") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise DataFileError(f"{path}: a single array, not an .npz archive of named arrays")
    return z


def help_devices(space: str, raw_dir: str | None = None) -> list[str]:
    """The device names of a space's table, in file order."""
    with open_npz(_path(space, raw_dir)) as z:
        return [k[4:] for k in z.files if k.startswith("lat_")]


def check_device(space: str, device: str, raw_dir: str | None = None, who: str = "HELP latency data") -> None:
    """A :class:`~pyg_nar.errors.PipelineError` listing the known devices if ``device`` is not one."""
    known = help_devices(space, raw_dir)
    if device not in known:
        raise PipelineError(f"{who}: unknown device {device!r}; known: {', '.join(known)}")


def load_help_latencies(space: str, raw_dir: str | None = None,
                        devices: list[str] | None = None) -> HelpLatencies:
    """Read a space's table (all devices, or ``devices``; an unknown one is a
    :class:`~pyg_nar.errors.PipelineError` listing the known ones)."""
    path = _path(space, raw_dir)
    with open_npz(path) as z:
        known = [k[4:] for k in z.files if k.startswith("lat_")]
        for d in devices or []:
            if d not in known:
                raise PipelineError(f"HELP latency data: unknown device {d!r}; known: {', '.join(known)}")
        try:
            if space == "nasbench201":
                index = z["index"]
                if index.ndim != 1 or not (index == np.arange(len(index))).all():
                    raise DataFileError(f"{path}: rows are not in NB201 index order")
                archs = [str(s) for s in z["arch_str"]]
            else:
                archs = z["op_idx"]
                if archs.ndim != 2 or archs.dtype.kind not in "iu":
                    raise DataFileError(f"{path}: op_idx must be an integer array [N, layers], "
                                        f"got {archs.dtype} {archs.shape}")
                archs = archs.astype(np.int64)
                if archs.size and (archs.min() < 0 or archs.max() >= len(FBNET_OPS)):
                    raise DataFileError(f"{path}: op_idx holds block indices outside "
                                        f"0..{len(FBNET_OPS) - 1}")
            latency = {d: z[f"lat_{d}"] for d in (devices or known)}
        except KeyError as e:
            raise DataFileError(f"{path}: missing array {e}") from None
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
            raise DataFileError(f"{path}: an array cannot be read ({type(e).__name__}: {e})") from None
    n = len(archs)
    for d, v in latency.items():
        if v.shape != (n,) or v.dtype.kind not in "fiu":
            raise DataFileError(f"{path}: lat_{d} is {v.dtype} {v.shape}, expected ({n},) numbers")
        latency[d] = v = v.astype(np.float64)
        bad = ~np.isfinite(v) | (v < LATENCY_RANGE_MS[0]) | (v > LATENCY_RANGE_MS[1])
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataFileError(f"{path}: lat_{d}[{i}] is {v[i]}: latencies are milliseconds in "
                                f"[{LATENCY_RANGE_MS[0]:g}, {LATENCY_RANGE_MS[1]:g}] ({int(bad.sum())} such values)")
    return HelpLatencies(archs, list(devices or known), latency)
