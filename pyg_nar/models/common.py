r"""The building blocks the predictors share: reading batch fields with one named error
(:class:`~pyg_nar.errors.FieldError`), the operation-range check, the output maps, MLP heads
and the static-feature encoder."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import MLP
from torch_geometric.utils import remove_self_loops, to_undirected

from pyg_nar.errors import FieldError
from pyg_nar.transforms.tokenize_v2 import transformer_sinusoid

__all__ = ["require_field", "node_graph_index", "symmetric_adjacency", "check_ops",
           "resolve_static_scale", "NNLQP_STATIC_SCALE", "OUTPUT_MAPS", "resolve_output",
           "OutputMap", "mlp", "StaticEncoder"]

#: Factors turning the project's ``static`` row ``[batch size, MFLOPs, M parameters, memory MB]``
#: (:data:`pyg_nar.networks.STATIC_FIELDS`) into NNLQP's units ``[batch size, GFLOPs, G parameters,
#: memory GB]``, which NNLQP and NAR-Former V2 feed to their static-feature branch.
NNLQP_STATIC_SCALE = (1.0, 1e-3, 1e-3, 1e-3)


def require_field(batch, field: str, who: str, hint: str = "", width: int | None = None) -> Tensor:
    """``batch[field]``; a :class:`~pyg_nar.errors.FieldError` naming the reader ``who``, the
    field and ``hint`` (what adds it) if it is missing, or if ``width`` is given and the
    field's last dimension differs."""
    value = getattr(batch, field, None)
    if value is None:
        raise FieldError(f"{who}: the batch has no {field!r} field" + (f" ({hint})" if hint else ""))
    if width is not None and (value.dim() == 0 or value.size(-1) != width):
        got = value.size(-1) if value.dim() else "none (a scalar)"
        raise FieldError(f"{who}: {field!r} has width {got}, the model expects {width}")
    return value


def node_graph_index(batch) -> tuple[Tensor, int]:
    """The ``batch`` vector (graph of each node) and the number of graphs; a single
    :class:`~torch_geometric.data.Data` counts as one graph."""
    b = getattr(batch, "batch", None)
    if b is None:
        return torch.zeros(batch.num_nodes, dtype=torch.long, device=batch.edge_index.device), 1
    num_graphs = getattr(batch, "num_graphs", None)
    return b, int(num_graphs) if num_graphs is not None else int(b.max()) + 1


def symmetric_adjacency(batch) -> Tensor:
    """``batch.adj_index`` if the :class:`~pyg_nar.transforms.SymmetricAdjacency` transform
    added it, else ``edge_index`` made undirected (self loops removed) on the fly, on the
    batch's device (:func:`~torch_geometric.utils.remove_self_loops`, then
    :func:`~torch_geometric.utils.to_undirected`: the transform's result)."""
    adj = getattr(batch, "adj_index", None)
    if adj is not None:
        return adj
    edge_index, _ = remove_self_loops(batch.edge_index)
    return to_undirected(edge_index, num_nodes=batch.num_nodes)


def check_ops(op: Tensor, num_ops: int, who: str) -> None:
    """A :class:`~pyg_nar.errors.FieldError` if an operation index is outside
    ``0..num_ops-1`` (the model's vocabulary), naming the first such node of the batch.

    It waits for the device once (one ``bool`` of a reduction): an index outside the
    vocabulary would otherwise be a device-side assert on CUDA, which ends the process."""
    if not op.numel():
        return
    bad = (op < 0) | (op >= num_ops)
    if bool(bad.any()):
        node = int(bad.nonzero()[0])
        raise FieldError(f"{who}: node {node} of the batch has operation index {int(op[node])}, "
                         f"outside the model's vocabulary of num_ops={num_ops} operations")


