"""PyG datasets of neural architectures; every graph follows :mod:`pyg_nar.data`.

Importing this package is cheap: the classes below are imported on first use, and
:mod:`pyg_nar.datasets.paths` (where the data lives, which files each benchmark reads) needs
neither torch nor torch_geometric.
"""
from pyg_nar._lazy import lazy_names

#: public name -> module that defines it (imported on first access)
_LAZY = {
    "NASBench101": "pyg_nar.datasets.nasbench101",
    "nb101_cell_graph": "pyg_nar.datasets.nasbench101",
    "NASBench201": "pyg_nar.datasets.nasbench201",
    "NASBench201Latency": "pyg_nar.datasets.nasbench201",
    "nb201_cell_graph": "pyg_nar.datasets.nasbench201",
    "NASBenchGraph": "pyg_nar.datasets.nasbench_graph",
    "nasbench_graph_arch": "pyg_nar.datasets.nasbench_graph",
    "NNLQP": "pyg_nar.datasets.nnlqp",
    "FBNet": "pyg_nar.datasets.fbnet",
    "FBNET_VOCAB": "pyg_nar.datasets.fbnet",
    "fbnet_graph": "pyg_nar.datasets.fbnet",
    "HelpLatencies": "pyg_nar.datasets.help_latency",
    "help_devices": "pyg_nar.datasets.help_latency",
    "load_help_latencies": "pyg_nar.datasets.help_latency",
    "DataFileError": "pyg_nar.errors",
    "data_root": "pyg_nar.datasets.paths",
    "data_file": "pyg_nar.datasets.paths",
}

__all__ = [
    "NASBench101", "NASBench201", "NASBench201Latency", "NASBenchGraph", "NNLQP", "FBNet",
    "nb101_cell_graph", "nb201_cell_graph", "nasbench_graph_arch", "fbnet_graph", "FBNET_VOCAB",
    "HelpLatencies", "load_help_latencies", "help_devices",
    "DataFileError", "data_root", "data_file",
]

__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
