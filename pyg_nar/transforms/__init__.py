r"""Transforms that add the fields the predictors read (PyG ``BaseTransform`` s).

Use them in :class:`torch_geometric.transforms.Compose`, as a dataset's ``pre_transform``
(deterministic ones) or ``transform`` (the random augmentation). Every field batches with the
stock :class:`torch_geometric.loader.DataLoader`: node-level fields are concatenated, graph-level
fields (``[1, ...]``) stacked, and fields ending in ``_index`` offset by the node count.

* :class:`Tokenize` - ``tokens`` [N, D], ``end_token`` [1, D], ``depth_enc`` [1, Dd]
  (+ ``static_enc`` [1, S * 2L] for whole networks): NAR-Former's tokenizer (Sec. 3.2).
* :class:`TokenizeV2` - ``tokens`` [N, D]: NAR-Former V2's tokens (cells or whole networks).
* :class:`FlowConsistentShuffle` - renumbers the graph by a random topological order
  (NAR-Former Sec. 3.4); :class:`FlowConsistentPair` - ``aug_tokens`` [N, D], the tokens of
  such a copy, for the architecture-consistency loss (Sec. 3.5).
* :class:`TopologicalGenerations` - ``node_gen`` [N], ``edge_gen`` [E], ``depth`` [1]:
  FlowerFormer's flow-encoder schedule.
* :class:`FlowMask` - ``flow_index`` [2, P]: FlowerFormer's flow-aware attention pairs.
* :class:`SymmetricAdjacency` - ``adj_index`` [2, 2E]: the undirected graph NAR-Former V2 and
  NNLP read; :class:`NodeDegree` - ``in_degree``, ``out_degree`` [N] (no model reads them: V2's
  degree gate counts the degrees of ``adj_index`` itself).

Speed: ``python benchmarks/transforms_speed.py``.
"""
from pyg_nar.transforms.adjacency import NodeDegree, SymmetricAdjacency
from pyg_nar.transforms.augment import (FlowConsistentPair, FlowConsistentShuffle,
                                        random_topological_order)
from pyg_nar.transforms.flow import FlowMask, descendant_matrix, flow_pairs
from pyg_nar.transforms.flow_surrogate import FlowSurrogate, flow_surrogate
from pyg_nar.transforms.generations import TopologicalGenerations, topological_generations
from pyg_nar.transforms.prune import PruneDeadOps
from pyg_nar.transforms.tokenize import (END_POSITION, ROOT_SOURCE, Tokenize, sinusoid_encoding,
                                         sinusoid_frequencies)
from pyg_nar.transforms.tokenize_v2 import TokenizeV2, transformer_sinusoid
from pyg_nar.transforms.zero_cost import ZeroCostProxies

__all__ = [
    "END_POSITION",
    "ROOT_SOURCE",
    "FlowConsistentPair",
    "FlowConsistentShuffle",
    "FlowMask",
    "FlowSurrogate",
    "NodeDegree",
    "PruneDeadOps",
    "SymmetricAdjacency",
    "Tokenize",
    "TokenizeV2",
    "TopologicalGenerations",
    "ZeroCostProxies",
    "descendant_matrix",
    "flow_pairs",
    "flow_surrogate",
    "random_topological_order",
    "sinusoid_encoding",
    "sinusoid_frequencies",
    "topological_generations",
    "transformer_sinusoid",
]
