"""Post-FlowerFormer accuracy predictors on NAS-Bench-201, one table: FGP pre-training,
NN-Former, a plain GNN, zero-cost proxies and ensembles, each piece switchable.

FlowerFormer protocol (``pyg_nar.splits.flowerformer_split``): a seeded permutation of the
15,625 cells, train = ``size`` x the 7,813-cell pool (1% = 78, 5% = 390, 10% = 781), the next
40 cells validation (model selection), all others test; label ``cifar10_test_200ep``. Every
predictor sees the same splits and seeds; ``--seeds`` seed split and training alike.

A predictor is a spec ``ENCODER[+prune][+fgp][+zc]`` or an ensemble ``ens:SPEC,SPEC,...``:

* encoders: ``flowerformer`` (``TrainConfig.flowerformer``, 100 epochs), ``gnn``
  (``pyg_nar.models.GNN``: ResGatedGCN, 3 layers, d 128), ``nnformer`` (``NNFormer`` at
  ``NNFORMER_CPU_SIZE``), ``zc`` (``ZeroCostPredictor``: the proxies alone);
* ``+prune``: the encoder reads the effective cells (``pyg_nar.transforms.PruneDeadOps``:
  ``none`` operations and operations off every input-output path removed);
* ``+fgp``: FGP pre-training first (``pyg_nar.pretraining.fgp_pretrain`` on all 15,625 cells,
  no labels; flow surrogate + ranking of the ``params`` proxy). It does not depend on the
  split, so it runs once per encoder and seed (cached under ``--out``) and is reported
  separately from the per-run training time;
* ``+zc``: the zero-cost proxies joined to the encoder's graph embedding (``ProxyFusion``);
* ``ens:A,B``: the mean of the members' scores, each standardised by its scores on the
  training cells (``ScoreEnsemble``); its time is the sum of its members'.

Proxies (``--proxies``): ``zen``, ``flops``, ``params`` for every cell from NASLib's files,
plus, with ``--computed-proxies``, the data-free ``synflow_small``, ``nwot_small`` and
``jacov_small`` of ``pyg_nar.proxies`` (computed once for all cells, about 35 minutes of one
CPU thread, cached under ``--cache``).

    python examples/accuracy_sota.py --sizes 0.01 0.05 0.1 --seeds 0 1 2 \\
        --predictors zc gnn gnn+fgp gnn+zc flowerformer "ens:flowerformer,gnn+zc"
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import statistics
import tempfile
import time

import torch
from torch_geometric.transforms import Compose

from pyg_nar.datasets import NASBench201
from pyg_nar.metrics import kendall_tau, precision_at_k
from pyg_nar.models import GNN, NNFormer, FlowerFormer, ProxyFusion, ZeroCostPredictor
from pyg_nar.models.nnformer import NNFORMER_CPU_SIZE
from pyg_nar.pretraining import FGPConfig, fgp_pretrain
from pyg_nar.splits import FLOWERFORMER_TRAIN_POOL, flowerformer_split
from pyg_nar.training import TrainConfig, fit, predict
from pyg_nar.transforms import (FlowMask, PruneDeadOps, SymmetricAdjacency, TopologicalGenerations,
                                ZeroCostProxies)

#: Per-encoder training recipe (TrainConfig keyword arguments).
GNN_RECIPE = dict(epochs=200, batch_size=16, lr=1e-3, weight_decay=1e-6, warmup=0.0,
                  schedule="constant", loss="hinge", margin=0.5)
RECIPES = {
    "flowerformer": dict(TrainConfig.flowerformer(epochs=100).__dict__),
    "gnn": GNN_RECIPE,
    "nnformer": dict(GNN_RECIPE, schedule="cosine", warmup=0.1),
    "zc": GNN_RECIPE,
}


def build(encoder: str, num_proxies: int):
    if encoder == "flowerformer":
        return FlowerFormer(7)
    if encoder == "gnn":
        return GNN(7)
    if encoder == "nnformer":
        return NNFormer(7, **NNFORMER_CPU_SIZE)
    if encoder == "zc":
        return ZeroCostPredictor(num_proxies)
    raise SystemExit(f"unknown encoder {encoder!r}; choose flowerformer, gnn, nnformer or zc")


def parse(spec: str) -> tuple[str, bool, bool, bool]:
    """``(encoder, prune, fgp, zc)`` of a spec."""
    encoder, *mods = spec.split("+")
    unknown = set(mods) - {"prune", "fgp", "zc"}
    if unknown or (encoder == "zc" and mods):
        raise SystemExit(f"bad predictor spec {spec!r}")
    return encoder, "prune" in mods, "fgp" in mods, "zc" in mods


def fmt(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=float, nargs="+", default=[0.01, 0.05, 0.1])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--predictors", nargs="+", default=["zc", "gnn", "gnn+fgp", "flowerformer"])
    ap.add_argument("--proxies", nargs="+", default=["zen", "flops", "params"])
    ap.add_argument("--computed-proxies", action="store_true")
    ap.add_argument("--fgp-epochs", type=int, default=20)
    ap.add_argument("--fgp-proxy", default="params", help="proxy ranked in pre-training ('' for none)")
    ap.add_argument("--epochs", type=int, default=None, help="override every recipe's epochs")
    ap.add_argument("--cache", default=osp.join(tempfile.gettempdir(), "pyg_nar", "data"))
    ap.add_argument("--out", default=osp.join(tempfile.gettempdir(), "pyg_nar", "accuracy_sota"))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    proxies = list(args.proxies)
    extra = None
    if args.computed_proxies:
        from pyg_nar.proxies import TABLE_NAMES, nb201_proxy_table
        plain = NASBench201(osp.join(args.cache, "nasbench201"))
        extra = nb201_proxy_table([int(i) for i in plain.arch_id], plain.arch_strs,
                                  osp.join(args.cache, "zero_cost"))
        proxies += list(TABLE_NAMES)
    zc = ZeroCostProxies("nasbench201", proxies, extra=extra)
    fields = [TopologicalGenerations(), FlowMask(), SymmetricAdjacency(), zc]
    datasets = {}

    def graphs_of(pruned: bool) -> list:
        if pruned not in datasets:
            prune = [PruneDeadOps.from_vocab(NASBench201.op_vocab)] if pruned else []
            d = NASBench201(osp.join(args.cache, "nasbench201"), pre_transform=Compose(prune + fields))
            datasets[pruned] = [d[i] for i in range(len(d))]
        return datasets[pruned]

    ds = NASBench201(osp.join(args.cache, "nasbench201"))
    pool = FLOWERFORMER_TRAIN_POOL["nasbench201"]
    fgp_index = proxies.index(args.fgp_proxy) if args.fgp_proxy else None
    os.makedirs(args.out, exist_ok=True)

    members = []
    for p in args.predictors:
        for spec in (p[4:].split(",") if p.startswith("ens:") else [p]):
            if spec not in members:
                parse(spec)
                members.append(spec)
    print(f"NB201, FlowerFormer protocol (pool {pool}), seeds {args.seeds}, proxies {proxies}")

    pretrain_seconds: dict[str, list[float]] = {}
    results: dict = {}
    for size in args.sizes:
        for seed in args.seeds:
            split = flowerformer_split(len(ds), size, pool, 40, seed)
            y = ds.y[split["test"]]
            scores, seconds = {}, {}
            for spec in members:
                encoder, pruned, use_fgp, use_zc = parse(spec)
                graphs = graphs_of(pruned)
                train = [graphs[i] for i in split["train"]]
                val = [graphs[i] for i in split["val"]]
                test = [graphs[i] for i in split["test"]]
                torch.manual_seed(seed)
                model = build(encoder, len(proxies))
                if use_fgp:
                    tag = f"{encoder}{'_pruned' if pruned else ''}_e{args.fgp_epochs}_{args.fgp_proxy}"
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
                recipe = dict(RECIPES[encoder], seed=seed, progress=False)
                if args.epochs:
                    recipe["epochs"] = args.epochs
                t0 = time.perf_counter()
                fit(model, train, val, TrainConfig(**recipe))
                seconds[spec] = time.perf_counter() - t0
                s_train = predict(model, train)
                scores[spec] = (predict(model, test) - s_train.mean()) / s_train.std()
            for p in args.predictors:
                parts = p[4:].split(",") if p.startswith("ens:") else [p]
                s = torch.stack([scores[m] for m in parts]).mean(0)
                r = dict(tau=kendall_tau(s, y), p1=precision_at_k(s, y, max(1, round(0.01 * len(y)))),
                         seconds=sum(seconds[m] for m in parts), train=len(train))
                results.setdefault((size, p), []).append(r)
                print(f"  {p:>28} size {size:g} ({len(train)} train) seed {seed}: tau {r['tau']:.4f}, "
                      f"P@1% {r['p1']:.3f}, {r['seconds']:.0f} s", flush=True)

    print(f"\nNB201, FlowerFormer protocol, {len(args.seeds)} seed(s), mean ± std\n")
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
