"""Few-shot latency of whole networks on this machine: pre-train on one setting, adapt to another
from k measured networks (:func:`pyg_nar.fewshot.adapt_network`).

Pre-training: NAR-Former V2 with pyg_nar's latency recipe (``pyg-nar train narformer-v2
nnlqp:...``'s model and training) on the ``--source`` latency dataset, every model of the
``--target`` dataset left out (90% train / 10% validation of the rest). The target is another
setting of the same zoo families (here: the same machine at batch 1 instead of 16); for every
draw, k of its networks are the measurements and all the others are scored. Methods on the same
draws (mean ± std over ``--draws``):

* ``adapted`` -- :func:`~pyg_nar.fewshot.adapt_network` of the pre-trained model to the k points;
* ``FLOPs`` -- a line in log-log space fitted to the k points (non-negative slope);
* ``from scratch`` -- the same NAR-Former V2 and recipe trained on the k networks alone;
* ``pre-trained as is`` -- the source-setting predictor without adaptation (no draw).

    python examples/fewshot_networks.py --source runs/zoo --target runs/zoo_b1 --ks 5 10 20 --draws 10
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from pyg_nar.datasets import NNLQP
from pyg_nar.fewshot import adapt_network
from pyg_nar.fewshot.protocol import flops_predict, scores
from pyg_nar.recipes import DATASETS, RECIPES
from pyg_nar.training import fit, predict

METRICS = ("mape", "acc10", "spearman", "kendall")


def fmt(values, pct):
    v = np.asarray(values) * (100 if pct else 1)
    if len(v) == 1:
        return f"{v[0]:.1f}" if pct else f"{v[0]:.3f}"
    return f"{v.mean():.1f} ± {v.std():.1f}" if pct else f"{v.mean():.3f} ± {v.std():.3f}"


def train_v2(graphs, val, args, epochs, seed):
    recipe = RECIPES["narformer-v2"]
    torch.manual_seed(seed)
    model = recipe.build(graphs[0], args.num_ops, "latency", hidden=args.hidden, head_hidden=args.hidden)
    config = recipe.config("latency", dict(epochs=epochs, seed=seed, progress=False))
    fit(model, graphs, val, config)
    return model.eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", required=True, help="NNLQP-layout folder of the pre-training setting")
    ap.add_argument("--target", required=True, help="NNLQP-layout folder of the target setting")
    ap.add_argument("--ks", nargs="+", type=int, default=[5, 10, 20])
    ap.add_argument("--draws", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=50, help="pre-training epochs")
    ap.add_argument("--scratch-epochs", type=int, default=200, help="epochs of the from-scratch model on k")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--inputs", choices=["target", "source"], default="target",
                    help="graphs the adapted model reads: as the target dataset converts the ONNX "
                         "files (its batch size), or as the source dataset does (the pre-training "
                         "batch size; `pyg-nar adapt --batch-size`)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    transform = RECIPES["narformer-v2"].transform("latency", DATASETS["nnlqp"])
    source = NNLQP(args.source, pre_transform=transform)
    target = NNLQP(args.target, pre_transform=transform)
    args.num_ops = len(source.op_vocab)
    held = {r["onnx_path"] for r in target.rows}
    pre = np.array([i for i, r in enumerate(source.rows) if r["onnx_path"] not in held])
    y = target.y.double().numpy()
    target_batch = target.rows[0]["batch_size"]
    if args.inputs == "source":  # the target's networks as the source dataset converts them
        where = {r["onnx_path"]: i for i, r in enumerate(source.rows)}
        target = source[[where[r["onnx_path"]] for r in target.rows]]
    pre = np.random.default_rng(args.seed).permutation(pre)
    n_val = max(1, len(pre) // 10)
    t = time.process_time()
    base = train_v2(source[pre[n_val:].tolist()], source[pre[:n_val].tolist()], args, args.epochs, args.seed)
    print(f"pre-trained NAR-Former V2 on {len(pre) - n_val} + {n_val} (validation) networks of "
          f"{args.source} ({source.rows[0]['platform']}, batch {source.rows[0]['batch_size']}) in "
          f"{time.process_time() - t:.0f} s of CPU; target {args.target}: {len(y)} other networks "
          f"(batch {target_batch}); the models read the graphs of the "
          f"{args.inputs} dataset")
    flops = np.array([float(d.static[0, 1]) for d in target])
    as_is = predict(base, target).double().numpy()
    rows = {("pre-trained as is", None): [scores(as_is, y)]}
    seconds = []
    for k in args.ks:
        runs = {m: [] for m in ("adapted", "FLOPs", "from scratch")}
        for draw in range(args.draws):
            pick = np.random.default_rng(1000 + draw).choice(len(target), k, replace=False)
            rest = np.setdiff1d(np.arange(len(target)), pick)
            t = time.process_time()
            adapted = adapt_network(base, target[pick.tolist()], y[pick])
            seconds.append(time.process_time() - t)
            runs["adapted"].append(scores(predict(adapted, target[rest.tolist()]).double().numpy(), y[rest]))
            runs["FLOPs"].append(scores(flops_predict(flops[pick], y[pick], flops[rest]), y[rest]))
            scratch = train_v2(target[pick.tolist()], None, args, args.scratch_epochs, args.seed + draw)
            runs["from scratch"].append(scores(predict(scratch, target[rest.tolist()]).double().numpy(), y[rest]))
        for m, r in runs.items():
            rows[(m, k)] = r
        print(f"  k = {k} done", flush=True)
    print("\n| method | k | MAPE % | Acc(10%) % | Spearman | Kendall |")
    print("|---|---|---|---|---|---|")
    for (m, k), r in sorted(rows.items(), key=lambda kv: (kv[0][1] or 0, kv[0][0])):
        cols = [fmt([s[c] for s in r], c in ("mape", "acc10")) for c in METRICS]
        print(f"| {m} | {k if k is not None else '-'} | " + " | ".join(cols) + " |")
    print(f"\nadaptation: {np.mean(seconds):.3f} s of CPU on average, at most {np.max(seconds):.3f} s")


if __name__ == "__main__":
    main()
