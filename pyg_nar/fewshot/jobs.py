r"""The few-shot jobs on files: a measured file, checkpoint folders, ``pyg-nar adapt``.

**Measured file** (``pyg-nar adapt --measured FILE``): one measured architecture per line,
the architecture, then whitespace, then its latency in milliseconds (the last field);
blank lines and ``#`` comments are skipped::

    # my phone, median of 50 runs, ms
    |nor_conv_3x3~0|+|none~0|skip_connect~1|+|nor_conv_1x1~0|none~1|avg_pool_3x3~2|   3.21
    |skip_connect~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|nor_conv_3x3~2|   2.75

An architecture is written as its space writes it (:mod:`pyg_nar.fewshot.encoding`): an NB201
arch string, or an FBNet network's 22 block names separated by commas
(``k3_e1,k3_e3,skip,...``, :data:`~pyg_nar.spaces.fbnet.FBNET_OPS`); for a predictor of
whole networks, an ONNX file (relative to the measured file's folder unless absolute). A bad line is a
:class:`~pyg_nar.errors.DataFileError` naming the file and the line.

**Checkpoints**: a pre-trained :class:`~pyg_nar.fewshot.MultiDeviceLatency` and an adapted
:class:`~pyg_nar.fewshot.AdaptedLatency` are registered models, saved and loaded by
:func:`~pyg_nar.checkpoint.save_checkpoint` / :func:`~pyg_nar.checkpoint.load_checkpoint`
(``model.json``: the class and its JSON ``config``; ``model.pt``: the ``state_dict``, read with
``weights_only=True``; ``metrics.json``: what made it). :func:`save_fewshot` /
:func:`load_fewshot` add the few-shot record (``extra["fewshot"]``).
"""
from __future__ import annotations

import math
import os
import os.path as osp
import time

from pyg_nar.errors import ArchitectureError, CheckpointError, DataFileError, PipelineError

__all__ = ["read_measured", "save_fewshot", "load_fewshot", "adapt_checkpoint", "check_new_folder",
           "is_fewshot_checkpoint", "predict_rows", "pretrain_checkpoint"]

#: The few-shot model classes a few-shot checkpoint holds.
FEWSHOT_CLASSES = ("MultiDeviceLatency", "AdaptedLatency")


def read_measured(path: str, encoding=None) -> list[tuple[str, float]]:
    """The ``(architecture, ms)`` pairs of a measured file (module docstring), in file order.

    With ``encoding`` (a :class:`~pyg_nar.fewshot.SpaceEncoding`), every architecture is
    checked to be in the space. Raises :class:`~pyg_nar.errors.DataFileError` naming the file
    and line: a line without a latency, a latency that is not a finite positive number, an
    architecture the space does not contain, fewer than 2 measurements.
    """
    return [(arch, ms) for _, arch, ms in _numbered(path, encoding)]


def _numbered(path: str, encoding=None) -> list[tuple[int, str, float]]:
    """:func:`read_measured` with each pair's line number first."""
    if not osp.isfile(path):
        raise DataFileError(f"{path}: no such file (the measured file: lines of 'ARCHITECTURE LATENCY_MS')")
    rows = []
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except UnicodeDecodeError as e:
        raise DataFileError(f"{path}: not a UTF-8 text file ({e.reason} at byte {e.start})") from None
    for lineno, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip().lstrip("\ufeff")
        if not text:
            continue
        where = f"{path}, line {lineno}"
        parts = text.rsplit(maxsplit=1)
        if len(parts) < 2:
            raise DataFileError(f"{where}: expected 'ARCHITECTURE LATENCY_MS', got {line.strip()!r}")
        arch, value = parts
        try:
            ms = float(value)
        except ValueError:
            raise DataFileError(f"{where}: the latency {value!r} is not a number (milliseconds)") from None
        if not (math.isfinite(ms) and ms > 0):
            raise DataFileError(f"{where}: the latency {value} must be finite and positive (milliseconds)")
        if encoding is not None:
            try:
                encoding.parse(arch)
            except ArchitectureError as e:
                raise DataFileError(f"{where}: not an architecture of the {encoding.name} space: {e}") from None
        rows.append((lineno, arch, ms))
    if len(rows) < 2:
        raise DataFileError(f"{path}: {len(rows)} measurement(s); at least 2 are needed "
                            f"(lines of 'ARCHITECTURE LATENCY_MS')")
    return rows


