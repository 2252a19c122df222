"""Latency prediction: the FLOPs baseline vs NNLP vs NAR-Former V2 vs NAR-Former vs FlowerFormer.

(a) Whole networks: an NNLQP-layout folder (``gt.txt`` + ONNX files, e.g. one measured with
    :func:`pyg_nar.networks.build_latency_dataset`), per model family:

    * in-domain: every family split ``--test-frac`` test / ``--val-frac`` validation / rest
      train (seeded), one model trained on all families' training parts;
    * leave-one-family-out (``--lofo``): for each family, train on the other families and test
      on all graphs of the held-out one.

(b) NAS-Bench-201 cells with HELP's measured latencies (``--nb201-devices``): NAR-Former V2
    (cell tokens, latency head) and, with ``--nb201-narformer``, NAR-Former (Tokenize tokens,
    linear output) against the training-set mean latency, on ``--nb201-train``
    training cells, 100 validation cells and (a seeded sample of) the others. On ``pixel3`` and
    ``raspi4`` the cells without an input-to-output path (latency < 0.5 ms) are dropped, as the
    data README advises.

Every model is fed, built and trained by its recipe of :data:`pyg_nar.recipes.RECIPES` (the
one ``pyg-nar train`` uses), with this script's size flags on top (:func:`model_kwargs`) and
its ``--epochs`` / ``--batch-size`` / ``--lr`` / ``--seed`` as training overrides.

Zoo models (``--zoo-models``): NNLP (NNLQP's 2 x SAGEConv + static features), NAR-Former V2
(whole-network features, 2 layers), NAR-Former (whole-network tokens: ``Tokenize(num_freqs=16)``,
480-d as in its supplement, static features at the head) and FlowerFormer (4 layers, d 64,
operation types only, positive output). FlowerFormer's generation loop runs 2 x depth steps per
layer and whole networks are deep (tens to hundreds of generations), so it is by far the
slowest to train here.

Metrics: MAPE and Acc(10%) (:mod:`pyg_nar.metrics`). Neural models train with the project's
loop (:func:`pyg_nar.training.fit`) on the relative MSE ``mean((pred / y - 1)^2)``, Adam
(weight decay 0), 10% warm-up, model selection on validation MAPE
(:func:`pyg_nar.recipes.latency_config`).

Examples::

    python examples/latency_prediction.py --zoo /path/to/zoo --epochs 50 --lofo
    python examples/latency_prediction.py --nb201-devices titan_rtx_256,gold_6226,pixel3 --epochs 30
"""
from __future__ import annotations

import argparse
import time

import torch

from pyg_nar.metrics import acc_within, mape
from pyg_nar.recipes import DATASETS, RECIPES, DatasetSpec
from pyg_nar.splits import group_split
from pyg_nar.training import fit, predict

#: the zoo rows: column name -> recipe name
ZOO_MODELS = {"KernelSum": "kernel-sum", "NNLP": "nnlp", "NAR-Former V2": "narformer-v2",
              "NAR-Former": "narformer", "FlowerFormer": "flowerformer"}


