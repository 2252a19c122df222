"""Accuracy predictors side by side: same splits, same seeds, one table.

Each run is one call of :func:`pyg_nar.pipeline.train` (the project's one training loop, the
models' recipes of :data:`pyg_nar.recipes.RECIPES`), so what this script prints is what
``pyg-nar train`` gives. Checkpoints go to ``--out``.

Protocols (``pyg_nar.splits``):

* ``--protocol flowerformer`` (FlowerFormer, CVPR'24): a seeded permutation; train =
  ``size`` x the training pool (NB201: 7,813, NB101: 7,290, NAS-Bench-Graph: 13,103), the next
  40 validation, all others test. Kendall's tau and precision@1% on the test cells.
* ``--protocol narformer`` (NAR-Former, CVPR'23): train = the first ``size`` cells of a seeded
  permutation, the next 200 validation; Kendall's tau on **all** cells (the paper's figure,
  training cells included) and on the held-out cells.

Both models select their weights on validation Kendall's tau. ``--seeds`` seed the split and
the training alike (run ``k`` of every model uses split ``k``).

Labels: NB201 ``cifar10_test_200ep`` (CIFAR-10 test accuracy after 200 epochs, mean over the
benchmark's seeds; train, validation and test alike). NAS-Bench-Graph: test accuracy.

NAR-Former settings:

* ``--narformer-recipe ranking`` (default, ``pyg-nar train narformer``'s): a linear head and
  the pairwise hinge ranking loss (margin 0.5) with NAR-Former's optimiser and schedule (AdamW,
  weight decay 0.01, 10% warm-up + linear decay) at lr 1e-3, batch 32, no EMA.
* ``--narformer-recipe paper``: the paper's loss and schedule (MSE + 0.1 SR + 0.5 AC, sigmoid
  head, AdamW 1e-4, batch 128, EMA 0.99).
* ``--narformer-size pipeline`` (default: d 128, 3 encoder blocks, head 32) or ``paper``
  (d 192, 6 blocks, 77 MFLOP per cell).

FlowerFormer on NAS-Bench-Graph uses the paper's settings for it (4 layers, d 256, lr 7e-3,
batch 1024, margin 0.01: the recipe's ``dataset_settings``); on the cell benchmarks 9 layers,
d 64 (the recipe's default).

Examples::

    # FlowerFormer protocol, NB201, both models
    python examples/accuracy_predictors.py --protocol flowerformer --sizes 0.01 0.05 0.1 0.5 \\
        --epochs 100 100 100 30 --seeds 0 1
    # NAR-Former protocol: 5% / 10% / 50% of NB201
    python examples/accuracy_predictors.py --protocol narformer --sizes 781 1563 7812 \\
        --epochs 100 100 30 --seeds 0 1 2
    # NAS-Bench-Graph
    python examples/accuracy_predictors.py --dataset nasbench_graph:cora --sizes 0.01 0.05 --epochs 200
"""
from __future__ import annotations

import argparse
import json
import os.path as osp
import statistics
import tempfile

import torch

from pyg_nar import pipeline
from pyg_nar.recipes import NARFORMER_RANKING
from pyg_nar.training import TrainConfig

#: NAR-Former's training recipes: (model kwargs, TrainConfig overrides)
NARFORMER_RECIPES = {
    "ranking": ({}, {}),   # the pipeline's recipe for NAR-Former on accuracy
    # TrainConfig.narformer's own values for every key the ranking recipe changes
    "paper": (dict(output="sigmoid"),
              {k: getattr(TrainConfig.narformer(), k) for k in NARFORMER_RANKING}),
}
#: NAR-Former's sizes: the pipeline's (d 128, 3 blocks) or the paper's (d 192, 6 blocks)
NARFORMER_SIZES = {"pipeline": {}, "paper": dict(dim=192, num_layers=6, head_dim=32)}


