r"""Fixed-length encodings of the architectures of a space, for the few-shot latency predictor.

An architecture is its **choice vector**: one choice index per position (NB201: the operation of
each of the 6 cell edges, in :data:`~pyg_nar.spaces.nasbench201.NB201_OPS` order; FBNet: the
block of each of the 22 layers, in :data:`~pyg_nar.spaces.fbnet.FBNET_OPS` order). It comes from
the space's own written form (an NB201 arch string, FBNet block names or indices) or from the
PyG graphs of the space's datasets (:func:`~pyg_nar.datasets.nb201_cell_graph`,
:func:`~pyg_nar.datasets.fbnet_graph`). From it:

* :meth:`SpaceEncoding.onehot` -- the input of the pre-trained encoder: the one-hot choices;
  NB201 adds the one-hot of the **live** operations (an edge off every input-to-output path
  counts as ``none``, :func:`~pyg_nar.spaces.nb201_costs.nb201_live_edges`), so the encoder can
  tell computation that a runtime may remove;
* :meth:`SpaceEncoding.costs` -- a few physical cost counts whose non-negative combination an
  additive device adds up: NB201 the number of edges of each operation (all, and live); FBNet the
  network's pointwise and depthwise MMACs, M weights, M activations read and written, and
  convolutions / 10 (:func:`~pyg_nar.spaces.fbnet.block_cost`);
* :meth:`SpaceEncoding.flops` -- MFLOPs of the whole network (the FLOPs baseline);
* :meth:`SpaceEncoding.degenerate` -- NB201 cells with no input-to-output path.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np
import torch
from torch import Tensor
from torch_geometric.utils import to_dense_batch

from pyg_nar.datasets.fbnet import FBNET_VOCAB
from pyg_nar.datasets.nasbench201 import NB201_VOCAB
from pyg_nar.errors import ArchitectureError, PipelineError
from pyg_nar.spaces.fbnet import (FBNET_NUM_LAYERS, FBNET_OPS, block_cost, fbnet_costs, fbnet_layers,
                                  parse_fbnet)
from pyg_nar.spaces.nasbench201 import NB201_OPS, parse_arch_str, to_arch_str
from pyg_nar.spaces.nb201_costs import nb201_flops, nb201_live_edges

__all__ = ["SpaceEncoding", "NB201Encoding", "FBNetEncoding", "space_encoding", "SPACES"]


class SpaceEncoding:
    """Base class: a space's choice vectors and the encodings computed from them."""

    #: the space's name (``"nasbench201"``, ``"fbnet"``)
    name: str = ""
    #: positions and choices per position
    num_positions: int = 0
    choices: Sequence[str] = ()
    #: the graph vocabulary of the space's dataset, and the graph's node count
    graph_vocab: Sequence[str] = ()
    graph_nodes: int = 0

    def parse(self, arch) -> tuple[int, ...]:
        """The choice vector of one architecture (an :class:`~pyg_nar.errors.ArchitectureError`
        if the space does not contain it)."""
        raise NotImplementedError

    def to_str(self, choices: Sequence[int]) -> str:
        """The space's written form of a choice vector."""
        raise NotImplementedError

    def choice_matrix(self, archs) -> Tensor:
        """``[N, num_positions]`` long: the choice vectors of ``archs`` (a list of architectures
        in the space's written form, a ``[N, num_positions]`` integer array, or a PyG batch /
        list of graphs of the space's dataset)."""
        if hasattr(archs, "op") and hasattr(archs, "edge_index"):
            return self.from_graphs(archs)
        if isinstance(archs, (np.ndarray, Tensor)) and np.ndim(archs) == 2:
            m = torch.as_tensor(np.asarray(archs), dtype=torch.long)
            if m.size(1) != self.num_positions or (m.numel() and (m.min() < 0 or m.max() >= len(self.choices))):
                raise ArchitectureError(f"{self.name}: a choice matrix must be [N, {self.num_positions}] "
                                        f"with entries in 0..{len(self.choices) - 1}, got {tuple(m.shape)}")
            return m
        rows = []
        for i, a in enumerate(archs):
            if hasattr(a, "op") and hasattr(a, "edge_index"):
                rows.append(self.from_graphs(a)[0].tolist())
                continue
            try:
                rows.append(self.parse(a))
            except ArchitectureError as e:
                raise ArchitectureError(f"architecture {i}: {e}") from None
        return torch.tensor(rows, dtype=torch.long).view(-1, self.num_positions)

    def from_graphs(self, batch) -> Tensor:
        """Choice vectors of graphs built by the space's dataset (one graph or a batch)."""
        op = batch.op
        index = getattr(batch, "batch", None)
        if index is None:
            index = torch.zeros(op.numel(), dtype=torch.long)
        dense, mask = to_dense_batch(op, index, fill_value=-1)
        if dense.size(1) != self.graph_nodes or not bool(mask.all()):
            raise ArchitectureError(f"{self.name}: graphs must have {self.graph_nodes} nodes "
                                    f"(the space's dataset graphs), got up to {dense.size(1)}")
        choices = self._graph_to_choices(dense)
        bad = (choices < 0).any(1)
        if bool(bad.any()):
            raise ArchitectureError(f"{self.name}: graph {int(bad.nonzero()[0])} is not an "
                                    f"architecture of the space (unexpected node operations)")
        return choices

    def _graph_to_choices(self, dense: Tensor) -> Tensor:
        raise NotImplementedError

    @property
    def onehot_dim(self) -> int:
        """``F``, the width of :meth:`onehot` (known without computing one)."""
        return self.num_positions * len(self.choices)

    def onehot(self, choices: Tensor) -> Tensor:
        """``[N, F]`` float: the pre-trained encoder's input."""
        return torch.nn.functional.one_hot(choices, len(self.choices)).flatten(1).float()

    def costs(self, choices: Tensor) -> Tensor:
        """``[N, P]`` float: physical cost counts (module docstring)."""
        raise NotImplementedError

    def flops(self, choices: Tensor) -> np.ndarray:
        """``[N]`` MFLOPs of the whole networks."""
        raise NotImplementedError

    def degenerate(self, choices: Tensor) -> Tensor:
        """``[N]`` bool: architectures whose output does not depend on their input."""
        return torch.zeros(choices.size(0), dtype=torch.bool)


