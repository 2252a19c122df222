"""Small helpers shared by the transforms."""
from __future__ import annotations

from torch import Tensor
from torch_geometric.data import Data

from pyg_nar.data import ArchitectureError


def arch_name(data: Data) -> str:
    """How error messages refer to a graph: ``architecture <arch_id>`` when it has one."""
    arch_id = getattr(data, "arch_id", None)
    if isinstance(arch_id, Tensor) and arch_id.numel() == 1:
        return f"architecture {int(arch_id)}"
    return "architecture"


def num_nodes_of(data: Data, transform: str) -> int:
    """``data.num_nodes``, or a clear error when the graph has none."""
    n = data.num_nodes
    if n is None or n == 0:
        raise ArchitectureError(f"{arch_name(data)}: {transform} needs a graph with nodes "
                                f"(set `num_nodes` or `op`)")
    return int(n)


def edge_index_of(data: Data, transform: str) -> Tensor:
    """``data.edge_index`` as a ``[2, E]`` long tensor, or a clear error."""
    ei = getattr(data, "edge_index", None)
    if ei is None:
        raise ArchitectureError(f"{arch_name(data)}: {transform} needs `edge_index`")
    if ei.dim() != 2 or ei.size(0) != 2:
        raise ArchitectureError(f"{arch_name(data)}: {transform}: edge_index must have shape "
                                f"[2, E], got {tuple(ei.shape)}")
    return ei.long()