def check_new_folder(out: str) -> None:
    """``out`` must be a new or an empty folder: what a folder already holds is never
    overwritten (a :class:`~pyg_nar.errors.PipelineError`, before any work)."""
    if osp.lexists(out) and not osp.isdir(out):
        raise PipelineError(f"{out}: exists and is not a folder; choose another --out")
    if osp.isdir(out) and os.listdir(out):
        what = "a checkpoint" if osp.exists(osp.join(out, "model.pt")) else "files"
        raise PipelineError(f"{out} already holds {what}; choose another --out or remove it")


def save_fewshot(out: str, model, record: dict, metrics: dict | None = None) -> str:
    """Save a few-shot model (:data:`FEWSHOT_CLASSES`) with :func:`~pyg_nar.checkpoint.save_checkpoint`
    into the new or empty folder ``out``; ``record`` (what made it) goes to
    ``metrics.json``'s ``extra["fewshot"]``."""
    from pyg_nar.checkpoint import save_checkpoint

    if type(model).__name__ not in FEWSHOT_CLASSES:
        raise PipelineError(f"save_fewshot: {type(model).__name__} is not a few-shot latency model "
                            f"({', '.join(FEWSHOT_CLASSES)})")
    check_new_folder(out)
    space = getattr(model, "base", model).space
    return save_checkpoint(out, model, metrics=metrics, extra={"fewshot": {"space": space, **record}})


