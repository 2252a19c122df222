r"""The one recipe table: which datasets there are and how to load them (:data:`DATASETS`),
and how each predictor is fed, built and trained (:data:`RECIPES`).

The ``pyg-nar`` command, :func:`pyg_nar.pipeline.train` (and so the quickstart) and the
examples ``accuracy_predictors.py`` and ``latency_prediction.py`` read these tables, so a
figure printed by an example is what ``pyg-nar train`` gives with the same settings.

Example::

    from pyg_nar.recipes import DATASETS, RECIPES, load_dataset

    spec, recipe = DATASETS["nasbench201"], RECIPES["narformer"]
    transform = recipe.transform(spec.task, spec)
    ds = load_dataset("nasbench201", pre_transform=transform)
    model = recipe.build(ds[0], len(ds.op_vocab), spec.task)
    config = recipe.config(spec.task, {"epochs": 100})     # a TrainConfig

Importing this module is cheap (no torch, torch_geometric or onnx): the ``pyg-nar`` parser
reads the names and descriptions, and :func:`check_data` says which raw files are missing
before anything heavy is loaded. Each recipe's functions import what they need when called.
"""
from __future__ import annotations

import os.path as osp
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Mapping

from pyg_nar.datasets import paths
from pyg_nar.errors import DataFileError, PipelineError

if TYPE_CHECKING:
    from pyg_nar.training import TrainConfig

__all__ = ["DatasetSpec", "DATASETS", "dataset_spec", "dataset_task", "load_dataset",
           "missing_data", "check_data", "check_job", "Recipe", "RECIPES", "model_recipe",
           "NARFORMER_CPU_SIZE", "NARFORMER_RANKING", "latency_config"]


# ----------------------------------------------------------------------------------- datasets
@dataclass(frozen=True)
class DatasetSpec:
    """One dataset of the table: what it holds and how to load it.

    Attributes:
        name (str): the name before the ``:`` of a dataset spec (``"nasbench201:OPTION"``).
        description (str): one line for ``pyg-nar train --help``.
        task (str): what ``y`` is: ``"accuracy"`` (a fraction) or ``"latency"`` (ms).
        networks (bool): whole networks (ONNX graphs with ``op_attrs``, ``out_shape`` and
            ``static``) rather than NAS cells.
        load (Callable): ``(cache, option, raw_dir, pre_transform) -> dataset``, with
            ``option`` already defaulted; processed graphs go under ``cache``.
        op_vocab (Callable): ``() -> list[str]``, the operation vocabulary ``op`` indexes.
        default_option (str, optional): the option when the spec gives none.
        raw_files (Callable, optional): ``option -> list[str]``, the benchmark files it reads,
            relative to the data folder (``$PYG_NAR_DATA``, :mod:`pyg_nar.datasets.paths`);
            :obj:`None`: the option names a folder of the user's instead.
        options (tuple[str, ...], optional): the options it takes, where they are known
            without reading the data; :obj:`None`: any.
        folder_file (str, optional): with ``raw_files=None``, the file the option's folder
            must hold.
    """

    name: str
    description: str
    task: str
    networks: bool
    load: Callable
    op_vocab: Callable[[], list]
    default_option: str | None = None
    raw_files: Callable[[str | None], list] | None = None
    options: tuple[str, ...] | None = None
    folder_file: str | None = None

    @property
    def num_ops(self) -> int:
        return len(self.op_vocab())


def _nb201(cache, option, raw_dir, pre_transform):
    from pyg_nar.datasets import NASBench201
    return NASBench201(osp.join(cache, "nasbench201"), target=option, raw_dir=raw_dir,
                       pre_transform=pre_transform)


def _nb201_latency(cache, option, raw_dir, pre_transform):
    from pyg_nar.datasets import NASBench201Latency
    return NASBench201Latency(osp.join(cache, "nasbench201"), device=option, raw_dir=raw_dir,
                              pre_transform=pre_transform)


