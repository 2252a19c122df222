r"""The jobs of the ``pyg-nar`` command, as Python functions (the CLI only parses arguments).

* :func:`train` -- a model by name on a dataset by name (``"nasbench201"``,
  ``"nasbench201:cifar100_test_200ep"``, ``"nasbench101"``, ``"nasbench_graph:cora"``,
  ``"nb201-latency:gold_6226"``, ``"nnlqp:/path/to/folder"``), as the recipe table
  :mod:`pyg_nar.recipes` says, under a split protocol; writes a checkpoint folder
  (:mod:`pyg_nar.checkpoint`) holding weights, config, transform, vocabulary, the split and
  the metrics reached;
* :func:`evaluate` -- a checkpoint on a split of a dataset: metrics (JSON) and a PNG of
  predicted vs. true values;
* :func:`predict` -- a checkpoint on ONNX files or NB201 arch strings;
* :func:`measure` -- a latency dataset of this machine (:func:`pyg_nar.networks.build_latency_dataset`).

Accuracy datasets are scored by ranking (Kendall's tau, Spearman's rho, precision@K), latency
datasets by MAPE and Acc(10%).
"""
from __future__ import annotations

import json
import os
import os.path as osp
import time
import warnings

import torch
from torch_geometric.data import Data

from pyg_nar import distributed as D
from pyg_nar import metrics as M
from pyg_nar.calibration import AccuracyCalibration
from pyg_nar.checkpoint import (CheckpointError, check_checkpoint_folder, load_checkpoint,
                                save_checkpoint)
from pyg_nar.devices import compile_model, resolve_device
from pyg_nar.errors import ArgumentError, DataFileError, OutputExistsError, PipelineError, TrainingNote
from pyg_nar.recipes import DATASETS, check_job, dataset_task, load_dataset, missing_data
from pyg_nar.splits import MAX_SEED, flowerformer_split, narformer_split, train_pool as default_train_pool
from pyg_nar.training import fit, predict as predict_values
from pyg_nar.utils.arguments import MAX_BATCH_SIZE, check_choice, check_int, check_number
from pyg_nar.utils.files import check_creatable, write_atomic, write_text

__all__ = ["load_dataset", "dataset_task", "make_split", "train", "evaluate", "predict",
           "measure", "measure_folder", "fresh_run_dir", "PipelineError"]


# ------------------------------------------------------------------------------------- splits
#: The split protocols of :func:`make_split`.
PROTOCOLS = ("narformer", "flowerformer")


def make_split(num_archs: int, protocol: str, train_size: float, seed: int, num_val: int | None = None,
               train_pool: int | None = None, dataset: str | None = None) -> dict[str, torch.Tensor]:
    """``protocol``: ``"narformer"`` (test = every architecture; ``heldout`` = the others) or
    ``"flowerformer"`` (pool x ratio for train, then validation, rest test). ``train_size`` is a
    count (>= 1) or a fraction: of the space for NAR-Former, of the train pool for FlowerFormer
    (pool: ``train_pool`` if given, else :func:`pyg_nar.splits.train_pool` of ``dataset``, the
    paper's: NB201 7,813, NB101 7,290, NAS-Bench-Graph 13,103)."""
    if protocol == "narformer":
        return narformer_split(num_archs, train_size, 200 if num_val is None else num_val, seed)
    if protocol == "flowerformer":
        pool = train_pool or default_train_pool(dataset, num_archs)
        return flowerformer_split(num_archs, train_size, pool, 40 if num_val is None else num_val, seed)
    raise PipelineError(f"unknown protocol {protocol!r}; choose {' or '.join(PROTOCOLS)}")


def score(pred, target, task: str, what: str = "test") -> dict[str, float]:
    """The metrics of a task: ranking for accuracy (precision@K with K = 1% of the
    architectures, at least 1), relative error for latency. Latency targets the latency loss
    cannot learn from (:func:`~pyg_nar.losses.screen_targets`: NaN, <= 0, near zero) are left
    out of the scores, said in a :class:`~pyg_nar.errors.TrainingNote` and counted as
    ``"excluded"``; ``what`` names the split in that note."""
    if task == "accuracy":
        k = max(1, round(0.01 * len(pred)))
        return {"kendall_tau": M.kendall_tau(pred, target), "spearman_rho": M.spearman_rho(pred, target),
                "precision_top1pct": M.precision_at_k(pred, target, k)}
    from pyg_nar.losses import screen_targets

    keep, message = screen_targets(target, "log_mse")
    pred, target = pred.reshape(-1)[keep], target.reshape(-1)[keep]
    out = {"mape": M.mape(pred, target), "acc_10": M.acc_within(pred, target, 0.1)}
    if message:
        warnings.warn(f"scoring {what}: {message.replace('dropped', 'left out of the scores')}",
                      TrainingNote, stacklevel=2)
        out["excluded"] = int((~keep).sum())
    return out


