"""FlowerFormer speed: training epoch, inference, batching, and cost vs depth.

    python benchmarks/flowerformer_speed.py [--threads 2] [--quick]

Prints, all measured in this run (best of ``--repeats`` timings):

1. a training epoch at 781 NB201 cells, batch 32 (``pyg_nar.training.fit`` with
   ``TrainConfig.flowerformer``: AdamW, pairwise hinge loss, clip 1) and inference over all
   15,625 cells at batch 256, each against the official code's figures on this kind of machine (../shared/notes/reference-runs.md: 4.1 s/epoch,
   2,040 architectures/s);
2. forward+backward over 256 NB201 cells as one batch vs one graph at a time;
3. time per forward on chains and random DAGs of 8, 32, 128, 512 nodes vs a GCNConv stack
   of the same width and layer count on the same batch, with the matmul FLOPs of both
   (``torch.utils.flop_counter.FlopCounterMode``) to split the ratio into FLOPs and overhead;
   and the flow-encode part alone (time per generation step) next to the number of pairs the
   flow attention visits.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from torch_geometric.data import Batch, Data
from torch_geometric.loader import DataLoader
from torch_geometric.nn import GCNConv, global_mean_pool

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from pyg_nar.data import arch_data  # noqa: E402
from pyg_nar.training import TrainConfig, fit  # noqa: E402
from pyg_nar.models import FlowerFormer  # noqa: E402
from pyg_nar.nn import flow_schedule  # noqa: E402

from pyg_nar.transforms import FlowMask, TopologicalGenerations  # noqa: E402


def flow_fields(data: Data) -> Data:
    return FlowMask()(TopologicalGenerations()(data))


REF_EPOCH_S = 4.1  # official FlowerFormer, 781 NB201 cells, batch 32 (reference-runs.md)
REF_ARCHS_PER_S = 2040.0  # official FlowerFormer inference, batch 256


CLOCK = time.perf_counter  # --clock cpu: time.process_time (this process's CPU seconds)


def best_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = CLOCK()
        fn()
        times.append(CLOCK() - t)
    return min(times)


def nb201_graphs(root: str) -> list[Data]:
    """All NB201 cells with the fields FlowerFormer reads (the dataset is cached in ``root``,
    shared with examples/flowerformer_nb201.py)."""
    from torch_geometric.transforms import Compose

    from pyg_nar.datasets import NASBench201

    dataset = NASBench201(root, pre_transform=Compose([TopologicalGenerations(), FlowMask()]))
    return [Data(op=d.op, edge_index=d.edge_index, y=d.y, node_gen=d.node_gen, flow_index=d.flow_index,
                 depth=d.depth, num_nodes=d.num_nodes) for d in dataset]


class GCNStack(nn.Module):
    """Same width and layer count, synchronous GCNConv message passing (the baseline)."""

    def __init__(self, num_ops, channels, num_layers):
        super().__init__()
        self.emb = nn.Embedding(num_ops, channels)
        self.convs = nn.ModuleList(GCNConv(channels, channels) for _ in range(num_layers))
        self.head = nn.Linear(channels, 1)

    def forward(self, batch):
        h = self.emb(batch.op)
        for conv in self.convs:
            h = conv(h, batch.edge_index).relu()
        return self.head(global_mean_pool(h, batch.batch)).view(-1)


def chain(n: int, num_ops: int, seed: int) -> Data:
    g = torch.Generator().manual_seed(seed)
    return flow_fields(arch_data(torch.randint(0, num_ops, (n,), generator=g),
                                 torch.stack([torch.arange(n - 1), torch.arange(1, n)])))


def random_dag(n: int, num_ops: int, seed: int) -> Data:
    """Every node after the first takes inputs from up to two random earlier nodes."""
    g = torch.Generator().manual_seed(seed)
    edges = set()
    for v in range(1, n):
        for u in torch.randint(0, v, (min(v, 2),), generator=g).tolist():
            edges.add((u, v))
    return flow_fields(arch_data(torch.randint(0, num_ops, (n,), generator=g), sorted(edges)))


def flow_only(model: FlowerFormer, batch) -> None:
    """The flow-encode modules of every layer alone (no attention, FFN or norms), on the same
    batch: the part whose cost must grow with depth only."""
    schedule = flow_schedule(batch.edge_index, batch.node_gen, batch.num_nodes)
    h = torch.randn(batch.num_nodes, model.config["channels"])
    for layer in model.layers:
        h = layer.flow(h, schedule=schedule, presorted=True)


def flops(model, batch) -> int:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(batch)
    return counter.get_total_flops()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="cpu: time CPU seconds of this process (use with --threads 1 on a "
                             "machine shared with other jobs, where wall time mostly measures waiting)")
    parser.add_argument("--root", default=os.path.join(tempfile.gettempdir(), "pyg_nar", "nb201_flowerformer"))
    parser.add_argument("--singles", type=int, default=64,
                        help="graphs timed one at a time (the per-graph time is scaled to 256)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--graphs-per-batch", type=int, default=8, help="graphs per batch in the depth sweep")
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 32, 128, 512],
                        help="graph sizes of the depth sweep")
    parser.add_argument("--quick", action="store_true", help="sweep sizes up to 128 only")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.clock} clock, best of {args.repeats}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    t = time.perf_counter()
    graphs = nb201_graphs(args.root)
    print(f"built {len(graphs)} NB201 cell graphs (with flow fields) in {time.perf_counter() - t:.1f} s")
    model = FlowerFormer(num_ops=7)  # paper size: 9 layers, d = 64
    print(f"FlowerFormer: {sum(p.numel() for p in model.parameters()):,} parameters")

    # 1. training epoch and inference, against the official figures
    train = graphs[:781]
    config = TrainConfig.flowerformer(epochs=1, progress=False)  # the project's loop, official recipe
    epoch = best_time(lambda: fit(model, train, None, config), args.repeats)  # one epoch (+ setup)
    print(f"[train] epoch over 781 cells, batch 32: {epoch:.3f} s  "
          f"(official 4.1 s -> {REF_EPOCH_S / epoch:.1f}x faster; target >= 5x)")

    model.eval()
    loader = DataLoader(graphs, batch_size=256)

    def infer():
        with torch.no_grad():
            return torch.cat([model(b) for b in loader])

    total = best_time(infer, max(1, args.repeats - 1))
    batches = list(loader)
    with torch.no_grad():
        model_only = best_time(lambda: [model(b) for b in batches], max(1, args.repeats - 1))
    rate = len(graphs) / total
    print(f"[infer] all {len(graphs)} cells, batch 256: {total:.2f} s = {rate:,.0f} archs/s "
          f"(official 2,040/s -> {rate / REF_ARCHS_PER_S:.1f}x; target >= 10x); model alone "
          f"{model_only:.2f} s = {len(graphs) / model_only:,.0f} archs/s, collation "
          f"{total - model_only:.2f} s")

    gflop = sum(flops(model, b) for b in batches[:4]) / sum(b.num_graphs for b in batches[:4]) * len(graphs) / 1e9
    a, w = torch.randn(2048, 64), torch.randn(64, 192)
    mm_rate = 2 * 2048 * 64 * 192 / best_time(lambda: [a @ w for _ in range(20)], 3) * 20 / 1e9
    print(f"[infer] matmul FLOPs over all cells: {gflop:.0f} GFLOP; this CPU's matmul rate at this "
          f"size ([2048, 64] x [64, 192]): {mm_rate:.0f} GFLOP/s -> matmuls alone need >= "
          f"{gflop / mm_rate:.2f} s; 10x the official rate needs {len(graphs) / (10 * REF_ARCHS_PER_S):.2f} s")

    # 2. batching pays
    model.train()
    cells = graphs[:256]
    one = Batch.from_data_list(cells)
    singles = [Batch.from_data_list([g]) for g in cells]

    def step(batches):
        for b in batches:
            model.zero_grad()
            model(b).sum().backward()

    t_batch = best_time(lambda: step([one]), args.repeats)
    t_single = best_time(lambda: step(singles[:args.singles]), 1) * len(singles) / args.singles
    print(f"[batching] fwd+bwd over 256 cells: one batch {t_batch * 1e3:.1f} ms, one graph at a time "
          f"{t_single * 1e3:.0f} ms (from {args.singles} graphs) -> {t_single / t_batch:.0f}x (target >= 20x)")

    # 3. cost vs depth, against a same-size GCNConv stack
    model.eval()
    gcn = GCNStack(7, 64, 9).eval()
    sizes = [n for n in args.sizes if n <= 128] if args.quick else args.sizes
    print(f"[depth] {args.graphs_per_batch} graphs per batch; time per forward (eval, no grad); "
          f"matmul FLOPs by FlopCounterMode")
    print(f"{'graph':>12} {'depth':>6} {'FlowerFormer':>13} {'GCN stack':>10} {'time ratio':>11} "
          f"{'FLOP ratio':>11} {'overhead':>9} {'steps':>6} {'flow part':>10} {'ms/step':>8} "
          f"{'attn pairs':>11}")
    for kind, make in (("chain", chain), ("random DAG", random_dag)):
        for n in sizes:
            batch = Batch.from_data_list([make(n, 7, s) for s in range(args.graphs_per_batch)])
            reps = args.repeats if n <= 128 else 1
            with torch.no_grad():
                t_ff = best_time(lambda: model(batch), reps)
                t_gcn = best_time(lambda: gcn(batch), args.repeats)
                t_flow = best_time(lambda: flow_only(model, batch), reps)
            f_ff, f_gcn = flops(model, batch), flops(gcn, batch)
            ratio, fratio = t_ff / t_gcn, f_ff / f_gcn
            steps = len(model.layers) * flow_schedule(batch.edge_index, batch.node_gen).num_steps
            print(f"{kind + ' ' + str(n):>12} {int(batch.depth.max()):>6} {t_ff * 1e3:>11.1f}ms "
                  f"{t_gcn * 1e3:>8.2f}ms {ratio:>10.0f}x {fratio:>10.1f}x {ratio / fratio:>8.1f}x "
                  f"{steps:>6} {t_flow * 1e3:>8.1f}ms {t_flow * 1e3 / steps:>8.3f} "
                  f"{batch.flow_index.size(1):>11,}")
    print(f"load average now {os.getloadavg()[0]:.1f}")
    print("overhead = time ratio / FLOP ratio: the part of the slowdown not explained by FlowerFormer's "
          "extra arithmetic (per-generation Python steps, small kernels)")
    print("flow part = the 9 flow-encode modules alone (2 x depth steps each); attn pairs = flow "
          "pairs the attention visits (every ancestor/descendant pair in both directions and every node with itself: n^2 per chain of n nodes)")


if __name__ == "__main__":
    main()
