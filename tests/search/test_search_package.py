"""The layout of :mod:`pyg_nar.search`: its public names, its lazy imports and its one
progress-bar idiom."""
import subprocess
import sys

import numpy as np

import pyg_nar.search as search
from pyg_nar.search import (BenchmarkOracle, predictor_guided_evolution, random_search,
                            regularized_evolution, ridge_onehot_predictor)
from pyg_nar.spaces.nasbench201 import NB201SearchSpace


def test_public_names():
    assert search.NB201SearchSpace is NB201SearchSpace  # the one space, re-exported
    for name in search.__all__:
        obj = getattr(search, name)
        assert obj.__module__.startswith(("pyg_nar.search.", "pyg_nar.spaces.")), name
        assert obj.__doc__, f"{name} has no docstring"


def test_import_is_lazy():
    """Importing the package loads neither the models, the training loop, the datasets nor
    matplotlib: the predictor factories and the experiment import them when called."""
    code = ("import sys, pyg_nar.search; "
            "print(sorted(m for m in ('pyg_nar.models', 'pyg_nar.training', 'pyg_nar.transforms', "
            "'pyg_nar.datasets', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def _oracle():
    cells = NB201SearchSpace.all_arch_strs()
    acc = np.random.default_rng(0).normal(size=len(cells))
    return BenchmarkOracle(cells, acc)


def test_progress_bar_shows_and_changes_nothing(capsys):
    oracle = _oracle()
    runs = {
        "random search": lambda p: random_search(oracle, 15, seed=2, progress=p),
        "regularized evolution": lambda p: regularized_evolution(oracle, 15, seed=2, progress=p),
        "predictor-guided evolution": lambda p: predictor_guided_evolution(
            oracle, 15, ridge_onehot_predictor(), seed=2, initial=5, per_round=5, candidates=20,
            progress=p),
    }
    for desc, run in runs.items():
        quiet = run(False)
        assert capsys.readouterr().err == ""
        shown = run(True)
        err = capsys.readouterr().err
        assert f"{desc}:" in err and "/15" in err, err  # tqdm redraws by time: the count may stay 0
        assert shown.arch_strs == quiet.arch_strs
        np.testing.assert_array_equal(shown.trajectory, quiet.trajectory)
