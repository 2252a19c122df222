"""pyg_nar: neural architecture representation learning for PyTorch Geometric.

Importing the package is cheap (no torch, torch_geometric or onnx): the names below are
loaded on first use, so ``pyg-nar --help`` answers at once.
"""
from __future__ import annotations

from pyg_nar._lazy import lazy_names

__version__ = "0.1.0"

#: public name -> module that defines it (imported on first access)
_LAZY = {
    "ArchitectureError": "pyg_nar.errors",
    "PygNarError": "pyg_nar.errors",
    "arch_data": "pyg_nar.data",
    "from_onnx": "pyg_nar.networks.onnx_graph",
    "from_torch": "pyg_nar.networks.torch_export",
}

__all__ = ["__version__", *_LAZY]

__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
