"""Predictors: ``forward(batch) -> [B]`` and ``self.config`` (constructor kwargs)."""
from pyg_nar.models.registry import MODELS, model_class, register_model
from pyg_nar.models.narformer import NARFormer

__all__ = ["MODELS", "model_class", "register_model", "NARFormer"]