def resolve_static_scale(static_scale, static_dim: int, who: str) -> list[float] | None:
    """``"nnlqp"`` -> :data:`NNLQP_STATIC_SCALE` (needs ``static_dim == 4``), ``None`` -> no
    scaling, a sequence -> its floats (one per static column)."""
    if static_scale is None or static_dim == 0:
        return None
    if isinstance(static_scale, str):
        if static_scale != "nnlqp":
            raise ValueError(f"{who}: static_scale must be 'nnlqp', None or a list of floats, "
                             f"got {static_scale!r}")
        if static_dim != len(NNLQP_STATIC_SCALE):
            raise ValueError(f"{who}: static_scale='nnlqp' needs static_dim=4, got {static_dim}")
        return list(NNLQP_STATIC_SCALE)
    scale = [float(v) for v in static_scale]
    if len(scale) != static_dim:
        raise ValueError(f"{who}: static_scale has {len(scale)} entries but static_dim={static_dim}")
    return scale


# ------------------------------------------------------------------------------ output maps
def _neg_logsigmoid(z: Tensor) -> Tensor:
    return -F.logsigmoid(z)


#: The bound of ``z`` under the ``"exp"`` map: :math:`e^{\pm 30}` spans 1e-13 .. 1e13.
EXP_BOUND = 30.0


def _exp(z: Tensor) -> Tensor:
    return torch.exp(z.clamp(-EXP_BOUND, EXP_BOUND))


#: The output maps :math:`z \mapsto \hat y` of the predictors' heads, by name:
#: ``"linear"`` :math:`z` (a score or any real target), ``"sigmoid"`` :math:`\sigma(z)` (an
#: accuracy as a fraction), ``"neg_logsigmoid"`` :math:`-\log\sigma(z) =
#: \operatorname{softplus}(-z) > 0` (a latency; NNLQP's and NAR-Former V2's output),
#: ``"exp"`` :math:`e^z > 0` (a latency whose logarithm the head predicts: the log loss
#: :func:`pyg_nar.losses.log_mse_loss` is then a plain squared error on :math:`z`, equally
#: well conditioned on 0.01 ms and 100 ms targets; :math:`z` is bounded by :data:`EXP_BOUND`).
OUTPUT_MAPS = {"linear": lambda z: z, "sigmoid": torch.sigmoid, "neg_logsigmoid": _neg_logsigmoid,
               "exp": _exp}
#: Earlier names, still read from checkpoints' ``model.json``.
OUTPUT_ALIASES = {"identity": "linear"}


def resolve_output(name: str, allowed: Sequence[str], who: str) -> str:
    """The canonical name of output map ``name`` (old aliases mapped, e.g. ``"identity"`` ->
    ``"linear"``); a :class:`ValueError` unless it is one of the model's ``allowed`` maps."""
    name = OUTPUT_ALIASES.get(name, name)
    if name not in allowed:
        raise ValueError(f"{who}: output must be one of {', '.join(map(repr, allowed))}, got {name!r}")
    return name


class OutputMap(nn.Module):
    r"""The output map of a head, one of :data:`OUTPUT_MAPS`:
    :math:`\hat y = z`, :math:`\sigma(z)` or :math:`-\log\sigma(z)`.

    Args:
        name (str): ``"linear"``, ``"sigmoid"`` or ``"neg_logsigmoid"``.

    Shapes:
        - **input:** :math:`[*]`
        - **output:** :math:`[*]`
    """

    def __init__(self, name: str):
        super().__init__()
        self.name = resolve_output(name, tuple(OUTPUT_MAPS), "OutputMap")
        self._fn = OUTPUT_MAPS[self.name]

    def forward(self, z: Tensor) -> Tensor:
        return self._fn(z)

    def extra_repr(self) -> str:
        return repr(self.name)


