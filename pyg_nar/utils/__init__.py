"""Utilities shared across the package: :mod:`pyg_nar.utils.dag`, the one DAG toolkit, and
:mod:`pyg_nar.utils.arguments`, the checks of arguments at the boundary (torch-free; the
names below are imported on first use)."""
from pyg_nar._lazy import lazy_names

_LAZY = {name: "pyg_nar.utils.dag" for name in (
    "descendant_matrix", "find_cycle", "kahn", "random_topological_order",
    "topological_generations", "topological_order")}

__all__ = ["descendant_matrix", "find_cycle", "kahn", "random_topological_order",
           "topological_generations", "topological_order"]

__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
