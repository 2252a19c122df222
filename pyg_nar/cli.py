"""``pyg-nar``: the command line. Every subcommand parses its arguments and calls one function
of :mod:`pyg_nar.pipeline` (or :mod:`pyg_nar.search`, :mod:`pyg_nar.environment`), so a
notebook gets the same results.

Building the parser, ``--help``, ``--version`` and every argument error import no torch,
torch_geometric, onnx or onnxruntime (it answers in well under a second): the parser reads
names and descriptions from :mod:`pyg_nar.recipes`, which loads nothing heavy, and each
command first checks its inputs (names, benchmark files) and only then imports what it needs.

Exit codes: 0 done, 1 the job failed on its input (message on one line), 2 bad arguments.
"""
from __future__ import annotations

import argparse
import inspect
import json
import sys
import textwrap

EPILOG = """examples:
  pyg-nar info
  pyg-nar train narformer nasbench201 --train-size 781 --epochs 200 --out runs/nf
  pyg-nar evaluate runs/nf --split heldout
  pyg-nar predict runs/nf '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|'
  pyg-nar measure --out zoo --per-family 10
  pyg-nar train narformer-v2 nnlqp:zoo --protocol flowerformer --train-size 0.8 --out runs/v2
  pyg-nar predict runs/v2 model.onnx
  pyg-nar search --budget 100 --seeds 5
  pyg-nar pretrain nasbench201 --out runs/help-nb201
  pyg-nar adapt runs/help-nb201 --measured my_device.txt --out runs/my_device

benchmark data is read from $PYG_NAR_DATA (default ../shared/data); `pyg-nar info` shows what
is found there.
"""


# ------------------------------------------------------------------------------------ output
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


def _device_kwargs(args) -> dict:
    """The ``device`` / ``amp`` / ``compile`` keyword arguments of the command's
    ``--device`` / ``--amp`` / ``--compile`` (:data:`SHARED_OPTIONS`, :mod:`pyg_nar.devices`)."""
    return {k: getattr(args, k) for k in ("device", "amp", "compile") if hasattr(args, k)}


def _start_torch(args) -> None:
    """Import torch (seconds) and give it ``--threads`` CPU threads: each command's first heavy
    step, after the checks that need nothing heavy."""
    import torch

    torch.set_num_threads(args.threads)


# ---------------------------------------------------------------------------------- commands
def cmd_train(args) -> None:
    """train a predictor and write a checkpoint folder

    Train a predictor on a dataset under a split protocol; the checkpoint folder holds weights,
    config, transform, vocabulary and metrics.
    """
    from pyg_nar.recipes import check_job

    check_job(args.model, args.dataset)  # names, task, raw files: before anything is loaded
    _start_torch(args)
    from pyg_nar import pipeline

    over = {k: v for k, v in (("batch_size", args.batch_size), ("lr", args.lr)) if v is not None}
    result = pipeline.train(args.model, args.dataset, args.out, protocol=args.protocol,
                            train_size=args.train_size, epochs=args.epochs, seed=args.seed,
                            num_val=args.num_val, cache=args.cache, progress=not args.quiet,
                            overwrite=args.overwrite, **_device_kwargs(args), **over)
    from pyg_nar.distributed import is_main_process

    if not is_main_process():  # under torchrun, rank 0 reports
        return
    compiled = (f", {result['compile_seconds']:.1f} s of it compiling"
                if "compile_seconds" in result else "")
    print(f"trained {args.model} on {args.dataset} ({result['split_sizes']['train']} architectures, "
          f"{result['train_seconds']:.1f} s{compiled}) -> {args.out}")
    print(_split_line(result))
    _print_table(_metric_rows(result))


def _split_line(result: dict) -> str:
    """The counts a training run used, e.g. ``split (flowerformer protocol): train 390 = 5% of
    the 7,813-architecture pool, val 40, test 15,195 of 15,625``."""
    sizes, size = result["split_sizes"], result["train_size"]
    if result["protocol"] == "flowerformer":
        whole = f"the {result['train_pool']:,}-architecture pool"
    else:
        whole = f"all {result['num_archs']:,}"
    how = f" = {100 * size:g}% of {whole}" if size < 1 else ""
    rest = ", ".join(f"{k} {v:,}" for k, v in sizes.items() if k != "train")
    return (f"split ({result['protocol']} protocol): train {sizes['train']:,}{how}, {rest} "
            f"of {result['num_archs']:,}")


