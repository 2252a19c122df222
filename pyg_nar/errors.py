"""The library's named errors, in one place.

Every error pyg_nar raises on purpose is a :class:`PygNarError`, so a caller (the ``pyg-nar``
command among them) can tell "this input is wrong, and the message says why" from a bug. Each
also derives from the standard exception a Python user would expect (``ValueError`` for bad
input, ``RuntimeError`` for a damaged file), so ``except ValueError`` keeps working.
"""
from __future__ import annotations

__all__ = ["PygNarError", "ArchitectureError", "OnnxGraphError", "DataFileError",
           "CheckpointError", "PipelineError", "FieldError", "ArgumentError", "OutputExistsError",
           "DeviceError", "TrainingDivergedError", "UnknownOperatorWarning", "TrainingNote"]


class PygNarError(Exception):
    """Base class of every error pyg_nar raises on purpose; the message names the input."""


class ArchitectureError(PygNarError, ValueError):
    """An architecture that does not satisfy the graph contract; the message names it."""


class OnnxGraphError(ArchitectureError):
    """An ONNX model that cannot become an architecture graph; the message names the file
    and, where there is one, the operator (its index, ONNX name and type) or tensor."""


class DataFileError(PygNarError, ValueError):
    """A raw benchmark file that is missing or malformed; the message names file and line."""


class CheckpointError(PygNarError, RuntimeError):
    """A checkpoint that is missing, damaged or does not fit its model; names the file."""


class PipelineError(PygNarError, ValueError):
    """A job that cannot run as asked (unknown name, incompatible checkpoint, bad input)."""


class ArgumentError(PygNarError, TypeError, ValueError):
    """An argument of a public function (or a value a checkpoint file gives a constructor) of
    the wrong type or out of range; the message names the function, the argument, what it
    takes and what it got. Both a :class:`TypeError` and a :class:`ValueError`."""


class OutputExistsError(PygNarError, FileExistsError):
    """An output path (``--out``) that holds something pyg_nar would overwrite: checked before
    any work starts; the message names the path and what would allow it."""


class FieldError(PygNarError, KeyError, ValueError):
    """A graph or batch lacks a field its reader (a model or a transform) needs, or the field
    has the wrong shape or values; the message names the reader, the field and what adds it.

    Both a :class:`KeyError` (a missing key) and a :class:`ValueError` (bad input), so either
    ``except`` catches it. Its ``str`` is the message itself (a plain ``KeyError`` would quote it).
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class DeviceError(PygNarError, ValueError):
    """A device, precision or process setting this machine cannot honour (CUDA asked for where
    there is none, an unknown device name, fp16 autocast on the CPU); the message names the
    setting and what to use instead."""


class TrainingDivergedError(PygNarError, FloatingPointError):
    """The training loss became NaN or infinite; the message names the epoch and step where it
    first did, the device and precision, whether the targets themselves were not finite, and
    what to change (fp16's range ends at 65,504: bf16 or float32; a lower learning rate or
    gradient clipping). Also a :class:`FloatingPointError`. Attributes ``epoch`` and ``step``
    (1-based, the step within the epoch). Also raised by :class:`pyg_nar.guards.DivergenceGuard`
    when a loss kept diverging (non-finite, or far above its lowest) after every automatic
    restart at a lower learning rate; that message gives the epochs and losses tried."""

    def __init__(self, message: str, epoch: int | None = None, step: int | None = None):
        super().__init__(message)
        self.epoch, self.step = epoch, step


class UnknownOperatorWarning(UserWarning):
    """An ONNX operator outside the operator vocabulary: its node gets the ``"Other"`` index
    (a warning, not an error); the message names the model and the operators."""


class TrainingNote(UserWarning):
    """What the training loop did on its own and the user should know: targets it dropped or
    kept (and how many), a restart after a diverging loss. Also listed in
    :attr:`pyg_nar.training.FitResult.notes`."""