# -------------------------------------------------------------------------------------- train
def train(model: str, dataset: str, out: str, protocol: str = "narformer", train_size: float = 0.05,
          epochs: int = 100, seed: int = 0, cache: str = "data", num_val: int | None = None,
          train_pool: int | None = None, progress: bool = True, model_kwargs: dict | None = None,
          overwrite: bool = False, device: str = "cpu", amp: str | None = None,
          compile: bool | str = False, **overrides) -> dict:
    """Train ``model`` on ``dataset`` and write a checkpoint folder ``out``.

    The model's :class:`~pyg_nar.recipes.Recipe` gives the transform, the model and the
    training recipe, with its settings for the dataset (:meth:`~pyg_nar.recipes.Recipe.
    settings`) below ``model_kwargs`` (the model's constructor, e.g. ``num_layers``) and
    ``overrides`` (:class:`~pyg_nar.training.TrainConfig`: ``batch_size``, ``lr``, ...).
    ``device``, ``amp`` and ``compile`` are those of :class:`~pyg_nar.training.TrainConfig`
    (:mod:`pyg_nar.devices`). Started by ``torchrun`` with several processes, it trains
    data-parallel (:mod:`pyg_nar.distributed`); only the process of rank 0 writes files.
    Returns the metrics on the split's test (and held-out) part, also saved in ``out``.

    Every argument is checked first (:class:`~pyg_nar.errors.ArgumentError`), then ``out``
    (:func:`~pyg_nar.checkpoint.check_checkpoint_folder`: new or empty, or a checkpoint
    folder with ``overwrite=True``; never a file or a folder of other files), before any work.
    """
    _check_train_arguments(locals())
    out = os.fspath(out)
    recipe, spec = check_job(model, dataset)
    resolve_device(device)  # a device this machine lacks fails before any work
    task = spec.task
    check_checkpoint_folder(out, overwrite)
    transform = recipe.transform(task, spec)
    D.init_distributed(device=device)  # torchrun with several processes: data-parallel
    with D.main_process_first():  # rank 0 builds the processed files, the others read them
        ds = load_dataset(dataset, cache, pre_transform=transform)
    if protocol == "flowerformer" and train_pool is None:
        train_pool = default_train_pool(dataset, len(ds))
    split = make_split(len(ds), protocol, train_size, seed, num_val, train_pool)
    paper_kwargs, paper_overrides = recipe.settings(dataset)
    torch.manual_seed(seed)
    net = recipe.build(ds[0], len(ds.op_vocab), task, **{**paper_kwargs, **(model_kwargs or {})})
    t0 = time.perf_counter()
    if recipe.config is None:  # closed form
        net.to(resolve_device(device))
        net.fit(ds[split["train"]])
        history = None
    else:
        config = recipe.config(task, {**paper_overrides, "epochs": epochs, "seed": seed,
                                      "progress": progress, "device": device, "amp": amp,
                                      "compile": compile, **overrides})
        fitted = fit(net, ds[split["train"]], ds[split["val"]], config)
        history = fitted.history
    seconds = time.perf_counter() - t0
    results = {"train_seconds": round(seconds, 2)}
    if history is not None and fitted.compile_seconds is not None:
        results["compile_seconds"] = round(fitted.compile_seconds, 2)
    calibration = None
    if task == "accuracy":  # every architecture once: the parts, the map and its percentiles
        everything = predict_values(net, ds, amp=amp, sharded=True).float()
        calibration = AccuracyCalibration.fit(everything[split["train"]], ds.y[split["train"]],
                                              everything)
    for part in ("test", "heldout"):
        if part in split:
            pred = (everything[split[part]] if task == "accuracy"
                    else predict_values(net, ds[split[part]], amp=amp, sharded=True))
            results[part] = score(pred, ds.y[split[part]], task, part)
    info = dict(model=model, dataset=dataset, task=task, protocol=protocol, train_size=train_size,
                seed=seed, num_val=num_val, train_pool=train_pool, epochs=epochs,
                num_archs=len(ds), split_sizes={k: len(v) for k, v in split.items()})
    if D.world_size() > 1:
        info["processes"] = D.world_size()
    if D.is_main_process():
        save_checkpoint(out, net, transform=transform, metrics=results, extra=info,
                        op_vocab=list(ds.op_vocab), overwrite=overwrite, calibration=calibration,
                        files=None if history is None else {"history.json": history})
    D.barrier()  # every process returns once the checkpoint is complete
    return {**info, **results}


