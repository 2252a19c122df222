"""``pyg-nar``: the command line. Every subcommand parses its arguments and calls one function
of :mod:`pyg_nar.pipeline` (or :mod:`pyg_nar.search`), so a notebook gets the same results.

Exit codes: 0 done, 1 the job failed on its input (message on one line), 2 bad arguments.
"""
from __future__ import annotations

import argparse
import json
import sys

EPILOG = """examples:
  pyg-nar train narformer nasbench201 --train-size 781 --epochs 200 --out runs/nf
  pyg-nar evaluate runs/nf --split heldout
  pyg-nar predict runs/nf '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|'
  pyg-nar measure --out zoo --per-family 10
  pyg-nar train narformer-v2 nnlqp:zoo --protocol flowerformer --train-size 0.8 --out runs/v2
  pyg-nar predict runs/v2 model.onnx
  pyg-nar search --budget 100 --seeds 5
"""


def _print_table(rows: list[dict]) -> None:
    if not rows:
        return
    cols = list(dict.fromkeys(k for r in rows for k in r))
    fmt = lambda v: f"{v:.4f}" if isinstance(v, float) else str(v)  # noqa: E731
    cells = [[fmt(r.get(c, "")) for c in cols] for r in rows]
    width = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, width)))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, width)))


def _metric_rows(result: dict) -> list[dict]:
    rows = []
    for part in ("test", "heldout"):
        if part in result:
            rows.append({"split": part, "archs": result["split_sizes"][part], **result[part]})
    return rows


def device_options(q, compile: bool = True) -> None:
    """``--device``, ``--amp`` and (with ``compile``) ``--compile``: where and how a model runs
    (:mod:`pyg_nar.devices`); :func:`device_kwargs` reads them back."""
    q.add_argument("--device", default="cpu",
                   help="cpu, cuda, cuda:N or auto (CUDA if there is one) (default: cpu)")
    q.add_argument("--amp", choices=["bf16", "fp16"],
                   help="mixed-precision autocast: bf16 (CPU or GPU) or fp16 (GPU)")
    if compile:
        q.add_argument("--compile", nargs="?", const=True, default=False, metavar="MODE",
                       help="torch.compile the model, optionally in a mode (reduce-overhead: "
                            "CUDA graphs on a GPU); the compile time is reported")


def device_kwargs(args) -> dict:
    """The ``device`` / ``amp`` / ``compile`` keyword arguments of :func:`device_options`."""
    return {k: getattr(args, k) for k in ("device", "amp", "compile") if hasattr(args, k)}


def cmd_train(args) -> None:
    from pyg_nar import pipeline

    over = {k: v for k, v in (("batch_size", args.batch_size), ("lr", args.lr)) if v is not None}
    result = pipeline.train(args.model, args.dataset, args.out, protocol=args.protocol,
                            train_size=args.train_size, epochs=args.epochs, seed=args.seed,
                            num_val=args.num_val, cache=args.cache, progress=not args.quiet,
                            **device_kwargs(args), **over)
    from pyg_nar.distributed import is_main_process
    if not is_main_process():  # torchrun: rank 0 reports
        return
    compiled = (f", {result['compile_seconds']:.1f} s of it compiling"
                if "compile_seconds" in result else "")
    print(f"trained {args.model} on {args.dataset} ({result['split_sizes']['train']} architectures, "
          f"{result['train_seconds']:.1f} s{compiled}) -> {args.out}")
    _print_table(_metric_rows(result))


def cmd_evaluate(args) -> None:
    from pyg_nar import pipeline

    result = pipeline.evaluate(args.checkpoint, args.dataset, args.split, args.out, cache=args.cache,
                               **device_kwargs(args))
    _print_table([{k: v for k, v in result.items() if k not in ("checkpoint", "plot", "json")}])
    print(f"saved {result['json']}" +
          (f" and {result['plot']}" if result.get("plot") else " (no plot: matplotlib is not installed)"))


def cmd_predict(args) -> None:
    from pyg_nar import pipeline

    rows = pipeline.predict(args.checkpoint, args.inputs, batch_size=args.batch_size,
                            **device_kwargs(args))
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        _print_table(rows)


