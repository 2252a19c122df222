r"""Transforms as data: a transform is saved as its class name and constructor arguments
(:func:`transform_spec`) and rebuilt through the registry of known classes
(:func:`build_transform`), so a checkpoint never holds a pickle.

A spec is JSON: ``{"class": "Compose", "args": {"transforms": [{"class": "Tokenize", "args":
{"num_freqs": 32, ...}}, ...]}}``; an argument that is itself a transform is a nested spec (a
JSON object is always one). The arguments are read back from the attributes named like the
constructor's parameters (every registered transform keeps them), checked against the
constructor's annotations (:func:`pyg_nar.utils.arguments.check_arguments`) and passed to it.

Registered: every transform class of :mod:`pyg_nar.transforms` and PyG's
:class:`~torch_geometric.transforms.Compose`; :func:`register_transform` adds another.
:func:`parse_transform_repr` rebuilds a transform from its ``repr`` (the ``transform.txt`` of
checkpoints written before transforms were saved as data) without evaluating any code.
"""
from __future__ import annotations

import ast
import inspect
import math
from typing import Any

from pyg_nar.errors import CheckpointError
from pyg_nar.utils.arguments import check_arguments

__all__ = ["TRANSFORMS", "register_transform", "transform_classes", "transform_spec",
           "build_transform", "parse_transform_repr"]

#: Transform classes by name (:func:`transform_classes` fills it on first use).
TRANSFORMS: dict[str, type] = {}
#: Deepest nesting of transforms in a spec (a Compose of a pair of a shuffle is 3).
MAX_DEPTH = 16


def register_transform(cls: type) -> type:
    """Make ``cls`` loadable by name: it must keep each constructor argument as the attribute
    of the same name (``self.seed = seed``). Usable as a class decorator."""
    if not isinstance(cls, type) or not callable(getattr(cls, "__call__", None)):
        raise TypeError(f"register_transform: {cls!r} is not a transform class")
    TRANSFORMS[cls.__name__] = cls
    return cls


def transform_classes() -> dict[str, type]:
    """The registered transform classes by name (pyg_nar's and PyG's ``Compose`` first)."""
    if not TRANSFORMS or "Compose" not in TRANSFORMS:
        from torch_geometric.transforms import BaseTransform, Compose

        import pyg_nar.transforms as T

        for name in T.__all__:
            obj = getattr(T, name)
            if isinstance(obj, type) and issubclass(obj, BaseTransform):
                register_transform(obj)
        register_transform(Compose)
    return TRANSFORMS


def _parameters(cls: type) -> list[inspect.Parameter]:
    return [p for p in inspect.signature(cls).parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def transform_spec(transform, where: str = "transform") -> dict:
    """The JSON spec of ``transform`` (see the module doc); a :class:`CheckpointError` if it
    (or a transform inside it) is not registered or holds an argument JSON cannot carry."""
    classes = transform_classes()
    name = type(transform).__name__
    if classes.get(name) is not type(transform):
        raise CheckpointError(f"{where}: {name} is not a registered transform (register it with "
                              f"pyg_nar.transforms.registry.register_transform)")
    args = {}
    for p in _parameters(type(transform)):
        if not hasattr(transform, p.name):
            raise CheckpointError(f"{where}: {name} does not keep its argument {p.name!r} as an "
                                  f"attribute, so it cannot be saved as data")
        args[p.name] = _encode(getattr(transform, p.name), f"{where}: {name}.{p.name}")
    return {"class": name, "args": args}


def _encode(value: Any, where: str) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise CheckpointError(f"{where}: {value} cannot be saved as JSON")
        return value
    if isinstance(value, (list, tuple)):
        return [_encode(v, where) for v in value]
    if callable(value):
        return transform_spec(value, where)
    raise CheckpointError(f"{where}: a {type(value).__name__} cannot be saved as data")


def build_transform(spec: Any, where: str = "transform", depth: int = 0):
    """The transform a spec describes; a :class:`CheckpointError` naming ``where`` (the file)
    for anything else: an unknown class, unknown or ill-typed arguments, arguments its
    constructor refuses."""
    if depth > MAX_DEPTH:
        raise CheckpointError(f"{where}: transforms nested deeper than {MAX_DEPTH}")
    if not isinstance(spec, dict) or set(spec) != {"class", "args"}:
        raise CheckpointError(f"{where}: a transform is an object {{\"class\", \"args\"}}, got "
                              f"{str(spec)[:80]!r}")
    name, args = spec["class"], spec["args"]
    if not isinstance(args, dict):
        raise CheckpointError(f"{where}: the arguments of {name!r} must be an object")
    decoded = {k: _decode(v, where, depth) for k, v in args.items()}
    return _construct(name, decoded, where)


def _decode(value: Any, where: str, depth: int) -> Any:
    if isinstance(value, dict):
        return build_transform(value, where, depth + 1)
    if isinstance(value, list):
        return [_decode(v, where, depth) for v in value]
    return value


def _construct(name: Any, args: dict, where: str):
    classes = transform_classes()
    if not isinstance(name, str) or name not in classes:
        raise CheckpointError(f"{where}: unknown transform class {str(name)[:80]!r} (known: "
                              f"{', '.join(sorted(classes))})")
    cls = classes[name]
    check_arguments(cls, args, f"{where}: {name}", error=CheckpointError)
    try:
        return cls(**args)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{where}: {name}({args}) cannot be built: {e}") from None


def parse_transform_repr(text: str, where: str = "transform"):
    """Rebuild a transform from its ``repr`` (e.g. ``Compose([Tokenize(num_freqs=32), ...])``)
    by reading the expression's syntax tree: only calls of registered transform classes and
    literal arguments (numbers, strings, ``None``, booleans, lists) are accepted, nothing is
    evaluated. A :class:`CheckpointError` naming ``where`` for anything else."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        raise CheckpointError(f"{where}: not a transform's repr ({type(e).__name__})") from None
    return _from_node(tree.body, where, 0)


def _from_node(node: ast.AST, where: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise CheckpointError(f"{where}: transforms nested deeper than {MAX_DEPTH}")
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool, type(None))):
        return node.value
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant)
            and isinstance(node.operand.value, (int, float))):
        return -node.operand.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_from_node(e, where, depth) for e in node.elts]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not any(
            isinstance(a, ast.Starred) for a in node.args) and all(k.arg for k in node.keywords):
        name = node.func.id
        cls = transform_classes().get(name)
        if cls is None:
            raise CheckpointError(f"{where}: unknown transform class {name!r}")
        params = _parameters(cls)
        if len(node.args) > len(params):
            raise CheckpointError(f"{where}: {name} takes {len(params)} arguments, got {len(node.args)}")
        args = {p.name: _from_node(a, where, depth + 1) for p, a in zip(params, node.args)}
        for k in node.keywords:
            args[k.arg] = _from_node(k.value, where, depth + 1)
        return _construct(name, args, where)
    raise CheckpointError(f"{where}: {ast.dump(node)[:80]} is not a transform or a literal")
