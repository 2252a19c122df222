"""Few-shot latency prediction on HELP's unseen devices (HELP protocol), with its baselines.

Pre-trains :class:`pyg_nar.fewshot.MultiDeviceLatency` on HELP's 9 meta-train devices (all the
space's architectures; on ``pixel3`` the degenerate NB201 cells are left out), then, for every
meta-test device and k in ``--ks``, adapts it (:func:`pyg_nar.fewshot.adapt`) to ``--draws``
random sets of k architectures from HELP's pool of that device and scores it on HELP's query set
(:mod:`pyg_nar.fewshot.help`). Baselines on the same draws (:mod:`pyg_nar.fewshot.protocol`):
FLOPs (ranks need no measurement; ms from a log-log fit to the k points), a ridge fit from
scratch on the k points, and the full-data predictor (the same encoder trained on all the
device's architectures outside the query set). Rows: mean +- std over the draws; the mean row
averages the devices per draw first. HELP's reported Spearman's rho is printed beside.

    python examples/fewshot_latency.py                       # both spaces, k = 5, 10, 20, 10 draws
    python examples/fewshot_latency.py --spaces fbnet --ks 10 --draws 5
    python examples/fewshot_latency.py --pretrain-on pool --ks 10 --no-full   # HELP's meta-train pools
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from pyg_nar.datasets import load_help_latencies
from pyg_nar.fewshot import HELP_REPORTED, HELP_SPLITS, help_pretraining_data, pretrain
from pyg_nar.fewshot.protocol import evaluate_device, full_data_model

METRICS = ("spearman", "kendall", "mape", "acc10")


def fmt(values, pct=False):
    """mean ± std over the draws (the mean alone for a single value)."""
    v = np.asarray(values) * (100 if pct else 1)
    if len(v) == 1:
        return f"{v[0]:6.1f}" if pct else f"{v[0]:.3f}"
    return f"{v.mean():6.1f} ± {v.std():4.1f}" if pct else f"{v.mean():.3f} ± {v.std():.3f}"


def row(label, device, k, runs):
    cols = [fmt([r[m] for r in runs], pct=m in ("mape", "acc10")) for m in METRICS]
    return f"| {device} | {label} | {k} | " + " | ".join(cols) + " |"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spaces", nargs="+", default=["nasbench201", "fbnet"], choices=list(HELP_SPLITS))
    ap.add_argument("--ks", nargs="+", type=int, default=[5, 10, 20])
    ap.add_argument("--draws", type=int, default=10)
    ap.add_argument("--raw-dir", default=None, help="benchmark data folder (default $PYG_NAR_DATA)")
    ap.add_argument("--no-full", action="store_true", help="skip the full-data predictor")
    ap.add_argument("--pretrain-on", choices=["all", "pool"], default="all",
                    help="pre-train on all the space's architectures (default) or only on HELP's "
                         "pool (the first 900 NB201 / 4,000 FBNet ones, as HELP meta-trains)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    for space in args.spaces:
        split = HELP_SPLITS[space]
        t = time.perf_counter()
        choices, lat = help_pretraining_data(space, split["meta_train"], args.raw_dir)
        n = len(choices) if args.pretrain_on == "all" else split["pool"]
        base = pretrain(space, choices[:n], {d: v[:n] for d, v in lat.items()})
        t_pre = time.perf_counter() - t
        table = load_help_latencies(space, args.raw_dir, list(split["meta_test"]))
        print(f"\n## {space}: pre-trained on {len(split['meta_train'])} devices x {n} "
              f"architectures in {t_pre:.0f} s; meta-test devices {', '.join(split['meta_test'])}")
        print("| device | method | k | Spearman | Kendall | MAPE % | Acc(10%) % |")
        print("|---|---|---|---|---|---|---|")
        results, seconds = {}, []
        for device in split["meta_test"]:
            full = None if args.no_full else full_data_model(space, choices, table.latency[device])
            r = evaluate_device(base, choices, table.latency[device], args.ks, args.draws,
                                full=full, device=device)
            results[device] = r
            seconds += r["seconds"]
            for method, label in (("adapted", "adapted (ours)"), ("scratch", "from scratch"), ("flops", "FLOPs")):
                for k in args.ks:
                    print(row(label, device, k, r[method][k]))
            if full is not None:
                print(row("full data", device, "all", r["full"][None]))
        for method, label in (("adapted", "adapted (ours)"), ("scratch", "from scratch"), ("flops", "FLOPs")):
            for k in args.ks:
                per_draw = [{m: np.mean([results[d][method][k][i][m] for d in results]) for m in METRICS}
                            for i in range(args.draws)]
                print(row(f"**{label}**", "mean", k, per_draw))
        if not args.no_full:
            print(row("**full data**", "mean", "all",
                      [{m: np.mean([results[d]["full"][None][0][m] for d in results]) for m in METRICS}]))
        for name, rep in HELP_REPORTED[space].items():
            print(f"HELP paper, {name}: Spearman " +
                  ", ".join(f"{d} {v:.3f}" for d, v in rep.items()))
        print(f"adaptation: {np.mean(seconds):.3f} s CPU on average, at most {np.max(seconds):.3f} s "
              f"({len(seconds)} adaptations, {torch.get_num_threads()} thread)")


if __name__ == "__main__":
    main()
