"""The one registry of predictor classes: :func:`register_model` makes a class loadable by
name and records every instance's constructor arguments as ``model.config``, so that
``type(model)(**model.config)`` rebuilds it and :mod:`pyg_nar.checkpoint` can save it."""
from __future__ import annotations

import functools
import inspect
from typing import Any

import torch

from pyg_nar.errors import ArgumentError

__all__ = ["MODELS", "register_model", "model_class", "jsonable"]

#: Predictor classes by name (filled by :func:`register_model`).
MODELS: dict[str, type] = {}


def jsonable(obj: Any) -> Any:
    """``obj`` with tuples as lists, tensors and NumPy scalars as Python numbers, dict keys as
    strings (what ``json`` can write and reads back as equal)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return obj.item()
    return obj


def register_model(cls: type) -> type:
    """Class decorator: register ``cls`` (by its name, in :data:`MODELS`) and record the
    arguments of each instance's construction as ``model.config``.

    The arguments are bound to the signature of ``cls.__init__``, its defaults applied, passed
    through the ``resolve_config`` classmethod defined in the same class as that ``__init__``,
    if there is one (:meth:`pyg_nar.models.Predictor.resolve_config`: defaults that depend on
    other arguments, earlier names), and ``__init__`` is called with the result, which
    becomes ``model.config`` (tuples as lists, see :func:`jsonable`). ``__init__`` must take
    named arguments only (no ``*args`` / ``**kwargs``). A registered subclass of a registered
    class records its own arguments.
    """
    if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
        raise TypeError(f"register_model: {cls!r} is not a torch.nn.Module class")
    init = cls.__init__
    signature = inspect.signature(init)
    owner = next(c for c in cls.__mro__ if "__init__" in c.__dict__)  # defines this __init__
    resolve = owner.__dict__.get("resolve_config")
    resolve = resolve.__get__(None, cls) if resolve is not None else None
    for p in signature.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise TypeError(f"register_model: {cls.__name__}.__init__ takes *{p.name}; a "
                            f"config needs named arguments only")

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError as e:  # a named error (also a TypeError): pipeline.train(model_kwargs=...)
            raise ArgumentError(f"{cls.__name__}: {e}") from None
        bound.apply_defaults()
        arguments = dict(list(bound.arguments.items())[1:])  # without self
        if resolve is not None:
            arguments = resolve(arguments)
        init(self, **arguments)
        if type(self) is cls:
            self.config = jsonable(arguments)

    cls.__init__ = __init__
    MODELS[cls.__name__] = cls
    return cls


def model_class(name: str) -> type:
    """The registered predictor class called ``name``; a clear error if there is none."""
    import pyg_nar.fewshot  # noqa: F401  (the few-shot latency predictors)
    import pyg_nar.models  # noqa: F401  (importing it registers every model)

    if name not in MODELS:
        raise KeyError(f"unknown model class {name!r} (registered: {', '.join(sorted(MODELS))})")
    return MODELS[name]