def _nb101(cache, option, raw_dir, pre_transform):
    from pyg_nar.datasets import NASBench101
    return NASBench101(osp.join(cache, "nasbench101"), raw_file=option, raw_dir=raw_dir,
                       pre_transform=pre_transform)


def _nasbench_graph(cache, option, raw_dir, pre_transform):
    from pyg_nar.datasets import NASBenchGraph
    return NASBenchGraph(osp.join(cache, "nasbench_graph"), option, raw_dir=raw_dir,
                         pre_transform=pre_transform)


def _nnlqp(cache, option, raw_dir, pre_transform):
    from pyg_nar.datasets import NNLQP
    return NNLQP(option, pre_transform=pre_transform)


def _vocab(module: str, name: str) -> Callable[[], list]:
    def read() -> list:
        import importlib
        value = getattr(importlib.import_module(module), name)
        return list(value() if callable(value) else value)
    return read


#: Datasets by name; ``pyg-nar`` and :func:`load_dataset` take ``NAME`` or ``NAME:OPTION``.
DATASETS: dict[str, DatasetSpec] = {spec.name: spec for spec in (
    DatasetSpec("nasbench201", "NAS-Bench-201 cells; option: target (default cifar10_test_200ep)",
                "accuracy", False, _nb201, _vocab("pyg_nar.datasets.nasbench201", "NB201_VOCAB"),
                "cifar10_test_200ep", raw_files=paths.nb201_files,
                options=tuple(paths.NB201_TARGETS)),
    DatasetSpec("nasbench101", "NAS-Bench-101 cells (here NASLib's 500-cell subset); option: a "
                "JSON record file", "accuracy", False, _nb101,
                _vocab("pyg_nar.datasets.nasbench101", "NB101_VOCAB"),
                raw_files=lambda option: [option or paths.NB101_FILE]),
    DatasetSpec("nasbench_graph", "NAS-Bench-Graph GNN architectures; option: graph dataset "
                "(default cora)", "accuracy", False, _nasbench_graph,
                _vocab("pyg_nar.datasets.nasbench_graph", "NASBENCH_GRAPH_VOCAB"), "cora",
                raw_files=lambda option: [paths.nasbench_graph_file(option)],
                options=paths.NASBENCH_GRAPH_DATASETS),
    DatasetSpec("nb201-latency", "NB201 cells with HELP's measured latency (ms); option: device "
                "(default titan_rtx_256)", "latency", False, _nb201_latency,
                _vocab("pyg_nar.datasets.nasbench201", "NB201_VOCAB"), "titan_rtx_256",
                raw_files=lambda option: [paths.NB201_ACCURACY_FILE, paths.NB201_LATENCY_FILE]),
    DatasetSpec("nnlqp", "NNLQP-layout folder (gt.txt + ONNX), e.g. from `pyg-nar measure`; "
                "option: the folder", "latency", True, _nnlqp,
                _vocab("pyg_nar.networks.vocab", "onnx_op_vocab"), folder_file="gt.txt"),
)}


def dataset_spec(spec: str) -> tuple[DatasetSpec, str | None]:
    """The :class:`DatasetSpec` of ``"NAME"`` or ``"NAME:OPTION"`` and its option (defaulted);
    a :class:`~pyg_nar.errors.PipelineError` for an unknown name."""
    name, _, option = spec.partition(":")
    if name not in DATASETS:
        raise PipelineError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)} "
                            f"(with ':option' where it takes one)")
    entry = DATASETS[name]
    option = option or entry.default_option
    if entry.options is not None and option not in entry.options:
        raise PipelineError(f"unknown option {option!r} of {name}; choose one of "
                            f"{', '.join(entry.options)}")
    return entry, option


def dataset_task(spec: str) -> str:
    """``"accuracy"`` or ``"latency"``: what the dataset's ``y`` is."""
    return dataset_spec(spec)[0].task