def cmd_evaluate(args) -> None:
    """score a checkpoint on a split; JSON + PNG

    Score a checkpoint on a dataset split: Kendall's tau / Spearman / precision@K (accuracy) or
    MAPE / Acc(10%) (latency); saves eval_SPLIT.json and eval_SPLIT.png (accuracy: predicted
    accuracy through the checkpoint's calibration map vs. true accuracy, and rank vs. rank;
    latency: predicted vs. true ms). Ranking metrics are computed on the raw scores.
    """
    if args.dataset:  # else the checkpoint names it, and pipeline.evaluate checks it
        from pyg_nar.recipes import check_data

        check_data(args.dataset)
    _start_torch(args)
    from pyg_nar import pipeline

    result = pipeline.evaluate(args.checkpoint, args.dataset, args.split, args.out, cache=args.cache,
                               overwrite=args.overwrite, **_device_kwargs(args))
    _print_table([{k: v for k, v in result.items() if k not in ("checkpoint", "plot", "json")}])
    print(f"saved {result['json']}" +
          (f" and {result['plot']}" if result.get("plot") else " (no plot: matplotlib is not installed)"))


def cmd_predict(args) -> None:
    """predict ONNX files or NB201 arch strings with a checkpoint

    Predict each input with a checkpoint. Accuracy predictors output ranking scores: the
    score, the accuracy (%) the checkpoint's calibration map (isotonic regression on its
    training cells) reads from it, the score's percentile among the benchmark's architectures,
    and for an ensemble the spread of its members (accuracy points). Latency predictors: ms,
    with FLOPs (M) and parameters (M) for ONNX files; a few-shot checkpoint (pyg-nar adapt)
    predicts the latency (ms) of its space's architectures (NB201 arch strings, FBNet block
    lists).
    """
    _start_torch(args)
    from pyg_nar.fewshot.jobs import is_fewshot_checkpoint, predict_rows

    if is_fewshot_checkpoint(args.checkpoint):  # an NB201 / FBNet model of `pyg-nar adapt`
        rows = predict_rows(args.checkpoint, args.inputs)
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            _print_table(rows)
        return
    from pyg_nar import pipeline

    rows = pipeline.predict(args.checkpoint, args.inputs, batch_size=args.batch_size,
                            input_shapes=_shapes(args), **_device_kwargs(args))
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        _print_table(rows)


def cmd_measure(args) -> None:
    """measure a latency dataset of this machine (resumable)

    Export models of the zoo families to ONNX (or take the ONNX files of --onnx-dir) and time
    them with onnxruntime; writes NNLQP's gt.txt layout (latency in ms). An interrupted run
    keeps what it measured; running again continues.
    """
    _start_torch(args)
    from pyg_nar import pipeline

    families = args.families.split(",") if args.families else None
    out = pipeline.measure(args.out, families, per_family=args.per_family, seed=args.seed,
                           threads=args.ort_threads, batch_sizes=tuple(args.batch_sizes),
                           rounds=args.rounds, round_ms=args.round_ms, cpu=args.cpu,
                           clock=args.clock, progress=not args.quiet, onnx_dir=args.onnx_dir,
                           input_shapes=_shapes(args))
    print(f"latency dataset in {out} (load it as nnlqp:{out})")


def cmd_search(args) -> None:
    """predictor-guided vs random search vs evolution on NB201

    Search NAS-Bench-201 under a query budget, several seeds: predictor-guided evolution (NAR-
    Former Sec. 4.4), random search and regularized evolution; best accuracy found vs queries.
    """
    from pyg_nar.recipes import check_data

    check_data("nasbench201")  # the oracle's benchmark: before anything is loaded
    _start_torch(args)
    from pyg_nar import search

    table = search.compare_searches(budget=args.budget, seeds=args.seeds, cache=args.cache,
                                    plot=args.plot, progress=not args.quiet, threads=args.threads,
                                    **_device_kwargs(args))
    _print_table(table)
    if args.plot:
        print(f"saved {args.plot}")


