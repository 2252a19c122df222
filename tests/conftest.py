import os
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope="session")
def data_root() -> str:
    """The real benchmark data (``$PYG_NAR_DATA``, default ``../shared/data`` from the repo root).

    Missing data skips a test on a developer's machine but fails it under ``CI=true``.
    """
    root = os.environ.get("PYG_NAR_DATA") or osp.join(REPO, "..", "shared", "data")
    if not osp.isdir(root):
        msg = f"benchmark data not found at {root}: set PYG_NAR_DATA"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return osp.abspath(root)


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """The suite's models and graphs are tiny: one intra-op thread is fastest (and does not
    fight other processes for the cores)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def load_fuzz():
    """``benchmarks/fuzz.py`` as a module: the fuzzer, and the small networks and raw files it
    builds (tests share them)."""
    import importlib.util
    import sys

    if "pyg_nar_fuzz" not in sys.modules:
        spec = importlib.util.spec_from_file_location("pyg_nar_fuzz", osp.join(REPO, "benchmarks", "fuzz.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules["pyg_nar_fuzz"] = module
        spec.loader.exec_module(module)
    return sys.modules["pyg_nar_fuzz"]


@pytest.fixture(scope="session")
def fuzz():
    """``benchmarks/fuzz.py`` as a module (:func:`load_fuzz`)."""
    return load_fuzz()


@pytest.fixture(scope="session")
def tiny_networks(tmp_path_factory):
    """Eight small networks exported to ONNX, and an NNLQP-layout folder over them (``gt.txt``
    with made-up latencies at batch sizes 1 and 4): ``{"onnx": [paths], "nnlqp": folder}``.
    Read-only: a test that changes files works on a copy."""
    pytest.importorskip("onnx")
    fuzz = load_fuzz()
    root = tmp_path_factory.mktemp("tiny-networks")
    paths = fuzz.export_models(str(root / "onnx"))
    return {"onnx": paths, "nnlqp": fuzz.write_nnlqp_folder(str(root / "nnlqp"), paths)}


@pytest.fixture(scope="session")
def tiny_raw(tmp_path_factory):
    """A ``PYG_NAR_DATA`` folder of tiny raw files in the real formats (24 NB201 cells with
    accuracies in percent and latencies in ms, 24 NB101 cells, 24 NAS-Bench-Graph archs):
    ``{"raw": folder, name: file}``. Read-only."""
    fuzz = load_fuzz()
    raw = str(tmp_path_factory.mktemp("tiny-raw"))
    return {"raw": raw, **fuzz.write_raw_benchmarks(raw)}
