"""Predictor-guided search vs random search vs regularized evolution on NAS-Bench-201.

NAR-Former Sec. 4.4 protocol (after NPENAS), run on the NB201 table instead of DARTS training:
10 random cells, then rounds of "retrain the predictor on every queried cell, mutate the best
queried cells into candidates, query the 10 the predictor ranks highest", 100 queries in all.
Prints mean +- std of the best test accuracy found over the seeds, and saves a plot of the
best accuracy vs the number of queries (needs matplotlib: pip install matplotlib).

    python examples/search_nb201.py [--seeds 5] [--budget 100] [--predictor narformer|ridge]
"""
import argparse

from pyg_nar.search import compare_searches


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default="data", help="where processed datasets are cached")
    p.add_argument("--target", default="cifar10_test_200ep")
    p.add_argument("--budget", type=int, default=100)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--predictor", default="narformer", choices=["narformer", "ridge"],
                   help="narformer: NAR-Former dim 64, 2 layers, retrained each round; ridge: ridge "
                        "regression on one-hot edge ops")
    p.add_argument("--epochs", type=int, default=20, help="NAR-Former training epochs per round")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest for these tiny models)")
    p.add_argument("--plot", default="search_nb201.png", help="PNG path ('' to skip)")
    p.add_argument("--progress", action="store_true")
    args = p.parse_args()

    plot = args.plot
    if plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print("matplotlib is not installed: no plot (pip install matplotlib)")
            plot = None
    rows = compare_searches(budget=args.budget, seeds=args.seeds, cache=args.root, plot=plot,
                            progress=args.progress, target=args.target, predictor=args.predictor,
                            epochs=args.epochs, threads=args.threads, log=print)
    optimum = rows[0]["best_mean"] + rows[0]["gap_to_optimum"]
    print(f"\nNAS-Bench-201 {args.target}: optimum {optimum:.2f}; budget {args.budget} queries; "
          f"seeds 0..{args.seeds - 1}")
    print(f"{'method':<34}{'best acc (mean +- std)':>24}{'gap':>7}{'found opt.':>12}{'mean rank':>11}{'s/run':>8}")
    for r in rows:
        print(f"{r['method']:<34}{r['best_mean']:>15.2f} +- {r['best_std']:.2f}{r['gap_to_optimum']:>7.2f}"
              f"{r['found_optimum']:>12}{r['mean_rank']:>11.1f}{r['sec_per_run']:>8.1f}")
    if plot:
        print(f"plot saved to {plot}")


if __name__ == "__main__":
    main()