@lru_cache(maxsize=None)
def _nb201_live(choices: tuple[int, ...]) -> tuple[bool, ...]:
    return tuple(nb201_live_edges(to_arch_str([NB201_OPS[c] for c in choices])))


class NB201Encoding(SpaceEncoding):
    """NAS-Bench-201 cells (6 edges x 5 operations)."""

    name = "nasbench201"
    num_positions = 6
    choices = NB201_OPS
    graph_vocab = tuple(NB201_VOCAB)
    graph_nodes = 8

    def parse(self, arch) -> tuple[int, ...]:
        if not isinstance(arch, str):
            raise ArchitectureError(f"{arch!r}: an NB201 architecture is an arch string")
        return tuple(NB201_OPS.index(op) for op in parse_arch_str(arch))

    def to_str(self, choices) -> str:
        return to_arch_str([NB201_OPS[int(c)] for c in choices])

    def _graph_to_choices(self, dense: Tensor) -> Tensor:
        lut = torch.full((len(self.graph_vocab),), -1, dtype=torch.long)
        for i, name in enumerate(self.graph_vocab):
            if name in NB201_OPS:
                lut[i] = NB201_OPS.index(name)
        ok = (dense[:, 0] == 0) & (dense[:, -1] == len(self.graph_vocab) - 1)
        out = lut[dense[:, 1:-1].clamp(0, len(self.graph_vocab) - 1)]
        out[~ok] = -1
        return out

    def live(self, choices: Tensor) -> Tensor:
        """``[N, 6]`` bool: the live edges."""
        return torch.tensor([_nb201_live(tuple(row)) for row in choices.tolist()], dtype=torch.bool).view(-1, 6)

    @property
    def onehot_dim(self) -> int:
        return 2 * super().onehot_dim  # the choices, then the live choices

    def onehot(self, choices: Tensor) -> Tensor:
        live = torch.where(self.live(choices), choices, torch.zeros_like(choices))
        return torch.cat([super().onehot(choices), super().onehot(live)], 1)

    def costs(self, choices: Tensor) -> Tensor:
        live = torch.where(self.live(choices), choices, torch.zeros_like(choices))
        count = lambda c: torch.stack([(c == k).sum(1) for k in range(1, len(NB201_OPS))], 1)
        return torch.cat([count(choices), count(live)], 1).float()

    def flops(self, choices: Tensor) -> np.ndarray:
        # nb201_flops adds one term per edge operation: the empty cell's FLOPs plus, per edge,
        # what its operation adds
        empty = nb201_flops(self.to_str([0] * 6))
        extra = np.array([nb201_flops(self.to_str([c] + [0] * 5)) - empty for c in range(len(NB201_OPS))])
        return np.round(empty + extra[choices.numpy()].sum(1), 6)  # MACs / 1e6: exact ties stay ties

    def degenerate(self, choices: Tensor) -> Tensor:
        return ~self.live(choices).any(1)


