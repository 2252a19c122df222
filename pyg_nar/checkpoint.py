r"""Save a trained predictor with everything needed to use it again.

A checkpoint is a folder:

=================  ==============================================================
``model.pt``       the weights (``state_dict``)
``model.json``     model class name, its ``config`` (constructor kwargs), pyg_nar version
``transform.pt``   the transform that made the model's inputs (``torch.save`` of the object)
``transform.txt``  its ``repr``, for people
``vocab.json``     the operation vocabulary (``op_vocab``), if known
``metrics.json``   metrics and any ``extra`` information
=================  ==============================================================

:func:`load_checkpoint` rebuilds the model by class name from :mod:`pyg_nar.models`'s registry.
"""
from __future__ import annotations

import json
import os
import os.path as osp
from typing import Optional

import torch
from torch import nn

from pyg_nar.errors import CheckpointError
__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint"]

MODEL_FILE, META_FILE, TRANSFORM_FILE = "model.pt", "model.json", "transform.pt"
VOCAB_FILE, METRICS_FILE = "vocab.json", "metrics.json"


def save_checkpoint(path_dir: str, model: nn.Module, transform=None,
                    metrics: Optional[dict] = None, extra: Optional[dict] = None,
                    op_vocab: Optional[list] = None) -> str:
    """Write ``model`` (and the ``transform`` that feeds it) to the folder ``path_dir``.

    ``op_vocab`` defaults to the transform's ``op_vocab`` attribute, if it has one.
    Returns ``path_dir``.
    """
    from pyg_nar import __version__
    from pyg_nar.models.registry import MODELS, jsonable

    name = type(model).__name__
    if name not in MODELS:
        raise CheckpointError(f"save_checkpoint: {name} is not a registered model "
                              "(decorate it with pyg_nar.models.register_model)")
    config = getattr(model, "config", None)
    if not isinstance(config, dict):
        raise CheckpointError(f"save_checkpoint: {name} has no 'config' dict of constructor kwargs")
    try:
        meta = json.dumps({"class": name, "config": jsonable(config),
                           "pyg_nar_version": __version__}, indent=2)
    except TypeError as e:
        raise CheckpointError(f"save_checkpoint: the config of {name} cannot be written as "
                              f"JSON ({e})") from None
    os.makedirs(path_dir, exist_ok=True)
    torch.save(model.state_dict(), osp.join(path_dir, MODEL_FILE))
    with open(osp.join(path_dir, META_FILE), "w") as f:
        f.write(meta)
    if transform is not None:
        torch.save(transform, osp.join(path_dir, TRANSFORM_FILE))
        with open(osp.join(path_dir, "transform.txt"), "w") as f:
            f.write(repr(transform) + "\n")
    op_vocab = op_vocab if op_vocab is not None else getattr(transform, "op_vocab", None)
    if op_vocab is not None:
        with open(osp.join(path_dir, VOCAB_FILE), "w") as f:
            json.dump(list(op_vocab), f)
    with open(osp.join(path_dir, METRICS_FILE), "w") as f:
        json.dump({"metrics": jsonable(metrics or {}), "extra": jsonable(extra or {})}, f, indent=2)
    return path_dir


def load_checkpoint(path_dir: str, map_location="cpu"):
    """Load a folder written by :func:`save_checkpoint`: ``(model, transform, info)``.

    ``map_location`` is the device the model is built on and its weights are loaded onto,
    whatever device they were saved from (``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"auto"`` or a
    :class:`torch.device`, see :func:`pyg_nar.devices.resolve_device`; a CUDA device where
    there is none is a :class:`~pyg_nar.errors.DeviceError`). The transform always loads
    onto the CPU, where transforms run.

    ``model`` is in eval mode; ``transform`` is ``None`` if none was saved, else the saved one
    as the model's ``upgrade_transform`` completes it (:class:`pyg_nar.models.Predictor`);
    ``info`` holds ``class``, ``config``, ``op_vocab``, ``metrics`` and ``extra``.
    """
    from pyg_nar.devices import resolve_device
    from pyg_nar.models.registry import model_class

    device = resolve_device(map_location)
    meta_path, weights_path = osp.join(path_dir, META_FILE), osp.join(path_dir, MODEL_FILE)
    for p in (meta_path, weights_path):
        if not osp.isfile(p):
            raise CheckpointError(f"{p}: file not found (not a pyg_nar checkpoint folder?)")
    try:
        with open(meta_path) as f:
            meta = json.load(f)
        cls_name, config = meta["class"], meta["config"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise CheckpointError(f"{meta_path}: unreadable model description ({e})") from None
    try:
        cls = model_class(cls_name)
    except KeyError as e:
        raise CheckpointError(f"{meta_path}: {e.args[0]}") from None
    try:
        model = cls(**config).to(device)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{meta_path}: config does not fit {cls_name} ({e})") from None
    try:
        state = torch.load(weights_path, map_location=device, weights_only=True)
    except Exception as e:  # noqa: BLE001  (any unreadable file)
        raise CheckpointError(f"{weights_path}: unreadable weights ({type(e).__name__}: {e})") from None
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        first = str(e).strip().splitlines()
        detail = " ".join(line.strip() for line in first[:3])
        raise CheckpointError(f"{weights_path}: weights do not fit {cls_name}({config}): {detail}") from None
    model.eval()
    transform = None
    t_path = osp.join(path_dir, TRANSFORM_FILE)
    if osp.isfile(t_path):
        try:
            transform = torch.load(t_path, map_location="cpu", weights_only=False)
        except Exception as e:  # noqa: BLE001
            raise CheckpointError(f"{t_path}: cannot load the transform ({type(e).__name__}: {e})") from None
    upgrade = getattr(model, "upgrade_transform", None)
    if upgrade is not None:
        transform = upgrade(transform)
    info = {"class": cls_name, "config": config,
            "pyg_nar_version": meta.get("pyg_nar_version")}
    v_path = osp.join(path_dir, VOCAB_FILE)
    info["op_vocab"] = json.load(open(v_path)) if osp.isfile(v_path) else None
    m_path = osp.join(path_dir, METRICS_FILE)
    if osp.isfile(m_path):
        with open(m_path) as f:
            info.update(json.load(f))
    return model, transform, info