def is_fewshot_checkpoint(path: str) -> bool:
    """Whether the folder ``path`` holds a few-shot model (its ``model.json`` names one of
    :data:`FEWSHOT_CLASSES`; read as JSON, nothing else is opened)."""
    import json

    try:
        with open(osp.join(path, "model.json"), encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("class") in FEWSHOT_CLASSES


def predict_rows(checkpoint: str, inputs: list[str]) -> list[dict]:
    """``pyg-nar predict`` with a few-shot checkpoint: one row per architecture (its space's
    written form), ``prediction`` in ms (an adapted model) or one column per source device
    (a pre-trained one)."""
    model, _ = load_fewshot(checkpoint)
    pred = model.predict(list(inputs))
    if pred.ndim == 1:
        return [{"input": a, "prediction": float(p)} for a, p in zip(inputs, pred)]
    return [{"input": a, **{d: float(v) for d, v in zip(model.devices, row)}}
            for a, row in zip(inputs, pred)]


def load_fewshot(path: str, kinds: tuple[str, ...] = FEWSHOT_CLASSES):
    """``(model, info)`` of a checkpoint folder holding a few-shot model of a class in
    ``kinds``; any other folder is a :class:`~pyg_nar.errors.CheckpointError` naming it."""
    from pyg_nar.checkpoint import load_checkpoint

    if not osp.isdir(path):
        raise CheckpointError(f"{path}: no such checkpoint folder")
    model, _, info = load_checkpoint(path)
    if info["class"] not in kinds:
        raise CheckpointError(f"{path}: holds a {info['class']}, not a few-shot latency model "
                              f"({' or '.join(kinds)}); pre-train one with pyg_nar.fewshot.pretrain")
    return model, info


def pretrain_checkpoint(space: str, out: str, devices: list[str] | None = None,
                        raw_dir: str | None = None, **kwargs) -> dict:
    """``pyg-nar pretrain``: pre-train a :class:`~pyg_nar.fewshot.MultiDeviceLatency` on HELP's
    latency tables of ``devices`` (default: HELP's meta-train devices of the space,
    :data:`~pyg_nar.fewshot.HELP_SPLITS`) over all the space's architectures, and save it in the
    new or empty folder ``out``. ``kwargs`` go to :func:`~pyg_nar.fewshot.pretrain`
    (``steps``, ``ensemble``, ``seed``, ...). Returns the record saved with it."""
    from pyg_nar.datasets.help_latency import check_device
    from pyg_nar.fewshot.help import HELP_SPLITS, help_pretraining_data
    from pyg_nar.fewshot.model import pretrain

    check_new_folder(out)
    if space not in HELP_SPLITS:
        raise PipelineError(f"pretrain: unknown space {space!r} (known: {', '.join(HELP_SPLITS)})")
    devices = list(devices or HELP_SPLITS[space]["meta_train"])
    for d in devices:
        check_device(space, d, raw_dir, who="pretrain")
    t0 = time.process_time()
    choices, lat = help_pretraining_data(space, devices, raw_dir)
    model = pretrain(space, choices, lat, **kwargs)
    record = {"source": "HELP latency tables", "devices": devices, "architectures": len(choices),
              "settings": kwargs, "seconds": round(time.process_time() - t0, 1)}
    save_fewshot(out, model, record)
    return record


def adapt_checkpoint(checkpoint: str, measured: str, out: str, name: str | None = None,
                     top: int | None = None, batch_size: int | None = None) -> dict:
    """``pyg-nar adapt``: adapt the pre-trained model of ``checkpoint`` to the measurements
    of the file ``measured`` (:func:`read_measured`) and save the adapted predictor in the new
    or empty folder ``out``. ``name``: the device's (default: the measured file's name).

    ``checkpoint`` holds either a pre-trained :class:`~pyg_nar.fewshot.MultiDeviceLatency`
    (``pyg-nar pretrain``; the file lists architectures of its space; :func:`~pyg_nar.fewshot.adapt`)
    or a latency predictor of whole networks (``pyg-nar train MODEL nnlqp:FOLDER``; the file
    lists ONNX files, relative to the file's folder unless absolute, converted at ``batch_size``
    (default: as each file has it); :func:`~pyg_nar.fewshot.adapt_network`). The adapted
    checkpoint of a whole-network predictor keeps its transform, vocabulary and training record,
    so ``pyg-nar predict`` scores ONNX files with it like with any other.

    Returns the record saved in ``out`` (``k``, the chosen ``families`` with their
    cross-validated RMSE of log-latency, ``seconds`` of CPU the adaptation took)."""
    from pyg_nar.checkpoint import load_checkpoint

    check_new_folder(out)  # before any work
    if not osp.isfile(measured):
        raise DataFileError(f"{measured}: no such file (the measured file: lines of 'ARCHITECTURE LATENCY_MS')")
    if not osp.isdir(checkpoint):
        raise CheckpointError(f"{checkpoint}: no such checkpoint folder")
    base, transform, info = load_checkpoint(checkpoint)
    name = name or osp.splitext(osp.basename(measured))[0]
    record = {"pretrained": osp.abspath(checkpoint), "measured": osp.abspath(measured), "device": name}
    networks = info["class"] != "MultiDeviceLatency"
    if not networks:
        from pyg_nar.fewshot.adapt import adapt

        pairs = read_measured(measured, base.encoding)
        t0 = time.process_time()
        adapted, k = adapt(base, pairs, top=top or 3, name=name), len(pairs)
        record["excluded"] = [list(e) for e in adapted.excluded]
    elif ((info.get("extra") or {}).get("task") == "latency"
          and info["class"] not in (*FEWSHOT_CLASSES, "AdaptedNetworkLatency")):
        from pyg_nar.fewshot.networks import adapt_network

        graphs, lat = _measured_networks(measured, transform, batch_size)
        t0 = time.process_time()
        adapted, k = adapt_network(base, graphs, lat, top=top or 2, name=name), len(lat)
        record["batch_size"] = batch_size
    else:
        raise CheckpointError(f"{checkpoint}: holds a {info['class']}, neither a pre-trained few-shot "
                              f"model (pyg-nar pretrain) nor a latency predictor of whole networks "
                              f"(pyg-nar train MODEL nnlqp:FOLDER)")
    seconds = time.process_time() - t0
    record.update(k=k, families=adapted.families,
                  cv_rmse_log=adapted.cv_rmse,
                  selection=[{"family": f.family, "penalty": f.penalty, "cv_rmse_log": f.cv_rmse}
                             for f in adapted.selection],
                  seconds=round(seconds, 3))
    if networks:  # a predictor like the base one: its transform, vocabulary and training record
        from pyg_nar.checkpoint import save_checkpoint

        save_checkpoint(out, adapted, transform=transform, op_vocab=info.get("op_vocab"),
                        extra={**info["extra"], "fewshot": {"space": "onnx", **record}})
    else:
        save_fewshot(out, adapted, record)
    return record


def _measured_networks(measured: str, transform, batch_size: int | None):
    """The graphs (through ``transform``) and latencies of a measured file of ONNX paths."""
    from pyg_nar.networks import from_onnx

    folder = osp.dirname(osp.abspath(measured))
    graphs, lat = [], []
    for lineno, path, ms in _numbered(measured):
        full = path if osp.isabs(path) else osp.join(folder, path)
        if not osp.isfile(full):
            raise DataFileError(f"{measured}, line {lineno}: {full}: no such ONNX file (paths are "
                                f"relative to the measured file's folder)")
        try:
            g = from_onnx(full, batch_size=batch_size)
        except ArchitectureError as e:  # OnnxGraphError among them
            raise DataFileError(f"{measured}, line {lineno}: {e}") from None
        graphs.append(transform(g) if transform is not None else g)
        lat.append(ms)
    return graphs, lat
