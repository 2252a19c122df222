"""pyg_nar: neural architecture representation learning for PyTorch Geometric."""
from pyg_nar.data import ArchitectureError, arch_data

__version__ = "0.1.0"

__all__ = ["ArchitectureError", "arch_data", "__version__"]