class FBNetEncoding(SpaceEncoding):
    """FBNet networks (22 layers x 9 blocks, CIFAR-100 setting)."""

    name = "fbnet"
    num_positions = FBNET_NUM_LAYERS
    choices = FBNET_OPS
    graph_vocab = tuple(FBNET_VOCAB)
    graph_nodes = FBNET_NUM_LAYERS + 2

    def __init__(self, dataset: str = "cifar100"):
        self.dataset = dataset
        table = [[block_cost(layer, op) for op in FBNET_OPS] for layer in fbnet_layers(dataset)]
        self._costs = torch.tensor([[[c.pointwise_macs / 1e6, c.depthwise_macs / 1e6, c.params / 1e6,
                                      c.in_elems / 1e6, c.out_elems / 1e6, c.convs / 10]
                                     for c in row] for row in table], dtype=torch.float64,
                                   device="cpu")  # also inside a `torch.device("meta")` block
        base = fbnet_costs(["skip"] * FBNET_NUM_LAYERS, dataset)["mflops"]
        skip = self._costs[:, FBNET_OPS.index("skip"), :2].sum()
        self._flops_const = base - float(skip)  # stem, head and classifier

    def parse(self, arch) -> tuple[int, ...]:
        return tuple(FBNET_OPS.index(op) for op in parse_fbnet(arch))

    def to_str(self, choices) -> str:
        return ",".join(FBNET_OPS[int(c)] for c in choices)

    def _graph_to_choices(self, dense: Tensor) -> Tensor:
        ok = (dense[:, 0] == 0) & (dense[:, -1] == len(self.graph_vocab) - 1)
        out = dense[:, 1:-1] - 1
        out[(out < 0) | (out >= len(FBNET_OPS))] = -1
        out[~ok] = -1
        return out

    def _per_layer(self, choices: Tensor) -> Tensor:
        return self._costs[torch.arange(FBNET_NUM_LAYERS), choices]  # [N, 22, 6]

    def costs(self, choices: Tensor) -> Tensor:
        return self._per_layer(choices).sum(1).float()

    def flops(self, choices: Tensor) -> np.ndarray:
        flops = self._per_layer(choices)[..., :2].sum((1, 2)) + self._flops_const
        return np.round(flops.numpy(), 6)  # MACs / 1e6: exact ties stay ties


SPACES = {"nasbench201": NB201Encoding, "fbnet": FBNetEncoding}


def space_encoding(space: str) -> SpaceEncoding:
    """The encoding of a space by name (``"nasbench201"`` or ``"fbnet"``)."""
    if isinstance(space, SpaceEncoding):
        return space
    if space not in SPACES:
        raise PipelineError(f"few-shot latency: unknown space {space!r} (known: {', '.join(SPACES)})")
    return SPACES[space]()
