r"""NAR-Former's tokenizer (Yi et al., CVPR 2023, Sec. 3.2 and supplement Sec. 1).

A graph of :math:`N` nodes becomes node tokens (Eq. 2, 6-8), an end token and the input of the
depth token (Eq. 9); the model prepends/appends the last two. Every part is the sinusoid
encoding :func:`sinusoid_encoding` (Eq. 3-5) of a real number.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform
from torch_geometric.utils import degree, scatter

from pyg_nar.data import ArchitectureError
from pyg_nar.transforms._common import arch_name, edge_index_of, num_nodes_of

__all__ = ["END_POSITION", "ROOT_SOURCE", "Tokenize", "sinusoid_encoding", "sinusoid_frequencies"]

#: Value encoded in every part of the end token (Sec. 3.2, "Special Tokens": 1e5).
END_POSITION = 1e5
#: Source position of a node without predecessors (Sec. 3.2: :math:`\mathcal{P}(v_0) = \{-1\}`).
ROOT_SOURCE = -1.0


def sinusoid_frequencies(num_freqs: int) -> Tensor:
    r"""The frequencies :math:`\mathbf{b}` of Eq. 4-5: ``num_freqs`` values linearly spaced from
    :math:`2^0` to :math:`2^{L-1}` (float64; the last one is exactly :math:`2^{L-1}`)."""
    if num_freqs < 1:
        raise ValueError(f"num_freqs must be at least 1, got {num_freqs}")
    if num_freqs == 1:
        return torch.ones(1, dtype=torch.float64)
    top = 2.0 ** (num_freqs - 1)
    step = (top - 1.0) / (num_freqs - 1)                                    # Eq. 5
    b = 1.0 + torch.arange(num_freqs, dtype=torch.float64) * step          # Eq. 4
    b[-1] = top
    return b


def sinusoid_encoding(values, num_freqs: int, dtype: torch.dtype = torch.float32) -> Tensor:
    r"""NAR-Former's generic real-number encoder (Eq. 3-5).

    .. math::
        f(p) = [\sin(b_1 p \pi), \cos(b_1 p \pi), \dots, \sin(b_L p \pi), \cos(b_L p \pi)]

    with :math:`\mathbf{b}` from :func:`sinusoid_frequencies`. ``values`` of any shape
    ``[...]`` give ``[..., 2 * num_freqs]``.

    Computed in float64 with the product :math:`b p` reduced modulo 2 *before* multiplying by
    :math:`\pi` (exact for powers of two; :math:`\sin(x\pi)` has period 2). This keeps the
    argument of sin/cos in :math:`[0, 2\pi)`, so the result is the same with any math library
    and exact when :math:`b p` is an integer, although frequencies reach :math:`2^{31}` for
    ``num_freqs=32`` (e.g. :math:`f(10^5)` at :math:`b = 2^{31}` is exactly ``(0, 1)``). The
    result is cast to ``dtype`` at the end.
    """
    v = torch.as_tensor(values, dtype=torch.float64)
    b = sinusoid_frequencies(num_freqs)
    arg = torch.remainder(v.unsqueeze(-1) * b, 2.0) * math.pi
    out = torch.stack([torch.sin(arg), torch.cos(arg)], dim=-1).flatten(-2)
    return out.to(dtype)


class Tokenize(BaseTransform):
    r"""NAR-Former tokens (Sec. 3.2, Eq. 1-9; supplement Sec. 1 for whole networks).

    Adds

    * ``tokens`` ``[N, D]`` float32: per node :math:`[f(\mathcal{C}(v_i)) \,|\, f(i) \,|\,
      \sum_{j \in \mathcal{P}(v_i)} f(j)]` (Eq. 2, 6, 7, 8), positions 0-based in the
      topological numbering. ``D = 3 * 2L`` (192 for ``L = 32``, the paper's setting).
    * ``end_token`` ``[1, D]``: :math:`f(10^5)` in *every* part. The paper fixes the self and
      source parts to :math:`f(10^5)` and is silent on the rest; the official code uses
      :math:`f(10^5)` for the operation (and attribute/shape) parts too, and so do we.
    * ``depth_enc`` ``[1, 2 * depth_freqs]``: :math:`f_{Dep}(N)`, the input of the depth
      token :math:`\mathrm{ReLU}(\mathrm{FC}(f_{Dep}(N)))` (Eq. 9); the FC layer belongs to the
      model. ``depth_freqs = 48`` gives the official 96 dims.

    **Nodes without predecessors.** The paper sets :math:`\mathcal{P}(v_0) = \{-1\}` because
    :math:`v_0` "has no precursor node"; we apply that rule to *every* node with in-degree 0
    (e.g. the extra graph inputs of an ONNX model), so all graph inputs are encoded alike.
    (The official whole-network code gives such nodes, other than node 0, a zero source part.)

    **Whole networks** (supplement Sec. 1). When the graph has ``op_attrs`` ``[N, 8]`` and/or
    ``out_shape`` ``[N, 4]``, each value is encoded with ``attr_freqs`` frequencies and
    appended: with both, a token has 3 + 8 + 4 = 15 parts (``D = 15 * 2L``: 480 for ``L = 16``
    as in the supplement, 960 for ``L = 32`` as in the official code). A value of 0 - how
    :mod:`pyg_nar.data` marks an absent attribute or the padding of a lower-rank output
    shape - encodes to the zero vector, the supplement's zero padding. Which attributes an
    operation has follows from its type, so a genuine 0 attribute (e.g. ``padding = 0``)
    loses no information.

    **Static features.** The supplement feeds the static properties (batch size, FLOPs,
    parameters, memory access) to the prediction head next to the transformer output, not as
    tokens. When the graph has ``static`` ``[1, S]`` we add ``static_enc`` ``[1, S * 2L_a]``,
    each value encoded like an attribute (the official code's 4 x 64 = 256-dim static vector).

    Args:
        num_freqs: :math:`L` for the operation, self-position and source-position parts
            (paper: 32).
        depth_freqs: :math:`L` of the depth encoding (official code: 48, i.e. 96 dims).
        attr_freqs: :math:`L` for each attribute, output-shape and static value
            (default: ``num_freqs``).
    """

    def __init__(self, num_freqs: int = 32, depth_freqs: int = 48, attr_freqs: int | None = None):
        for name, v in (("num_freqs", num_freqs), ("depth_freqs", depth_freqs),
                        ("attr_freqs", attr_freqs)):
            if v is not None and (not isinstance(v, int) or v < 1):
                raise ValueError(f"Tokenize: {name} must be a positive integer, got {v!r}")
        self.num_freqs = num_freqs
        self.depth_freqs = depth_freqs
        self.attr_freqs = num_freqs if attr_freqs is None else attr_freqs

    def _encode(self, values, num_freqs: int) -> Tensor:
        return sinusoid_encoding(values, num_freqs, dtype=torch.float64)

    def _value_parts(self, values: Tensor) -> Tensor:
        """Encode each column of ``[N, K]`` values; 0 (absent) gives zeros -> ``[N, K * 2L_a]``."""
        enc = self._encode(values, self.attr_freqs)                        # [N, K, 2L_a]
        enc = enc * (values != 0).unsqueeze(-1)
        return enc.flatten(1)

    def forward(self, data: Data) -> Data:
        name = arch_name(data)
        n = num_nodes_of(data, "Tokenize")
        ei = edge_index_of(data, "Tokenize")
        op = getattr(data, "op", None)
        if op is None or op.numel() != n:
            raise ArchitectureError(f"{name}: Tokenize needs `op` with one entry per node "
                                    f"({n} nodes), got "
                                    f"{None if op is None else tuple(op.shape)}")
        if ei.numel() and (int(ei.min()) < 0 or int(ei.max()) >= n):
            raise ArchitectureError(f"{name}: edge_index refers to a node outside 0..{n - 1}")
        src, dst = ei[0], ei[1]
        pos = torch.arange(n, dtype=torch.float64)

        t_op = self._encode(op.view(-1), self.num_freqs)                  # Eq. 6
        t_self = self._encode(pos, self.num_freqs)                        # Eq. 7
        t_sour = scatter(self._encode(src.to(torch.float64), self.num_freqs), dst, dim=0,
                         dim_size=n, reduce="sum")                        # Eq. 8
        roots = degree(dst, n) == 0
        t_sour[roots] = self._encode(torch.tensor([ROOT_SOURCE]), self.num_freqs)
        parts = [t_op, t_self, t_sour]

        end = self._encode(torch.tensor([END_POSITION]), self.num_freqs)
        end_parts = [end, end, end]
        for field, width in (("op_attrs", 8), ("out_shape", 4)):
            values = getattr(data, field, None)
            if values is None:
                continue
            if values.dim() != 2 or values.size(0) != n:
                raise ArchitectureError(f"{name}: `{field}` must have shape [{n}, {width}] "
                                        f"(one row per node), got {tuple(values.shape)}")
            parts.append(self._value_parts(values.to(torch.float64)))
            end_a = self._encode(torch.full((values.size(1),), END_POSITION), self.attr_freqs)
            end_parts.append(end_a.flatten().unsqueeze(0))

        data.tokens = torch.cat(parts, dim=-1).float()
        data.end_token = torch.cat(end_parts, dim=-1).float()
        data.depth_enc = sinusoid_encoding([[float(n)]], self.depth_freqs).view(1, -1)  # Eq. 9 input
        static = getattr(data, "static", None)
        if static is not None:
            data.static_enc = self._value_parts_static(static.to(torch.float64).view(1, -1))
        return data

    def _value_parts_static(self, static: Tensor) -> Tensor:
        return self._encode(static, self.attr_freqs).flatten(1).float()

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(num_freqs={self.num_freqs}, "
                f"depth_freqs={self.depth_freqs}, attr_freqs={self.attr_freqs})")
