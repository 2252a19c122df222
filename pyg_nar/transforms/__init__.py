r"""Transforms that add the fields the predictors read (PyG ``BaseTransform`` s).

Use them in :class:`torch_geometric.transforms.Compose`, as a dataset's ``pre_transform``
(deterministic ones) or ``transform`` (the random augmentation). Every field batches with the
stock :class:`torch_geometric.loader.DataLoader`: node-level fields are concatenated, graph-level
fields (``[1, ...]``) stacked, and fields ending in ``_index`` offset by the node count.

=========================  ===================================  ================================
transform                  adds                                 used by
=========================  ===================================  ================================
:class:`Tokenize`          ``tokens`` [N, D], ``end_token``     NAR-Former (Sec. 3.2)
                           [1, D], ``depth_enc`` [1, Dd]
                           (+ ``static_enc`` [1, S * 2L])
:class:`FlowConsistentPair` ``aug_tokens`` [N, D]               NAR-Former AC loss (Sec. 3.4-5)
:class:`FlowConsistentShuffle` (renumbers the graph)            augmentation
:class:`TopologicalGenerations` ``node_gen`` [N], ``edge_gen``  FlowerFormer flow encoder
                           [E], ``depth`` [1]
:class:`FlowMask`          ``flow_index`` [2, P]                FlowerFormer flow attention
:class:`SymmetricAdjacency` ``adj_index`` [2, 2E]               NAR-Former V2
:class:`NodeDegree`        ``in_degree``, ``out_degree`` [N]    NAR-Former V2
=========================  ===================================  ================================
"""
from pyg_nar.transforms.adjacency import NodeDegree, SymmetricAdjacency
from pyg_nar.transforms.augment import (FlowConsistentPair, FlowConsistentShuffle,
                                        random_topological_order)
from pyg_nar.transforms.flow import FlowMask, descendants_bitsets, flow_pairs
from pyg_nar.transforms.generations import TopologicalGenerations, topological_generations
from pyg_nar.transforms.tokenize import (END_POSITION, ROOT_SOURCE, Tokenize, sinusoid_encoding,
                                         sinusoid_frequencies)

__all__ = [
    "END_POSITION",
    "ROOT_SOURCE",
    "FlowConsistentPair",
    "FlowConsistentShuffle",
    "FlowMask",
    "NodeDegree",
    "SymmetricAdjacency",
    "Tokenize",
    "TopologicalGenerations",
    "descendants_bitsets",
    "flow_pairs",
    "random_topological_order",
    "sinusoid_encoding",
    "sinusoid_frequencies",
    "topological_generations",
]
