"""Build a small latency dataset of this machine from the model zoo and load it as NNLQP.

    python examples/latency_zoo.py --root /tmp/pyg_nar_latency --per-family 5 --noise-samples 20

1. samples ``--per-family`` models of each of the ten zoo families, exports them to ONNX
   (weight-stripped, NNLQP's layout) and measures their onnxruntime latency on 1 CPU thread
   (resumable: re-running continues where an interrupted run stopped);
2. loads the folder with ``pyg_nar.datasets.NNLQP`` and prints what the graphs hold;
3. re-measures ``--noise-samples`` models (0: skip) and prints the MAPE between the two
   measurements of the same models: no latency predictor can be trusted below this noise floor
   here.

A folder holding only a stored measurement's ``gt.txt`` and ``configs.jsonl`` (e.g. a copy of
``examples/data/zoo_cpu_b16``) gets its ONNX files re-exported, nothing re-measured.
"""
import argparse
import statistics
import time

from pyg_nar.datasets import NNLQP
from pyg_nar.networks import build_latency_dataset, measurement_noise
from pyg_nar.networks.zoo import FAMILIES


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default="/tmp/pyg_nar_latency")
    ap.add_argument("--per-family", type=int, default=5)
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[1])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--noise-samples", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    t0 = time.time()
    build_latency_dataset(args.root, FAMILIES, per_family=args.per_family, seed=args.seed,
                          batch_sizes=args.batch_sizes, threads=args.threads)
    print(f"built / resumed {args.root} in {time.time() - t0:.1f} s")

    ds = NNLQP(args.root)
    print(ds, "| op vocabulary:", len(ds.op_vocab), "operators")
    print(f"{'family':>12} {'graphs':>6} {'nodes (median)':>14} {'MFLOPs (median)':>15} {'latency ms (median)':>19}")
    for t, name in enumerate(ds.model_types):
        idx = (ds.model_type == t).nonzero().view(-1).tolist()
        graphs = [ds[i] for i in idx]
        print(f"{name:>12} {len(graphs):>6} {statistics.median(g.num_nodes for g in graphs):>14} "
              f"{statistics.median(g.static[0, 1].item() for g in graphs):>15.2f} "
              f"{statistics.median(g.y.item() for g in graphs):>19.3f}")

    if args.noise_samples <= 0:
        return
    noise = measurement_noise(args.root, num_samples=args.noise_samples, seed=args.seed,
                              threads=args.threads)
    n = len(noise["pairs"])
    print(f"measurement noise over {n} models: MAPE re-measured vs recorded in gt.txt = "
          f"{100 * noise['mape']:.1f}%, two back-to-back measurements = "
          f"{100 * noise['mape_back_to_back']:.1f}%")


if __name__ == "__main__":
    main()
