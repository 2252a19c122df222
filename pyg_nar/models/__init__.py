"""Predictors: ``forward(batch) -> [B]``, subclasses of :class:`Predictor` registered with
:func:`register_model` (which records the constructor arguments as ``model.config``)."""
from pyg_nar.models.base import Predictor
from pyg_nar.models.registry import MODELS, model_class, register_model
from pyg_nar.models.flops_regression import FLOPsRegression
from pyg_nar.models.flowerformer import FlowerFormer
from pyg_nar.models.kernel_sum import KernelSum
from pyg_nar.models.narformer import NARFormer
from pyg_nar.models.narformer_v2 import NARFormerV2
from pyg_nar.models.nnlp import NNLP

__all__ = ["MODELS", "Predictor", "model_class", "register_model", "NARFormer", "NARFormerV2",
           "NNLP", "FLOPsRegression", "FlowerFormer", "KernelSum"]
