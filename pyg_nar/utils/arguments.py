"""Arguments checked at the boundary: the one place that says whether a value fits a
parameter's annotation (:func:`fits`), used for the arguments of the public functions and for
what a checkpoint file says a model or transform was built with (:func:`check_arguments`), and
the small range checks the public functions share (:func:`check_int`, :func:`check_number`).

Nothing here imports torch.
"""
from __future__ import annotations

import collections.abc as abc
import inspect
import math
import types
import typing
from typing import Any, Callable

from pyg_nar.errors import ArgumentError

__all__ = ["fits", "describe", "check_arguments", "check_int", "check_number", "check_choice",
           "MAX_BATCH_SIZE"]

#: The largest batch size pyg_nar accepts anywhere (``gt.txt`` lines, ``from_onnx``, ``predict``,
#: ``measure``).
MAX_BATCH_SIZE = 2 ** 16

_SEQUENCES = (list, tuple, abc.Sequence, abc.Iterable, abc.Collection)


def fits(value: Any, annotation: Any) -> bool:
    """Whether ``value`` is of the type ``annotation`` names: ``int`` (not ``bool``), ``float``
    (an int or a finite float), ``bool``, ``str``, ``None``, unions / ``Optional``,
    ``Literal``, ``list`` / ``tuple`` / ``Sequence`` of a type, ``dict`` / ``Mapping``,
    ``Callable``, or any class (``isinstance``). An annotation it does not know (a string
    it cannot resolve, a ``TypeVar``) accepts anything."""
    if annotation is Any or annotation is inspect.Parameter.empty or isinstance(annotation, (str, typing.TypeVar)):
        return True
    if annotation is None or annotation is type(None):
        return value is None
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return any(fits(value, a) for a in args)
    if origin is typing.Literal:
        return any(value == a and type(value) is type(a) for a in args)
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return (isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value))
    if origin in _SEQUENCES or annotation in _SEQUENCES:
        if not isinstance(value, (list, tuple)):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(value) == len(args) and all(fits(v, a) for v, a in zip(value, args))
        return not args or all(fits(v, args[0]) for v in value)
    if origin in (dict, abc.Mapping) or annotation in (dict, abc.Mapping):
        if not isinstance(value, dict):
            return False
        if len(args) == 2:
            return all(fits(k, args[0]) and fits(v, args[1]) for k, v in value.items())
        return True
    if origin is abc.Callable or annotation is abc.Callable:
        return callable(value)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True


def describe(annotation: Any) -> str:
    """An annotation in words for an error message (``int | None``, ``list[float]``)."""
    if isinstance(annotation, type):
        return annotation.__name__
    if annotation is None or annotation is type(None):
        return "None"
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return " | ".join(describe(a) for a in args)
    if origin is typing.Literal:
        return " or ".join(repr(a) for a in args)
    if origin is not None and args:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join('...' if a is Ellipsis else describe(a) for a in args)}]"
    return str(annotation).replace("typing.", "")


def _hints(func: Callable) -> dict:
    target = func.__init__ if isinstance(func, type) else func
    try:
        return typing.get_type_hints(target)
    except Exception:  # noqa: BLE001  (a name only imported under TYPE_CHECKING)
        return {}


def check_arguments(func: Callable, arguments: dict, where: str, error: type = ArgumentError,
                    skip: tuple[str, ...] = ()) -> None:
    """Check that ``func(**arguments)`` binds (no unknown names, every required one given)
    and that each value fits its parameter's annotation (:func:`fits`); else ``error``
    naming ``where``, the parameter, what it takes and what it got. ``func`` may be a
    class (its ``__init__``). Parameters in ``skip`` are not type-checked."""
    if not isinstance(arguments, dict):
        raise error(f"{where}: expected an object of named arguments, got {type(arguments).__name__}")
    signature = inspect.signature(func)
    params = {n: p for n, p in signature.parameters.items()
              if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and n != "self"}
    takes_kwargs = any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values())
    unknown = [k for k in arguments if k not in params]
    if unknown and not takes_kwargs:
        raise error(f"{where}: unknown argument(s) {', '.join(map(repr, unknown))} (takes "
                    f"{', '.join(params) or 'none'})")
    missing = [n for n, p in params.items() if p.default is p.empty and n not in arguments]
    if missing:
        raise error(f"{where}: missing argument(s) {', '.join(missing)}")
    hints = _hints(func)
    for name, value in arguments.items():
        if name in hints and name not in skip and not fits(value, hints[name]):
            raise error(f"{where}: {name} must be {describe(hints[name])}, got {_show(value)}")


def _show(value: Any) -> str:
    text = repr(value)
    return f"{text[:60]}... ({type(value).__name__})" if len(text) > 60 else f"{text} ({type(value).__name__})"


def check_int(value: Any, name: str, where: str, minimum: int | None = None,
              maximum: int | None = None, none: bool = False) -> int | None:
    """``value`` if it is an ``int`` (not a ``bool``; ``None`` too with ``none=True``) within
    ``minimum .. maximum``; else an :class:`~pyg_nar.errors.ArgumentError`."""
    if value is None and none:
        return None
    if not fits(value, int):
        raise ArgumentError(f"{where}: {name} must be an integer, got {_show(value)}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ArgumentError(f"{where}: {name} must be in {_range(minimum, maximum)}, got {value}")
    return value


def check_number(value: Any, name: str, where: str, minimum: float | None = None,
                 maximum: float | None = None, none: bool = False,
                 open_low: bool = False, open_high: bool = False) -> float | None:
    """``value`` if it is a finite number (not a ``bool``) within ``minimum .. maximum``
    (bounds excluded with ``open_low`` / ``open_high``); else an
    :class:`~pyg_nar.errors.ArgumentError`."""
    if value is None and none:
        return None
    if not fits(value, float):
        raise ArgumentError(f"{where}: {name} must be a finite number, got {_show(value)}")
    low = minimum is not None and (value <= minimum if open_low else value < minimum)
    high = maximum is not None and (value >= maximum if open_high else value > maximum)
    if low or high:
        raise ArgumentError(f"{where}: {name} must be in "
                            f"{_range(minimum, maximum, open_low, open_high)}, got {value}")
    return value


def check_choice(value: Any, name: str, where: str, choices) -> Any:
    """``value`` if it is one of ``choices``; else an :class:`~pyg_nar.errors.ArgumentError`."""
    if not isinstance(value, (str, int, type(None))) or value not in choices:
        raise ArgumentError(f"{where}: {name} must be one of {', '.join(map(str, choices))}, "
                            f"got {_show(value)}")
    return value


def _range(lo, hi, open_low: bool = False, open_high: bool = False) -> str:
    left = "(" if open_low else "["
    right = ")" if open_high else "]"
    return f"{left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{right}"
