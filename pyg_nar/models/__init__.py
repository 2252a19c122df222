"""Architecture predictors: ``forward(batch) -> [B]``, constructor kwargs in ``self.config``."""
from pyg_nar.models.flowerformer import FlowerFormer

__all__ = ["FlowerFormer"]
