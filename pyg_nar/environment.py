"""What a bug report needs: versions, the devices torch sees, where the benchmark data is looked
for and which datasets were found there, the cache folder and the platform
(:func:`environment_info`, behind ``pyg-nar info``).

Only torch is imported (for its devices); the other packages' versions are read from their
installed metadata, so a report comes quickly even where importing them is slow or broken.
"""
from __future__ import annotations

import os
import os.path as osp
import platform
import sys
from importlib import metadata

__all__ = ["environment_info", "format_environment", "PACKAGES"]

#: Distributions whose versions a report lists (besides pyg_nar and Python).
PACKAGES = ("torch", "torch_geometric", "onnx", "onnxruntime", "numpy")


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _devices() -> dict:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info = {"cpu_count": os.cpu_count(), "cpu_usable": usable}
    try:
        import torch
    except ImportError as e:  # a report must come even then
        return {**info, "torch_error": f"{type(e).__name__}: {e}"}
    cuda = torch.cuda.is_available()
    info.update(torch_threads=torch.get_num_threads(), cuda_available=cuda,
                cuda_version=torch.version.cuda, cuda_devices=[])
    for i in range(torch.cuda.device_count() if cuda else 0):
        p = torch.cuda.get_device_properties(i)
        info["cuda_devices"].append({"index": i, "name": p.name,
                                     "capability": f"{p.major}.{p.minor}",
                                     "memory_gib": round(p.total_memory / 2 ** 30, 1)})
    mps = getattr(torch.backends, "mps", None)
    info["mps_available"] = bool(mps is not None and mps.is_available())
    return info


def _datasets(root: str) -> dict:
    """For each dataset of :data:`pyg_nar.recipes.DATASETS` read from the data folder: the
    files it reads there (and whether each exists), and the options whose files are all there."""
    from pyg_nar.datasets.paths import missing_files
    from pyg_nar.recipes import DATASETS

    out = {}
    for name, spec in DATASETS.items():
        if spec.raw_files is None:
            out[name] = {"found": None, "note": f"a folder of yours with a {spec.folder_file}: "
                                                f"{name}:FOLDER"}
            continue
        options = spec.options or (spec.default_option,)
        files = {}
        found = []
        for option in options:
            needed = spec.raw_files(option)
            files.update({f: osp.exists(osp.join(root, f)) for f in needed})
            if not missing_files(needed, root):
                found.append(option)
        entry = {"found": not missing_files(spec.raw_files(spec.default_option), root),
                 "files": files}
        if spec.options is not None:
            entry.update(options_found=found, num_options=len(options))
        out[name] = entry
    return out


def environment_info(cache: str = "data") -> dict:
    """Versions, devices, benchmark data, cache folder and platform, as a JSON-able dict.

    Args:
        cache (str, optional): the processed-datasets folder to report (``--cache`` of the
            commands). (default: :obj:`"data"`)
    """
    import pyg_nar
    from pyg_nar.datasets.paths import data_root, data_source

    root = data_root()
    versions = {"pyg_nar": pyg_nar.__version__, "python": platform.python_version(),
                **{name: _version(name) for name in PACKAGES}}
    cache = osp.abspath(cache)
    return {
        "versions": versions,
        "pyg_nar_path": osp.dirname(osp.abspath(pyg_nar.__file__)),
        "python_executable": sys.executable,
        "devices": _devices(),
        "data": {"root": osp.abspath(root), "source": data_source(), "exists": osp.isdir(root),
                 "datasets": _datasets(root)},
        "cache": {"path": cache, "exists": osp.isdir(cache),
                  "contents": sorted(os.listdir(cache)) if osp.isdir(cache) else []},
        "platform": {"system": platform.platform(), "machine": platform.machine(),
                     "python_implementation": platform.python_implementation()},
    }


def format_environment(info: dict) -> str:
    """:func:`environment_info` as lines for people."""
    v, d, data, cache = info["versions"], info["devices"], info["data"], info["cache"]
    lines = [f"{name:<16} {v[name] or 'not installed'}" for name in ("pyg_nar", "python", *PACKAGES)]
    lines[0] += f"  ({info['pyg_nar_path']})"
    lines[1] += f"  ({info['python_executable']})"
    cpu = f"{d['cpu_count']} cores ({d['cpu_usable']} usable)"
    if "torch_error" in d:
        lines += [f"{'cpu':<16} {cpu}", f"{'torch':<16} cannot be imported: {d['torch_error']}"]
    else:
        lines.append(f"{'cpu':<16} {cpu}; torch's default: {d['torch_threads']} threads "
                     f"(pyg-nar uses --threads, default 1)")
        if d["cuda_devices"]:
            for dev in d["cuda_devices"]:
                lines.append(f"{'cuda:' + str(dev['index']):<16} {dev['name']} "
                             f"({dev['memory_gib']} GiB, compute capability {dev['capability']})")
        else:
            built = f"torch built for CUDA {d['cuda_version']}" if d["cuda_version"] else \
                "torch built without CUDA"
            lines.append(f"{'cuda':<16} no device ({built})")
        if d["mps_available"]:
            lines.append(f"{'mps':<16} available")
    lines.append(f"{'data':<16} {data['root']} ({data['source']}; "
                 f"{'exists' if data['exists'] else 'does not exist'})")
    for name, entry in data["datasets"].items():
        if entry["found"] is None:
            status = entry["note"]
        else:
            missing = [f for f, there in entry["files"].items() if not there]
            status = ("found: " + ", ".join(entry["files"])) if not missing else \
                "missing " + ", ".join(missing)
            if "options_found" in entry and entry["options_found"]:
                status = (f"options found ({len(entry['options_found'])} of {entry['num_options']}): "
                          + ", ".join(entry["options_found"]) + ("" if not missing else f"; {status}"))
        lines.append(f"  {name:<14} {status}")
    lines.append(f"{'cache':<16} {cache['path']} (" + (
        ("holds " + ", ".join(cache["contents"])) if cache["contents"] else
        "empty" if cache["exists"] else "does not exist yet") + ")")
    lines.append(f"{'platform':<16} {info['platform']['system']} ({info['platform']['machine']}, "
                 f"{info['platform']['python_implementation']})")
    return "\n".join(lines)