def _check_train_arguments(args: dict) -> None:
    where = "pyg_nar.pipeline.train"
    for name in ("model", "dataset", "cache"):
        if not isinstance(args[name], str):
            raise ArgumentError(f"{where}: {name} must be a string, got {type(args[name]).__name__}")
    if not isinstance(args["out"], (str, os.PathLike)):
        raise ArgumentError(f"{where}: out must be a path, got {type(args['out']).__name__}")
    check_choice(args["protocol"], "protocol", where, PROTOCOLS)
    check_number(args["train_size"], "train_size", where, 0, None, open_low=True)
    check_int(args["epochs"], "epochs", where, 1, 10 ** 7)
    check_int(args["seed"], "seed", where, 0, MAX_SEED)
    check_int(args["num_val"], "num_val", where, 0, none=True)
    check_int(args["train_pool"], "train_pool", where, 1, none=True)
    for name in ("progress", "overwrite"):
        if not isinstance(args[name], bool):
            raise ArgumentError(f"{where}: {name} must be True or False, got {args[name]!r}")
    if args["model_kwargs"] is not None and not isinstance(args["model_kwargs"], dict):
        raise ArgumentError(f"{where}: model_kwargs must be a dict of constructor arguments")


#: What ``pyg-nar train`` records in a checkpoint's ``metrics.json`` (``extra``) and
#: :func:`evaluate` / :func:`predict` read back: name -> the types it may have.
TRAIN_RECORD = {"dataset": str, "task": str, "protocol": str, "train_size": (int, float),
                "seed": int, "num_val": (int, type(None)), "train_pool": (int, type(None))}


def _load(checkpoint: str, device: str = "cpu"):
    if not isinstance(checkpoint, (str, os.PathLike)):
        raise ArgumentError(f"checkpoint must be a folder path, got {type(checkpoint).__name__}")
    checkpoint = os.fspath(checkpoint)
    model, transform, info = load_checkpoint(checkpoint, map_location=device)
    extra = info.get("extra") or {}
    if "task" not in extra:
        raise CheckpointError(f"{checkpoint}: not written by `pyg-nar train` (no dataset/task recorded)")
    where = osp.join(checkpoint, "metrics.json")
    for key, types in TRAIN_RECORD.items():
        value = extra.get(key)
        if not isinstance(value, types) or isinstance(value, bool):
            names = " or ".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
            raise CheckpointError(f"{where}: extra.{key} must be {names}, got {str(value)[:40]!r}")
    if extra["task"] not in ("accuracy", "latency"):
        raise CheckpointError(f"{where}: extra.task must be accuracy or latency, got {extra['task'][:40]!r}")
    try:
        dataset_task(extra["dataset"])
    except PipelineError as e:
        raise CheckpointError(f"{where}: extra.dataset: {e}") from None
    try:
        check_choice(extra["protocol"], "extra.protocol", where, PROTOCOLS)
        check_number(extra["train_size"], "extra.train_size", where, 0, None, open_low=True)
        check_int(extra["seed"], "extra.seed", where, 0, MAX_SEED)
        check_int(extra["num_val"], "extra.num_val", where, 0, none=True)
        check_int(extra["train_pool"], "extra.train_pool", where, 1, none=True)
    except ArgumentError as e:
        raise CheckpointError(str(e)) from None
    return model, transform, info, extra


# ----------------------------------------------------------------------------------- evaluate
#: The splits :func:`evaluate` scores.
EVAL_SPLITS = ("test", "heldout", "val", "train", "all")


