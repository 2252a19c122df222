"""Load the NAS-Bench datasets from ``$PYG_NAR_DATA`` and print what they hold.

    python examples/dataset_summary.py [--root data]
"""
import argparse
import time

import torch

from pyg_nar.datasets import NASBench101, NASBench201, NASBenchGraph


def summarize(name, ds, unit="%", scale=100.0):
    y = ds.y * scale
    q = torch.quantile(y, torch.tensor([0.1, 0.5, 0.9]))
    best = int(y.argmax())
    print(f"{name:<24} {len(ds):>7,} graphs  {ds[0].num_nodes} nodes  ops={len(ds.op_vocab)}  "
          f"y: min {y.min():.2f}  p10 {q[0]:.2f}  median {q[1]:.2f}  p90 {q[2]:.2f}  max {y.max():.2f}{unit}")
    return best


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default="data", help="where processed datasets are cached")
    args = p.parse_args()
    t = time.perf_counter()
    nb201 = NASBench201(f"{args.root}/nasbench201")
    best = summarize("NAS-Bench-201 (CIFAR-10)", nb201)
    print(f"  best cell: index {nb201[best].arch_id.item()}  {nb201[best].arch_str}  "
          f"{100 * nb201[best].y.item():.2f}%")
    summarize("NAS-Bench-101 (subset)", NASBench101(f"{args.root}/nasbench101"))
    summarize("NAS-Bench-Graph (cora)", NASBenchGraph(f"{args.root}/nasbench_graph", "cora"))
    print(f"loaded in {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