def cmd_quickstart(args) -> None:
    """the main job: measure, train, compare (a few minutes)

    Measure a small latency dataset of this machine from the model zoo, train FLOPs / KernelSum /
    NNLP / NAR-Former V2 latency predictors, print their held-out MAPE and Acc(10%) and say
    whether the best learned one beats FLOPs; with the NAS-
    Bench data present, also train NAR-Former and FlowerFormer on 781 NB201 cells and print
    Kendall's tau on all cells.
    """
    from pyg_nar.recipes import missing_data

    no_nb201 = missing_data("nasbench201")
    if no_nb201:  # said before any work; the latency part runs all the same
        print(f"NAS-Bench-201 part will be skipped: {no_nb201}", flush=True)
    _start_torch(args)
    from pyg_nar import pipeline

    result = pipeline.quickstart(args.out, per_family=args.per_family, epochs=args.epochs,
                                 nb201=no_nb201 is None,
                                 nb201_epochs={"narformer": args.nb201_epochs[0],
                                               "flowerformer": args.nb201_epochs[1]},
                                 cache=args.cache, progress=not args.quiet, **_device_kwargs(args))
    print(f"\nLatency on this machine, held-out models (checkpoints in {result['run_dir']}):")
    _print_table(result["latency"])
    print(result["verdict"])
    if "nb201" in result:
        print("\nNAS-Bench-201 accuracy ranking (CIFAR-10, 200 epochs):")
        _print_table(result["nb201"])


def cmd_info(args) -> None:
    """versions, devices, benchmark data found: for a bug report

    Print what a bug report needs: the versions of pyg_nar, Python, torch, torch_geometric,
    onnx, onnxruntime and numpy; the devices torch sees; where benchmark data is looked for
    ($PYG_NAR_DATA or the default) and which datasets were found there; the cache folder; the
    platform.
    """
    from pyg_nar.environment import environment_info, format_environment

    info = environment_info(cache=args.cache)
    print(json.dumps(info, indent=2) if args.json else format_environment(info))


def cmd_pretrain(args) -> None:
    """pre-train the few-shot latency model on HELP's devices

    Pre-train a multi-device latency model (pyg_nar.fewshot.MultiDeviceLatency) on the
    latencies HELP measured of every architecture of a space (NB201: 15,625 cells; FBNet: 5,000
    networks) on its source devices (default: HELP's meta-train devices), and save it as a
    checkpoint folder for `pyg-nar adapt`.
    """
    from pyg_nar.datasets.paths import HELP_LATENCY_FILES, missing_files, missing_files_message

    files = [HELP_LATENCY_FILES[args.space]]
    if missing_files(files):  # before anything is loaded; --out is checked before any work
        raise FileNotFoundError(missing_files_message("pyg-nar pretrain", files))
    _start_torch(args)
    from pyg_nar.fewshot.jobs import pretrain_checkpoint

    devices = args.devices.split(",") if args.devices else None
    record = pretrain_checkpoint(args.space, args.out, devices, steps=args.steps,
                                 ensemble=args.ensemble, seed=args.seed)
    print(f"pre-trained on {len(record['devices'])} devices x {record['architectures']} "
          f"architectures in {record['seconds']:.0f} s of CPU -> {args.out}")


def cmd_adapt(args) -> None:
    """adapt a pre-trained few-shot latency model to your measurements

    Adapt a pre-trained multi-device latency model (from `pyg-nar pretrain`) or a latency
    predictor of whole networks (from `pyg-nar train MODEL nnlqp:FOLDER`) to a new device or
    setting from a few measured architectures, and save the adapted predictor as a new
    checkpoint folder (use it with `pyg-nar predict`). The measured file has one line per
    architecture: the architecture (an NB201 arch string; FBNet: 22 block names separated by
    commas; an ONNX file, relative to the measured file's folder), whitespace, its latency in
    ms; blank lines and '#' comments are skipped.
    """
    _start_torch(args)
    from pyg_nar.fewshot.jobs import adapt_checkpoint  # checks --out before any work

    record = adapt_checkpoint(args.checkpoint, args.measured, args.out, name=args.name,
                              batch_size=args.batch_size)
    print(f"adapted {args.checkpoint} to {record['device']} from {record['k']} measured "
          f"architectures ({len(record.get('excluded', []))} left out) in {record['seconds']:.2f} s of CPU "
          f"-> {args.out}")
    _print_table([{"family": f["family"], "cv_rmse_log": f["cv_rmse_log"],
                   "chosen": "yes" if i < len(record["families"]) else ""}
                  for i, f in enumerate(record["selection"])])


