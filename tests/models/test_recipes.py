"""The recipe table: every recipe feeds, builds and configures its model for each task."""
import pytest
import torch
from torch_geometric.data import Batch

from pyg_nar.data import arch_data
from pyg_nar.datasets.nasbench201 import nb201_cell_graph
from pyg_nar.errors import PipelineError
from pyg_nar.models import FLOPsRegression
from pyg_nar.recipes import (DATASETS, NARFORMER_RANKING, RECIPES, dataset_spec, dataset_task,
                             load_dataset, model_recipe)
from pyg_nar.training import TrainConfig
from pyg_nar.transforms import NodeDegree, Tokenize, TokenizeV2

ARCHS = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
         "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"]
NET_OPS = DATASETS["nnlqp"].num_ops
SMALL = {"narformer": dict(dim=16, num_layers=1, head_dim=8),
         "narformer-v2": dict(hidden=16, head_hidden=16, groups=4),
         "flowerformer": dict(channels=8, num_layers=1, heads=2), "nnlp": dict(hidden=8), "flops": {},
         "kernel-sum": dict(hidden=8, op_dim=4)}


def network(n, seed):
    g = torch.Generator().manual_seed(seed)
    edges = [(i, i + 1) for i in range(n - 1)] + [(i, i + 2) for i in range(0, n - 2, 3)]
    return arch_data(torch.randint(0, NET_OPS, (n,), generator=g), edges, y=1.0 + n,
                     op_attrs=torch.randint(0, 4, (n, 8), generator=g).float(),
                     out_shape=torch.randint(1, 64, (n, 4), generator=g).float(),
                     static=torch.rand(1, 4, generator=g) + 0.1,
                     node_cost=torch.rand(n, 4, generator=g))


def parts(recipe, task, dataset_name):
    spec = DATASETS[dataset_name]
    graphs = ([nb201_cell_graph(a, y=0.9) for a in ARCHS] if not spec.networks
              else [network(n, seed=n) for n in (5, 9)])
    transform = recipe.transform(task, spec)
    graphs = [transform(g) for g in graphs] if transform is not None else graphs
    model = recipe.build(graphs[0], spec.num_ops, task, **SMALL[recipe.name])
    return graphs, model


@pytest.mark.parametrize("name, task, dataset", [
    (name, task, dataset) for name, recipe in RECIPES.items() for task in recipe.tasks
    for dataset in ("nasbench201", "nb201-latency", "nnlqp")
    if DATASETS[dataset].task == task and not (name in ("nnlp", "flops", "kernel-sum") and dataset != "nnlqp")])
def test_every_recipe_feeds_builds_and_configures_its_model(name, task, dataset):
    recipe = RECIPES[name]
    graphs, model = parts(recipe, task, dataset)
    if recipe.config is None:
        model.fit(graphs)
    else:
        assert isinstance(recipe.config(task, {"epochs": 2}), TrainConfig)
    out = model.eval()(Batch.from_data_list(graphs))
    assert out.shape == (len(graphs),) and bool(torch.isfinite(out).all())
    if task == "latency" and name in ("narformer-v2", "flowerformer", "nnlp", "kernel-sum"):
        assert bool((out > 0).all())  # their latency heads end in -logsigmoid (or exp)


def test_recipe_settings_that_the_readme_figures_used():
    # NAR-Former on whole networks: Tokenize at 16 frequencies (480-d), static at the head
    transform = RECIPES["narformer"].transform("latency", DATASETS["nnlqp"])
    assert isinstance(transform, Tokenize) and transform.num_freqs == 16
    graphs, model = parts(RECIPES["narformer"], "latency", "nnlqp")
    assert graphs[0].tokens.size(-1) == 480 and model.config["static_dim"] == 4 * 32
    # NAR-Former accuracy: the ranking recipe; latency: the shared latency recipe
    cfg = RECIPES["narformer"].config("accuracy", {})
    assert {k: getattr(cfg, k) for k in NARFORMER_RANKING} == NARFORMER_RANKING
    lat = RECIPES["narformer"].config("latency", {"lr": 2e-3})
    assert (lat.loss, lat.lr, lat.ac_weight, lat.ema_decay) == ("log_mse", 2e-3, 0.0, None)
    # V2: its own tokens, no NodeDegree (no model reads it)
    v2 = RECIPES["narformer-v2"].transform("latency", DATASETS["nnlqp"])
    assert any(isinstance(t, TokenizeV2) and t.network_features for t in v2.transforms)
    assert not any(isinstance(t, NodeDegree) for t in v2.transforms)
    # FLOPs: the class's default space, linear
    graphs, flops = parts(RECIPES["flops"], "latency", "nnlqp")
    assert flops.config["space"] == FLOPsRegression().config["space"] == "linear"
    # FlowerFormer on NAS-Bench-Graph: the paper's settings
    kw, over = RECIPES["flowerformer"].settings("nasbench_graph:arxiv")
    assert kw == dict(num_layers=4, channels=256) and over["lr"] == 7e-3
    assert RECIPES["flowerformer"].settings("nasbench201") == ({}, {})


def test_dataset_table_and_errors(tmp_path):
    assert dataset_task("nasbench201:cifar100_test_200ep") == "accuracy"
    assert dataset_spec("nb201-latency") == (DATASETS["nb201-latency"], "titan_rtx_256")
    assert dataset_spec("nnlqp:some/folder")[1] == "some/folder"
    assert DATASETS["nasbench201"].num_ops == 7 and NET_OPS > 50
    with pytest.raises(PipelineError, match="unknown dataset 'imagenet'"):
        dataset_spec("imagenet")
    with pytest.raises(PipelineError, match="needs a folder with a gt.txt"):
        load_dataset(f"nnlqp:{tmp_path}")
    with pytest.raises(PipelineError, match="unknown model 'resnet'"):
        model_recipe("resnet")
