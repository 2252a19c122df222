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
