r"""Label-free pre-training of any pyg_nar encoder: FGP's flow-surrogate reconstruction.

`Kim, Hwang and Shin, "Learning to Flow from Generative Pretext Tasks for Neural Architecture
Encoding", NeurIPS 2025 <https://arxiv.org/abs/2510.18360>`_ (FGP): before supervised training,
the encoder learns, on every architecture of the space and without any accuracy label, to
reconstruct from its graph embedding :math:`\mathbf{g}`

* the **flow surrogate** :math:`\mathbf{s}` (:mod:`pyg_nar.transforms.flow_surrogate`: a fixed
  random forward-then-backward propagation over the DAG), through a decoder
  :math:`D_f` (``Linear -> ReLU -> Linear``), with the squared error
  :math:`\ell_f = \frac{1}{B}\sum_i \lVert D_f(\mathbf{g}_i) - \mathbf{s}_i \rVert^2`;
* the ranking of a **zero-cost proxy** :math:`z` (optional, e.g. ``zen`` or ``params`` from
  :class:`pyg_nar.transforms.ZeroCostProxies`), through a decoder :math:`D_z` and the pairwise
  hinge loss of FlowerFormer (:func:`pyg_nar.losses.hinge_ranking_loss`),

minimising :math:`\lambda_f \ell_f + \lambda_z \ell_z` (FGP: :math:`\lambda_f = \lambda_z = 0.5`,
AdamW lr :math:`10^{-3}`, weight decay :math:`10^{-6}`, 200 epochs, batch 256 for GNNs). The
decoders are then dropped and the whole model is trained on the labelled cells as usual
(:func:`pyg_nar.training.fit`).

The graph embedding is, for every pyg_nar predictor, **the input of its** ``head`` **module**
(:func:`graph_embedding` reads it with a forward pre-hook), so FGP applies to FlowerFormer,
NAR-Former, NAR-Former V2, NN-Former and :class:`~pyg_nar.models.GNN` unchanged.

One deviation from FGP's code: the surrogate targets are standardised per dimension over the
pre-training set (``standardize=True``). On NB201 the raw values spread by 0.01-0.03, so the
squared error would be about :math:`10^{-3}` next to a hinge loss of order 0.5.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Optional

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch
from torch_geometric.loader import DataLoader
from tqdm.auto import tqdm

from pyg_nar.errors import PipelineError
from pyg_nar.losses import hinge_ranking_loss
from pyg_nar.training import seed_everything
from pyg_nar.transforms.flow_surrogate import flow_surrogate

__all__ = ["FGPConfig", "FGPResult", "fgp_pretrain", "graph_embedding", "surrogate_targets"]


@dataclass
class FGPConfig:
    """Settings of :func:`fgp_pretrain` (defaults: FGP's for GNNs on NB201)."""

    epochs: int = 200
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-6
    flow_weight: float = 0.5                #: lambda_f
    proxy_weight: float = 0.5               #: lambda_z (ignored without a proxy)
    proxy_field: Optional[str] = None       #: graph field holding the proxy, e.g. "zc"
    proxy_index: int = 0                    #: its column, for a [1, P] field
    margin: float = 0.5                     #: hinge margin of the proxy ranking
    decoder_hidden: int = 128               #: hidden width of the two decoders
    standardize: bool = True                #: z-score the surrogate targets per dimension
    surrogate: dict = field(default_factory=lambda: dict(dim=7, std=0.1, alpha=0.5, seed=0))
    seed: int = 0
    progress: bool = True

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 2:
            raise ValueError("FGPConfig: epochs must be >= 1 and batch_size >= 2")
        if self.flow_weight < 0 or self.proxy_weight < 0:
            raise ValueError("FGPConfig: the loss weights must be non-negative")


@dataclass
class FGPResult:
    """What :func:`fgp_pretrain` returns; the model already holds the pre-trained weights."""

    history: list = field(default_factory=list)  #: one dict per epoch
    wall_time: float = 0.0
    config: dict = field(default_factory=dict)


def graph_embedding(model: nn.Module, batch, **forward_kwargs) -> Tensor:
    """The ``[B, D]`` graph embedding of ``model``: the input of its ``head`` module, read by a
    forward pre-hook while ``model(batch)`` runs (the head's own output is discarded)."""
    head = getattr(model, "head", None)
    if not isinstance(head, nn.Module):
        raise PipelineError(f"{type(model).__name__} has no `head` module, whose input is the "
                            "graph embedding that FGP pre-trains")
    captured: list[Tensor] = []
    handle = head.register_forward_pre_hook(lambda module, args: captured.append(args[0]))
    try:
        model(batch, **forward_kwargs)
    finally:
        handle.remove()
    if len(captured) != 1:
        raise PipelineError(f"{type(model).__name__}: its head ran {len(captured)} times in one "
                            "forward; the graph embedding is ambiguous")
    return captured[0]


def surrogate_targets(graphs: list, num_ops: int, dim: int = 7, std: float = 0.1,
                      alpha: float = 0.5, seed: int = 0) -> Tensor:
    """The ``[len(graphs), dim]`` flow surrogates of ``graphs``: their ``flow_surrogate``
    field where every graph has one, else computed in one vectorised call."""
    if all(getattr(g, "flow_surrogate", None) is not None for g in graphs):
        return torch.cat([g.flow_surrogate.view(1, -1) for g in graphs]).float()
    b = Batch.from_data_list([type(g)(op=g.op, edge_index=g.edge_index, num_nodes=g.num_nodes)
                              for g in graphs])
    return flow_surrogate(b.op, b.edge_index, num_ops, b.batch, b.num_graphs, dim=dim, std=std,
                          alpha=alpha, seed=seed)


def _proxy_values(graphs: list, config: FGPConfig) -> Tensor:
    values = []
    for k, g in enumerate(graphs):
        v = getattr(g, config.proxy_field, None)
        if v is None:
            raise PipelineError(f"fgp_pretrain: graph {k} has no {config.proxy_field!r} field "
                                "(add it with pyg_nar.transforms.ZeroCostProxies)")
        values.append(v.reshape(-1)[config.proxy_index])
    out = torch.stack(values).float()
    if not bool(torch.isfinite(out).all()):
        raise PipelineError(f"fgp_pretrain: {config.proxy_field}[{config.proxy_index}] is missing "
                            f"(NaN) for {int((~torch.isfinite(out)).sum())} graphs")
    return out


def _decoder(in_dim: int, hidden: int, out_dim: int) -> nn.Module:
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, out_dim))


