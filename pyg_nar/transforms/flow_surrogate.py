r"""FGP's flow surrogate: a fixed random forward-then-backward propagation over a DAG.

`Kim, Hwang and Shin, "Learning to Flow from Generative Pretext Tasks for Neural Architecture
Encoding", NeurIPS 2025 <https://arxiv.org/abs/2510.18360>`_ (FGP) pre-trains an encoder to
reconstruct, from its graph embedding, a label-free vector that summarises how information
flows through the architecture: a random vector enters at the input, is propagated along the
data flow (forward pass), then back against it (backward pass), and what comes back at the
input is the surrogate. The propagation is a one-layer message passing with *fixed random*
weights, so it needs no training and no labels and is computed once per architecture.

With :math:`\mathbf{r} \sim U(0, 1)^k` (the input signal), :math:`P \in \mathbb{R}^{|O| \times k}`
and :math:`W \in \mathbb{R}^{2k \times k}` with entries :math:`\sim \mathcal{N}(0, \sigma^2)`
(all drawn once from ``seed``), :math:`\mathbf{o}_v = P_{\mathrm{op}(v)}` and

.. math::
    g(v, \mathbf{m}) = \alpha\, \mathbf{m} + (1 - \alpha)\,
    \mathrm{ReLU}\big([\mathbf{o}_v \,\|\, \mathbf{m}]\, W\big):

1. every source node starts at :math:`\mathbf{h}_v = \mathbf{r}`, every other node at 0;
2. **forward**, nodes in topological order (every node with a predecessor):
   :math:`\mathbf{h}_v \leftarrow g(v, \sum_{u \to v} \mathbf{h}_u)`;
3. **backward**, nodes in reverse topological order (every node with a successor):
   :math:`\mathbf{h}_u \leftarrow g(u, \sum_{u \to v} \mathbf{h}_v)` - the sinks keep their
   forward values;
4. the surrogate is :math:`\sum_{v \text{ source}} \mathbf{h}_v` (the input node's state; the
   sum of the two cell inputs on a DARTS cell).

FGP's settings (:data:`FGP_SURROGATE_SETTINGS`): :math:`\alpha = 0.5`; NB101 :math:`k = 4,
\sigma = 1`; NB201 :math:`k = 7, \sigma = 0.1`; NB301 :math:`k = 12, \sigma = 0.1`.

:func:`flow_surrogate` computes a whole batch at once, generation by generation (one
``scatter`` per generation and direction; a node's generation is the longest path from a
source, its reverse generation the longest path to a sink, so every node is updated after all
its predecessors, respectively successors); :class:`FlowSurrogate` adds it to one graph.
Computed in float64 from parameters drawn by NumPy's ``RandomState(seed)``, stored as float32,
so the targets do not depend on the torch version.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform
from torch_geometric.utils import scatter

from pyg_nar.errors import ArchitectureError
from pyg_nar.transforms._common import arch_name, edge_index_of, num_nodes_of
from pyg_nar.utils.dag import edge_lists, kahn

__all__ = ["FlowSurrogate", "SurrogateParameters", "flow_surrogate", "surrogate_parameters",
           "FGP_SURROGATE_SETTINGS"]

#: FGP's surrogate width ``k`` and weight scale ``sigma`` per benchmark.
FGP_SURROGATE_SETTINGS = {"nasbench101": dict(dim=4, std=1.0),
                          "nasbench201": dict(dim=7, std=0.1),
                          "nasbench301": dict(dim=12, std=0.1)}


class SurrogateParameters(NamedTuple):
    """The fixed random parameters of the flow surrogate (float64)."""

    r: Tensor  #: ``[k]`` the input signal, :math:`U(0, 1)`
    P: Tensor  #: ``[num_ops, k]`` operation vectors, :math:`\mathcal{N}(0, \sigma^2)`
    W: Tensor  #: ``[2k, k]`` the propagation weight, :math:`\mathcal{N}(0, \sigma^2)`


def surrogate_parameters(num_ops: int, dim: int = 7, std: float = 0.1,
                         seed: int = 0) -> SurrogateParameters:
    """Draw ``r``, ``P`` and ``W`` (in this order) from ``numpy.random.RandomState(seed)``."""
    if num_ops < 1 or dim < 1 or not std > 0:
        raise ValueError(f"surrogate_parameters: need num_ops >= 1, dim >= 1 and std > 0, got "
                         f"num_ops={num_ops}, dim={dim}, std={std}")
    rng = np.random.RandomState(seed)
    r = rng.uniform(0.0, 1.0, size=dim)
    P = rng.normal(0.0, std, size=(num_ops, dim))
    W = rng.normal(0.0, std, size=(2 * dim, dim))
    return SurrogateParameters(*(torch.from_numpy(a) for a in (r, P, W)))


def _update(m: Tensor, o: Tensor, W: Tensor, alpha: float) -> Tensor:
    return alpha * m + (1.0 - alpha) * torch.relu(torch.cat([o, m], dim=-1) @ W)


def flow_surrogate(op: Tensor, edge_index: Tensor, num_ops: int, batch: Tensor | None = None,
                   num_graphs: int | None = None, dim: int = 7, std: float = 0.1,
                   alpha: float = 0.5, seed: int = 0,
                   params: SurrogateParameters | None = None,
                   name: str = "architecture") -> Tensor:
    r"""The flow surrogate of every graph of a batch (module docstring), ``[B, dim]`` float32.

    Args:
        op (Tensor): ``[N]`` operation index of every node, in ``0..num_ops-1``.
        edge_index (Tensor): ``[2, E]`` edges along the data flow (a DAG).
        num_ops (int): size of the operation vocabulary.
        batch (Tensor, optional): ``[N]`` graph of every node (``None``: one graph).
        num_graphs (int, optional): ``B`` (default: ``batch.max() + 1``).
        dim (int, optional): surrogate width :math:`k`. (default: ``7``)
        std (float, optional): scale :math:`\sigma` of ``P`` and ``W``. (default: ``0.1``)
        alpha (float, optional): weight of the message in the update. (default: ``0.5``)
        seed (int, optional): seed of the parameters. (default: ``0``)
        params (SurrogateParameters, optional): parameters to use instead of drawing them.
        name (str, optional): how an error refers to the graph.

    Shapes:
        - **input:** ``op`` :math:`(N)`, ``edge_index`` :math:`(2, E)`, ``batch`` :math:`(N)`
        - **output:** :math:`(B, k)`
    """
    n = int(op.numel())
    if n and (int(op.min()) < 0 or int(op.max()) >= num_ops):
        node = int(((op < 0) | (op >= num_ops)).nonzero()[0])
        raise ArchitectureError(f"{name}: node {node} has operation index {int(op[node])}, "
                                f"outside 0..{num_ops - 1}")
    if params is None:
        params = surrogate_parameters(num_ops, dim, std, seed)
    r, P, W = params
    if batch is None:
        batch = torch.zeros(n, dtype=torch.long)
    if num_graphs is None:
        num_graphs = int(batch.max()) + 1 if n else 0
    src, dst = edge_lists(edge_index)
    gen = torch.tensor(kahn(src, dst, n, name).generation, dtype=torch.long)       # forward
    rgen = torch.tensor(kahn(dst, src, n, name).generation, dtype=torch.long)      # backward
    s, d = edge_index[0].long(), edge_index[1].long()
    indeg = torch.bincount(d, minlength=n)
    sources = indeg == 0
    o = P[op.long()]
    h = torch.zeros(n, r.numel(), dtype=torch.float64)
    h[sources] = r
    for g in range(1, int(gen.max()) + 1 if n else 0):
        nodes = gen == g
        m = scatter(h[s], d, 0, dim_size=n, reduce="sum")[nodes]
        h[nodes] = _update(m, o[nodes], W, alpha)
    for g in range(1, int(rgen.max()) + 1 if n else 0):
        nodes = rgen == g
        m = scatter(h[d], s, 0, dim_size=n, reduce="sum")[nodes]
        h[nodes] = _update(m, o[nodes], W, alpha)
    out = scatter(h[sources], batch[sources], 0, dim_size=num_graphs, reduce="sum")
    return out.to(torch.float32)


class FlowSurrogate(BaseTransform):
    r"""Adds ``flow_surrogate`` ``[1, k]``: FGP's flow surrogate of the graph
    (:func:`flow_surrogate`, module docstring), the target of
    :func:`pyg_nar.pretraining.fgp_pretrain`.

    Args:
        num_ops (int): size of the dataset's operation vocabulary (``len(dataset.op_vocab)``).
        dim (int, optional): surrogate width :math:`k`. (default: ``7``, FGP's NB201 value)
        std (float, optional): scale of the random weights. (default: ``0.1``)
        alpha (float, optional): weight of the message in the update. (default: ``0.5``)
        seed (int, optional): seed of the fixed random parameters. (default: ``0``)
    """

    def __init__(self, num_ops: int, dim: int = 7, std: float = 0.1, alpha: float = 0.5,
                 seed: int = 0):
        self.num_ops, self.dim, self.std, self.alpha, self.seed = num_ops, dim, std, alpha, seed
        self.params = surrogate_parameters(num_ops, dim, std, seed)

    def forward(self, data: Data) -> Data:
        n = num_nodes_of(data, "FlowSurrogate")
        ei = edge_index_of(data, "FlowSurrogate")
        op = getattr(data, "op", None)
        if op is None or op.numel() != n:
            raise ArchitectureError(f"{arch_name(data)}: FlowSurrogate needs `op` for all {n} nodes")
        data.flow_surrogate = flow_surrogate(op, ei, self.num_ops, alpha=self.alpha,
                                             params=self.params, name=arch_name(data))
        return data

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(num_ops={self.num_ops}, dim={self.dim}, std={self.std}, "
                f"alpha={self.alpha}, seed={self.seed})")
