"""NAR-Former speed on NAS-Bench-201, at the paper's sizes (d=192, 6+3x(1+1+1) blocks).

Prints:
  1. batched inference over all 15,625 NB201 cells (archs/s; target < 2 s on 2 cores),
  2. training seconds per epoch at 781 cells + their flow-consistent copies, batch 128,
     NAR-Former loss (MSE + 0.1 SR + 0.5 AC) and EMA, vs the official code's 3.8 s/epoch
     measured on this kind of machine (/work/shared/notes/reference-runs.md),
  3. batch-1 latency (official: 7.9 ms at 1 thread) and per-architecture time at batch 128
     (official: about 1.0 ms at 1 thread).

    python benchmarks/narformer_speed.py [--threads 2] [--epochs 3] [--size paper|pipeline]

``--size pipeline`` times the size ``pyg-nar train narformer`` uses (``pyg_nar.recipes.
NARFORMER_CPU_SIZE``: d=128, 3 encoder blocks) instead of the paper's.

Uses pyg_nar.datasets.NASBench201 + pyg_nar.transforms (Tokenize, FlowConsistentPair) when
available and the data is found; otherwise ``--synthetic`` tokens of the same shapes (8 nodes,
192-d tokens), which cost exactly the same compute.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from torch_geometric.data import Batch, Data

from pyg_nar.models import NARFormer
from pyg_nar.splits import narformer_split
from pyg_nar.training import TrainConfig, fit, predict

OFFICIAL_EPOCH_S = 3.8      # reference-runs.md: official NAR-Former, 781 cells + aug, batch 128
OFFICIAL_BATCH1_MS = 7.9    # same, 1 thread
OFFICIAL_PER_ARCH_MS = 1.0  # same, batch 128, 1 thread


def real_nb201(root: str):
    from torch_geometric.transforms import Compose

    from pyg_nar.datasets import NASBench201
    from pyg_nar.transforms import FlowConsistentPair, FlowConsistentShuffle, Tokenize

    tf = Compose([Tokenize(), FlowConsistentPair(FlowConsistentShuffle(seed=0))])
    return NASBench201(root, pre_transform=tf)


def synthetic_nb201(num: int = 15625, token_dim: int = 192, depth_dim: int = 96):
    g = torch.Generator().manual_seed(0)
    ei = torch.tensor([[0, 0, 0, 1, 1, 2, 3, 4, 5, 6], [1, 2, 4, 3, 5, 6, 6, 7, 7, 7]])
    out = []
    for i in range(num):
        t = torch.randn(8, token_dim, generator=g)
        out.append(Data(tokens=t, aug_tokens=t[torch.randperm(8, generator=g)],
                        end_token=torch.randn(1, token_dim, generator=g),
                        depth_enc=torch.randn(1, depth_dim, generator=g), edge_index=ei,
                        num_nodes=8, y=torch.rand(1, generator=g)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=3, help="timed training epochs (after 1 warm-up)")
    ap.add_argument("--root", default=os.path.expanduser("~/.cache/pyg_nar/nasbench201"),
                    help="processed-dataset cache")
    ap.add_argument("--synthetic", action="store_true", help="random tokens of NB201 shape")
    ap.add_argument("--size", default="paper", choices=["paper", "pipeline"])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    source = "synthetic tokens of NB201 shape"
    if args.synthetic:
        data = synthetic_nb201()
    else:
        try:
            data = real_nb201(args.root)
            source = "NASBench201 + Tokenize + FlowConsistentPair"
        except (ImportError, FileNotFoundError) as e:
            print(f"(real NB201 not available: {e}; using synthetic tokens of the same shapes)")
            data = synthetic_nb201()
    g0 = data[0]
    torch.manual_seed(0)
    from pyg_nar.recipes import NARFORMER_CPU_SIZE
    model = NARFormer.from_data(g0, **(NARFORMER_CPU_SIZE if args.size == "pipeline" else {}))
    n_params = sum(p.numel() for p in model.parameters())
    print(f"data: {source}, {len(data)} cells, tokens {tuple(g0.tokens.shape)}; "
          f"NARFormer ({args.size} size) {n_params:,} parameters; torch threads {torch.get_num_threads()}")
    data_list = [data[i] for i in range(len(data))]

    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as fc:  # (with autograd on: its module tracker needs it)
        model.eval()(Batch.from_data_list(data_list[:128]))
    mflop = fc.get_total_flops() / 128 / 1e6
    print(f"forward cost: {mflop:.1f} MFLOP per architecture "
          f"({mflop * len(data_list) / 1e3:.0f} GFLOP for the whole space)")

    # 1. inference over the whole space
    predict(model, data_list[:2048], batch_size=1024)  # warm-up
    t = time.perf_counter()
    preds = predict(model, data_list, batch_size=1024)
    inf_s = time.perf_counter() - t
    print(f"inference, all {preds.numel()} cells (batch 1024): {inf_s:.2f} s, "
          f"{preds.numel() / inf_s:,.0f} archs/s, {mflop * preds.numel() / inf_s / 1e3:.0f} GFLOP/s "
          f"(target < 2 s)")

    # 2. training epoch at 781 cells + augmented copies
    split = narformer_split(len(data_list), 781, seed=0)
    train = [data_list[i] for i in split["train"]]
    cfg = TrainConfig.narformer(epochs=1 + args.epochs, progress=False)
    res = fit(model, train, None, cfg)
    epoch_s = statistics.median(h["seconds"] for h in res.history[1:])
    print(f"training, 781 cells + 781 augmented, batch 128, MSE+0.1SR+0.5AC, EMA: "
          f"{epoch_s:.2f} s/epoch (median of {args.epochs}); official {OFFICIAL_EPOCH_S} s/epoch "
          f"-> {OFFICIAL_EPOCH_S / epoch_s:.1f}x faster; 4000 epochs = {4000 * epoch_s / 3600:.2f} h")

    print(f"  (training: {781 * 2 * 3 * mflop / 1e3:.0f} GFLOP per epoch, "
          f"{781 * 2 * 3 * mflop / 1e3 / epoch_s:.0f} GFLOP/s)")

    # 3. latency
    model.eval()
    one = Batch.from_data_list([data_list[0]])
    b128 = Batch.from_data_list(data_list[:128])
    with torch.inference_mode():
        for _ in range(10):
            model(one)
        times = []
        for _ in range(200):
            t = time.perf_counter()
            model(one)
            times.append(time.perf_counter() - t)
        b1_ms = statistics.median(times) * 1e3
        times = []
        for _ in range(20):
            t = time.perf_counter()
            model(b128)
            times.append(time.perf_counter() - t)
        b128_ms = statistics.median(times) * 1e3 / 128
    print(f"latency: batch 1 {b1_ms:.2f} ms (official {OFFICIAL_BATCH1_MS} ms at 1 thread), "
          f"batch 128 {b128_ms:.3f} ms/arch (official ~{OFFICIAL_PER_ARCH_MS} ms at 1 thread)")


if __name__ == "__main__":
    main()
