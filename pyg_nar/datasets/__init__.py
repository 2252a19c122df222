"""PyG datasets of neural architectures; every graph follows :mod:`pyg_nar.data`."""
from pyg_nar.datasets.paths import data_file, data_root
from pyg_nar.datasets.nnlqp import NNLQP

__all__ = ["data_root", "data_file", "NNLQP"]
