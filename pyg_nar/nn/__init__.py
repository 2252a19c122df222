"""Neural-network layers of pyg_nar."""
from pyg_nar.nn.fusion_transformer import FusionTransformer, TransformerBlock

__all__ = ["FusionTransformer", "TransformerBlock"]
