r"""Few-shot latency of whole networks: a latency predictor trained on one setting (a zoo
latency dataset: device, runtime, batch size), adapted to another from k measured networks.

The pre-trained model is any latency :class:`~pyg_nar.models.Predictor` of ONNX graphs (e.g.
:class:`~pyg_nar.models.NARFormerV2` trained by ``pyg-nar train narformer-v2 nnlqp:FOLDER``);
:func:`adapt_network` fits linear read-outs of its log-prediction and of the graphs' static
counts (FLOPs, parameters, memory access) to the k measurements, with the same family selection
as :func:`~pyg_nar.fewshot.adapt` (:func:`~pyg_nar.fewshot.adapt.fit_families`), and returns an
:class:`AdaptedNetworkLatency`, a registered predictor that reads the same graphs (the base
model's transform) and saves like any other (:func:`~pyg_nar.checkpoint.save_checkpoint`).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from pyg_nar.errors import PipelineError
from pyg_nar.fewshot.adapt import LAMBDAS, FamilyFit, FamilyReadouts, fit_families
from pyg_nar.fewshot.model import check_latencies
from pyg_nar.models.base import Predictor
from pyg_nar.models.registry import model_class, register_model

__all__ = ["NETWORK_FAMILIES", "AdaptedNetworkLatency", "adapt_network", "network_features"]

#: The adaptation families of whole networks (as :data:`~pyg_nar.fewshot.FAMILIES`): a line
#: in log space on the base model's log-prediction, alone or with log FLOPs or all the log
#: static counts; the static counts alone; log FLOPs alone (non-negative slope).
NETWORK_FAMILIES = {
    "base": (("base",), "log", "ridge"),
    "base_flops": (("base", "log_flops"), "log", "ridge"),
    "base_static": (("base", "log_static"), "log", "ridge"),
    "static": (("log_static",), "log", "ridge"),
    "flops": (("log_flops",), "log", "nonneg"),
}
_TINY = 1e-6


def network_features(base: torch.nn.Module, batch) -> dict[str, Tensor]:
    """The adaptation features of a batch of ONNX graphs (float64): ``base`` ``[B, 1]`` the
    base model's log-prediction (ms), ``log_static`` ``[B, 3]`` log MFLOPs, M parameters and MB
    of memory access (the graphs' ``static`` row, :data:`~pyg_nar.networks.flops.STATIC_FIELDS`),
    ``log_flops`` ``[B, 1]``."""
    if getattr(batch, "static", None) is None:
        raise PipelineError("few-shot network latency: the graphs have no 'static' row (FLOPs, "
                            "parameters, memory); give graphs of pyg_nar.networks.from_onnx")
    with torch.no_grad():
        pred = base(batch).reshape(-1, 1).double()
    static = batch.static[:, 1:4].double()
    return {"base": torch.log(pred.clamp(min=_TINY)), "log_static": torch.log(static.clamp(min=_TINY)),
            "log_flops": torch.log(static[:, :1].clamp(min=_TINY))}


@register_model
class AdaptedNetworkLatency(FamilyReadouts, Predictor):
    r"""A latency predictor of whole networks for a new setting: a pre-trained latency
    predictor (kept frozen) plus, from :func:`adapt_network`, the linear read-outs of its
    features (:func:`network_features`) chosen for the setting:

    .. math::
        \log \hat t(x) = \frac{1}{|F|} \sum_{f \in F} b_f + w_f^\top \phi_f(x)

    with :math:`\phi_f` the family's features (:data:`NETWORK_FAMILIES`).

    Args:
        base_class (str): the registered class of the pre-trained predictor.
        base_config (dict): its ``config``.
        families (list[str]): the chosen families, best first.
        penalties (list[float | None]): their ridge penalties (``None``: non-negative fits).
        cv_rmse (list[float]): their cross-validated RMSE of log-latency on the measurements.
        sizes (list[int]): their numbers of features.
        name (str, optional): the setting's name (default ``"target"``).

    Shapes:
        - **input:** a PyG batch of ONNX graphs, as the base model's transform makes them
        - **output:** :math:`[B]` latencies in ms
    """

    TABLE = NETWORK_FAMILIES

    def __init__(self, base_class: str, base_config: dict, families: list[str],
                 penalties: list[float | None], cv_rmse: list[float], sizes: list[int],
                 name: str = "target"):
        super().__init__()
        if base_class == type(self).__name__:
            raise PipelineError("AdaptedNetworkLatency: the base model cannot be an adapted one")
        self.base = model_class(base_class)(**base_config)
        self.name = name
        self._add_readouts(families, penalties, cv_rmse, sizes)

    @classmethod
    def from_fits(cls, base: torch.nn.Module, fits: Sequence[FamilyFit], floor: float,
                  name: str = "target") -> "AdaptedNetworkLatency":
        """The predictor of ``base`` (a registered model; its weights copied) with ``fits``."""
        out = cls(type(base).__name__, base.config, *cls._fit_arguments(fits), name)
        return out._load_fits(base, fits, floor)

    def forward(self, batch) -> Tensor:
        return torch.exp(self.log_readout(network_features(self.base, batch))).float()

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.name!r}, base={type(self.base).__name__}, "
                f"families={self.families})")


def adapt_network(base: torch.nn.Module, graphs, latencies, *, top: int = 2,
                  lambdas: Sequence[float] = LAMBDAS, families: Sequence[str] | None = None,
                  name: str = "target") -> AdaptedNetworkLatency:
    r"""Adapt a pre-trained latency predictor of whole networks to a new setting from k
    measured networks.

    Args:
        base (Predictor): a registered latency predictor of ONNX graphs (eval mode; frozen).
        graphs: the k measured networks' graphs, as ``base``'s transform makes them (a list of
            :class:`~torch_geometric.data.Data` or a batch).
        latencies: their k latencies in ms on the new setting (finite, positive; at least 2).
        top (int, optional): families averaged (default ``2``).
        lambdas (Sequence[float], optional): ridge penalties tried.
        families (Sequence[str], optional): candidates (default: all of :data:`NETWORK_FAMILIES`).
        name (str, optional): the setting's name.

    Raises:
        PipelineError: fewer than 2 measurements, a latency that is not finite and positive,
            a count of latencies that is not the count of graphs, graphs without ``static``.
    """
    from torch_geometric.data import Batch

    names = list(families or NETWORK_FAMILIES)
    unknown = [f for f in names if f not in NETWORK_FAMILIES]
    if unknown:
        raise PipelineError(f"adapt_network: unknown families {unknown} (known: {', '.join(NETWORK_FAMILIES)})")
    batch = graphs if isinstance(graphs, Batch) else Batch.from_data_list(list(graphs))
    lat = check_latencies(latencies, "adapt_network: measurements")
    if len(lat) != batch.num_graphs:
        raise PipelineError(f"adapt_network: {batch.num_graphs} graphs but {len(lat)} latencies")
    if len(lat) < 2:
        raise PipelineError(f"adapt_network: at least 2 measured networks are needed, got {len(lat)}")
    base.eval()
    fits, floor = fit_families(network_features(base, batch), lat, NETWORK_FAMILIES, names, lambdas)
    out = AdaptedNetworkLatency.from_fits(base, fits[:max(1, top)], floor, name)
    out.selection = fits
    return out
