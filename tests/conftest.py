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