# ------------------------------------------------------------------------------------ parser
class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs as written; an option's help ends with its default unless the
    help already says it (or there is none: a flag, a required option)."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if (not action.option_strings or "default" in text or default is None
                or default is False or default is argparse.SUPPRESS):
            return text
        return f"{text} (default: %(default)s)"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _input_shape(text: str):
    """argparse type of ``--input-shape NAME=D0,D1,...``."""
    from pyg_nar.networks.onnx_graph import parse_input_shape

    try:
        return parse_input_shape(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e).split(": ", 1)[-1]) from None


def _shapes(args) -> dict | None:
    """``--input-shape`` options as ``{name: shape}``; a name given twice is an error."""
    out = {}
    for name, shape in args.input_shape or []:
        if name in out and out[name] != shape:
            raise SystemExit(f"pyg-nar: error: --input-shape {name} given twice "
                             f"({','.join(map(str, out[name]))} and {','.join(map(str, shape))})")
        out[name] = shape
    return out or None


#: Options several commands share: ``(flags, add_argument keywords, commands that take it)``.
#: An option shared by several commands is one entry here.
SHARED_OPTIONS = [
    (("--out",), dict(required=True, metavar="DIR",
                      help="checkpoint folder to create: new or empty (required; never overwritten)"),
     ("pretrain", "adapt")),
    (("--cache",), dict(default="data", metavar="DIR",
                        help="folder for processed datasets, reused by later runs"),
     ("train", "evaluate", "search", "quickstart", "info")),
    (("--quiet",), dict(action="store_true", help="no progress bars"),
     ("train", "measure", "search", "quickstart")),
    (("--overwrite",), dict(action="store_true",
                            help="replace what --out already holds from an earlier run (train: "
                                 "a checkpoint folder; evaluate: eval_SPLIT.json/.png); a file "
                                 "or a folder of other files is never replaced"),
     ("train", "evaluate")),
    # where and how the models run (pyg_nar.devices)
    (("--device",), dict(default="cpu", metavar="DEV",
                         help="cpu, cuda, cuda:N or auto (CUDA if there is one)"),
     ("train", "evaluate", "predict", "search", "quickstart")),
    (("--amp",), dict(choices=["bf16", "fp16"], help="mixed-precision autocast: bf16 (CPU or "
                                                      "GPU) or fp16 (GPU) (default: float32)"),
     ("train", "evaluate", "predict", "search", "quickstart")),
    (("--compile",), dict(nargs="?", const=True, default=False, metavar="MODE",
                          help="torch.compile the model, optionally in a mode (reduce-overhead: "
                               "CUDA graphs on a GPU); the compile time is reported (default: eager)"),
     ("train", "evaluate", "search", "quickstart")),
    (("--input-shape",), dict(type=_input_shape, action="append", metavar="NAME=D0,D1,...",
                              help="shape of ONNX input NAME when it has symbolic dimensions "
                                   "(batch, sequence, height, ...), e.g. input_ids=1,128; "
                                   "repeatable, applies to each file with such an input "
                                   "(measure: with --onnx-dir; recorded in input_shapes.json) (default: the "
                                   "declared shapes; a symbolic batch is 1)"),
     ("predict", "measure")),
]


def _number(q, flag: str, default, help: str, type=_positive_int, metavar: str = "N") -> None:
    """A numeric option; its help names the unit."""
    q.add_argument(flag, type=type, default=default, metavar=metavar, help=help)


