"""pyg_nar: neural architecture representation learning for PyTorch Geometric.

Importing the package is cheap (no torch, torch_geometric or onnx): the names below are
loaded on first use, so ``pyg-nar --help`` answers at once.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: public name -> module that defines it (imported on first access)
_LAZY = {
    "ArchitectureError": "pyg_nar.errors",
    "PygNarError": "pyg_nar.errors",
    "arch_data": "pyg_nar.data",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'pyg_nar' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
