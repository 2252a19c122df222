r"""KernelSum: a whole network's latency as the sum of per-operator latencies predicted from
each operator's roofline terms, in the spirit of nn-Meter's kernel-level prediction
(Zhang et al., `MobiSys 2021 <https://doi.org/10.1145/3458864.3467882>`_).

A family the predictor never saw is made of operators it did see (convolutions, matrix
products, normalisations, activations) at sizes it did see: what transfers across families is
the cost of one operator of a given type, size and neighbourhood, not a whole-network
embedding. So the model predicts, for every node :math:`i`, a latency
:math:`t_i = \exp(z_i) > 0` from its operator type, its roofline terms (``node_cost``:
MFLOPs, MB read, MB written, MB of weights; :data:`pyg_nar.networks.flops.NODE_COST_FIELDS`),
its attributes and its output shape, and the graph's latency is
:math:`\hat y = \sum_i t_i` (:func:`~torch_geometric.nn.global_add_pool`). Train it on the
log loss (:func:`pyg_nar.losses.log_mse_loss`, the latency recipe's default): only the
graphs' latencies are needed, the per-operator split is learned.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn import global_add_pool
from torch_geometric.utils import scatter

from pyg_nar.models.base import Predictor
from pyg_nar.models.common import EXP_BOUND, check_ops, mlp, node_graph_index, require_field
from pyg_nar.models.registry import register_model

__all__ = ["KernelSum"]

_HINT = "whole-network graphs from pyg_nar.networks.from_onnx carry it (graph format 2)"
#: Added to the MFLOPs / MB of ``node_cost`` before the logarithm (a zero cost is 1e-3).
COST_EPS = 1e-3


@register_model
class KernelSum(Predictor):
    r"""Latency as a sum of per-operator roofline latencies (module doc): for node :math:`i`
    of operator type :math:`o`,

    .. math::
        t_i = \big(e^{u_o} F_i + e^{v_o} M_i + e^{w_o}\big)\, e^{r_i}, \qquad
        \hat y = \sum_i t_i,

    with :math:`F_i` its MFLOPs, :math:`M_i` the MB it reads and writes (``node_cost``),
    :math:`e^{u_o}` the operator's time per MFLOP, :math:`e^{v_o}` per MB and :math:`e^{w_o}`
    its fixed overhead (ms; learned per operator type), and :math:`r_i` a bounded correction
    (:math:`|r_i| \le` ``max_correction``, zero at the start) from an MLP over
    :math:`[\,e_o \,\|\, \log(c_i + \epsilon) \,\|\, \log(1 + a_i) \,\|\, \log(1 + s_i)\,]`:
    the operator embedding, its roofline terms, attributes (``op_attrs``) and output shape
    (``out_shape``); with ``context=True`` also the mean embeddings of its predecessors and
    successors (an activation fused into the convolution before it costs nothing in
    onnxruntime), which fit the training families better but transfer worse to mixes of
    operators never seen side by side (off by default). The linear roofline part extrapolates to sizes
    the training set never had; the correction models what the roofline misses (a depthwise
    convolution runs far below peak).

    Args:
        num_ops (int): size of the operator vocabulary.
        hidden (int, optional): width of the correction MLP. (default: :obj:`64`)
        op_dim (int, optional): width of the operator embedding. (default: :obj:`16`)
        num_layers (int, optional): hidden layers of the correction MLP. (default: :obj:`2`)
        max_correction (float, optional): bound of :math:`|r_i|`; 0: the roofline alone.
            (default: :obj:`2.0`)
        context (bool, optional): the correction also sees the neighbours' operators.
            (default: :obj:`False`)
        init (tuple[float, float, float], optional): the initial :math:`(u, v, w)` of every
            operator: :math:`e^{-3}` ms per MFLOP, :math:`e^{-2.3}` ms per MB,
            :math:`e^{-5.3}` ms each (a core's order of magnitude).
            (default: :obj:`(-3.0, -2.3, -5.3)`)

    Shapes:
        - **input:** a batch with ``op`` :math:`[N]`, ``edge_index`` :math:`[2, E]`,
          ``node_cost`` :math:`[N, 4]`, ``op_attrs`` :math:`[N, 8]`, ``out_shape`` :math:`[N, 4]`
        - **output:** :math:`[B]`, positive (ms)
    """

    def __init__(self, num_ops: int, hidden: int = 64, op_dim: int = 16, num_layers: int = 2,
                 max_correction: float = 2.0, context: bool = False,
                 init: tuple = (-3.0, -2.3, -5.3)):
        super().__init__()
        if max_correction < 0:
            raise ValueError(f"KernelSum: max_correction must be >= 0, got {max_correction}")
        self.num_ops, self.max_correction, self.context = num_ops, max_correction, context
        self.roofline = nn.Embedding(num_ops, 3)
        with torch.no_grad():
            self.roofline.weight.copy_(torch.tensor(list(init), dtype=torch.float).expand(num_ops, 3))
        self.op_emb = nn.Embedding(num_ops, op_dim)
        self.correction = mlp([(3 if context else 1) * op_dim + 4 + 8 + 4] + [hidden] * num_layers + [1])
        last = self.correction.lins[-1]
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    def node_latency(self, batch) -> Tensor:
        """``[N]``: each node's predicted latency :math:`t_i` (ms)."""
        op = require_field(batch, "op", "KernelSum")
        check_ops(op, self.num_ops, "KernelSum")
        cost = require_field(batch, "node_cost", "KernelSum", _HINT).float().clamp_min(0)
        attrs = require_field(batch, "op_attrs", "KernelSum", _HINT).float()
        shape = require_field(batch, "out_shape", "KernelSum", _HINT).float()
        k = torch.exp(self.roofline(op).clamp(-EXP_BOUND, EXP_BOUND))
        base = k[:, 0] * cost[:, 0] + k[:, 1] * (cost[:, 1] + cost[:, 2]) + k[:, 2]
        if self.max_correction == 0:
            return base
        parts = [self.op_emb(op)]
        if self.context:
            src, dst = batch.edge_index
            n = op.numel()
            parts += [scatter(parts[0][src], dst, 0, dim_size=n, reduce="mean"),
                      scatter(parts[0][dst], src, 0, dim_size=n, reduce="mean")]
        x = torch.cat(parts + [torch.log(cost + COST_EPS) / 4, torch.log1p(attrs.clamp_min(0)) / 4,
                               torch.log1p(shape.clamp_min(0)) / 4], dim=-1)
        r = self.max_correction * torch.tanh(self.correction(x).squeeze(-1) / self.max_correction)
        return base * torch.exp(r)

    def forward(self, batch) -> Tensor:
        b, num_graphs = node_graph_index(batch)
        return global_add_pool(self.node_latency(batch).unsqueeze(-1), b, size=num_graphs).squeeze(-1)