# --------------------------------------------------------------------------------- MLP heads
def mlp(channels: Sequence[int], dropout: float = 0.0, plain_last: bool = True) -> MLP:
    """A :class:`torch_geometric.nn.MLP` over ``channels`` with ReLU, no normalisation and
    ``dropout`` after each hidden layer (``Linear -> ReLU -> Dropout``, the last layer plain
    unless ``plain_last=False``).

    Its initial weights are those of ``torch.nn.Linear`` layers built in the same order: the
    MLP's constructor draws them twice (each ``Linear`` on construction, then
    ``reset_parameters``), so the CPU generator is rewound and they are drawn once. The same
    seed therefore gives the same initial head as the ``torch.nn.Sequential`` heads of
    pyg_nar 0.1.0, and the same training run.
    """
    state = torch.random.get_rng_state()
    net = MLP(list(channels), act="relu", norm=None, dropout=dropout, plain_last=plain_last)
    torch.random.set_rng_state(state)
    net.reset_parameters()
    return net


class StaticEncoder(nn.Module):
    r"""Encodes a graph-level feature row (whole networks' ``static`` [batch size, FLOPs,
    parameters, memory access], or NAR-Former's ``static_enc``) for a prediction head:

    .. math::
        \mathbf{s}' = \mathrm{Dropout}(\mathrm{ReLU}(\mathbf{W}\, \phi(\mathbf{c} \odot
        \mathbf{s}) + \mathbf{b}))

    with :math:`\mathbf{c}` the ``scale`` factors and :math:`\phi` the identity (NNLQP, and
    NAR-Former, whose tokenizer already encoded ``static_enc``) or NAR-Former V2's
    :func:`~pyg_nar.transforms.transformer_sinusoid` of each entry (``num_freqs=5``).

    Args:
        static_dim (int): features per graph :math:`S`.
        out_channels (int): output width.
        dropout (float, optional): dropout after the ReLU. (default: :obj:`0.0`)
        scale (list[float], optional): one factor per feature (:func:`resolve_static_scale`).
            (default: :obj:`None`: none)
        num_freqs (int, optional): encode each scaled entry with ``transformer_sinusoid`` at
            this many frequencies. (default: :obj:`None`: no encoding)
        field (str, optional): the batch field to read. (default: :obj:`"static"`)
        who (str, optional): the model named in error messages. (default: :obj:`"model"`)

    Shapes:
        - **input:** a batch whose ``field`` is :math:`[B, S]` (or :math:`[B \cdot S]`)
        - **output:** :math:`[B, \text{out\_channels}]`
    """

    def __init__(self, static_dim: int, out_channels: int, dropout: float = 0.0,
                 scale: Sequence[float] | None = None, num_freqs: int | None = None,
                 field: str = "static", who: str = "model"):
        super().__init__()
        self.static_dim, self.num_freqs, self.field, self.who = static_dim, num_freqs, field, who
        if scale is not None:
            self.register_buffer("scale", torch.tensor(list(scale)), persistent=False)
        else:
            self.scale = None
        in_channels = static_dim * (2 * num_freqs if num_freqs else 1)
        self.mlp = mlp([in_channels, out_channels], dropout=dropout, plain_last=False)

    def forward(self, batch, num_graphs: int) -> Tensor:
        static = require_field(batch, self.field, self.who, f"static_dim={self.static_dim}").float()
        if static.numel() != num_graphs * self.static_dim:
            per_graph = (f"{static.numel() // num_graphs}" if static.numel() % num_graphs == 0
                         else f"{static.numel()} values for {num_graphs} graphs, not a multiple")
            raise FieldError(f"{self.who}: {self.field} has {per_graph} features per graph, "
                             f"expected static_dim={self.static_dim}")
        static = static.view(num_graphs, self.static_dim)
        if self.scale is not None:
            static = static * self.scale
        if self.num_freqs:
            static = transformer_sinusoid(static, self.num_freqs)
        return self.mlp(static)

    def extra_repr(self) -> str:
        return (f"field={self.field!r}, static_dim={self.static_dim}, "
                f"num_freqs={self.num_freqs}, scaled={self.scale is not None}")
