"""Sample every zoo family, export, convert and measure: does everything work, and how long
does one latency measurement take on this machine?

    python benchmarks/zoo_check.py --per-family 10 [--rounds 5 --round-ms 40]

Prints per family: graph sizes, median / max latency (ms, batch 1, 1 thread) and the wall time
of one whole ``measure_latency`` call (every round's session creation, warm-up and timed
runs). Any export / conversion failure is raised, not skipped.
"""
import argparse
import os
import random
import statistics
import tempfile
import time

from pyg_nar.networks import MeasureProtocol, from_onnx, measure_latency
from pyg_nar.networks.zoo import FAMILIES, build_model, export_onnx, sample_config


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-family", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--round-ms", type=float, default=40.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp()
    protocol = MeasureProtocol(rounds=args.rounds, round_ms=args.round_ms)
    print(f"{'family':>12} {'nodes min-max':>13} {'lat ms med':>10} {'lat ms max':>10} "
          f"{'measure s med':>13} {'measure s max':>13} {'export s med':>12}")
    for fam in FAMILIES:
        nodes, lats, meas, exps = [], [], [], []
        for i in range(args.per_family):
            cfg = sample_config(fam, random.Random(f"check-{args.seed}-{fam}-{i}"))
            path = os.path.join(tmp, f"{fam}_{i}.onnx")
            t0 = time.perf_counter()
            export_onnx(build_model(cfg), path, cfg["input_size"])
            exps.append(time.perf_counter() - t0)
            nodes.append(from_onnx(path).num_nodes)
            t0 = time.perf_counter()
            lats.append(measure_latency(path, 1, protocol=protocol))
            meas.append(time.perf_counter() - t0)
        print(f"{fam:>12} {min(nodes):>6}-{max(nodes):<6} {statistics.median(lats):>10.3f} "
              f"{max(lats):>10.3f} {statistics.median(meas):>13.3f} {max(meas):>13.3f} "
              f"{statistics.median(exps):>12.2f}", flush=True)


if __name__ == "__main__":
    main()