def cmd_measure(args) -> None:
    from pyg_nar import pipeline

    families = args.families.split(",") if args.families else None
    out = pipeline.measure(args.out, families, per_family=args.per_family, seed=args.seed,
                           threads=args.ort_threads, repeats=args.repeats, progress=not args.quiet,
                           onnx_dir=args.onnx_dir)
    print(f"latency dataset in {out} (load it as nnlqp:{out})")


def cmd_search(args) -> None:
    from pyg_nar import search

    table = search.compare_searches(budget=args.budget, seeds=args.seeds, cache=args.cache,
                                    plot=args.plot, progress=not args.quiet, **device_kwargs(args))
    _print_table(table)
    if args.plot:
        print(f"saved {args.plot}")


def cmd_quickstart(args) -> None:
    from pyg_nar import pipeline

    result = pipeline.quickstart(args.out, per_family=args.per_family, epochs=args.epochs,
                                 nb201_epochs={"narformer": args.nb201_epochs[0],
                                               "flowerformer": args.nb201_epochs[1]},
                                 cache=args.cache,
                                 progress=not args.quiet, **device_kwargs(args))
    print(f"\nLatency on this machine, held-out models (checkpoints in {result['run_dir']}):")
    _print_table(result["latency"])
    if "nb201" in result:
        print("\nNAS-Bench-201 accuracy ranking (CIFAR-10, 200 epochs):")
        _print_table(result["nb201"])