def fgp_pretrain(model: nn.Module, graphs, config: Optional[FGPConfig] = None,
                 num_ops: Optional[int] = None) -> FGPResult:
    """Pre-train ``model`` in place on ``graphs`` (no labels needed) with FGP's objective
    (module docstring); returns the loss history.

    ``graphs`` are the model's input graphs (its transform applied), typically every
    architecture of the benchmark. ``num_ops`` (default: ``model.num_ops``) is needed to
    compute the surrogate of graphs that lack a ``flow_surrogate`` field.
    """
    config = config or FGPConfig()
    start = time.perf_counter()
    graphs = [graphs[i] for i in range(len(graphs))] if hasattr(graphs, "__getitem__") else list(graphs)
    if len(graphs) < 2:
        raise PipelineError("fgp_pretrain: needs at least two graphs")
    num_ops = num_ops if num_ops is not None else getattr(model, "num_ops", None)
    if num_ops is None:
        raise PipelineError("fgp_pretrain: pass num_ops (the model has no `num_ops` attribute)")
    target = surrogate_targets(graphs, num_ops, **config.surrogate)
    if config.standardize:
        std = target.std(0)
        target = (target - target.mean(0)) / torch.where(std > 1e-12, std, torch.ones_like(std))
    use_proxy = config.proxy_field is not None and config.proxy_weight > 0
    proxy = _proxy_values(graphs, config) if use_proxy else None
    items = []
    for k, g in enumerate(graphs):
        g = copy.copy(g)
        g.fgp_flow = target[k:k + 1]
        if proxy is not None:
            g.fgp_proxy = proxy[k:k + 1]
        items.append(g)

    seed_everything(config.seed)
    device = next(model.parameters()).device
    model.train()
    with torch.no_grad():
        probe = DataLoader(items[:2], batch_size=2)
        emb_dim = graph_embedding(model, next(iter(probe)).to(device)).size(-1)
    flow_dec = _decoder(emb_dim, config.decoder_hidden, target.size(1)).to(device)
    proxy_dec = _decoder(emb_dim, config.decoder_hidden // 2, 1).to(device)
    params = list(model.parameters()) + list(flow_dec.parameters()) + list(proxy_dec.parameters())
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    loader = DataLoader(items, batch_size=config.batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(config.seed))
    history = []
    bar = tqdm(range(1, config.epochs + 1), disable=not config.progress, desc="fgp", dynamic_ncols=True)
    for epoch in bar:
        sums, seen = {"loss": 0.0, "flow": 0.0, "proxy": 0.0}, 0
        for batch in loader:
            batch = batch.to(device)
            emb = graph_embedding(model, batch)
            flow = ((flow_dec(emb) - batch.fgp_flow) ** 2).sum(1).mean()
            loss = config.flow_weight * flow
            parts = {"flow": float(flow.detach())}
            if proxy is not None:
                rank = hinge_ranking_loss(proxy_dec(emb).view(-1), batch.fgp_proxy.view(-1),
                                          config.margin)
                loss = loss + config.proxy_weight * rank
                parts["proxy"] = float(rank.detach())
            value = float(loss.detach())
            if not math.isfinite(value):
                raise FloatingPointError(f"fgp_pretrain: the loss became {value} at epoch {epoch}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            n = int(batch.num_graphs)
            seen += n
            sums["loss"] += value * n
            for key, v in parts.items():
                sums[key] += v * n
        record = {"epoch": epoch, **{k: v / seen for k, v in sums.items()}}
        history.append(record)
        if config.progress:
            bar.set_postfix(loss=f"{record['loss']:.4g}")
    bar.close()
    model.eval()
    return FGPResult(history=history, wall_time=time.perf_counter() - start, config=asdict(config))
