r"""Where a predictor runs and how: the device (:func:`resolve_device`), mixed precision
(:func:`autocast`, :func:`grad_scaler`) and compilation (:func:`compile_model`).

The training loop (:func:`pyg_nar.training.fit`), :func:`pyg_nar.training.predict`, the
checkpoints (:func:`pyg_nar.checkpoint.load_checkpoint`) and the ``pyg-nar`` command
(``--device``, ``--amp``, ``--compile``) all read their settings through these functions, so
a setting means the same everywhere and a setting this machine cannot honour is one
:class:`~pyg_nar.errors.DeviceError`, not a traceback from inside torch.

Devices: ``"cpu"``, ``"cuda"`` (the current CUDA device; under ``torchrun``, the process's
``LOCAL_RANK``), ``"cuda:N"``, or ``"auto"`` (CUDA if there is one, else the CPU).

Mixed precision: ``"bf16"`` (CPU or CUDA) or ``"fp16"`` (CUDA only, with a
:class:`torch.amp.GradScaler` in training) autocast the forward passes; losses, metrics and the
returned predictions are float32.

Compilation: :func:`torch.compile` of the regions a model names
(:meth:`pyg_nar.models.Predictor.compile_regions`; by default the whole model). FlowerFormer
names its layers, which share one compiled graph, so it compiles once rather than nine times.
"""
from __future__ import annotations

import os
from contextlib import nullcontext
from typing import Optional, Union

import torch
from torch import nn

from pyg_nar.errors import DeviceError

__all__ = ["DEVICE_CHOICES", "AMP_CHOICES", "COMPILE_MODES", "resolve_device", "resolve_amp",
           "autocast", "grad_scaler", "compile_model", "compile_seconds"]

#: What ``--device`` takes (``cuda:N`` for any N).
DEVICE_CHOICES = ("cpu", "cuda", "cuda:N", "auto")
#: Mixed-precision settings: name -> the autocast dtype.
AMP_CHOICES = {"bf16": torch.bfloat16, "fp16": torch.float16}
#: :func:`torch.compile` modes (``"reduce-overhead"`` records CUDA graphs on a GPU).
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")

DeviceLike = Union[str, torch.device, None]


def _no_cuda(spec) -> DeviceError:
    why = ("this torch has no CUDA support" if torch.version.cuda is None
           else "torch finds no CUDA device")
    return DeviceError(f"device {spec!r}: CUDA is not available here ({why}, torch "
                       f"{torch.__version__}); use --device cpu or --device auto")


def resolve_device(device: DeviceLike = "auto") -> torch.device:
    r"""The :class:`torch.device` of a device setting.

    Args:
        device (str or torch.device, optional): ``"cpu"``, ``"cuda"``, ``"cuda:N"``,
            ``"auto"`` (CUDA if available, else the CPU) or :obj:`None` (same as
            ``"auto"``). A bare ``"cuda"`` in a process that ``torchrun`` started means
            ``cuda:$LOCAL_RANK``. (default: :obj:`"auto"`)

    Raises :class:`~pyg_nar.errors.DeviceError` for CUDA where there is none, a CUDA index
    beyond the devices present, or a name that is not a device.
    """
    spec = "auto" if device is None else device
    if isinstance(spec, str):
        spec = spec.strip().lower()
        if spec == "auto":
            spec = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            dev = torch.device(spec)
        except (RuntimeError, ValueError):
            raise DeviceError(f"unknown device {device!r}; choose one of "
                              f"{', '.join(DEVICE_CHOICES)}") from None
    elif isinstance(spec, torch.device):
        dev = spec
    else:
        raise DeviceError(f"device must be a string or a torch.device, got {type(device).__name__}")
    if dev.type == "cpu":
        return torch.device("cpu")
    if dev.type != "cuda":
        raise DeviceError(f"device {device!r}: pyg_nar runs on cpu or cuda devices")
    if not torch.cuda.is_available():
        raise _no_cuda(device)
    count = torch.cuda.device_count()
    index = dev.index
    if index is None and "LOCAL_RANK" in os.environ:  # torchrun: one GPU per process
        index = int(os.environ["LOCAL_RANK"]) % count
    if index is None:
        index = torch.cuda.current_device()
    if index >= count:
        raise DeviceError(f"device {device!r}: there are {count} CUDA device(s) here "
                          f"(cuda:0..cuda:{count - 1})")
    return torch.device("cuda", index)


