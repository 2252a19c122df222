"""Architecture spaces: how an architecture of a benchmark is written, parsed, enumerated,
sampled and mutated, independent of any dataset file or model.

* :mod:`pyg_nar.spaces.nasbench201` -- NAS-Bench-201 cells as arch strings
  (:mod:`pyg_nar.spaces.nb201_costs`: live edges, degenerate cells, FLOPs of the CIFAR network).
* :mod:`pyg_nar.spaces.fbnet` -- the FBNet space (22 layers x 9 blocks), its layer settings and costs.
"""
from pyg_nar.spaces.fbnet import (FBNET_OPS, FBNetSearchSpace, fbnet_costs, fbnet_layers, parse_fbnet,
                                  to_fbnet_str)
from pyg_nar.spaces.nasbench201 import NB201_OPS, NB201SearchSpace, parse_arch_str, to_arch_str
from pyg_nar.spaces.nb201_costs import nb201_flops, nb201_is_degenerate, nb201_live_edges

__all__ = ["NB201_OPS", "NB201SearchSpace", "parse_arch_str", "to_arch_str",
           "FBNET_OPS", "FBNetSearchSpace", "parse_fbnet", "to_fbnet_str", "fbnet_layers", "fbnet_costs",
           "nb201_flops", "nb201_is_degenerate", "nb201_live_edges"]
