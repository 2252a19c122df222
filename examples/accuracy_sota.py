"""Every accuracy predictor in one table: NAR-Former, NAR-Former V2, FlowerFormer, NN-Former,
a plain GNN with FGP pre-training, a zero-cost-proxy baseline and ensembles, each piece
switchable; mean ± std over seeds of Kendall's tau and precision@1%, with seconds per run.

FlowerFormer protocol (``pyg_nar.splits.flowerformer_split``): a seeded permutation of the
dataset, train = ``size`` x the training pool (``pyg_nar.splits.train_pool``: NB201 7,813,
so 1% = 78, 5% = 390, 10% = 781; NASLib's 500 NB101 and 725 NB301 cells: all of them), the
next 40 validation (model selection), all others test; NB201 label ``cifar10_test_200ep``
(``--dataset``: ``nasbench201``, ``nasbench101``, ``nasbench301``, ``nasbench_graph:NAME``).
Every predictor sees the same splits and seeds; ``--seeds`` seed split and training alike;
``--jobs N`` trains N splits at once, one process each.

A predictor is a spec ``ENCODER[+prune][+fgp][+zc]`` or an ensemble ``ens:SPEC,SPEC,...``:

* encoders: the ``pyg_nar.recipes`` of ``pyg-nar train`` (transform, model, training recipe):
  ``narformer``, ``narformer-v2``, ``flowerformer`` (100 epochs each, as ``pyg-nar train``),
  ``gnn`` (``pyg_nar.models.GNN``: ResGatedGCN, 3 layers, d 128) and ``nnformer`` (``NNFormer``
  at ``NNFORMER_CPU_SIZE``) (200 epochs), and ``zc`` (``ZeroCostPredictor``: the proxies alone);
* ``+prune``: the encoder reads the effective cells (``pyg_nar.transforms.PruneDeadOps``:
  ``none`` operations and operations off every input-output path removed); ``gnn+prune`` is
  what ``pyg-nar train gnn`` trains;
* ``+fgp``: FGP pre-training first (``pyg_nar.pretraining.fgp_pretrain`` on all the cells,
  no labels; flow surrogate + ranking of the ``params`` proxy). It does not depend on the
  split, so it runs once per encoder and seed (cached under ``--out``) and is reported
  separately from the per-run training time;
* ``+zc``: the zero-cost proxies joined to the encoder's graph embedding (``ProxyFusion``);
* ``ens:A,B``: the mean of the members' scores, each standardised by its scores on the
  training cells (``ScoreEnsemble``); its time is the sum of its members'.

Proxies (``--proxies``, default :data:`PROXIES` of the dataset; NAS-Bench-Graph has none):
on NB201 ``zen``, ``flops``, ``params`` for every cell from NASLib's files, plus, with ``--computed-proxies``, the data-free ``synflow_small``, ``nwot_small`` and
``jacov_small`` of ``pyg_nar.proxies`` (computed once for all cells, about 35 minutes of one
CPU thread, cached under ``--cache``).

    python examples/accuracy_sota.py --sizes 0.01 --seeds 0 1 2 --jobs 3 \\
        --predictors zc narformer narformer-v2 flowerformer nnformer gnn+prune gnn+prune+fgp \\
        "ens:flowerformer,gnn+prune" "ens:gnn+prune,gnn+prune+fgp"
    python examples/accuracy_sota.py --dataset nasbench101 --sizes 0.1 --seeds 0 1 2 \\
        --predictors zc narformer narformer-v2 flowerformer nnformer gnn gnn+prune \\
        gnn+prune+fgp gnn+prune+zc "ens:flowerformer,gnn+prune"
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import os.path as osp
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

import torch
from torch_geometric.transforms import Compose

from pyg_nar.datasets import NASBench201
from pyg_nar.metrics import kendall_tau, precision_at_k
from pyg_nar.models import ProxyFusion, ZeroCostPredictor
from pyg_nar.pretraining import FGPConfig, fgp_pretrain
from pyg_nar.splits import flowerformer_split, train_pool
from pyg_nar.training import TrainConfig, fit, predict
from pyg_nar.recipes import DATASETS, GNN_RANKING, RECIPES, load_dataset
from pyg_nar.transforms import PruneDeadOps, SymmetricAdjacency, ZeroCostProxies

#: Epochs of each encoder here (``--epochs`` overrides them all).
EPOCHS = {"narformer": 100, "narformer-v2": 100, "flowerformer": 100, "gnn": 200, "nnformer": 200,
          "zc": 200}
#: Zero-cost proxies read by default (NB201: those NASLib has for every cell).
PROXIES = {"nasbench201": ["zen", "flops", "params"],
           "nasbench101": ["flops", "params", "synflow", "jacov", "snip"],
           "nasbench301": ["flops", "params", "synflow", "jacov", "snip", "nwot"]}


def transform(encoder: str, spec):
    """The fields ``encoder`` reads: its recipe's transform (``gnn``'s pruning is ``+prune``)."""
    if encoder in ("zc", "gnn"):
        return None
    return RECIPES[encoder].transform("accuracy", spec)


def build(encoder: str, example, num_proxies: int, dataset: str):
    if encoder == "zc":
        return ZeroCostPredictor(num_proxies)
    kwargs, _ = RECIPES[encoder].settings(dataset)   # the papers' settings on the benchmark
    return RECIPES[encoder].build(example, DATASETS[dataset.partition(":")[0]].num_ops,
                                  "accuracy", **kwargs)


def train_config(encoder: str, dataset: str, **over):
    if encoder == "zc":
        return TrainConfig(**{**GNN_RANKING, **over})
    _, paper = RECIPES[encoder].settings(dataset)
    return RECIPES[encoder].config("accuracy", {**paper, **over})


def parse(spec: str) -> tuple[str, bool, bool, bool]:
    """``(encoder, prune, fgp, zc)`` of a spec."""
    encoder, *mods = spec.split("+")
    unknown = set(mods) - {"prune", "fgp", "zc"}
    if encoder not in EPOCHS:
        raise SystemExit(f"unknown encoder {encoder!r}; choose one of {', '.join(EPOCHS)}")
    if unknown or (encoder == "zc" and mods):
        raise SystemExit(f"bad predictor spec {spec!r}")
    return encoder, "prune" in mods, "fgp" in mods, "zc" in mods


def fmt(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


_RUN = None


def _call(task):
    return _RUN(*task)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="nasbench201",
                    help="nasbench201, nasbench101, nasbench301 or nasbench_graph:NAME (no proxies)")
    ap.add_argument("--sizes", type=float, nargs="+", default=[0.01, 0.05, 0.1])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--predictors", nargs="+", default=["zc", "gnn", "gnn+fgp", "flowerformer"])
    ap.add_argument("--proxies", nargs="+", default=None,
                    help="zero-cost proxies (default: PROXIES of the dataset)")
    ap.add_argument("--computed-proxies", action="store_true")
    ap.add_argument("--fgp-epochs", type=int, default=20)
    ap.add_argument("--fgp-proxy", default="params", help="proxy ranked in pre-training ('' for none)")
    ap.add_argument("--epochs", type=int, default=None, help="override every recipe's epochs")
    ap.add_argument("--cache", default=osp.join(tempfile.gettempdir(), "pyg_nar", "data"))
    ap.add_argument("--out", default=osp.join(tempfile.gettempdir(), "pyg_nar", "accuracy_sota"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=1,
                    help="splits (size, seed) trained at once, one process each (default: 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    bench = args.dataset.partition(":")[0]
    spec_of = DATASETS[bench]
    proxies = list(args.proxies or PROXIES.get(bench, []))
    extra = None
    if args.computed_proxies and bench == "nasbench201":
        from pyg_nar.proxies import TABLE_NAMES, nb201_proxy_table
        plain = NASBench201(osp.join(args.cache, "nasbench201"))
        extra = nb201_proxy_table([int(i) for i in plain.arch_id], plain.arch_strs,
                                  osp.join(args.cache, "zero_cost"))
        proxies += list(TABLE_NAMES)
    zc = ZeroCostProxies(bench, proxies, extra=extra) if proxies else None
    datasets = {}

    def graphs_of(encoder: str, pruned: bool) -> list:
        key = (encoder if encoder in ("narformer", "narformer-v2") else "flow", pruned)
        if key not in datasets:
            steps = [zc] if zc is not None else []   # first: NB101 cells are found by their graph
            steps += [PruneDeadOps.from_vocab(spec_of.op_vocab())] if pruned else []
            own = transform(encoder if key[0] != "flow" else "flowerformer", spec_of)
            steps += [own, SymmetricAdjacency()]
            d = load_dataset(args.dataset, args.cache, pre_transform=Compose(steps))
            datasets[key] = [d[i] for i in range(len(d))]
        return datasets[key]

    ds = load_dataset(args.dataset, args.cache)
    pool = train_pool(args.dataset, len(ds))
    fgp_index = proxies.index(args.fgp_proxy) if args.fgp_proxy and args.fgp_proxy in proxies else None
    os.makedirs(args.out, exist_ok=True)

    members = []
    for p in args.predictors:
        for spec in (p[4:].split(",") if p.startswith("ens:") else [p]):
            if spec not in members:
                encoder, _, _, use_zc = parse(spec)
                if (encoder == "zc" or use_zc) and zc is None:
                    raise SystemExit(f"{spec}: {args.dataset} has no zero-cost proxies here")
                members.append(spec)
    print(f"{args.dataset} ({len(ds)} architectures), FlowerFormer protocol (pool {pool}), "
          f"seeds {args.seeds}, proxies {proxies}")

    def run(size: float, seed: int):
        """Every member trained on one split: ``(rows, pretrain seconds)``."""
        torch.set_num_threads(args.threads)
        pretrain_seconds: dict[str, list[float]] = {}
        split = flowerformer_split(len(ds), size, pool, 40, seed)
        y = ds.y[split["test"]]
        scores, seconds = {}, {}
        for spec in members:
            encoder, pruned, use_fgp, use_zc = parse(spec)
            graphs = graphs_of(encoder, pruned)
            train = [graphs[i] for i in split["train"]]
            val = [graphs[i] for i in split["val"]]
            test = [graphs[i] for i in split["test"]]
            torch.manual_seed(seed)
            model = build(encoder, graphs[0], len(proxies), args.dataset)
            if use_fgp:
                tag = (f"{bench}_{encoder}{'_pruned' if pruned else ''}_e{args.fgp_epochs}_"
                       f"{args.fgp_proxy if fgp_index is not None else 'none'}")
                path = osp.join(args.out, f"fgp_{tag}_s{seed}.pt")
                if osp.exists(path):
                    model.load_state_dict(torch.load(path, weights_only=True))
                else:
                    cfg = FGPConfig(epochs=args.fgp_epochs, seed=seed, progress=False,
                                    proxy_field="zc" if fgp_index is not None else None,
                                    proxy_index=fgp_index or 0)
                    r = fgp_pretrain(model, graphs, cfg)
                    pretrain_seconds.setdefault(tag, []).append(r.wall_time)
                    torch.save(model.state_dict(), path)
            if use_zc:
                model = ProxyFusion.wrap(model, len(proxies))
            config = train_config(encoder, args.dataset, epochs=args.epochs or EPOCHS[encoder],
                                  seed=seed, progress=False)
            t0 = time.perf_counter()
            fit(model, train, val, config)
            seconds[spec] = time.perf_counter() - t0
            s_train = predict(model, train)
            scores[spec] = (predict(model, test) - s_train.mean()) / s_train.std()
        rows = []
        for p in args.predictors:
            parts = p[4:].split(",") if p.startswith("ens:") else [p]
            s = torch.stack([scores[m] for m in parts]).mean(0)
            r = dict(tau=kendall_tau(s, y), p1=precision_at_k(s, y, max(1, round(0.01 * len(y)))),
                     seconds=sum(seconds[m] for m in parts), train=len(split["train"]))
            rows.append((p, r))
        return size, seed, rows, pretrain_seconds

    tasks = [(size, seed) for size in args.sizes for seed in args.seeds]
    pretrain_seconds: dict[str, list[float]] = {}
    results: dict = {}

    def report(size, seed, rows, pre):
        for p, r in rows:
            results.setdefault((size, p), []).append(r)
            print(f"  {p:>28} size {size:g} ({r['train']} train) seed {seed}: tau {r['tau']:.4f}, "
                  f"P@1% {r['p1']:.3f}, {r['seconds']:.0f} s", flush=True)
        for tag, s in pre.items():
            pretrain_seconds.setdefault(tag, []).extend(s)

    if args.jobs > 1:  # one process per split (fork: the workers inherit ``run``)
        global _RUN
        _RUN = run
        with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("fork")) as ex:
            for out in ex.map(_call, tasks):
                report(*out)
    else:
        for task in tasks:
            report(*run(*task))

    print(f"\n{args.dataset}, FlowerFormer protocol, {len(args.seeds)} seed(s), mean ± std\n")
    print("| train | predictor | test tau | test P@1% | s/run |")
    print("|---|---|---|---|---|")
    for size in args.sizes:
        for p in args.predictors:
            runs = results[(size, p)]
            print(f"| {runs[0]['train']} ({size:g}) | {p} | {fmt([r['tau'] for r in runs])} | "
                  f"{fmt([r['p1'] for r in runs])} | {statistics.mean(r['seconds'] for r in runs):.0f} |")
    for encoder, s in pretrain_seconds.items():
        print(f"FGP pre-training of {encoder} ({args.fgp_epochs} epochs, all cells, once per seed): "
              f"{statistics.mean(s):.0f} s")


if __name__ == "__main__":
    main()