def _add_train(q) -> None:
    from pyg_nar.recipes import DATASETS, RECIPES

    models = "\n".join(f"  {k:<14} {r.description}" for k, r in RECIPES.items())
    datasets = "\n".join(f"  {k:<14} {d.description}" for k, d in DATASETS.items())
    q.epilog = f"models:\n{models}\n\ndatasets (NAME or NAME:OPTION):\n{datasets}"
    q.add_argument("model", help="one of: " + ", ".join(RECIPES))
    q.add_argument("dataset", help="NAME or NAME:OPTION (list below), e.g. nasbench201, "
                                   "nasbench_graph:cora, nb201-latency:gold_6226, nnlqp:FOLDER")
    q.add_argument("--out", required=True, metavar="DIR",
                   help="checkpoint folder to create: new or empty (required; an earlier "
                        "checkpoint is replaced only with --overwrite)")
    q.add_argument("--protocol", default="narformer", choices=["narformer", "flowerformer"],
                   help="narformer: first K of a seeded permutation train, the next 200 "
                        "validate, tau on all; flowerformer: pool x ratio train, 40 validate, "
                        "the rest test")
    _number(q, "--train-size", 0.05, "training architectures: a count (>= 1) or a fraction "
            "(< 1) of the space (narformer) or of the papers' training pool (flowerformer: "
            "NB201 7813, NB101 7290, NAS-Bench-Graph 13103; 5%% of NB201 = 390)", type=float)
    _number(q, "--num-val", None, "validation architectures (default: 200 under narformer, "
            "40 under flowerformer)", type=int)
    _number(q, "--epochs", 100, "training epochs (passes over the training architectures)")
    _number(q, "--seed", 0, "seed of the split, the initial weights and the batch order", type=int)
    _number(q, "--batch-size", None, "architectures per batch (default: the model's recipe, "
            "16 on latency datasets)")
    _number(q, "--lr", None, "peak learning rate (default: the model's recipe, 1e-3 on "
            "latency datasets)", type=float, metavar="LR")


def _add_evaluate(q) -> None:
    q.add_argument("checkpoint", metavar="DIR", help="checkpoint folder written by `pyg-nar train`")
    q.add_argument("--dataset", metavar="NAME[:OPTION]",
                   help="dataset to score on (default: the one it was trained on)")
    q.add_argument("--split", default="test", choices=["test", "heldout", "val", "train", "all"],
                   help="architectures scored: a part of the training run's split (heldout: "
                        "those not trained on, narformer protocol), or all")
    q.add_argument("--out", metavar="DIR",
                   help="folder for eval_SPLIT.json and .png (default: the checkpoint folder; "
                        "existing ones are replaced only with --overwrite)")


def _add_predict(q) -> None:
    q.add_argument("checkpoint", metavar="DIR", help="checkpoint folder written by `pyg-nar train`")
    q.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="ONNX files or NB201 arch strings ('|op~0|+|...|'); a few-shot "
                        "checkpoint also takes FBNet block lists")
    _number(q, "--batch-size", None, "batch size to set as the ONNX inputs' first dimension "
            "(default: as each file has it)")
    q.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _add_measure(q) -> None:
    q.add_argument("--out", required=True, metavar="DIR",
                   help="dataset folder, created or resumed (required)")
    q.add_argument("--families", metavar="A,B,...",
                   help="comma-separated zoo families (default: the ten CNN families; "
                        "also vit, bert, mobilevit)")
    _number(q, "--per-family", 10, "models sampled per zoo family")
    _number(q, "--seed", 0, "seed of the sampled model configurations", type=int)
    q.add_argument("--onnx-dir", metavar="DIR",
                   help="measure your own ONNX files below this folder instead of the zoo "
                        "(default: none, the zoo)")
    _number(q, "--ort-threads", 1, "onnxruntime intra-op threads while timing")
    q.add_argument("--batch-sizes", type=_positive_int, nargs="+", default=[1], metavar="N",
                   help="batch sizes each model is measured at (default: 1)")
    _number(q, "--rounds", 5, "rounds per model, each in a fresh onnxruntime session and spread "
            "over time; the minimum of the round medians is kept (outliers get more rounds)")
    _number(q, "--round-ms", 40, "timed work per round, at least (ms)", type=float)
    _number(q, "--cpu", None, "pin the measuring thread to this CPU, 0 .. CPUs-1 (default: no "
            "pinning)", type=int)
    q.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="time runs by the wall clock, or by the measuring thread's CPU time "
                        "(robust when other processes share the CPU; default: wall)")


def _add_search(q) -> None:
    _number(q, "--budget", 100, "benchmark queries (architectures looked up) per run")
    _number(q, "--seeds", 5, "runs per method, seeds 0 .. N-1")
    q.add_argument("--plot", metavar="FILE",
                   help="PNG of best accuracy (%%) vs queries, a new file: checked before the "
                        "search (default: no plot)")


