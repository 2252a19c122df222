"""Lazy public names for a package: imported from their module on first access (PEP 562), so
importing the package stays cheap (no torch, torch_geometric or onnx until a name is used)."""
from __future__ import annotations

import importlib
from typing import Callable, Mapping


def lazy_names(package: str, table: Mapping[str, str],
               namespace: dict) -> tuple[Callable[[str], object], Callable[[], list]]:
    """``(__getattr__, __dir__)`` for ``package``: each name of ``table`` (name -> module that
    defines it) is imported on first access and then kept in ``namespace`` (the package's
    ``globals()``). A name whose module is ``f"{package}.{name}"`` is that submodule itself."""

    def __getattr__(name: str):
        if name in table:
            module = importlib.import_module(table[name])
            value = module if table[name] == f"{package}.{name}" else getattr(module, name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list:
        return sorted(set(namespace) | set(table))

    return __getattr__, __dir__