def missing_data(spec: str, raw_dir: str | None = None) -> str | None:
    """What the dataset ``spec`` lacks, as one line for a user (which files, where, and how to
    point ``PYG_NAR_DATA`` at them), or :obj:`None` if its raw files are there. ``raw_dir``:
    the data folder (default ``$PYG_NAR_DATA``). Needs no torch."""
    entry, option = dataset_spec(spec)
    if entry.raw_files is None:
        if not option or not osp.isfile(osp.join(option, entry.folder_file)):
            return f"{entry.name}:<folder> needs a folder with a {entry.folder_file}, got {option!r}"
        return None
    missing = paths.missing_files(entry.raw_files(option), raw_dir)
    return paths.missing_files_message(spec, missing, raw_dir) if missing else None


def check_data(spec: str, raw_dir: str | None = None) -> None:
    """Raise :func:`missing_data`'s line if the dataset ``spec``'s raw files are not there: a
    :class:`~pyg_nar.errors.DataFileError` for benchmark files, a
    :class:`~pyg_nar.errors.PipelineError` for a folder of the user's that is not one."""
    problem = missing_data(spec, raw_dir)
    if problem is not None:
        raise (PipelineError if dataset_spec(spec)[0].raw_files is None else DataFileError)(problem)


def load_dataset(spec: str, cache: str = "data", pre_transform: Callable | None = None,
                 raw_dir: str | None = None):
    """The dataset named by ``spec`` (see :data:`DATASETS`); processed graphs go under ``cache``.
    Missing raw files raise :func:`check_data`'s one-line error before anything is read."""
    entry, option = dataset_spec(spec)
    check_data(spec, raw_dir)
    return entry.load(cache, option, raw_dir, pre_transform)


# -------------------------------------------------------------------------------------- models
@dataclass(frozen=True)
class Recipe:
    """How one predictor is fed, built and trained.

    Attributes:
        name (str): the model's name on the command line (``pyg-nar train NAME``).
        description (str): one line for ``pyg-nar train --help``.
        transform (Callable): ``(task, dataset: DatasetSpec) -> BaseTransform | None``, the
            ``pre_transform`` that adds the fields the model reads.
        build (Callable): ``(example graph, num_ops, task, **model_kwargs) -> model``; the
            example is one graph after ``transform``.
        config (Callable, optional): ``(task, overrides) -> TrainConfig``, the training
            recipe with ``overrides`` applied; :obj:`None`: the model is fitted in closed
            form by its own ``fit(dataset)``.
        tasks (tuple[str, ...]): the tasks it predicts.
        dataset_settings (Mapping): dataset name -> ``(model_kwargs, TrainConfig overrides)``
            of the papers' settings for that benchmark, below the caller's own.
    """

    name: str
    description: str
    transform: Callable
    build: Callable
    config: Callable | None
    tasks: tuple[str, ...] = ("accuracy", "latency")
    dataset_settings: Mapping[str, tuple[dict, dict]] = field(default_factory=dict)

    def settings(self, dataset: str) -> tuple[dict, dict]:
        """``(model_kwargs, TrainConfig overrides)`` of the papers' settings on ``dataset``
        (a name or a ``NAME:OPTION`` spec), ``({}, {})`` if there are none."""
        model_kwargs, overrides = self.dataset_settings.get(dataset.partition(":")[0], ({}, {}))
        return dict(model_kwargs), dict(overrides)


def latency_config(overrides: dict, **base) -> TrainConfig:
    """The latency recipe of every trained predictor: the log loss
    (:func:`~pyg_nar.losses.log_mse_loss`, scale-free: NNLQP's relative MSE collapsed to
    predicting ~0 on raspi4's NB201 latencies, MAPE 101%), otherwise NNLQP's recipe (lr 1e-3,
    batch 16, no weight decay), 10% warm-up + linear decay, selection on validation MAPE;
    with ``base`` then ``overrides`` on top."""
    from pyg_nar.training import TrainConfig
    base = dict(dict(batch_size=16, lr=1e-3, weight_decay=0.0, warmup=0.1, schedule="linear",
                     loss="log_mse", select_metric="mape"), **base)
    return TrainConfig(**{**base, **overrides})