def model_kwargs(recipe: str, args, networks: bool) -> dict:
    """This script's size flags, on top of the recipe's model."""
    if recipe == "nnlp":
        return dict(hidden=args.hidden)
    if recipe == "narformer-v2":
        return dict(hidden=args.hidden, head_hidden=args.hidden,
                    **({} if networks else dict(num_layers=args.nb201_layers)))
    if recipe == "narformer":
        return dict(dim=args.narformer_dim, num_layers=args.narformer_layers,
                    head_dim=args.narformer_dim // 6)
    return {}


def train_and_predict(label: str, recipe_name: str, args, dataset: DatasetSpec, num_ops: int,
                      train, val, test, batch_size: int = 1024) -> torch.Tensor:
    """Predictions on ``test`` of the recipe's model trained on ``train`` (selected on ``val``)."""
    recipe = RECIPES[recipe_name]
    transform = recipe.transform("latency", dataset)
    if transform is not None:
        train, val, test = ([transform(d.clone()) for d in part] for part in (train, val, test))
    torch.manual_seed(args.seed)
    model = recipe.build(train[0], num_ops, "latency",
                         **model_kwargs(recipe_name, args, dataset.networks))
    over = dict(epochs=args.epochs, seed=args.seed, progress=args.progress)
    over.update({k: getattr(args, k) for k in ("batch_size", "lr") if getattr(args, k) is not None})
    config = recipe.config("latency", over)
    t = time.time()
    res = fit(model, train, val, config)
    print(f"    {label}: {time.time() - t:.0f} s, best val MAPE {res.best_metric:.4f} "
          f"(epoch {res.best_epoch})", flush=True)
    return predict(model, test, batch_size=batch_size)


def run_models(args, num_ops, train, val, test) -> dict[str, torch.Tensor]:
    """Predictions on ``test`` of every model, trained / fitted on ``train`` (+ ``val``)."""
    preds = {}
    flops = RECIPES["flops"]
    for space in ("log", "linear"):
        model = flops.build(train[0], num_ops, "latency", space=space).fit(train)
        preds[f"FLOPs ({space})"] = predict(model, test)
    for name, recipe in ZOO_MODELS.items():
        if args.zoo_models and name not in args.zoo_models.split(","):
            continue
        preds[name] = train_and_predict(name, recipe, args, DATASETS["nnlqp"], num_ops, train,
                                        val, test, batch_size=256)
    return preds


def print_table(title: str, rows: dict[str, tuple[torch.Tensor, torch.Tensor]], names,
                mean_row: bool = False) -> None:
    """rows: row label -> (per-model predictions dict, targets); ``mean_row``: add the mean of
    the rows' figures (e.g. over held-out families)."""
    print(f"\n{title}")
    header = f"{'':>14}" + "".join(f" | {n:>18}" for n in names)
    print(header + "\n" + f"{'':>14}" + "".join(f" | {'MAPE  Acc(10%)':>18}" for _ in names))
    figures = {n: [] for n in names}
    for label, (preds, y) in rows.items():
        for n in names:
            figures[n].append((mape(preds[n], y), acc_within(preds[n], y, 0.1)))
        print(f"{label:>14}" + "".join(f" | {figures[n][-1][0]:>7.3f}  {figures[n][-1][1]:>9.3f}"
                                       for n in names))
    if mean_row:
        mean = {n: [sum(v) / len(v) for v in zip(*figures[n])] for n in names}
        print(f"{'mean':>14}" + "".join(f" | {mean[n][0]:>7.3f}  {mean[n][1]:>9.3f}" for n in names))


def zoo_section(args) -> None:
    from pyg_nar.datasets import NNLQP

    ds = NNLQP(args.zoo)
    fam = torch.cat([d.model_type for d in ds])
    names_of = ds.model_types
    print(f"zoo: {len(ds)} graphs, families: "
          + ", ".join(f"{names_of[f]} ({int((fam == f).sum())})" for f in torch.unique(fam).tolist()))

    if not args.skip_in_domain:
        in_domain(args, ds, fam)
    if args.lofo:
        leave_one_family_out(args, ds, fam)


def in_domain(args, ds, fam) -> None:
    names_of = ds.model_types
    sp = group_split(fam, args.test_frac, args.val_frac, args.seed)
    print(f"in-domain: {len(sp['train'])} train / {len(sp['val'])} val / {len(sp['test'])} test")
    preds = run_models(args, len(ds.op_vocab), ds[sp["train"]], ds[sp["val"]], ds[sp["test"]])
    names = list(preds)
    y = torch.cat([d.y for d in ds[sp["test"]]])
    test_fam = fam[sp["test"]]
    rows = {names_of[f]: ({n: p[test_fam == f] for n, p in preds.items()}, y[test_fam == f])
            for f in torch.unique(test_fam).tolist()}
    rows["all"] = (preds, y)
    print_table("(a) in-domain, per family", rows, names)


def leave_one_family_out(args, ds, fam) -> None:
    names_of = ds.model_types
    rows = {}
    families = torch.unique(fam).tolist()
    if args.lofo_families:
        keep = set(args.lofo_families.split(","))
        unknown = keep - set(names_of)
        if unknown:
            raise SystemExit(f"--lofo-families: unknown {sorted(unknown)}; known: {names_of}")
        families = [f for f in families if names_of[f] in keep]
    for f in families:
        held = torch.nonzero(fam == f).view(-1)
        rest = torch.nonzero(fam != f).view(-1)
        rest = rest[torch.randperm(len(rest), generator=torch.Generator().manual_seed(args.seed))]
        n_val = max(1, int(round(args.val_frac * len(rest))))
        print(f"leave out {names_of[f]}: {len(rest) - n_val} train / {n_val} val / {len(held)} test",
              flush=True)
        p = run_models(args, len(ds.op_vocab), ds[rest[n_val:]], ds[rest[:n_val]], ds[held])
        rows[names_of[f]] = (p, torch.cat([d.y for d in ds[held]]))
    print_table("(a) leave-one-family-out (row = held-out family)", rows, list(p), mean_row=True)


def nb201_section(args) -> None:
    from pyg_nar.datasets import NASBench201Latency

    rows, names = {}, ["train mean", "NAR-Former V2"] + (["NAR-Former"] if args.nb201_narformer else [])
    for device in args.nb201_devices.split(","):
        ds = NASBench201Latency(args.nb201_root, device=device)
        y_all = torch.cat([d.y for d in ds])
        keep = torch.nonzero(y_all >= 0.5).view(-1)  # drops only pixel3/raspi4's degenerate cells
        perm = keep[torch.randperm(len(keep), generator=torch.Generator().manual_seed(args.seed))]
        n_tr = args.nb201_train
        parts = (perm[:n_tr], perm[n_tr:n_tr + 100], perm[n_tr + 100:n_tr + 100 + args.nb201_test])
        train, val, test = (ds[p] for p in parts)
        y = torch.cat([d.y for d in test])
        print(f"NB201 {device}: {len(keep)} cells kept, {len(train)} train / {len(val)} val / "
              f"{len(test)} test", flush=True)
        preds = {"train mean": torch.cat([d.y for d in train]).mean().expand_as(y)}
        for name in names[1:]:
            recipe = {"NAR-Former V2": "narformer-v2", "NAR-Former": "narformer"}[name]
            preds[name] = train_and_predict(name, recipe, args, DATASETS["nb201-latency"],
                                            len(ds.op_vocab), train, val, test)
        rows[device] = (preds, y)
    print_table("(b) NAS-Bench-201 latency (HELP devices)", rows, names)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--zoo", help="NNLQP-layout folder (gt.txt + ONNX files)")
    ap.add_argument("--lofo", action="store_true", help="also run leave-one-family-out")
    ap.add_argument("--skip-in-domain", action="store_true", help="only leave-one-family-out")
    ap.add_argument("--lofo-families", default="", help="comma list: only these held-out families")
    ap.add_argument("--zoo-models", default="",
                    help="comma list of trained zoo models (default: KernelSum, NNLP, NAR-Former V2, NAR-Former, FlowerFormer)")
    ap.add_argument("--test-frac", type=float, default=0.2)
    ap.add_argument("--val-frac", type=float, default=0.1)
    ap.add_argument("--nb201-devices", default="", help="comma list of HELP devices")
    ap.add_argument("--nb201-root", default="runs/data/nb201_latency")
    ap.add_argument("--nb201-train", type=int, default=900)
    ap.add_argument("--nb201-test", type=int, default=3000)
    ap.add_argument("--nb201-layers", type=int, default=2)
    ap.add_argument("--nb201-narformer", action="store_true",
                    help="also train NAR-Former (Tokenize tokens, linear output) on NB201")
    ap.add_argument("--narformer-dim", type=int, default=96)
    ap.add_argument("--narformer-layers", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--batch-size", type=int, default=None, help="default: each recipe's")
    ap.add_argument("--lr", type=float, default=None, help="default: each recipe's")
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument("--progress", action="store_true")
    args = ap.parse_args()
    if not args.zoo and not args.nb201_devices:
        ap.error("give --zoo and/or --nb201-devices")
    torch.set_num_threads(args.threads)
    print(f"epochs {args.epochs}, batch {args.batch_size}, lr {args.lr}, hidden {args.hidden}, "
          f"seed {args.seed}")
    if args.zoo:
        zoo_section(args)
    if args.nb201_devices:
        nb201_section(args)


if __name__ == "__main__":
    main()