def resolve_amp(amp: Optional[str], device: torch.device) -> Optional[torch.dtype]:
    r"""The autocast dtype of a mixed-precision setting on ``device`` (:obj:`None`: float32).

    Args:
        amp (str, optional): :obj:`None` / ``"none"`` (float32), ``"bf16"`` or ``"fp16"``.
        device (torch.device): where the model runs.

    Raises :class:`~pyg_nar.errors.DeviceError` for fp16 off CUDA (CPU autocast is bf16) and
    for bf16 on a GPU without bf16 support.
    """
    if amp is None or amp == "none":
        return None
    if amp not in AMP_CHOICES:
        raise DeviceError(f"unknown mixed-precision setting {amp!r}; choose none, "
                          f"{', '.join(AMP_CHOICES)}")
    if amp == "fp16" and device.type != "cuda":
        raise DeviceError(f"amp='fp16' needs a CUDA device (here: {device}); on the CPU use bf16")
    if amp == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise DeviceError(f"amp='bf16': {torch.cuda.get_device_name(device)} has no bf16 "
                          f"support; use fp16")
    return AMP_CHOICES[amp]


def autocast(device: torch.device, amp: Optional[str]):
    """The :func:`torch.autocast` context of ``amp`` on ``device`` (a no-op for float32)."""
    dtype = resolve_amp(amp, device)
    return nullcontext() if dtype is None else torch.autocast(device.type, dtype=dtype)


def grad_scaler(device: torch.device, amp: Optional[str]) -> torch.amp.GradScaler:
    """A :class:`torch.amp.GradScaler`, enabled for fp16 only (bf16 keeps float32's range)."""
    return torch.amp.GradScaler(device.type, enabled=resolve_amp(amp, device) == torch.float16)


def compile_model(model: nn.Module, mode: Union[bool, str] = True) -> list[nn.Module]:
    r"""Compile ``model`` in place with :func:`torch.compile` and return the compiled modules.

    The model's :meth:`~pyg_nar.models.Predictor.compile_regions` (if it has the method) names
    the submodules to compile, else the whole model is compiled. Each is compiled with
    :meth:`torch.nn.Module.compile`, so parameter names, ``state_dict`` and checkpoints stay
    as they were. A new batch shape recompiles once, then shapes are dynamic. Compilation
    itself happens on the first call; :func:`compile_seconds` measures it.

    Args:
        model (torch.nn.Module): the model.
        mode (bool or str, optional): :obj:`True` / ``"default"``, or a mode of
            :data:`COMPILE_MODES` (``"reduce-overhead"``: CUDA graphs on a GPU).
            (default: :obj:`True`)
    """
    if mode is True:
        mode = "default"
    if mode not in COMPILE_MODES:
        raise DeviceError(f"unknown compile mode {mode!r}; choose one of {', '.join(COMPILE_MODES)}")
    regions = model.compile_regions() if callable(getattr(model, "compile_regions", None)) else [model]
    options = {} if mode == "default" else {"mode": mode}
    for region in regions:
        region.compile(**options)
    return list(regions)


def compile_seconds() -> Optional[float]:
    """Seconds this process has spent compiling with :func:`torch.compile` so far (tracing and
    code generation, forward and backward graphs); :obj:`None` if this torch does not report
    it. The difference over a stretch of work is the compile time spent in it."""
    try:
        from torch._dynamo.utils import calculate_time_spent
        return float(calculate_time_spent().get("total_wall_time", 0.0))
    except Exception:  # noqa: BLE001  (a private API: absent or changed in another torch)
        return None
