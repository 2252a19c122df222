r"""Save a trained predictor with everything needed to use it again; load it without running
any code the folder holds.

A checkpoint is a folder:

==================  =============================================================
``model.pt``        the weights: a plain ``state_dict`` of tensors (``torch.save``)
``model.json``      model class name, its ``config`` (constructor kwargs), pyg_nar version,
                    the SHA-256 of ``model.pt`` (a damaged weights file is refused)
``transform.json``  the transform that made the model's inputs, as data: class names and
                    constructor arguments (:mod:`pyg_nar.transforms.registry`)
``transform.txt``   its ``repr``, for people
``vocab.json``      the operation vocabulary (``op_vocab``), if known
``metrics.json``    metrics and any ``extra`` information
``calibration.json`` accuracy predictors' score -> accuracy map and score percentiles
                    (:class:`pyg_nar.calibration.AccuracyCalibration`), if any
==================  =============================================================

:func:`save_checkpoint` writes the folder in a temporary sibling and renames it into place,
so a folder is either complete or absent, and never replaces anything but a checkpoint it
was told to (``overwrite=True``).

:func:`load_checkpoint` unpickles nothing: the weights are read with
``torch.load(weights_only=True)`` (tensors and containers only; uncompressed records, so a
file cannot make it allocate more than its size), the transform is rebuilt through the registry
of transform classes, and every JSON value is checked (types against the constructor's
annotations; the model is first built on the ``meta`` device, where it allocates nothing,
and stopped as soon as it would hold more parameters than the weights file) before anything
is allocated. A folder written by pyg_nar 0.1.0 holds a pickled ``transform.pt``: it is never
opened; the transform is rebuilt from its ``transform.txt`` (read as data) or from the recipe
named in ``metrics.json``, else a :class:`CheckpointError` asks to re-save it.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os.path as osp
import warnings
from typing import Any, Mapping, Optional

import torch
from torch import nn

from pyg_nar.errors import CheckpointError
from pyg_nar.utils.arguments import check_arguments
from pyg_nar.utils.files import (atomic_folder, check_output_folder, read_json_file,
                                 torch_file_problem)

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint", "is_checkpoint",
           "check_checkpoint_folder"]

MODEL_FILE, META_FILE, TRANSFORM_FILE = "model.pt", "model.json", "transform.json"
VOCAB_FILE, METRICS_FILE, TRANSFORM_TEXT = "vocab.json", "metrics.json", "transform.txt"
CALIBRATION_FILE = "calibration.json"
#: The pickled transform of pyg_nar 0.1.0 checkpoints: never opened.
LEGACY_TRANSFORM_FILE = "transform.pt"
#: Version of the ``transform.json`` layout.
TRANSFORM_FORMAT = 1
#: The longest ``transform.txt`` read (a repr of a few transforms is a few hundred bytes).
MAX_TRANSFORM_TEXT = 64 * 2 ** 10


def is_checkpoint(path: str) -> bool:
    """Whether the folder ``path`` is a checkpoint pyg_nar wrote (its ``model.json`` names a
    class and a config)."""
    meta = osp.join(path, META_FILE)
    try:
        value = read_json_file(meta, CheckpointError)
    except CheckpointError:
        return False
    return isinstance(value.get("class"), str) and isinstance(value.get("config"), dict)


def check_checkpoint_folder(path: str, overwrite: bool = False) -> bool:
    """Check before any work that a checkpoint may be written to ``path``: a new or empty
    folder, or (with ``overwrite``) a checkpoint folder; never a file or a folder of other
    files (:class:`~pyg_nar.errors.OutputExistsError`). Returns whether one is replaced."""
    return check_output_folder(path, overwrite, is_checkpoint, "checkpoint folder")


def save_checkpoint(path_dir: str, model: nn.Module, transform=None,
                    metrics: Optional[dict] = None, extra: Optional[dict] = None,
                    op_vocab: Optional[list] = None, files: Optional[Mapping[str, Any]] = None,
                    overwrite: bool = False, calibration=None) -> str:
    """Write ``model`` (and the ``transform`` that feeds it) to the folder ``path_dir``.

    ``op_vocab`` defaults to the transform's ``op_vocab`` attribute, if it has one. ``files``:
    more JSON files to write into the folder (name -> value, e.g. ``{"history.json": ...}``).
    The folder is written in a temporary sibling and renamed into place; ``path_dir`` must be
    new or empty, or a checkpoint folder and ``overwrite=True``
    (:func:`check_checkpoint_folder`). ``transform`` is a registered transform
    (:mod:`pyg_nar.transforms.registry`) or plain JSON data. ``calibration``: an
    :class:`~pyg_nar.calibration.AccuracyCalibration` (written as JSON). Returns ``path_dir``.
    """
    from pyg_nar import __version__
    from pyg_nar.models.registry import MODELS, jsonable
    from pyg_nar.transforms.registry import transform_spec

    name = type(model).__name__
    if name not in MODELS:
        raise CheckpointError(f"save_checkpoint: {name} is not a registered model "
                              "(decorate it with pyg_nar.models.register_model)")
    config = getattr(model, "config", None)
    if not isinstance(config, dict):
        raise CheckpointError(f"save_checkpoint: {name} has no 'config' dict of constructor kwargs")
    meta = {"class": name, "config": jsonable(config), "pyg_nar_version": __version__}
    try:
        json.dumps(meta, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"save_checkpoint: the config of {name} cannot be written as "
                              f"JSON ({e})") from None
    texts = {}
    if transform is not None:
        where = f"save_checkpoint: transform of {name}"
        if callable(transform):
            spec = {"format": TRANSFORM_FORMAT, "transform": transform_spec(transform, where)}
        else:
            spec = {"format": TRANSFORM_FORMAT, "data": _json_value(transform, where)}
        texts[TRANSFORM_FILE] = json.dumps(spec, indent=2)
        texts[TRANSFORM_TEXT] = repr(transform) + "\n"
    op_vocab = op_vocab if op_vocab is not None else getattr(transform, "op_vocab", None)
    if op_vocab is not None:
        texts[VOCAB_FILE] = json.dumps([str(v) for v in op_vocab])
    texts[METRICS_FILE] = json.dumps({"metrics": jsonable(metrics or {}),
                                      "extra": jsonable(extra or {})}, indent=2)
    if calibration is not None:
        texts[CALIBRATION_FILE] = json.dumps(calibration.to_dict())
    for file_name, value in (files or {}).items():
        if osp.basename(file_name) != file_name or file_name in texts or file_name == MODEL_FILE:
            raise CheckpointError(f"save_checkpoint: {file_name!r} is not a file name of its own")
        texts[file_name] = json.dumps(jsonable(value), default=float)
    replace = check_checkpoint_folder(path_dir, overwrite)
    with atomic_folder(path_dir, replace=replace) as tmp:
        torch.save(model.state_dict(), osp.join(tmp, MODEL_FILE))
        meta["weights_sha256"] = _sha256(osp.join(tmp, MODEL_FILE))
        texts[META_FILE] = json.dumps(meta, indent=2)
        for file_name, text in texts.items():
            with open(osp.join(tmp, file_name), "w", encoding="utf-8") as f:
                f.write(text)
    return path_dir


def _json_value(value: Any, where: str) -> Any:
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError):
        raise CheckpointError(f"{where}: a {type(value).__name__} is neither a registered "
                              f"transform nor JSON data") from None


# ----------------------------------------------------------------------------------- loading
def load_checkpoint(path_dir: str, map_location="cpu"):
    """Load a folder written by :func:`save_checkpoint`: ``(model, transform, info)``.

    ``map_location`` is the device the model is built on and its weights are loaded onto,
    whatever device they were saved from (``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"auto"`` or a
    :class:`torch.device`, see :func:`pyg_nar.devices.resolve_device`; a CUDA device where
    there is none is a :class:`~pyg_nar.errors.DeviceError`). The transform always loads
    onto the CPU, where transforms run.

    ``model`` is in eval mode; ``transform`` is ``None`` if none was saved, else the saved one
    as the model's ``upgrade_transform`` completes it (:class:`pyg_nar.models.Predictor`);
    ``info`` holds ``class``, ``config``, ``op_vocab``, ``metrics``, ``extra`` and ``calibration``. Every
    problem with a file is a :class:`CheckpointError` naming it; nothing in the folder is
    unpickled or run.
    """
    from pyg_nar.devices import resolve_device
    from pyg_nar.models.registry import model_class

    device = resolve_device(map_location)
    meta_path, weights_path = osp.join(path_dir, META_FILE), osp.join(path_dir, MODEL_FILE)
    for p in (meta_path, weights_path):
        if not osp.isfile(p):
            raise CheckpointError(f"{p}: file not found (not a pyg_nar checkpoint folder?)")
    meta = read_json_file(meta_path, CheckpointError)
    cls_name, config = meta.get("class"), meta.get("config")
    if not isinstance(cls_name, str) or not isinstance(config, dict):
        raise CheckpointError(f"{meta_path}: unreadable model description (needs \"class\", a "
                              f"string, and \"config\", an object)")
    try:
        cls = model_class(cls_name)
    except KeyError as e:
        raise CheckpointError(f"{meta_path}: {e.args[0]}") from None
    check_arguments(cls, config, f"{meta_path}: config of {cls_name}", error=CheckpointError)
    state = _read_weights(weights_path, device, meta.get("weights_sha256"))
    model = _build_within(cls, config, state, meta_path,
                          f"{weights_path}: weights do not fit {cls_name}({_short(config)})").to(device)
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        first = str(e).strip().splitlines()
        detail = " ".join(line.strip() for line in first[:3])
        raise CheckpointError(f"{weights_path}: weights do not fit {cls_name}({_short(config)}): "
                              f"{detail}") from None
    model.eval()
    info = {"class": cls_name, "config": config, "pyg_nar_version": meta.get("pyg_nar_version"),
            "op_vocab": _read_vocab(osp.join(path_dir, VOCAB_FILE))}
    recorded = _read_metrics(osp.join(path_dir, METRICS_FILE))
    info.update(metrics=recorded.get("metrics", {}), extra=recorded.get("extra", {}))
    info["calibration"] = _read_calibration(osp.join(path_dir, CALIBRATION_FILE))
    transform = _read_transform(path_dir, info)
    upgrade = getattr(model, "upgrade_transform", None)
    if upgrade is not None and callable(transform):
        transform = upgrade(transform)
    return model, transform, info


def _read_calibration(path: str):
    from pyg_nar.calibration import AccuracyCalibration

    if not osp.isfile(path):
        return None
    try:
        value = read_json_file(path, CheckpointError)
    except CheckpointError as e:  # the reason after the path: invalid JSON, not UTF-8, ...
        raise CheckpointError(f"{path}: not JSON of a calibration map ({str(e).split(': ', 1)[-1]})") from None
    try:
        return AccuracyCalibration.from_dict(value, where=path)
    except ValueError as e:
        raise CheckpointError(str(e)) from None


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_weights(path: str, map_location, sha256: Any = None) -> dict:
    if sha256 is not None and _sha256(path) != sha256:
        raise CheckpointError(f"{path}: does not match the weights_sha256 its model.json records "
                              f"(damaged or replaced?); re-save the checkpoint, or remove "
                              f"weights_sha256 from model.json to load it anyway")
    problem = torch_file_problem(path)
    if problem:
        raise CheckpointError(f"{path}: unreadable weights ({problem}); a pyg_nar weights file "
                              f"holds tensors only")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001  (a damaged or foreign file raises many kinds)
        detail = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
        raise CheckpointError(f"{path}: unreadable weights ({type(e).__name__}: {detail}); a "
                              f"pyg_nar weights file holds tensors only") from None
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        raise CheckpointError(f"{path}: not a state_dict (a dict of named tensors)")
    return state


@contextlib.contextmanager
def _parameter_budget(count: int, numel: int, where: str):
    """Stop any module construction inside the block as soon as its parameters and buffers
    exceed ``count`` tensors or ``numel`` elements."""
    seen = [0, 0]

    def hook(module, name, tensor):
        if tensor is None:
            return
        seen[0] += 1
        seen[1] += tensor.numel()
        if seen[0] > count or seen[1] > numel:
            raise CheckpointError(f"{where}: the config describes a larger model (more than "
                                  f"{count} tensors or {numel} values); stopped before "
                                  f"allocating it")

    from torch.nn.modules import module as M

    handles = [M.register_module_parameter_registration_hook(hook),
               M.register_module_buffer_registration_hook(hook)]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def _short(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _build_within(cls: type, config: dict, state: dict, where: str, too_large: str) -> nn.Module:
    """``cls(**config)``, first on the meta device within the size of ``state`` (slack for
    non-persistent buffers; ``too_large`` starts the error beyond it), then for real; any
    refusal is a :class:`CheckpointError` naming ``where``."""
    numel = sum(t.numel() for t in state.values())
    budget = _parameter_budget(2 * len(state) + 64, 2 * numel + 2 ** 16, too_large)
    for device in ("meta", None):
        try:
            with budget if device else contextlib.nullcontext(), \
                    torch.device(device) if device else contextlib.nullcontext():
                model = cls(**config)
        except CheckpointError:
            raise
        except Exception as e:  # noqa: BLE001  (a constructor refusing its arguments)
            first = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
            raise CheckpointError(f"{where}: config does not fit {cls.__name__} "
                                  f"({type(e).__name__}: {first})") from None
    return model


def _read_vocab(path: str) -> list | None:
    if not osp.isfile(path):
        return None
    vocab = read_json_file(path, CheckpointError, expect=list)
    if not all(isinstance(v, str) for v in vocab):
        raise CheckpointError(f"{path}: the vocabulary must be a list of operation names (strings)")
    return vocab


def _read_metrics(path: str) -> dict:
    if not osp.isfile(path):
        return {}
    value = read_json_file(path, CheckpointError)
    for key in ("metrics", "extra"):
        if not isinstance(value.get(key, {}), dict):
            raise CheckpointError(f"{path}: {key!r} must be an object")
    return value


def _read_transform(path_dir: str, info: dict):
    from pyg_nar.transforms.registry import build_transform

    path = osp.join(path_dir, TRANSFORM_FILE)
    if osp.isfile(path):
        spec = read_json_file(path, CheckpointError)
        if spec.get("format") != TRANSFORM_FORMAT or not ({"transform", "data"} & set(spec)):
            raise CheckpointError(f"{path}: not a transform file of format {TRANSFORM_FORMAT}")
        return build_transform(spec["transform"], path) if "transform" in spec else spec["data"]
    legacy = osp.join(path_dir, LEGACY_TRANSFORM_FILE)
    if osp.lexists(legacy):
        return _legacy_transform(path_dir, legacy, info)
    return None


def _legacy_transform(path_dir: str, legacy: str, info: dict):
    """The transform of a 0.1.0 checkpoint, whose pickled ``transform.pt`` is never opened."""
    from pyg_nar.transforms.registry import parse_transform_repr

    text_path = osp.join(path_dir, TRANSFORM_TEXT)
    note = (f"{legacy}: a pickled transform, which pyg_nar does not load (a pickle can run "
            f"code)")
    transform, source = None, None
    if osp.isfile(text_path) and osp.getsize(text_path) <= MAX_TRANSFORM_TEXT:
        try:
            with open(text_path, encoding="utf-8") as f:
                transform, source = parse_transform_repr(f.read(), text_path), text_path
        except (CheckpointError, UnicodeDecodeError):
            pass
    extra = info.get("extra") or {}
    if transform is None and isinstance(extra.get("model"), str) and isinstance(extra.get("dataset"), str):
        from pyg_nar.recipes import dataset_spec, model_recipe

        try:
            spec, _ = dataset_spec(extra["dataset"])
            transform = model_recipe(extra["model"]).transform(spec.task, spec)
            source = f"the recipe of {extra['model']} on {extra['dataset']} ({METRICS_FILE})"
        except (ValueError, KeyError):
            pass
    if source is None:
        raise CheckpointError(f"{note}, and neither {TRANSFORM_TEXT} nor {METRICS_FILE} says how to "
                              f"rebuild it: re-save the checkpoint with this version of pyg_nar "
                              f"(save_checkpoint writes the transform as data)")
    warnings.warn(f"{note}; rebuilt {transform!r} from {source}. Re-save the checkpoint to "
                  f"store the transform as data.", stacklevel=3)
    return transform
