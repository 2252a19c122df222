"""Where the benchmark data lives (the ``PYG_NAR_DATA`` environment variable) and which files
each benchmark reads there.

This module imports nothing heavy (no torch, numpy or torch_geometric), so ``pyg-nar`` can
tell a user which files are missing before it loads anything. The dataset classes and the
recipe table :mod:`pyg_nar.recipes` take their file names from here.
"""
from __future__ import annotations

import os
import os.path as osp
from typing import Sequence

__all__ = ["data_root", "data_source", "data_file", "missing_files", "missing_files_message",
           "NB201_ACCURACY_FILE", "NB201_NASLIB_FILE", "NB201_TARGETS", "NB201_LATENCY_FILE",
           "HELP_LATENCY_FILES",
           "NB101_FILE", "NASBENCH_GRAPH_DATASETS", "nb201_files", "nasbench_graph_file"]

#: Environment variable naming the benchmark-data folder.
ENV = "PYG_NAR_DATA"


def data_root() -> str:
    """The benchmark-data folder: ``$PYG_NAR_DATA``, else ``../shared/data`` seen from the
    current directory (the layout of a checkout of this repository)."""
    return os.environ.get(ENV) or osp.abspath(osp.join("..", "shared", "data"))


def data_source() -> str:
    """Where :func:`data_root` comes from, in words: ``"PYG_NAR_DATA"`` or the default."""
    return ENV if os.environ.get(ENV) else f"the default ../shared/data; {ENV} is not set"


# ------------------------------------------------------------------- the files of each benchmark
#: NAS-Bench-201's compact CSV: every cell's index, arch string and accuracies (percent).
NB201_ACCURACY_FILE = "nasbench201/nb201_accuracy.csv.gz"
#: NASLib's NB201 file: single-seed 200-epoch accuracies (the ``*_1seed`` targets).
NB201_NASLIB_FILE = "naslib_zc_subsets/nb201_naslib_valacc_zen_full.csv.gz"
#: NB201 target -> (file, column).
NB201_TARGETS = {
    **{t: (NB201_ACCURACY_FILE, t) for t in (
        "cifar10_test_200ep", "cifar100_test_200ep", "imagenet16_test_200ep",
        "cifar10valid_valid_12ep", "cifar10_test_12ep", "cifar100_valid_12ep",
        "cifar100_test_12ep", "imagenet16_valid_12ep", "imagenet16_test_12ep")},
    "cifar10valid_1seed": (NB201_NASLIB_FILE, "cifar10_val_accuracy"),
    "cifar100_1seed": (NB201_NASLIB_FILE, "cifar100_val_accuracy"),
    "imagenet16_1seed": (NB201_NASLIB_FILE, "imagenet16_val_accuracy"),
}
#: HELP's latencies of every NB201 cell on 27 devices.
NB201_LATENCY_FILE = "latency_help/nasbench201_latency.npz"
#: HELP's latency tables, space -> file (:mod:`pyg_nar.datasets.help_latency`).
HELP_LATENCY_FILES = {"nasbench201": NB201_LATENCY_FILE, "fbnet": "latency_help/fbnet_latency.npz"}
#: NASLib's 500-cell NAS-Bench-101 subset, the default record file.
NB101_FILE = "naslib_zc_subsets/nb101_zc_subset.json.gz"
#: NAS-Bench-Graph's graph datasets, one CSV each (:func:`nasbench_graph_file`).
NASBENCH_GRAPH_DATASETS = ("cora", "citeseer", "pubmed", "cs", "physics", "photo", "computers",
                           "arxiv", "proteins")


def nb201_files(target: str) -> list[str]:
    """The files NB201 with ``target`` reads: the accuracy CSV (arch strings), and the
    target's own file where it is another."""
    label_file = NB201_TARGETS[target][0]
    return [NB201_ACCURACY_FILE] + ([label_file] if label_file != NB201_ACCURACY_FILE else [])


def nasbench_graph_file(dataset: str) -> str:
    """The NAS-Bench-Graph CSV of one graph dataset (``"cora"``, ...)."""
    return f"nasbench_graph/{dataset}.csv.gz"


# ------------------------------------------------------------------------------------- checks
def missing_files(files: Sequence[str], root: str | None = None) -> list[str]:
    """The ``files`` (relative to ``root``, default :func:`data_root`; absolute ones as they
    are) that do not exist."""
    root = root or data_root()
    return [f for f in files if not osp.exists(osp.join(root, f))]


def missing_files_message(owner: str, files: Sequence[str], root: str | None = None) -> str:
    """One line for a user: ``owner`` needs ``files``, which are not in ``root`` (default
    :func:`data_root`), and how to point ``PYG_NAR_DATA`` at them."""
    where = root or data_root()
    source = data_source() if osp.abspath(where) == osp.abspath(data_root()) else "raw_dir"
    exists = "" if osp.isdir(where) else ", a folder that does not exist"
    return (f"{owner}: missing raw file(s) {', '.join(files)} in {osp.abspath(where)} ({source}"
            f"{exists}); set {ENV} to the folder that holds them "
            f"(export {ENV}=/path/to/data); pyg_nar does not download benchmark data")


def data_file(*parts: str) -> str:
    """Path of a file under :func:`data_root`; a clear :class:`FileNotFoundError` if it is not
    there."""
    rel = osp.join(*parts)
    if missing_files([rel]):
        raise FileNotFoundError(missing_files_message("data_file", [rel]))
    return osp.join(data_root(), rel)
