"""Predictors: ``forward(batch) -> [B]`` predictions, constructor kwargs in ``self.config``."""
from pyg_nar.models.flops_regression import FLOPsRegression
from pyg_nar.models.narformer_v2 import NARFormerV2
from pyg_nar.models.nnlp import NNLP

__all__ = ["NARFormerV2", "NNLP", "FLOPsRegression"]