#: NAR-Former's size in the pipeline: smaller than the paper's (d 192, 6 blocks, 77 MFLOP per
#: NB201 cell) so that it trains in minutes on a 2-core CPU; the model class keeps the paper's.
NARFORMER_CPU_SIZE = dict(dim=128, num_layers=3, head_dim=32)
#: Its accuracy recipe: TrainConfig.narformer (AdamW, wd 0.01, 10% warm-up + linear decay) with
#: the pairwise hinge ranking loss instead of MSE + SR + AC, lr 1e-3, batch 32, no EMA, and a
#: linear head. On 781 NB201 cells it ranks far better than the paper's loss at any budget
#: we could run (examples/accuracy_predictors.py, README).
NARFORMER_RANKING = dict(loss="hinge", margin=0.5, sr_weight=0.0, ac_weight=0.0, ema_decay=None,
                         lr=1e-3, batch_size=32)
#: Tokenize's frequencies on whole networks: 16 gives the supplement's 480-d tokens (15 parts x
#: 32), the setting of the README's zoo figures; cells keep the paper's 32 (192-d).
NARFORMER_NETWORK_FREQS = 16


def _narformer_transform(task, dataset):
    from torch_geometric.transforms import Compose

    from pyg_nar.transforms import FlowConsistentPair, Tokenize
    if task == "latency":  # the latency recipe has no AC term: no augmented copy
        return Tokenize(num_freqs=NARFORMER_NETWORK_FREQS) if dataset.networks else Tokenize()
    return Compose([Tokenize(), FlowConsistentPair()])  # the paper's AC term is one flag away


def _narformer_build(data, num_ops, task, **kw):
    from pyg_nar.models import NARFormer
    base = dict(NARFORMER_CPU_SIZE, output="exp" if task == "latency" else "linear")
    if "static_enc" in data:  # whole networks: static features at the head (supplement Sec. 1)
        base["static_dim"] = data.static_enc.size(-1)
    return NARFormer.from_data(data, **{**base, **kw})


def _narformer_config(task, over):
    from pyg_nar.training import TrainConfig
    if task == "accuracy":  # NAR-Former's optimiser and schedule, FlowerFormer's ranking loss
        return TrainConfig.narformer(**{**NARFORMER_RANKING, **over})
    return latency_config(over)


def _v2_transform(task, dataset):
    from torch_geometric.transforms import Compose

    from pyg_nar.transforms import SymmetricAdjacency, TokenizeV2
    tokens = (TokenizeV2(network_features=True, num_ops=dataset.num_ops) if dataset.networks
              else TokenizeV2())
    return Compose([tokens, SymmetricAdjacency()])


def _v2_build(data, num_ops, task, **kw):
    from pyg_nar.models import NARFormerV2
    whole = "op_attrs" in data
    static = data.static.size(-1) if "static" in data else 0
    base = {"task": task, "network_features": whole, "static_dim": static}
    if task == "latency":  # e^z: the log loss is then a squared error on z (README, raspi4)
        base["output"] = "exp"
    return NARFormerV2(num_ops, **{**base, **kw})


def _v2_config(task, over):
    from pyg_nar.training import TrainConfig
    if task == "accuracy":
        return TrainConfig(**{**dict(batch_size=32, lr=1e-4, weight_decay=0.0, warmup=0.1,
                                     loss="mse", sr_weight=0.1), **over})
    return latency_config(over)


def _flowerformer_transform(task, dataset):
    from torch_geometric.transforms import Compose

    from pyg_nar.transforms import FlowMask, TopologicalGenerations
    return Compose([TopologicalGenerations(), FlowMask()])


def _flowerformer_build(data, num_ops, task, **kw):
    from pyg_nar.models import FlowerFormer
    base = {}
    if task == "latency":  # a positive output; 4 layers on whole networks (README zoo figures)
        base["output"] = "exp"
        if "op_attrs" in data:
            base["num_layers"] = 4
    return FlowerFormer(num_ops, **{**base, **kw})


