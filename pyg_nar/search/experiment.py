"""The search experiment behind ``pyg-nar search`` and ``examples/search_nb201.py``:
:func:`compare_searches`."""
from __future__ import annotations

import os
import os.path as osp
from typing import Callable

import numpy as np

from pyg_nar.errors import ArgumentError, OutputExistsError
from pyg_nar.utils.files import check_creatable

from pyg_nar.search.algorithms import predictor_guided_evolution, random_search, regularized_evolution
from pyg_nar.search.oracle import BenchmarkOracle
from pyg_nar.search.plots import plot_trajectories
from pyg_nar.search.predictors import narformer_predictor, ridge_onehot_predictor

__all__ = ["compare_searches"]


def compare_searches(budget: int = 100, seeds: int = 5, cache: str = "data", plot: str | None = None,
                     progress: bool = True, target: str = "cifar10_test_200ep", predictor: str = "narformer",
                     epochs: int = 20, initial: int = 10, per_round: int = 10, candidates: int = 100,
                     threads: int | None = 1, log: Callable[[str], None] | None = None,
                     raw_dir: str | None = None, device: str = "cpu", amp: str | None = None,
                     compile: bool | str = False) -> list[dict]:
    """Random search, regularized evolution and predictor-guided evolution on NAS-Bench-201
    with ``budget`` queries, seeds ``0 .. seeds - 1``.

    Returns one row per method: ``method``, mean and std of the best accuracy found
    (``best_mean``, ``best_std``; percent), its gap to the optimum (``gap_to_optimum``), how
    many runs found the optimum (``found_optimum``, ``"k/seeds"``), the mean rank of the cell
    found (``mean_rank``; 1 = best) and the seconds per run (``sec_per_run``).

    Args:
        budget (int, optional): queries per run. (default: :obj:`100`)
        seeds (int, optional): runs per method, seeds ``0 .. seeds - 1``. (default: :obj:`5`)
        cache (str, optional): where processed datasets are cached. (default: :obj:`"data"`)
        plot (str, optional): a PNG path for best accuracy vs queries (needs matplotlib; see
            :func:`~pyg_nar.search.plots.plot_trajectories`). (default: :obj:`None`, no plot)
        progress (bool, optional): show progress bars. (default: :obj:`True`)
        target (str, optional): the NB201 accuracy column searched.
            (default: :obj:`"cifar10_test_200ep"`)
        predictor (str, optional): ``"narformer"``
            (:func:`~pyg_nar.search.predictors.narformer_predictor`, ``epochs`` per round) or
            ``"ridge"`` (:func:`~pyg_nar.search.predictors.ridge_onehot_predictor`).
            (default: :obj:`"narformer"`)
        epochs (int, optional): NAR-Former training epochs per round. (default: :obj:`20`)
        initial (int, optional): predictor-guided evolution's initial pool. (default: :obj:`10`)
        per_round (int, optional): its queries per round. (default: :obj:`10`)
        candidates (int, optional): its candidates per round. (default: :obj:`100`)
        threads (int, optional): torch CPU threads during the run (restored after); :obj:`None`
            leaves them. (default: :obj:`1`)
        log (callable, optional): called with one line per finished method.
            (default: :obj:`None`)
        raw_dir (str, optional): the benchmark files. (default: :obj:`None`, ``$PYG_NAR_DATA``)
        device (str, optional): where the NAR-Former predictor trains and scores
            (:func:`~pyg_nar.devices.resolve_device`). (default: :obj:`"cpu"`)
        amp (str, optional): its mixed precision, ``"bf16"`` or ``"fp16"``. (default: :obj:`None`)
        compile (bool or str, optional): compile it with :func:`torch.compile`.
            (default: :obj:`False`)
    """
    import time

    import torch

    from pyg_nar.datasets import NASBench201

    if plot is not None:  # checked before the search, not after it
        if not isinstance(plot, (str, os.PathLike)):
            raise ArgumentError(f"compare_searches: plot must be a file path, got {type(plot).__name__}")
        if osp.lexists(plot):
            raise OutputExistsError(f"{plot}: exists; the plot never replaces a file, choose another one")
        check_creatable(plot, "plot file")

    if predictor == "narformer":
        factory = narformer_predictor(epochs=epochs, device=device, amp=amp, compile=compile)
    elif predictor == "ridge":
        factory = ridge_onehot_predictor()
    else:
        raise ValueError(f"compare_searches: predictor must be 'narformer' or 'ridge', got {predictor!r}")
    oracle = BenchmarkOracle.from_dataset(NASBench201(f"{cache}/nasbench201", target=target, raw_dir=raw_dir))
    _, optimum = oracle.best()
    methods = {
        "random search": lambda s: random_search(oracle, budget, seed=s, progress=progress),
        "regularized evolution": lambda s: regularized_evolution(
            oracle, budget, population=10, sample=3, seed=s, progress=progress),
        f"predictor-guided ({predictor})": lambda s: predictor_guided_evolution(
            oracle, budget, factory, seed=s, initial=initial, per_round=per_round,
            candidates=candidates, progress=progress),
    }
    old_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    rows, curves = [], {}
    try:
        for name, run in methods.items():
            t = time.perf_counter()
            results = [run(s) for s in range(seeds)]
            sec = (time.perf_counter() - t) / seeds
            best = np.array([r.best_accuracy for r in results])
            curves[name] = np.stack([r.trajectory for r in results])
            rows.append({"method": name, "best_mean": float(best.mean()), "best_std": float(best.std()),
                         "gap_to_optimum": float(optimum - best.mean()),
                         "found_optimum": f"{sum(oracle.rank_of(b) == 0 for b in best)}/{seeds}",
                         "mean_rank": float(np.mean([oracle.rank_of(b) + 1 for b in best])),
                         "sec_per_run": float(sec)})
            if log is not None:
                log(f"{name}: best {best.mean():.2f} +- {best.std():.2f} (per seed: "
                    f"{', '.join(f'{b:.2f}' for b in best)}), {sec:.1f} s/run")
    finally:
        torch.set_num_threads(old_threads)
    if plot:
        plot_trajectories(curves, optimum, plot, title=f"NAS-Bench-201 {target}, {seeds} seeds")
    return rows
