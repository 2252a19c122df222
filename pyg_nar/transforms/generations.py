r"""Topological generations of a DAG (the schedule of FlowerFormer's flow encoder)."""
from __future__ import annotations

import torch
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

from pyg_nar.transforms._common import arch_name, edge_index_of, num_nodes_of
from pyg_nar.utils.dag import edge_lists, kahn, topological_generations

__all__ = ["TopologicalGenerations", "topological_generations"]


class TopologicalGenerations(BaseTransform):
    r"""Adds the topological generations of a DAG (FlowerFormer's flow-encoder schedule).

    * ``node_gen`` ``[N]`` long: 0 for source nodes, else 1 + the largest generation of the
      node's predecessors (:func:`networkx.topological_generations`).
    * ``edge_gen`` ``[E]`` long: the generation of each edge's target, so the edges of
      generation :math:`g` are exactly the incoming edges of the nodes of generation :math:`g`.
    * ``depth`` ``[1]`` long: the number of generations, ``node_gen.max() + 1``.

    A cyclic graph raises :class:`~pyg_nar.data.ArchitectureError` naming a node on the cycle.
    """

    def forward(self, data: Data) -> Data:
        n = num_nodes_of(data, "TopologicalGenerations")
        ei = edge_index_of(data, "TopologicalGenerations")
        src, dst = edge_lists(ei)
        gen = kahn(src, dst, n, arch_name(data)).generation  # checks the node range
        data.node_gen = torch.tensor(gen, dtype=torch.long)
        data.edge_gen = torch.tensor([gen[d] for d in dst], dtype=torch.long)
        data.depth = torch.tensor([max(gen) + 1])
        return data