def _flowerformer_config(task, over):
    from pyg_nar.training import TrainConfig
    return TrainConfig.flowerformer(**over) if task == "accuracy" else latency_config(over)


def _nnlp_transform(task, dataset):
    from pyg_nar.transforms import SymmetricAdjacency
    return SymmetricAdjacency()


def _nnlp_build(data, num_ops, task, **kw):
    from pyg_nar.models import NNLP
    if "op_attrs" not in data:
        raise PipelineError("nnlp needs whole-network graphs (op_attrs, out_shape, static): "
                            "use an ONNX dataset such as nnlqp:<folder>")
    return NNLP(num_ops, **{"static_dim": data.static.size(-1), **kw})


def _kernel_sum_build(data, num_ops, task, **kw):
    from pyg_nar.models import KernelSum
    if "node_cost" not in data:
        raise PipelineError("kernel-sum needs whole-network graphs with per-node costs "
                            "(node_cost): use an ONNX dataset such as nnlqp:<folder>")
    return KernelSum(num_ops, **kw)


def _flops_build(data, num_ops, task, **kw):
    from pyg_nar.models import FLOPsRegression
    if "static" not in data:
        raise PipelineError("flops needs whole-network graphs with static features: use nnlqp:<folder>")
    return FLOPsRegression(**kw)  # the class's default space, "linear" (see its module doc)


#: Predictors by command-line name.
RECIPES: dict[str, Recipe] = {recipe.name: recipe for recipe in (
    Recipe("narformer", "NAR-Former (CVPR'23): tokens + multi-stage fusion transformer",
           _narformer_transform, _narformer_build, _narformer_config),
    Recipe("narformer-v2", "NAR-Former V2 (NeurIPS'23): graph-aided attention transformer",
           _v2_transform, _v2_build, _v2_config),
    Recipe("flowerformer", "FlowerFormer (CVPR'24): asynchronous flow message passing + flow attention",
           _flowerformer_transform, _flowerformer_build, _flowerformer_config,
           dataset_settings={"nasbench_graph": (  # the paper's NAS-Bench-Graph settings
               dict(num_layers=4, channels=256),
               dict(lr=7e-3, batch_size=1024, weight_decay=4.5e-10, margin=0.01))}),
    Recipe("nnlp", "NNLP (NNLQP, ICPP'22): 2 x SAGEConv + static features", _nnlp_transform,
           _nnlp_build, lambda task, over: latency_config(over), ("latency",)),
    Recipe("kernel-sum", "KernelSum: per-operator latencies from roofline terms, summed "
           "(nn-Meter-style)", lambda task, dataset: None, _kernel_sum_build,
           lambda task, over: latency_config(over, lr=1e-2, batch_size=32), ("latency",)),
    Recipe("flops", "FLOPs-only linear regression (closed form)", lambda task, dataset: None,
           _flops_build, None, ("latency",)),
)}


def model_recipe(name: str) -> Recipe:
    """The :class:`Recipe` called ``name``; a :class:`~pyg_nar.errors.PipelineError` if none."""
    if name not in RECIPES:
        raise PipelineError(f"unknown model {name!r}; choose one of {', '.join(RECIPES)}")
    return RECIPES[name]


def check_job(model: str, dataset: str, raw_dir: str | None = None) -> tuple[Recipe, DatasetSpec]:
    """The recipe and dataset of a training job, checked before anything is loaded: known
    names, a task the model predicts, the raw files present (:func:`check_data`). Needs no
    torch, so ``pyg-nar train`` fails at once on a wrong name or missing data."""
    recipe = model_recipe(model)
    spec, _ = dataset_spec(dataset)
    if spec.task not in recipe.tasks:
        raise PipelineError(f"{model} predicts {', '.join(recipe.tasks)}, but {dataset} is a "
                            f"{spec.task} dataset")
    check_data(dataset, raw_dir)
    return recipe, spec