def _add_quickstart(q) -> None:
    q.add_argument("--out", default="runs/quickstart", metavar="DIR",
                   help="measurements are resumed here; checkpoints go to a new run-K folder inside")
    _number(q, "--per-family", 8, "models measured per zoo family (10 families)")
    _number(q, "--epochs", 60, "training epochs of the latency predictors")
    q.add_argument("--nb201-epochs", type=_positive_int, nargs=2, metavar=("NARFORMER", "FLOWERFORMER"),
                   default=[50, 20], help="training epochs of the two NB201 accuracy predictors "
                                          "(default: 50 20)")


def _add_info(q) -> None:
    q.add_argument("--json", action="store_true", help="print JSON instead of lines")


def _add_pretrain(q) -> None:
    q.add_argument("space", choices=["nasbench201", "fbnet"], help="the search space")
    q.add_argument("--devices", metavar="A,B,...",
                   help="comma-separated source devices of HELP's tables (default: HELP's "
                        "meta-train devices of the space)")
    _number(q, "--steps", 2000, "training steps of each encoder")
    _number(q, "--ensemble", 3, "encoders trained from different seeds")
    _number(q, "--seed", 0, "seed of the first encoder", type=int)


def _add_adapt(q) -> None:
    q.add_argument("checkpoint", metavar="CHECKPOINT",
                   help="folder of a pre-trained multi-device model (pyg-nar pretrain) or of a "
                        "latency predictor of ONNX graphs (pyg-nar train MODEL nnlqp:FOLDER)")
    q.add_argument("--measured", required=True, metavar="FILE",
                   help="your measurements: lines of 'ARCHITECTURE LATENCY_MS' (at least 2; "
                        "10 is the HELP setting)")
    q.add_argument("--name", metavar="NAME",
                   help="the device's name, for the record (default: the measured file's name)")
    _number(q, "--batch-size", None, "ONNX files: batch size to set as their inputs' first "
            "dimension (default: as each file has it)")


#: The commands: name -> (function, the function adding its arguments); each function's
#: docstring gives the line of the command list, then the description.
COMMANDS = {
    "train": (cmd_train, _add_train),
    "evaluate": (cmd_evaluate, _add_evaluate),
    "predict": (cmd_predict, _add_predict),
    "measure": (cmd_measure, _add_measure),
    "search": (cmd_search, _add_search),
    "quickstart": (cmd_quickstart, _add_quickstart),
    "info": (cmd_info, _add_info),
    "pretrain": (cmd_pretrain, _add_pretrain),
    "adapt": (cmd_adapt, _add_adapt),
}


def build_parser() -> argparse.ArgumentParser:
    """The ``pyg-nar`` parser; imports nothing heavy."""
    from pyg_nar import __version__

    p = argparse.ArgumentParser(
        prog="pyg-nar", formatter_class=HelpFormatter, epilog=EPILOG, description=textwrap.fill(
            "Neural architecture representation learning: train predictors of accuracy and "
            "latency on NAS benchmarks and ONNX models, evaluate, predict, search.", 79))
    p.add_argument("--version", action="version", version=f"pyg-nar {__version__}")
    p.add_argument("--threads", type=_positive_int, default=1, metavar="N",
                   help="torch CPU threads (default: 1; the predictors are small, and more "
                        "threads mostly add synchronisation, badly so on a busy machine)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parsers = {}
    for name, (func, add_arguments) in COMMANDS.items():
        summary, _, description = inspect.cleandoc(func.__doc__ or "").partition("\n\n")
        q = sub.add_parser(name, help=summary, description=textwrap.fill(description, 79),
                           formatter_class=HelpFormatter)
        add_arguments(q)
        q.set_defaults(func=func)
        parsers[name] = q
    for flags, kwargs, names in SHARED_OPTIONS:
        for name in names:
            parsers[name].add_argument(*flags, **kwargs)
    return p


def main(argv: list[str] | None = None) -> int:
    from pyg_nar.errors import PygNarError

    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (PygNarError, ValueError, FileNotFoundError, KeyError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"pyg-nar {args.command}: error: {msg}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"pyg-nar {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