def build_parser() -> argparse.ArgumentParser:
    from pyg_nar import __version__
    from pyg_nar.recipes import DATASETS, RECIPES

    p = argparse.ArgumentParser(
        prog="pyg-nar", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Neural architecture representation learning: train predictors of accuracy "
                    "and latency on NAS benchmarks and ONNX models, evaluate, predict, search.")
    p.add_argument("--version", action="version", version=f"pyg-nar {__version__}")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: the predictors are small, and more threads "
                        "mostly add synchronisation, badly so on a busy machine)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    models = "\n".join(f"  {k:<14} {r.description}" for k, r in RECIPES.items())
    datasets = "\n".join(f"  {k:<14} {d.description}" for k, d in DATASETS.items())

    def common(q, cache=True):
        if cache:
            q.add_argument("--cache", default="data", help="where processed datasets are kept (default: data)")
        q.add_argument("--quiet", action="store_true", help="no progress bar")

    t = sub.add_parser("train", help="train a predictor and write a checkpoint folder",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog=f"models:\n{models}\n\ndatasets (NAME or NAME:OPTION):\n{datasets}",
                       description="Train a predictor on a dataset under a split protocol; the "
                                   "checkpoint folder holds weights, config, transform, vocabulary and metrics.")
    t.add_argument("model", help="one of: " + ", ".join(RECIPES))
    t.add_argument("dataset", help="e.g. nasbench201, nasbench_graph:cora, nb201-latency:gold_6226, nnlqp:FOLDER")
    t.add_argument("--out", required=True, help="checkpoint folder to create (never overwritten)")
    t.add_argument("--protocol", default="narformer", choices=["narformer", "flowerformer"],
                   help="narformer: first K of a seeded permutation, next 200 val, tau on all; "
                        "flowerformer: pool x ratio, 40 val, rest test (default: narformer)")
    t.add_argument("--train-size", type=float, default=0.05,
                   help="training architectures: a count (>= 1) or a fraction (default 0.05)")
    t.add_argument("--num-val", type=int, help="validation architectures (default: 200 narformer, 40 flowerformer)")
    t.add_argument("--epochs", type=int, default=100)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--batch-size", type=int, help="override the model's recipe")
    t.add_argument("--lr", type=float, help="override the model's recipe")
    device_options(t)
    common(t)
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="score a checkpoint on a split; JSON + PNG",
                       description="Score a checkpoint on a dataset split: Kendall's tau / Spearman / "
                                   "precision@K (accuracy) or MAPE / Acc(10%%) (latency); saves "
                                   "eval_SPLIT.json and eval_SPLIT.png (predicted vs. true).")
    e.add_argument("checkpoint", help="folder written by `pyg-nar train`")
    e.add_argument("--dataset", help="default: the dataset it was trained on")
    e.add_argument("--split", default="test", choices=["test", "heldout", "val", "train", "all"])
    e.add_argument("--out", help="folder for eval_SPLIT.json and .png (default: the checkpoint folder)")
    device_options(e)
    common(e)
    e.set_defaults(func=cmd_evaluate)

    r = sub.add_parser("predict", help="predict ONNX files or NB201 arch strings with a checkpoint",
                       description="Predict each input with a checkpoint: accuracy (%%) for NB201 "
                                   "arch strings, latency (ms) with FLOPs and parameters for ONNX files.")
    r.add_argument("checkpoint")
    r.add_argument("inputs", nargs="+", help="ONNX files or NB201 arch strings ('|op~0|+|...|')")
    r.add_argument("--batch-size", type=int, help="batch size to set in ONNX inputs")
    r.add_argument("--json", action="store_true", help="print JSON instead of a table")
    device_options(r, compile=False)
    r.set_defaults(func=cmd_predict)

    m = sub.add_parser("measure", help="measure a latency dataset of this machine (resumable)",
                       description="Export models of the zoo families to ONNX (or take the ONNX files "
                                   "of --onnx-dir) and measure them with onnxruntime; writes NNLQP's gt.txt layout. An interrupted run "
                                   "keeps what it measured; running again continues.")
    m.add_argument("--out", required=True, help="dataset folder (created or resumed)")
    m.add_argument("--families", help="comma-separated zoo families (default: all ten)")
    m.add_argument("--per-family", type=int, default=10)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--onnx-dir", help="measure your own ONNX files below this folder instead of the zoo")
    m.add_argument("--ort-threads", type=int, default=1, help="onnxruntime threads (default 1)")
    m.add_argument("--repeats", type=int, default=20, help="timed runs per model; the median is kept")
    common(m, cache=False)
    m.set_defaults(func=cmd_measure)

    s = sub.add_parser("search", help="predictor-guided vs random search vs evolution on NB201",
                       description="Search NAS-Bench-201 under a query budget, several seeds: "
                                   "predictor-guided evolution (NAR-Former Sec. 4.4), random search "
                                   "and regularized evolution; best accuracy found vs queries.")
    s.add_argument("--budget", type=int, default=100)
    s.add_argument("--seeds", type=int, default=5)
    s.add_argument("--plot", help="PNG of best accuracy vs queries")
    device_options(s)
    common(s)
    s.set_defaults(func=cmd_search)

    q = sub.add_parser("quickstart", help="the main job: measure, train, compare (a few minutes)",
                       description="Measure a small latency dataset of this machine from the model zoo, "
                                   "train FLOPs / NNLP / NAR-Former V2 latency predictors and print their "
                                   "held-out MAPE and Acc(10%%); with the NAS-Bench data present, also "
                                   "train NAR-Former and FlowerFormer on 781 NB201 cells and print "
                                   "Kendall's tau on all cells.")
    q.add_argument("--out", default="runs/quickstart", help="measurements are resumed here; "
                   "checkpoints go to a new run-K folder inside")
    q.add_argument("--per-family", type=int, default=8, help="models measured per zoo family (10 families)")
    q.add_argument("--epochs", type=int, default=60, help="epochs of the latency predictors")
    q.add_argument("--nb201-epochs", type=int, nargs=2, metavar=("NARFORMER", "FLOWERFORMER"),
                   default=[50, 20], help="epochs of the two NB201 accuracy predictors (default 50 20)")
    device_options(q)
    common(q)
    q.set_defaults(func=cmd_quickstart)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    import torch

    from pyg_nar.checkpoint import CheckpointError

    if args.threads < 1:
        parser.error("--threads must be at least 1")
    torch.set_num_threads(args.threads)
    from pyg_nar.data import ArchitectureError

    try:
        args.func(args)
    except (ValueError, FileNotFoundError, CheckpointError, ArchitectureError, KeyError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"pyg-nar {args.command}: error: {msg}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"pyg-nar {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
