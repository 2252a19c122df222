r"""NAR-Former's information-flow-consistency augmentation (Sec. 3.4) and its token pair (Sec. 3.5)."""
from __future__ import annotations

import torch
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

from pyg_nar.data import renumber_nodes
from pyg_nar.transforms._common import arch_name, edge_arrays, num_nodes_of
from pyg_nar.transforms.tokenize import Tokenize
from pyg_nar.utils.arguments import check_int
from pyg_nar.utils.dag import random_order, random_topological_order

__all__ = ["FlowConsistentPair", "FlowConsistentShuffle", "random_topological_order"]

#: Fields that encode node positions: permuting their rows would not renumber the graph.
POSITIONAL_FIELDS = ("tokens", "aug_tokens")


class FlowConsistentShuffle(BaseTransform):
    r"""Renumbers the nodes by a random topological order (NAR-Former Sec. 3.4, Fig. 4 (a), (b)).

    The result is isomorphic to the input and *flow-consistent*: every edge still goes from a
    smaller to a larger index, so the augmented graph again satisfies the
    :mod:`pyg_nar.data` contract. Renumbering moves every node-level field with it
    (:func:`pyg_nar.data.renumber_nodes`, the rule :func:`~pyg_nar.data.arch_data` uses too):

    * node-level fields (PyG's :meth:`~torch_geometric.data.Data.is_node_attr`: ``op``,
      ``op_attrs``, ``out_shape``, ``node_gen``, ...) are permuted;
    * fields whose name ends in ``_index`` (``edge_index``, ``flow_index``, ``adj_index``)
      hold node numbers and are remapped; the edge order is kept, so edge-level fields
      (``edge_gen``, ...) stay aligned;
    * graph-level fields (``y``, ``arch_id``, ``static``, ``depth``, ...) are unchanged.

    ``tokens`` and ``aug_tokens`` encode node positions and cannot be permuted: apply the
    shuffle before :class:`Tokenize` (or use :class:`FlowConsistentPair`).

    Which nodes can move: only nodes that are not ordered by a path. A unique source (the
    input of a NAS-Bench cell) precedes every other node in any topological order, so it stays
    node 0, and a unique sink (the cell output) stays last; in NAS-Bench-201 cells only the six
    operation nodes 1..6 are renumbered. The draw may return the identity numbering.

    Args:
        seed: seed of the transform's own :class:`torch.Generator` (``None``: torch's global
            generator). Each call advances the generator, so as a ``transform`` every epoch
            sees a fresh order; as a ``pre_transform`` the order is drawn once. DataLoader
            workers each hold a copy of the generator (seed them apart if that matters).
    """

    def __init__(self, seed: int | None = None):
        self.seed = check_int(seed, "seed", "FlowConsistentShuffle", -2 ** 63, 2 ** 64 - 1, none=True)
        self.generator = None if seed is None else torch.Generator().manual_seed(seed)

    def forward(self, data: Data) -> Data:
        name = arch_name(data)
        n = num_nodes_of(data, "FlowConsistentShuffle")
        for key in POSITIONAL_FIELDS:
            if key in data:
                raise ValueError(
                    f"{name}: FlowConsistentShuffle cannot renumber `{key}`, which encodes "
                    f"node positions; apply the shuffle before Tokenize (or use "
                    f"FlowConsistentPair)")
        src, dst = edge_arrays(data, "FlowConsistentShuffle", n)
        order = torch.tensor(self.draw_order(src.tolist(), dst.tolist(), n, name),
                             dtype=torch.long)
        return renumber_nodes(data, order)

    def draw_order(self, src: list, dst: list, num_nodes: int,
                   name: str = "architecture") -> list[int]:
        """The next random topological order (:func:`random_topological_order`) of the graph
        with edges ``src[k] -> dst[k]`` (nodes checked to lie in ``0 .. num_nodes - 1``),
        drawn from the transform's generator. :class:`FlowConsistentPair` calls it too."""
        return random_order(src, dst, num_nodes, self.generator, name)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(seed={self.seed})"


class FlowConsistentPair(BaseTransform):
    r"""Adds ``aug_tokens`` ``[N, D]``: the tokens of a flow-consistent shuffled copy of the
    graph (Sec. 3.4), for the architecture-consistency loss (Sec. 3.5, Eq. 11).

    The copy holds only what the tokenizer reads (``op``, ``edge_index`` and, for whole
    networks, ``op_attrs`` / ``out_shape``); it is renumbered by an order drawn from
    ``shuffle`` (:meth:`FlowConsistentShuffle.draw_order`) and encoded by ``tokenize`` - the
    result of ``tokenize(shuffle(copy))``, computed on arrays without building the copy
    (:meth:`Tokenize.renumbered_tokens`) - so
    ``aug_tokens`` matches ``tokens`` from the same :class:`Tokenize` in shape.
    Its end token and depth encoding equal the original's (same ``N``). Row ``k`` of
    ``aug_tokens`` is node ``k`` of the *shuffled* numbering: the loss compares the two
    graph-level predictions, not rows.

    Args:
        shuffle: the augmentation (default ``FlowConsistentShuffle()``).
        tokenize: the tokenizer, normally the same settings as the ``Tokenize`` that makes
            ``tokens`` (default ``Tokenize()``).
    """

    def __init__(self, shuffle: FlowConsistentShuffle | None = None,
                 tokenize: Tokenize | None = None):
        self.shuffle = FlowConsistentShuffle() if shuffle is None else shuffle
        self.tokenize = Tokenize() if tokenize is None else tokenize

    def forward(self, data: Data) -> Data:
        name = arch_name(data)
        data.aug_tokens = self.tokenize.renumbered_tokens(
            data, lambda src, dst, n: self.shuffle.draw_order(src.tolist(), dst.tolist(), n, name),
            "FlowConsistentPair")
        return data

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.shuffle!r}, {self.tokenize!r})"
