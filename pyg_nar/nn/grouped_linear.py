from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["GroupedLinear"]


class GroupedLinear(nn.Module):
    r"""The grouped linear map of `"NAR-Former V2: Rethinking Transformer for Universal Neural
    Network Representation Learning" <https://arxiv.org/abs/2306.10792>`_ (official code
    ``GroupLinear``, after the pyramidal recurrent unit): the input is split into :math:`G`
    equal chunks, chunk :math:`g` is mapped by its own weight, and (optionally) each output
    chunk is layer-normalised with one shared LayerNorm over the chunk width, as the code's
    ``glt_norm=LN`` does:

    .. math::
        \mathbf{x}' = \big\Vert_{g=1}^{G} \mathrm{LN}\big(\mathbf{x}^{(g)} \mathbf{W}_g
        + \mathbf{b}_g\big), \qquad \mathbf{W}_g \in \mathbb{R}^{\frac{C_{in}}{G} \times
        \frac{C_{out}}{G}}

    It uses :math:`C_{in} C_{out} / G` weights instead of :math:`C_{in} C_{out}`.

    Equivalents (``tests/nn/test_library_equivalents.py`` compares them): without the norm
    it is :class:`torch.nn.Conv1d` ``(in_channels, out_channels, kernel_size=1,
    groups=groups)`` on a length-1 sequence (its weight block :math:`g` is
    :math:`\mathbf{W}_g^\top`), and a :class:`torch.nn.Linear` whose weight is the
    block-diagonal ``torch.block_diag(*weight).T``. Written as one batched
    :func:`torch.einsum` over the groups, with the code's Xavier initialisation per group.

    Args:
        in_channels (int): input width :math:`C_{in}`; divisible by ``groups``.
        out_channels (int): output width :math:`C_{out}`; divisible by ``groups``.
        groups (int, optional): number of groups :math:`G`. (default: :obj:`8`)
        bias (bool, optional): learn the biases :math:`\mathbf{b}_g`. (default: :obj:`True`)
        norm (bool, optional): layer-normalise each output chunk. (default: :obj:`True`)

    Shapes:
        - **input:** :math:`(*, C_{in})`
        - **output:** :math:`(*, C_{out})`
    """

    def __init__(self, in_channels: int, out_channels: int, groups: int = 8,
                 bias: bool = True, norm: bool = True):
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"GroupedLinear: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must both be divisible by groups ({groups})")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        gi, go = in_channels // groups, out_channels // groups
        self.weight = nn.Parameter(torch.empty(groups, gi, go))
        self.bias = nn.Parameter(torch.zeros(groups, go)) if bias else None
        self.norm = nn.LayerNorm(go) if norm else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for w in self.weight:
            nn.init.xavier_uniform_(w)
        if self.bias is not None:
            nn.init.zeros_(self.bias)
        if self.norm is not None:
            self.norm.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        lead = x.shape[:-1]
        x = x.reshape(-1, self.groups, self.in_channels // self.groups)
        x = torch.einsum("ngi,gio->ngo", x, self.weight)
        if self.bias is not None:
            x = x + self.bias
        if self.norm is not None:
            x = self.norm(x)
        return x.reshape(*lead, self.out_channels)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
                f"groups={self.groups}, norm={self.norm is not None})")
