"""Predictor-guided search vs random search vs regularized evolution on NAS-Bench-201.

NAR-Former Sec. 4.4 protocol (after NPENAS), run on the NB201 table instead of DARTS training:
10 random cells, then rounds of "retrain the predictor on every queried cell, mutate the best
queried cells into candidates, query the 10 the predictor ranks highest", 100 queries in all.
Prints mean +- std of the best test accuracy found over the seeds, and saves a plot of the
best accuracy vs the number of queries (needs matplotlib).

    python examples/search_nb201.py [--seeds 5] [--budget 100] [--predictor narformer|ridge] [--plot search_nb201.png]
"""
import argparse
import time

import numpy as np
import torch

from pyg_nar.datasets import NASBench201
from pyg_nar.search import (BenchmarkOracle, predictor_guided_evolution, random_search,
                            regularized_evolution, ridge_onehot_predictor)


def build_predictor(args):
    if args.predictor == "ridge":
        return ridge_onehot_predictor(alpha=args.alpha), f"ridge on one-hot edge ops (alpha={args.alpha})"
    from pyg_nar.search import narformer_predictor
    return (narformer_predictor(epochs=args.epochs, batch_size=args.batch_size, dim=args.dim,
                                num_layers=args.layers),
            f"NAR-Former dim {args.dim}, {args.layers} layers, retrained each round for {args.epochs} "
            f"epochs (batch {args.batch_size}, AdamW 1e-3, MSE)")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default="data", help="where processed datasets are cached")
    p.add_argument("--target", default="cifar10_test_200ep")
    p.add_argument("--budget", type=int, default=100)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--predictor", default="narformer", choices=["ridge", "narformer"])
    p.add_argument("--epochs", type=int, default=20, help="predictor training epochs per round (neural predictors)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest for these tiny models)")
    p.add_argument("--alpha", type=float, default=1.0, help="ridge penalty")
    p.add_argument("--initial", type=int, default=10)
    p.add_argument("--per-round", type=int, default=10)
    p.add_argument("--candidates", type=int, default=100)
    p.add_argument("--plot", default="search_nb201.png", help="PNG path ('' to skip)")
    p.add_argument("--progress", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    oracle = BenchmarkOracle.from_dataset(NASBench201(f"{args.root}/nasbench201", target=args.target))
    best_arch, optimum = oracle.best()
    predictor, pdesc = build_predictor(args)
    methods = {
        "random search": lambda s: random_search(oracle, args.budget, seed=s, progress=args.progress),
        "regularized evolution": lambda s: regularized_evolution(
            oracle, args.budget, population=10, sample=3, seed=s, progress=args.progress),
        "predictor-guided": lambda s: predictor_guided_evolution(
            oracle, args.budget, predictor, seed=s, initial=args.initial, per_round=args.per_round,
            candidates=args.candidates, progress=args.progress),
    }
    print(f"NAS-Bench-201 {args.target}: optimum {optimum:.2f} ({best_arch})")
    print(f"budget {args.budget} queries, seeds 0..{args.seeds - 1}; predictor: {pdesc}")
    print(f"{'method':<24}{'best acc (mean +- std)':>24}{'gap to optimum':>16}{'found optimum':>15}"
          f"{'mean rank':>11}{'time/run':>10}")
    curves = {}
    for name, run in methods.items():
        t = time.perf_counter()
        results = [run(s) for s in range(args.seeds)]
        sec = (time.perf_counter() - t) / args.seeds
        best = np.array([r.best_accuracy for r in results])
        curves[name] = np.stack([r.trajectory for r in results])
        found = sum(oracle.rank_of(b) == 0 for b in best)
        rank = np.mean([oracle.rank_of(b) + 1 for b in best])
        print(f"{name:<24}{best.mean():>15.2f} +- {best.std():.2f}{optimum - best.mean():>16.2f}"
              f"{found:>11}/{args.seeds}{rank:>11.1f}{sec:>9.1f}s")

    if args.plot:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("matplotlib is not installed: no plot (pip install matplotlib)")
            return
        fig, ax = plt.subplots(figsize=(6, 4))
        q = np.arange(1, args.budget + 1)
        for name, c in curves.items():
            m, s = c.mean(0), c.std(0)
            ax.plot(q, m, label=name)
            ax.fill_between(q, m - s, m + s, alpha=0.2)
        ax.axhline(optimum, color="k", ls="--", lw=0.8, label=f"optimum {optimum:.2f}")
        ax.set_xlabel("queries")
        ax.set_ylabel(f"best test accuracy found (%)")
        ax.set_ylim(max(90.0, float(min(c.mean(0)[args.initial - 1] for c in curves.values())) - 1), optimum + 0.3)
        ax.set_title(f"NAS-Bench-201 {args.target}, {args.seeds} seeds")
        ax.legend(loc="lower right")
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"plot saved to {args.plot}")


if __name__ == "__main__":
    main()
