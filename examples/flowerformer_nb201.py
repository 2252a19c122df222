"""FlowerFormer on NAS-Bench-201, the reference seed-0 split (../shared/notes/reference-runs.md).

``pyg_nar.splits.flowerformer_split(15625, ratio, 7813, seed)``: with ratio 0.1 and seed 0,
781 training, 40 validation and 14,804 test cells; label ``cifar10_test_200ep``. The official
recipe (``TrainConfig.flowerformer``): AdamW lr 8e-4, wd 6e-5, gradient clipping 1, pairwise
hinge loss with margin 0.5, batch 32, cosine schedule with 15% warm-up (30 of 200 epochs);
model selection on validation Kendall's tau. Prints test Kendall's tau, Spearman's rho and
precision@K, and the wall time.

The official run reached test tau 0.903 / 0.910 / 0.915 / 0.915 after 50 / 100 / 150 / 200
epochs on this split. Measured here (``--epochs 60 --threads 1``, seed 0, on a 2-core machine
shared with other jobs, load average ~10)::

    ratio 0.1 seed 0: 781 train / 40 val / 14804 test, 60 epochs (best val tau 0.9436 at epoch 35)
      test Kendall tau 0.9004  Spearman 0.9850  P@50 0.640  P@100 0.560  P@500 0.710
      training 1168 s (19.46 s/epoch), test inference 23.9 s (619 archs/s)

(``--epochs 12``: test tau 0.8331.) The 200-epoch schedule was not run here.

Examples::

    python examples/flowerformer_nb201.py --epochs 200                  # the paper schedule
    python examples/flowerformer_nb201.py --epochs 30 --seeds 0 1 2     # a short one
    python examples/flowerformer_nb201.py --ratios 0.01 0.05 0.1 0.5 --epochs 100
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

import torch
from torch_geometric.transforms import Compose

from pyg_nar.datasets import NASBench201
from pyg_nar.metrics import kendall_tau, precision_at_k, spearman_rho
from pyg_nar.models import FlowerFormer
from pyg_nar.splits import flowerformer_split, train_pool
from pyg_nar.training import TrainConfig, fit, predict
from pyg_nar.transforms import FlowMask, TopologicalGenerations


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=os.path.join(tempfile.gettempdir(), "pyg_nar", "nb201_flowerformer"),
                        help="where the processed dataset is cached")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--ratios", type=float, nargs="+", default=[0.1],
                        help="training ratios of the 7,813-cell training pool")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0],
                        help="split permutation seeds (the training seed follows --train-seed)")
    parser.add_argument("--train-seed", type=int, default=0)
    parser.add_argument("--layers", type=int, default=9)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    dataset = NASBench201(args.root, target="cifar10_test_200ep",
                          pre_transform=Compose([TopologicalGenerations(), FlowMask()]))
    y = dataset.y.view(-1) if hasattr(dataset, "y") else torch.cat([d.y for d in dataset])
    pool = train_pool("nasbench201", len(dataset))
    for ratio in args.ratios:
        for seed in args.seeds:
            split = flowerformer_split(len(dataset), ratio, pool, seed=seed)
            model = FlowerFormer(num_ops=len(dataset.op_vocab), channels=args.channels,
                                 num_layers=args.layers)
            config = TrainConfig.flowerformer(epochs=args.epochs, seed=args.train_seed,
                                              progress=args.progress)
            t = time.perf_counter()
            result = fit(model, dataset[split["train"]], dataset[split["val"]], config)
            train_s = time.perf_counter() - t
            t = time.perf_counter()
            pred = predict(model, dataset[split["test"]], batch_size=256)
            test_s = time.perf_counter() - t
            target = y[split["test"]]
            print(f"ratio {ratio} seed {seed}: {len(split['train'])} train / {len(split['val'])} val / "
                  f"{len(split['test'])} test, {args.epochs} epochs "
                  f"(best val tau {result.best_metric:.4f} at epoch {result.best_epoch})")
            print(f"  test Kendall tau {kendall_tau(pred, target):.4f}  Spearman {spearman_rho(pred, target):.4f}  "
                  + "  ".join(f"P@{k} {precision_at_k(pred, target, k):.3f}" for k in (50, 100, 500)))
            print(f"  training {train_s:.0f} s ({train_s / args.epochs:.2f} s/epoch), "
                  f"test inference {test_s:.1f} s ({len(pred) / test_s:,.0f} archs/s)")


if __name__ == "__main__":
    main()
