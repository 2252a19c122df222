"""Utilities shared across the package: :mod:`pyg_nar.utils.dag`, the one DAG toolkit."""
from pyg_nar.utils.dag import (descendant_matrix, find_cycle, kahn, random_topological_order,
                               topological_generations, topological_order)

__all__ = ["descendant_matrix", "find_cycle", "kahn", "random_topological_order",
           "topological_generations", "topological_order"]
