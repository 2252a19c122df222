r"""NAR-Former's tokenizer (Yi et al., CVPR 2023, Sec. 3.2 and supplement Sec. 1).

A graph of :math:`N` nodes becomes node tokens (Eq. 2, 6-8), an end token and the input of the
depth token (Eq. 9); the model prepends/appends the last two. Every part is the sinusoid
encoding :func:`sinusoid_encoding` (Eq. 3-5) of a real number.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

from pyg_nar.data import ArchitectureError
from pyg_nar.transforms._common import arch_name, edge_arrays, num_nodes_of
from pyg_nar.utils.arguments import check_int

__all__ = ["END_POSITION", "ROOT_SOURCE", "Tokenize", "sinusoid_encoding", "sinusoid_frequencies"]

#: Value encoded in every part of the end token (Sec. 3.2, "Special Tokens": 1e5).
END_POSITION = 1e5
#: Source position of a node without predecessors (Sec. 3.2: :math:`\mathcal{P}(v_0) = \{-1\}`).
ROOT_SOURCE = -1.0
ROOT_SOURCE_ROW = 0  # row of f(-1) in Tokenize's table of integer encodings


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
    each value encoded with ``attr_freqs`` frequencies, zeros included (the official code's
    4 x 64 = 256-dim static vector).

    Args:
        num_freqs: :math:`L` for the operation, self-position and source-position parts
            (paper: 32).
        depth_freqs: :math:`L` of the depth encoding (official code: 48, i.e. 96 dims).
        attr_freqs: :math:`L` for each attribute, output-shape and static value
            (default: ``num_freqs``).
    """

    #: the most frequencies of any encoding (the papers use 16 to 48)
    MAX_FREQS = 1024
    #: bytes of position parts :meth:`_position_parts` keeps (the cache is emptied beyond)
    POSITION_CACHE_BYTES = 16 * 2 ** 20

    def __init__(self, num_freqs: int = 32, depth_freqs: int = 48, attr_freqs: int | None = None):
        for name, v in (("num_freqs", num_freqs), ("depth_freqs", depth_freqs),
                        ("attr_freqs", attr_freqs)):
            check_int(v, name, "Tokenize", 1, self.MAX_FREQS, none=name == "attr_freqs")
        self.num_freqs = num_freqs
        self.depth_freqs = depth_freqs
        self.attr_freqs = num_freqs if attr_freqs is None else attr_freqs
        self._table: np.ndarray | None = None    # float64, row k + 1 = f(k)
        self._table32: np.ndarray | None = None  # the same, rounded to float32
        self._end_cache: dict = {}
        self._depth_cache: dict = {}
        self._position_cache: dict = {}
        self._position_bytes = 0

    def _encode(self, values, num_freqs: int) -> Tensor:
        return sinusoid_encoding(values, num_freqs, dtype=torch.float64)

    def _integer_table(self, largest: int) -> tuple[np.ndarray, np.ndarray]:
        """float64 encodings of the integers ``-1 .. largest`` (row ``k + 1`` is ``f(k)``) and
        their float32 rounding, computed once by :func:`sinusoid_encoding` and grown on demand:
        positions and op indices are small integers, so a lookup replaces the sin/cos work
        for each graph."""
        table = self._table
        if table is None or table.shape[0] < largest + 2:
            size = max(largest + 2, 64, 0 if table is None else 2 * table.shape[0])
            table = self._encode(torch.arange(-1, size - 1, dtype=torch.float64),
                                 self.num_freqs).numpy()
            self._table, self._table32 = table, table.astype(np.float32)
            self._position_cache.clear()
            self._position_bytes = 0
        return self._table, self._table32

    def _end_token(self, widths: tuple) -> np.ndarray:
        """``[1, D]``: f(1e5) in the three parts, and in each attribute/shape slot (cached)."""
        if widths not in self._end_cache:
            end = self._encode(torch.tensor([END_POSITION]), self.num_freqs)
            parts = [end, end, end] + [
                self._encode(torch.full((1, w), END_POSITION), self.attr_freqs).flatten(1)
                for w in widths]
            self._end_cache[widths] = torch.cat(parts, dim=-1).float().numpy()
        return self._end_cache[widths]

    def _depth_enc(self, n: int) -> np.ndarray:
        """``[1, 2 * depth_freqs]``: f(N), the input of the depth token (Eq. 9; cached per N)."""
        if n not in self._depth_cache:
            self._depth_cache[n] = sinusoid_encoding([[float(n)]],
                                                     self.depth_freqs).view(1, -1).numpy()
        return self._depth_cache[n]

    def _value_parts(self, values: Tensor) -> np.ndarray:
        """Encode each column of ``[N, K]`` float64 values in one call; 0 (absent) gives zeros
        -> ``[N, K * 2L_a]`` float64."""
        enc = self._encode(values, self.attr_freqs)                        # [N, K, 2L_a]
        enc = enc * (values != 0).unsqueeze(-1)
        return enc.flatten(1).numpy()

    def _inputs(self, data: Data, transform: str = "Tokenize"):
        """What the tokenizer reads, checked: ``(n, op, src, dst, values, widths)`` with ``op``,
        ``src``, ``dst`` int64 NumPy arrays and ``values`` the ``[N, K]`` float64 tensor of the
        ``op_attrs`` and ``out_shape`` columns (``None`` for cells), ``widths`` their ``K`` s."""
        n = num_nodes_of(data, transform)
        op = getattr(data, "op", None)
        if op is None or op.numel() != n:
            raise ArchitectureError(f"{arch_name(data)}: {transform} needs `op` with one entry "
                                    f"per node ({n} nodes), got "
                                    f"{None if op is None else tuple(op.shape)}")
        op = op.view(-1).long().cpu().numpy()
        if int(op.view(np.uint64).max()) >= 2 ** 63:  # read as unsigned, a negative is huge
            raise ArchitectureError(f"{arch_name(data)}: node {int(np.flatnonzero(op < 0)[0])} "
                                    f"has a negative operation index")
        src, dst = edge_arrays(data, transform, n)
        values, widths = [], []
        for field, width in (("op_attrs", 8), ("out_shape", 4)):
            value = getattr(data, field, None)
            if value is None:
                continue
            if value.dim() != 2 or value.size(0) != n:
                raise ArchitectureError(f"{arch_name(data)}: `{field}` must have shape "
                                        f"[{n}, {width}] (one row per node), got "
                                        f"{tuple(value.shape)}")
            values.append(value.to(torch.float64).cpu())
            widths.append(value.size(1))
        values = torch.cat(values, dim=1) if values else None
        return n, op, src, dst, values, tuple(widths)

    def _position_parts(self, src: np.ndarray, dst: np.ndarray, n: int) -> np.ndarray:
        """``[N, 4L]`` float32: the self and source parts, which depend on the graph's shape
        only, cached per shape (e.g. all NAS-Bench-201 cells share one; at most
        :attr:`POSITION_CACHE_BYTES` are kept).

        The source part sums float64 rows in edge order (``np.add.at``, as ``index_add_``
        would) and is rounded to float32 once, like every other part."""
        key = (n, src.tobytes(), dst.tobytes())
        parts = self._position_cache.get(key)
        if parts is None:
            t64, t32 = self._integer_table(n)
            w = t64.shape[1]
            parts = np.empty((n, 2 * w), dtype=np.float32)
            parts[:, :w] = t32[1:n + 1]                                    # Eq. 7
            sour = np.zeros((n, w))
            np.add.at(sour, dst, t64[src + 1])                             # Eq. 8
            sour[np.bincount(dst, minlength=n) == 0] = t64[ROOT_SOURCE_ROW]  # P(v) = {-1}
            parts[:, w:] = sour
            self._position_bytes += parts.nbytes
            if self._position_bytes > self.POSITION_CACHE_BYTES:
                self._position_cache.clear()
                self._position_bytes = parts.nbytes
            self._position_cache[key] = parts
        return parts

    def _node_tokens(self, op: np.ndarray, src: np.ndarray, dst: np.ndarray, n: int,
                     values: Tensor | None) -> np.ndarray:
        """``[N, D]`` float32 node tokens of checked inputs (see :meth:`_inputs`): op part
        from the cached table, position parts from :meth:`_position_parts`."""
        t64, t32 = self._integer_table(max(n, int(op.max())))
        w = t64.shape[1]
        extra = 0 if values is None else values.size(1) * 2 * self.attr_freqs
        tokens = np.empty((n, 3 * w + extra), dtype=np.float32)
        tokens[:, :w] = t32[op + 1]                                        # Eq. 6
        tokens[:, w:3 * w] = self._position_parts(src, dst, n)             # Eq. 7, 8
        if values is not None:
            tokens[:, 3 * w:] = self._value_parts(values)
        return tokens

    def renumbered_tokens(self, data: Data, order, transform: str = "Tokenize") -> Tensor:
        r"""The ``tokens`` ``[N, D]`` of ``data`` renumbered so that new node ``k`` is old
        node ``order[k]`` - the same bits as ``self(renumber_nodes(copy, order)).tokens``
        (:func:`pyg_nar.data.renumber_nodes`) for a copy holding what the tokenizer reads
        (``op``, ``edge_index`` and, for whole networks, ``op_attrs`` / ``out_shape``),
        computed on arrays without building the copy.

        ``order`` is a topological order of the graph (so that the renumbered graph still
        satisfies the :mod:`pyg_nar.data` contract; an :class:`ArchitectureError` if it is
        not a permutation), or a function ``(src, dst, num_nodes) -> order`` of the graph's
        checked edge arrays that draws one, such as
        :meth:`~pyg_nar.transforms.FlowConsistentShuffle.draw_order`, whose result is used
        unchecked: :class:`~pyg_nar.transforms.FlowConsistentPair` makes its ``aug_tokens``
        so, at no cost over the tokens themselves.
        ``transform`` names the caller in error messages.
        """
        n, op, src, dst, values, _ = self._inputs(data, transform)
        if callable(order):  # trusted, as a drawn order is a permutation by construction
            order = np.asarray(order(src, dst, n), dtype=np.int64)
            rank = np.empty(n, dtype=np.int64)
            rank[order] = np.arange(n)
        else:
            order, rank = self._checked_order(order, n, f"{arch_name(data)}: {transform}")
        return torch.from_numpy(self._node_tokens(
            op[order], rank[src], rank[dst], n,
            None if values is None else values[torch.from_numpy(order)]))

    @staticmethod
    def _checked_order(order, n: int, where: str) -> tuple[np.ndarray, np.ndarray]:
        """``order`` as an int64 array and its inverse ``rank`` (new number of each old node);
        an :class:`ArchitectureError` unless it is a permutation of ``0 .. n - 1``."""
        order = np.asarray(order, dtype=np.int64)
        rank = np.full(n, -1, dtype=np.int64)
        try:
            if order.shape != (n,):
                raise IndexError
            rank[order] = np.arange(n)
            if min(rank.min(), order.min()) < 0:  # a node left out (so another repeated)
                raise IndexError
        except IndexError:
            raise ArchitectureError(f"{where}: the order is not a permutation of the {n} nodes "
                                    f"0..{n - 1}") from None
        return order, rank

    def forward(self, data: Data) -> Data:
        n, op, src, dst, values, widths = self._inputs(data)
        data.tokens = torch.from_numpy(self._node_tokens(op, src, dst, n, values))
        data.end_token = torch.from_numpy(self._end_token(widths).copy())
        data.depth_enc = torch.from_numpy(self._depth_enc(n).copy())
        static = getattr(data, "static", None)
        if static is not None:
            static = static.to(torch.float64).view(1, -1)
            data.static_enc = self._encode(static, self.attr_freqs).flatten(1).float()
        return data

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(num_freqs={self.num_freqs}, "
                f"depth_freqs={self.depth_freqs}, attr_freqs={self.attr_freqs})")
