"""PyG datasets of neural architectures; every graph follows :mod:`pyg_nar.data`."""
from pyg_nar.datasets.base import DataFileError
from pyg_nar.datasets.fbnet import FBNET_VOCAB, FBNet, fbnet_graph
from pyg_nar.datasets.help_latency import HelpLatencies, help_devices, load_help_latencies
from pyg_nar.datasets.nasbench101 import NASBench101, nb101_cell_graph
from pyg_nar.datasets.nasbench201 import NASBench201, NASBench201Latency, nb201_cell_graph
from pyg_nar.datasets.nasbench_graph import NASBenchGraph, nasbench_graph_arch
from pyg_nar.datasets.nnlqp import NNLQP
from pyg_nar.datasets.paths import data_file, data_root

__all__ = [
    "NASBench101", "NASBench201", "NASBench201Latency", "NASBenchGraph", "NNLQP", "FBNet",
    "nb101_cell_graph", "nb201_cell_graph", "nasbench_graph_arch", "fbnet_graph", "FBNET_VOCAB",
    "HelpLatencies", "load_help_latencies", "help_devices",
    "DataFileError", "data_root", "data_file",
]