def evaluate(checkpoint: str, dataset: str | None = None, split: str = "test", out: str | None = None,
             cache: str = "data", plot: bool = True, overwrite: bool = False, device: str = "cpu",
             amp: str | None = None, compile: bool | str = False) -> dict:
    """Score a checkpoint on ``split`` (``test``, ``heldout``, ``val``, ``train`` or ``all``) of
    ``dataset`` (default: the one it was trained on, with the same split). Writes
    ``eval_<split>.json`` and ``eval_<split>.png`` (predicted vs. true) into ``out`` (default:
    the checkpoint folder); the training metrics in ``metrics.json`` stay as they were.

    Checked before any work: an existing ``eval_<split>.json`` / ``.png`` is replaced only
    with ``overwrite=True`` (else :class:`~pyg_nar.errors.OutputExistsError`), and ``out``
    must not be a file. Each file is written to a temporary sibling and renamed.
    ``device``, ``amp``, ``compile``: where and how the model predicts (:mod:`pyg_nar.devices`)."""
    where = "pyg_nar.pipeline.evaluate"
    check_choice(split, "split", where, EVAL_SPLITS)
    for name, value in (("dataset", dataset), ("out", out), ("cache", cache)):
        if value is not None and not isinstance(value, (str, os.PathLike)):
            raise ArgumentError(f"{where}: {name} must be a string, got {type(value).__name__}")
    for name, value in (("plot", plot), ("overwrite", overwrite)):
        if not isinstance(value, bool):
            raise ArgumentError(f"{where}: {name} must be True or False, got {value!r}")
    out = os.fspath(out or checkpoint)
    outputs = [osp.join(out, f"eval_{split}.json")] + ([osp.join(out, f"eval_{split}.png")] if plot else [])
    _check_output_files(out, outputs, overwrite)
    model, transform, info, extra = _load(checkpoint, device)
    if compile:
        compile_model(model, compile)
    dataset = dataset or extra["dataset"]
    task = dataset_task(dataset)
    if task != extra["task"]:
        raise PipelineError(f"{checkpoint} predicts {extra['task']}, but {dataset} is a {task} dataset")
    ds = load_dataset(dataset, cache, pre_transform=transform)
    if list(ds.op_vocab) != list(info.get("op_vocab") or ds.op_vocab):
        raise PipelineError(f"{checkpoint} was trained on another operation vocabulary than {dataset}'s")
    if split == "all":
        idx = torch.arange(len(ds))
    else:
        # checkpoints before the paper pools were the default recorded train_pool None: the
        # whole dataset was the pool then
        pool = extra.get("train_pool") or (len(ds) if extra["protocol"] == "flowerformer" else None)
        parts = make_split(len(ds), extra["protocol"], extra["train_size"], extra["seed"],
                           extra.get("num_val"), pool)
        if split not in parts:
            raise PipelineError(f"split {split!r} does not exist here; choose one of {', '.join(parts)} or all")
        idx = parts[split]
    pred = predict_values(model, ds[idx], amp=amp)
    true = ds.y[idx]
    result = dict(checkpoint=checkpoint, dataset=dataset, split=split, num_archs=len(idx),
                  **score(pred, true, task, split))  # ranking metrics: on the raw scores
    calibration = info.get("calibration")
    accuracy = None
    if task == "accuracy" and calibration is not None:
        accuracy = torch.from_numpy(calibration.accuracy(pred.float().numpy())).float()
        result["accuracy_mae_pct"] = 100 * float((accuracy - true.float()).abs().mean())
    os.makedirs(out, exist_ok=True)
    result["json"] = outputs[0]
    if plot:
        result["plot"] = _plot(pred, true, task, result, outputs[1], accuracy)
    text = json.dumps(result, indent=2)
    write_text(result["json"], text)
    return result


def _check_output_files(folder: str, paths: list[str], overwrite: bool) -> None:
    """Before any work: ``folder`` is not a file, and no file of ``paths`` exists (unless
    ``overwrite``) or is something other than a file."""
    if osp.lexists(folder) and not osp.isdir(folder):
        raise OutputExistsError(f"{folder}: exists and is not a folder; choose another --out")
    if not osp.lexists(folder):
        check_creatable(folder)
    for path in paths:
        if osp.lexists(path) and (not overwrite or not osp.isfile(path) or osp.islink(path)):
            raise OutputExistsError(f"{path}: exists; pass --overwrite (overwrite=True) to replace "
                                    f"it, or choose another --out" if osp.isfile(path) else
                                    f"{path}: exists and is not a file; choose another --out")


