"""Architecture spaces: how an architecture of a benchmark is written, parsed, enumerated,
sampled and mutated, independent of any dataset file or model.

* :mod:`pyg_nar.spaces.nasbench201` -- NAS-Bench-201 cells as arch strings.
"""
from pyg_nar.spaces.nasbench201 import NB201_OPS, NB201SearchSpace, parse_arch_str, to_arch_str

__all__ = ["NB201_OPS", "NB201SearchSpace", "parse_arch_str", "to_arch_str"]
