"""Layers of the predictors, on PyG node matrices and index tensors."""
from pyg_nar.nn.graph_aided_attention import (DegreeGate, GraphAidedAttention, GroupedFeedForward,
                                              GroupedLinear, NARFormerV2Layer)

__all__ = ["DegreeGate", "GraphAidedAttention", "GroupedFeedForward", "GroupedLinear",
           "NARFormerV2Layer"]
