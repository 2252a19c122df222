r"""NAR-Former V2's tokenizer (Yi et al., NeurIPS 2023, Sec. 3.2; official code
``predictor/feature.py`` and ``dataset.py``)."""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

from pyg_nar.errors import ArgumentError, FieldError
from pyg_nar.transforms._common import arch_name, num_nodes_of
from pyg_nar.transforms.tokenize import sinusoid_encoding
from pyg_nar.utils.arguments import check_int

__all__ = ["TokenizeV2", "transformer_sinusoid"]

#: frequencies of the ``'nerf'`` encoding of op and position (cell tokens: 2 x 64 dims)
CELL_FREQS = 32
#: frequencies of the ``'trans'`` encoding of attributes, shapes and static features
TRANS_FREQS = 5


def transformer_sinusoid(values: Tensor, num_freqs: int) -> Tensor:
    r"""V2's ``'trans'`` encoding of every entry of ``values``: ``[..., K] -> [..., K * 2L]``,
    :math:`[\sin(x / 10000^{j/L}), \cos(x / 10000^{j/L})]_{j=0..L-1}` interleaved
    (``get_embedder(L, 'trans')`` of the V2 code, used for ``op_attrs``, ``out_shape`` and
    ``static`` with ``L = 5``). Computed in float64, returned as float32. (The ``'nerf'``
    encoding of op and position is :func:`pyg_nar.transforms.sinusoid_encoding`.)
    """
    freqs = 1.0 / (10000.0 ** (torch.arange(num_freqs, dtype=torch.float64,
                                            device=values.device) / num_freqs))
    arg = values.to(torch.float64).unsqueeze(-1) * freqs  # [..., K, L]
    out = torch.stack([torch.sin(arg), torch.cos(arg)], dim=-1)  # [..., K, L, 2]
    return out.flatten(-3).to(torch.float32)


class TokenizeV2(BaseTransform):
    r"""NAR-Former V2's node tokens (NeurIPS 2023, Sec. 3.2), as the ``tokens`` field the
    :class:`~pyg_nar.models.NARFormerV2` model reads.

    * **cells** (``network_features=False``, the default): per node
      :math:`[f_{nerf}(\mathrm{op}_i) \,|\, f_{nerf}(i)]` with :math:`f_{nerf}` NAR-Former's
      :func:`~pyg_nar.transforms.sinusoid_encoding` at 32 frequencies and :math:`i` the node's
      index in its graph: ``D = 128``. No topology is in the token: the graph enters only
      through the attention's adjacency.
    * **whole networks** (``network_features=True``): per node
      :math:`[\mathrm{onehot}(\mathrm{op}_i) \,|\, f_{trans}(\mathrm{attrs}_i) \,|\,
      f_{trans}(\mathrm{shape}_i)]` with :math:`f_{trans}` :func:`transformer_sinusoid` at 5
      frequencies of each of the 8 ``op_attrs`` and 4 ``out_shape`` values:
      ``D = num_ops + 80 + 40`` (V2's 152-d token with 32 operation slots).

    The tokens are computed once per graph on the CPU, in float64 and rounded to float32, so a
    batch on any device carries the same numbers.

    Args:
        network_features (bool, optional): build whole-network tokens from ``op_attrs`` and
            ``out_shape`` instead of cell tokens. (default: :obj:`False`)
        num_ops (int, optional): size of the operation vocabulary, the width of the one-hot
            part; needed with ``network_features=True``. (default: :obj:`None`)

    Shapes:
        - **input:** ``op`` :math:`[N]`, ``edge_index`` :math:`[2, E]`; whole networks also
          ``op_attrs`` :math:`[N, 8]` and ``out_shape`` :math:`[N, 4]`
        - **output:** adds ``tokens`` :math:`[N, D]` float32
    """

    #: the largest operation vocabulary (ONNX has a few hundred operators)
    MAX_OPS = 2 ** 16

    def __init__(self, network_features: bool = False, num_ops: int | None = None):
        if network_features and (not isinstance(num_ops, int) or num_ops < 1):
            raise ArgumentError(f"TokenizeV2: network_features=True needs num_ops, the size of the "
                             f"operation vocabulary, got {num_ops!r}")
        check_int(num_ops, "num_ops", "TokenizeV2", 1, self.MAX_OPS, none=True)
        self.network_features = bool(network_features)
        self.num_ops = num_ops

    @property
    def width(self) -> int:
        """``D``, the width of the tokens."""
        if self.network_features:
            return self.num_ops + (8 + 4) * 2 * TRANS_FREQS
        return 2 * 2 * CELL_FREQS

    def _op(self, data: Data, n: int) -> Tensor:
        op = getattr(data, "op", None)
        if op is None or op.numel() != n:
            raise FieldError(f"{arch_name(data)}: TokenizeV2 needs `op` with one entry per node "
                             f"({n} nodes), got {None if op is None else tuple(op.shape)}")
        op = op.view(-1).long().cpu()
        limit = self.num_ops if self.network_features else None
        bad = (op < 0) if limit is None else (op < 0) | (op >= limit)
        if bool(bad.any()):
            k = int(bad.nonzero()[0])
            raise FieldError(f"{arch_name(data)}: TokenizeV2: node {k} has operation index {int(op[k])}, "
                             + ("a negative index" if limit is None else
                                f"outside the vocabulary of num_ops={limit} operations"))
        return op

    def _values(self, data: Data, field: str, n: int, width: int) -> Tensor:
        value = getattr(data, field, None)
        if value is None:
            raise FieldError(f"{arch_name(data)}: TokenizeV2(network_features=True) needs the "
                             f"field {field!r} (whole-network graphs from pyg_nar.networks carry it)")
        if value.dim() != 2 or tuple(value.shape) != (n, width):
            raise FieldError(f"{arch_name(data)}: TokenizeV2: `{field}` must have shape [{n}, {width}], got "
                             f"{tuple(value.shape)}")
        return value.cpu()

    def forward(self, data: Data) -> Data:
        n = num_nodes_of(data, "TokenizeV2")
        op = self._op(data, n)
        if self.network_features:
            attrs = self._values(data, "op_attrs", n, 8)
            shape = self._values(data, "out_shape", n, 4)
            one_hot = torch.nn.functional.one_hot(op, self.num_ops).float()
            data.tokens = torch.cat([one_hot, transformer_sinusoid(attrs, TRANS_FREQS),
                                     transformer_sinusoid(shape, TRANS_FREQS)], dim=-1)
        else:
            position = torch.from_numpy(np.arange(n, dtype=np.int64))
            data.tokens = torch.cat([sinusoid_encoding(op, CELL_FREQS),
                                     sinusoid_encoding(position, CELL_FREQS)], dim=-1)
        return data

    def __repr__(self) -> str:
        if self.network_features:
            return f"{self.__class__.__name__}(network_features=True, num_ops={self.num_ops})"
        return f"{self.__class__.__name__}()"