def _plot(pred, true, task, result, path, accuracy=None) -> str | None:
    """Latency: predicted vs. true ms. Accuracy: predicted accuracy (the checkpoint's
    calibration map; without one, the raw score on its own axis) vs. true accuracy, and the
    predicted rank vs. the true rank."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    where = f"{result['dataset']} / {result['split']} ({result['num_archs']})"
    if task != "accuracy":
        fig, ax = plt.subplots(figsize=(5, 5))
        ax.scatter(true.numpy(), pred.numpy(), s=3, alpha=0.4)
        lo, hi = float(min(true.min(), pred.min())), float(max(true.max(), pred.max()))
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_xlabel("true latency (ms)")
        ax.set_ylabel("predicted latency (ms)")
        ax.set_title(f"{where}\nMAPE {100 * result['mape']:.2f}%  Acc(10%) {100 * result['acc_10']:.1f}%")
    else:
        fig, (ax, ax_rank) = plt.subplots(1, 2, figsize=(10, 5))
        t = 100 * true.numpy()
        if accuracy is not None:
            a = 100 * accuracy.numpy()
            ax.scatter(t, a, s=3, alpha=0.4)
            lo, hi = float(min(t.min(), a.min())), float(max(t.max(), a.max()))
            ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
            ax.set_ylabel("predicted accuracy (%, calibration map)")
            ax.set_title(f"{where}\nmean |error| {result['accuracy_mae_pct']:.2f} points")
        else:
            ax.scatter(t, pred.numpy(), s=3, alpha=0.4)
            ax.set_ylabel("predicted score (no calibration map in this checkpoint)")
            ax.set_title(where)
        ax.set_xlabel("true accuracy (%)")
        n = len(t)
        rank_true = torch.argsort(torch.argsort(true)).numpy() / max(1, n - 1) * 100
        rank_pred = torch.argsort(torch.argsort(pred)).numpy() / max(1, n - 1) * 100
        ax_rank.scatter(rank_true, rank_pred, s=3, alpha=0.4)
        ax_rank.plot([0, 100], [0, 100], "k--", lw=0.8)
        ax_rank.set_xlabel("true rank (percentile)")
        ax_rank.set_ylabel("predicted rank (percentile)")
        ax_rank.set_title(f"Kendall tau {result['kendall_tau']:.3f}  "
                          f"P@1% {result['precision_top1pct']:.3f}")
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    plt.close(fig)
    return path


# ------------------------------------------------------------------------------------ predict
def _input_graph(item: str, batch_size: int | None, input_shapes: dict | None = None,
                 used: set | None = None) -> tuple[Data, str]:
    """An ONNX file or an NB201 arch string as a graph, and its kind; ``input_shapes`` apply to
    the inputs the file has (their names are added to ``used``)."""
    if item.startswith("|"):
        from pyg_nar.datasets import nb201_cell_graph
        return nb201_cell_graph(item), "nasbench201"
    if not osp.isfile(item):
        raise PipelineError(f"{item}: no such file (give ONNX files or NB201 arch strings)")
    from pyg_nar.networks import from_onnx, input_shapes_for
    shapes = input_shapes_for(item, input_shapes)
    if used is not None:
        used.update(shapes)
    return from_onnx(item, batch_size=batch_size, input_shapes=shapes or None), "onnx"


def predict(checkpoint: str, inputs: list[str], batch_size: int | None = None,
            input_shapes: dict | None = None, device: str = "cpu",
            amp: str | None = None) -> list[dict]:
    """Predict each input (ONNX file or NB201 arch string) with a checkpoint.

    ``input_shapes`` (``{graph input name: shape}``) gives the shapes of ONNX inputs with
    symbolic dimensions, for every file that has such an input. A checkpoint trained on an
    older ONNX operator vocabulary (:data:`~pyg_nar.networks.vocab.ONNX_OP_VOCABS`) scores
    graphs mapped to it (:func:`~pyg_nar.networks.op_remap`).

    Latency checkpoints: rows hold ``input`` and ``prediction`` (ms) and, for ONNX inputs,
    ``mflops`` and ``mparams`` from the graph's static features. Accuracy checkpoints (whose
    models output ranking scores): ``score``, and from the checkpoint's calibration map
    (:class:`~pyg_nar.calibration.AccuracyCalibration`) ``accuracy %`` and ``percentile``
    (of the score among the training benchmark's architectures), and for an ensemble
    ``spread %`` (its members' disagreement, in accuracy points). ``device``, ``amp``: where
    and how the model predicts (:mod:`pyg_nar.devices`)."""
    from pyg_nar.datasets.nasbench201 import NB201_VOCAB
    from pyg_nar.networks import onnx_op_vocab, op_remap, vocab_version

    where = "pyg_nar.pipeline.predict"
    if isinstance(inputs, (str, os.PathLike)) or not isinstance(inputs, (list, tuple)) or not all(
            isinstance(item, (str, os.PathLike)) for item in inputs):
        raise ArgumentError(f"{where}: inputs must be a list of ONNX paths or NB201 arch strings")
    if not inputs:
        raise ArgumentError(f"{where}: no inputs to predict")
    check_int(batch_size, "batch_size", where, 1, MAX_BATCH_SIZE, none=True)
    inputs = [os.fspath(item) for item in inputs]
    model, transform, info, extra = _load(checkpoint, device)
    vocab = list(info.get("op_vocab") or [])
    graphs, rows, used = [], [], set()
    for item in inputs:
        g, kind = _input_graph(item, batch_size, input_shapes, used)
        expected = NB201_VOCAB if kind == "nasbench201" else onnx_op_vocab()
        if vocab and list(expected) != vocab and kind == "onnx" and vocab_version(vocab):
            g.op = torch.tensor(op_remap(expected, vocab), dtype=torch.long)[g.op]
        elif vocab and list(expected) != vocab:
            raise PipelineError(f"{item}: a {'NB201 cell' if kind == 'nasbench201' else 'ONNX model'} "
                                f"cannot be scored by {checkpoint}, trained on {extra['dataset']}")
        row = {"input": item}
        if "static" in g:
            row["mflops"], row["mparams"] = float(g.static[0, 1]), float(g.static[0, 2])
        graphs.append(transform(g) if transform is not None else g)
        rows.append(row)
    unused = sorted(set(input_shapes or {}) - used)
    if unused:
        raise PipelineError(f"--input-shape names {', '.join(map(repr, unused))}, an input of none "
                            f"of the ONNX files given")
    pred = predict_values(model, graphs, amp=amp)
    if extra["task"] != "accuracy":
        for row, p in zip(rows, pred.tolist()):
            row["prediction"] = p
        return rows
    calibration = info.get("calibration")
    spread = _ensemble_spread(model, graphs, calibration)
    for k, (row, p) in enumerate(zip(rows, pred.tolist())):
        row["score"] = p
        if calibration is not None:
            row["accuracy %"] = 100 * float(calibration.accuracy(p))
            row["percentile"] = float(calibration.percentile(p))
            if spread is not None:
                row["spread %"] = float(spread[k])
    return rows


def _ensemble_spread(model, graphs, calibration):
    """For a :class:`~pyg_nar.models.ScoreEnsemble`: per input, the standard deviation (in
    accuracy points) of its members' standardised scores read through the calibration map."""
    member_scores = getattr(model, "member_scores", None)
    if member_scores is None or calibration is None:
        return None
    from torch_geometric.data import Batch

    device = next(model.parameters()).device
    with torch.no_grad():
        scores = member_scores(Batch.from_data_list(graphs).to(device)).float().cpu()   # [M, B]
    acc = 100 * calibration.accuracy(scores.numpy())
    return acc.std(axis=0)


# ------------------------------------------------------------------------------------ measure
def measure(out: str, families: list[str] | None = None, per_family: int = 10, seed: int = 0,
            threads: int = 1, batch_sizes: tuple[int, ...] = (1,), rounds: int = 5,
            round_ms: float = 40.0, cpu: int | None = None, progress: bool = True,
            onnx_dir: str | None = None, clock: str = "wall",
            input_shapes: dict | None = None) -> str:
    """Measure a latency dataset of this machine from :mod:`pyg_nar.networks.zoo`, or from the ONNX
    files below ``onnx_dir`` (resumable: a re-run keeps what ``gt.txt`` holds and continues),
    by :class:`~pyg_nar.networks.MeasureProtocol` with ``rounds`` rounds of at least
    ``round_ms`` timed work per model, timed by ``clock`` (``"wall"`` or ``"cpu"``), pinned
    to CPU ``cpu`` if given. ``input_shapes`` (``onnx_dir`` only) gives the shapes of inputs
    with symbolic dimensions. Returns ``out``; load it as ``nnlqp:<out>``.

    Nothing is overwritten (:func:`measure_folder`, checked before any work): a new folder is
    built in a temporary sibling (``.NAME.partial``, resumed by a re-run) and renamed to
    ``out`` when complete; a measured folder (one with a ``gt.txt``) is resumed, only
    appended to.
    """
    from pyg_nar.networks import MeasureProtocol, build_latency_dataset, measure_onnx_folder, zoo

    where = "pyg_nar.pipeline.measure"
    if not isinstance(out, (str, os.PathLike)):
        raise ArgumentError(f"{where}: out must be a folder path, got {type(out).__name__}")
    if families is not None and (not isinstance(families, (list, tuple)) or not all(isinstance(f, str) for f in families)):
        raise ArgumentError(f"{where}: families must be a list of family names")
    for name, value, hi in (("per_family", per_family, 10 ** 5), ("threads", threads, 1024)):
        check_int(value, name, where, 1, hi)
    check_int(seed, "seed", where, 0, MAX_SEED)
    if not isinstance(batch_sizes, (list, tuple)) or not batch_sizes:
        raise ArgumentError(f"{where}: batch_sizes must be a list of batch sizes")
    for b in batch_sizes:
        check_int(b, "batch_sizes", where, 1, MAX_BATCH_SIZE)
    try:
        protocol = MeasureProtocol(rounds=rounds, round_ms=round_ms, cpu=cpu, clock=clock)
    except ValueError as e:
        raise PipelineError(str(e)) from None
    if onnx_dir is not None:
        if not osp.isdir(onnx_dir):
            raise PipelineError(f"{onnx_dir}: no such folder")
    else:
        unknown = sorted(set(families or []) - set(zoo.REGISTRY))
        if unknown:
            raise PipelineError(f"unknown model families {', '.join(unknown)}; known: {', '.join(zoo.REGISTRY)}")
    if input_shapes and onnx_dir is None:
        raise PipelineError("--input-shape applies to --onnx-dir models (the zoo's have fixed shapes)")
    out = os.fspath(out)
    folder = measure_folder(out, onnx_dir)
    if onnx_dir is not None:
        measure_onnx_folder(onnx_dir, folder, batch_sizes=batch_sizes, threads=threads,
                            protocol=protocol, progress=progress, input_shapes=input_shapes)
    else:
        build_latency_dataset(folder, families, per_family=per_family, seed=seed,
                              batch_sizes=batch_sizes, threads=threads, protocol=protocol,
                              progress=progress)
    if folder != out:
        try:
            os.rename(folder, out)  # onto a missing path or an empty folder only
        except OSError:
            raise OutputExistsError(f"{out}: appeared while it was measured; the measurements "
                                    f"are in {folder}") from None
    return out


def measure_folder(out: str, onnx_dir: str | None = None) -> str:
    """Where :func:`measure` writes for ``out``, checked before any work: ``out`` itself if it
    is a measured folder (it has a ``gt.txt``: resumed, only appended to) or holds
    ``onnx_dir`` (only a new ``gt.txt`` is written there); else, for a missing or empty
    ``out``, its temporary sibling ``.NAME.partial`` (renamed to ``out`` when complete). An
    existing file or a folder of other files is an :class:`~pyg_nar.errors.OutputExistsError`."""
    gt = DATASETS["nnlqp"].folder_file
    if osp.lexists(out) and (not osp.isdir(out) or osp.islink(out)):
        raise OutputExistsError(f"{out}: exists and is not a folder; choose another --out")
    if osp.isfile(osp.join(out, gt)):
        return out
    if osp.isdir(out) and os.listdir(out):
        inside = onnx_dir is not None and not osp.relpath(osp.realpath(onnx_dir),
                                                          osp.realpath(out)).startswith("..")
        if inside and not osp.lexists(osp.join(out, gt)):
            return out
        raise OutputExistsError(f"{out}: a folder with other files and no {gt}; pyg-nar measure "
                                f"writes a new folder or resumes one it measured; choose another --out")
    check_creatable(out, "measured folder")
    parent, name = osp.split(osp.abspath(out))
    return osp.join(parent, f".{name}.partial")


# --------------------------------------------------------------------------------- quickstart
def fresh_run_dir(base: str) -> str:
    """``base/run-K`` with the first K not yet used, so nothing earlier is overwritten."""
    k = 1
    while osp.exists(osp.join(base, f"run-{k}")):
        k += 1
    return osp.join(base, f"run-{k}")


#: The main job's NB201 models and epochs (a few minutes in all on 2 cores).
QUICKSTART_NB201_EPOCHS = {"narformer": 50, "flowerformer": 20}
#: The batch size the main job measures at: at batch 1 the zoo's models run in 0.1-0.8 ms, where
#: this machine's timing noise swamps the differences between models.
QUICKSTART_BATCH = 16


#: The main job's latency predictors: the FLOPs baseline first, then the learned ones.
QUICKSTART_LATENCY_MODELS = ("flops", "kernel-sum", "nnlp", "narformer-v2")


def latency_verdict(rows: list[dict]) -> str:
    """One line saying whether the best learned predictor of ``rows`` (the quickstart's
    latency rows, ``"model"`` and ``"MAPE %"``) beats the FLOPs baseline, and by how much."""
    flops = next(r for r in rows if r["model"] == "flops")
    learned = [r for r in rows if r["model"] != "flops"]
    best = min(learned, key=lambda r: r["MAPE %"])
    if best["MAPE %"] < flops["MAPE %"]:
        return (f"{best['model']} beats the FLOPs baseline on these held-out models: MAPE "
                f"{best['MAPE %']:.1f}% vs {flops['MAPE %']:.1f}% "
                f"({best['MAPE %'] / flops['MAPE %']:.2f} x its error)")
    return (f"no learned predictor beats the FLOPs baseline on these held-out models: the best, "
            f"{best['model']}, has MAPE {best['MAPE %']:.1f}% vs {flops['MAPE %']:.1f}% for FLOPs")


def quickstart(out: str = "runs/quickstart", per_family: int = 8, epochs: int = 60,
               nb201: bool | None = None, nb201_epochs: dict | None = None, cache: str = "data",
               progress: bool = True, log=print, device: str = "cpu", amp: str | None = None,
               compile: bool | str = False) -> dict:
    """The main job: measure a small latency dataset of this machine from the model zoo, train
    latency predictors on it and compare their held-out MAPE / Acc(10%) with the FLOPs
    baseline; then, where the NAS-Bench data is present (``nb201=None``: if it is found), train
    NAR-Former and FlowerFormer on 781 NB201 cells (5%, NAR-Former protocol) and report
    Kendall's tau on all 15,625 cells and on the held-out ones.

    ``nb201_epochs``: model -> epochs (default :data:`QUICKSTART_NB201_EPOCHS`). ``device``,
    ``amp``, ``compile``: where and how the predictors train (:func:`train`); the latency
    measurements always run on this machine's CPU (onnxruntime).
    Measurements in ``out/zoo`` are kept and resumed; every run's checkpoints go to a new
    ``out/run-K``. Returns ``{"latency": rows, "verdict": latency_verdict(rows),
    "nb201": rows}``. Whether the NB201 data is
    there is checked first: with ``nb201=True`` its absence is a
    :class:`~pyg_nar.errors.DataFileError` before any work, with ``nb201=None`` one line of
    ``log`` saying which files were looked for, where, and how to set ``PYG_NAR_DATA``.
    """
    where = "pyg_nar.pipeline.quickstart"
    check_int(per_family, "per_family", where, 1, 10 ** 5)
    check_int(epochs, "epochs", where, 1, 10 ** 7)
    if nb201 is not None and not isinstance(nb201, bool):
        raise ArgumentError(f"{where}: nb201 must be True, False or None, got {nb201!r}")
    nb201_epochs = dict(QUICKSTART_NB201_EPOCHS if nb201_epochs is None else nb201_epochs)
    for model, n in nb201_epochs.items():
        check_choice(model, "nb201_epochs", where, tuple(QUICKSTART_NB201_EPOCHS))
        check_int(n, f"nb201_epochs[{model!r}]", where, 1, 10 ** 7)
    out = os.fspath(out)
    if osp.lexists(out) and not osp.isdir(out):
        raise OutputExistsError(f"{out}: exists and is not a folder; choose another --out")
    measure_folder(osp.join(out, "zoo"))  # before any work: the measurements' folder is usable
    no_nb201 = missing_data("nasbench201")
    if nb201 and no_nb201:
        raise DataFileError(no_nb201)
    if nb201 is None and no_nb201:
        log(f"NAS-Bench-201 part will be skipped: {no_nb201}")
    zoo = osp.join(out, "zoo")
    log(f"[1/3] measuring {per_family} models of each zoo family on this machine, batch "
        f"{QUICKSTART_BATCH} -> {zoo}")
    measure(zoo, per_family=per_family, rounds=3, batch_sizes=(QUICKSTART_BATCH,), progress=progress)
    run_dir = fresh_run_dir(out)
    rows = []
    log("[2/3] latency predictors (FlowerFormer protocol: 70% train, 10% val, rest test)")
    for model in QUICKSTART_LATENCY_MODELS:
        res = train(model, f"nnlqp:{zoo}", osp.join(run_dir, model), protocol="flowerformer",
                    train_size=0.7, num_val=max(2, per_family), epochs=epochs,  # val: 10% of 10 families
                    progress=progress, device=device, amp=amp, compile=compile)
        rows.append({"model": model, "test graphs": res["split_sizes"]["test"],
                     "MAPE %": 100 * res["test"]["mape"], "Acc(10%) %": 100 * res["test"]["acc_10"],
                     "train s": res["train_seconds"]})
    result = {"latency": rows, "run_dir": run_dir, "verdict": latency_verdict(rows)}
    if nb201 is None:
        nb201 = no_nb201 is None
    if nb201:
        result["nb201"] = []
        for model, n_epochs in nb201_epochs.items():
            log(f"[3/3] {model} on 781 NAS-Bench-201 cells (NAR-Former protocol, {n_epochs} epochs)")
            res = train(model, "nasbench201", osp.join(run_dir, f"{model}-nb201"),
                        protocol="narformer", train_size=781, epochs=n_epochs, cache=cache,
                        progress=progress, device=device, amp=amp, compile=compile)
            result["nb201"].append({"model": model, "train cells": 781, "epochs": n_epochs,
                                    "tau (all 15,625)": res["test"]["kendall_tau"],
                                    "tau (held-out)": res["heldout"]["kendall_tau"],
                                    "train s": res["train_seconds"]})
    elif no_nb201 is None:
        log("[3/3] NAS-Bench-201 skipped, as asked")
    else:
        log(f"[3/3] NAS-Bench-201 skipped: {no_nb201}")
    return result