def fmt(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def settings(model: str, args) -> tuple[dict, dict]:
    """Model kwargs and TrainConfig overrides on top of the recipe table's (NAR-Former's
    recipe and size flags; nothing for the other models)."""
    if model == "narformer":
        model_kwargs, overrides = NARFORMER_RECIPES[args.narformer_recipe]
        return {**model_kwargs, **NARFORMER_SIZES[args.narformer_size]}, overrides
    return {}, {}


def run_name(model: str, size: float, seed: int, args) -> str:
    name = f"{model}_{size}_{seed}"
    if model == "narformer" and (args.narformer_recipe, args.narformer_size) != ("ranking", "pipeline"):
        name += f"_{args.narformer_recipe}-recipe_{args.narformer_size}-size"
    return name


def finished_run(run_dir: str, dataset: str, protocol: str, train_size, seed: int,
                 epochs: int) -> dict | None:
    """The results of a run that finished in ``run_dir`` (``--resume``), else ``None``."""
    path = osp.join(run_dir, "metrics.json")
    if not osp.isfile(path):
        return None
    with open(path) as f:
        saved = json.load(f)
    info = saved.get("extra") or {}
    asked = dict(dataset=dataset, protocol=protocol, train_size=train_size, seed=seed)
    if info.get("epochs", epochs) != epochs:  # (runs of older versions did not record it)
        asked["epochs"] = epochs
    if any(info.get(k) != v for k, v in asked.items()):
        raise SystemExit(f"{run_dir}: holds another run ({ {k: info.get(k) for k in asked} }), "
                         f"not {asked}; use another --resume folder")
    return {**info, **saved["metrics"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="nasbench201", help="an accuracy dataset of pyg_nar.pipeline")
    ap.add_argument("--protocol", default="flowerformer", choices=["flowerformer", "narformer"])
    ap.add_argument("--sizes", type=float, nargs="+", default=[0.01, 0.05, 0.1, 0.5],
                    help="training sizes: fractions (of the train pool / of the space) or counts")
    ap.add_argument("--models", nargs="+", default=["flowerformer", "narformer"])
    ap.add_argument("--narformer-recipe", default="ranking", choices=list(NARFORMER_RECIPES))
    ap.add_argument("--narformer-size", default="pipeline", choices=list(NARFORMER_SIZES))
    ap.add_argument("--epochs", type=int, nargs="+", default=[100],
                    help="one value, or one per size")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--cache", default=osp.join(tempfile.gettempdir(), "pyg_nar", "data"))
    ap.add_argument("--out", default=osp.join(tempfile.gettempdir(), "pyg_nar", "accuracy_predictors"))
    ap.add_argument("--resume", metavar="RUN_DIR",
                    help="a run folder of an earlier call (printed at its start): runs already "
                         "finished there are read back, not trained again")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--progress", action="store_true")
    args = ap.parse_args()
    if len(args.epochs) not in (1, len(args.sizes)):
        ap.error(f"--epochs takes one value or one per size ({len(args.sizes)})")
    epochs = args.epochs * len(args.sizes) if len(args.epochs) == 1 else args.epochs
    torch.set_num_threads(args.threads)
    out = args.resume or pipeline.fresh_run_dir(args.out)
    print(f"{args.dataset}, {args.protocol} protocol"
          + (" (the papers' train pool, pyg_nar.splits.train_pool)" if args.protocol == "flowerformer"
             else "") + f", seeds {args.seeds}; checkpoints in {out}")

    results: dict = {}
    for size, n_epochs in zip(args.sizes, epochs):
        train_size = int(size) if size >= 1 else size
        for model in args.models:
            model_kwargs, overrides = settings(model, args)
            for seed in args.seeds:
                run_dir = osp.join(out, run_name(model, size, seed, args))
                r = finished_run(run_dir, args.dataset, args.protocol, train_size, seed, n_epochs)
                if r is None:
                    r = pipeline.train(model, args.dataset, run_dir, protocol=args.protocol,
                                       train_size=train_size, epochs=n_epochs, seed=seed,
                                       cache=args.cache, progress=args.progress,
                                       model_kwargs=model_kwargs, **overrides)
                results.setdefault((size, model), []).append(r)
                main_part = r["test"]
                extra = (f"held-out tau {r['heldout']['kendall_tau']:.4f}" if "heldout" in r
                         else f"P@1% {main_part['precision_top1pct']:.3f}")
                print(f"  {model:>12} size {size:g} ({r['split_sizes']['train']} train) seed {seed}: "
                      f"tau {main_part['kendall_tau']:.4f}, {extra}, {n_epochs} epochs, "
                      f"{r['train_seconds'] / 60:.1f} min", flush=True)

    heldout = args.protocol == "narformer"
    cols = ["tau (all)", "tau (held-out)"] if heldout else ["test tau", "test P@1%"]
    print(f"\n{args.dataset}, {args.protocol} protocol, {len(args.seeds)} seed(s), mean ± std\n")
    print("| train | epochs | model | " + " | ".join(cols) + " | min/run |")
    print("|---|---|---|" + "---|" * len(cols) + "---|")
    for size, n_epochs in zip(args.sizes, epochs):
        for model in args.models:
            runs = results[(size, model)]
            a = [r["test"]["kendall_tau"] for r in runs]
            b = ([r["heldout"]["kendall_tau"] for r in runs] if heldout
                 else [r["test"]["precision_top1pct"] for r in runs])
            minutes = statistics.mean(r["train_seconds"] for r in runs) / 60
            print(f"| {runs[0]['split_sizes']['train']} ({size:g}) | {n_epochs} | {model} | "
                  f"{fmt(a)} | {fmt(b)} | {minutes:.1f} |")


if __name__ == "__main__":
    main()
