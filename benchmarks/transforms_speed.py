"""Speed of pyg_nar.transforms.

1. FlowMask (transitive closure made undirected, plus self pairs) and TopologicalGenerations
   on a 2,000-node random ONNX-like DAG and a 2,000-node chain, against a library baseline
   measured in the same run: reachability by scipy.sparse.csgraph.shortest_path (a BFS from
   every node, in C). ``--networkx`` adds networkx.transitive_closure_dag (slow: ~5 s on the
   random DAG, ~15 s on the chain on a 2-core machine).
2. Per NAS-Bench-201 cell (8 nodes; cells from pyg_nar.datasets.NASBench201 over
   $PYG_NAR_DATA): every transform against its implementation before the small-graph
   speed-up (commit df34496, read from git by :func:`load_baseline`), timed in alternating rounds in
   the same run (best round), and checked bit-identical on every cell.
3. NASBench201(root, pre_transform=Compose([Tokenize(), FlowConsistentPair(...)])) over all
   15,625 cells, processed from scratch with the current and the frozen transforms.

Usage: python benchmarks/transforms_speed.py [--networkx] [--cells N] [--rounds R]
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import shutil
import sys
import tempfile
import time

import numpy as np
import scipy.sparse as sp
import torch
import torch_geometric.transforms as T
from scipy.sparse import csgraph

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

BASELINE_REV = "df34496"  # pyg_nar.transforms before the small-graph speed-up


def load_baseline(rev: str = BASELINE_REV):
    """The transforms as they were at ``rev``, read from git into a temporary package, so the
    baseline is timed in the same run without a copy of the old code in the tree."""
    import subprocess
    import tempfile

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    pkg = os.path.join(tempfile.mkdtemp(), "_baseline_transforms")
    os.makedirs(pkg)
    for name in ("__init__", "_common", "tokenize", "generations", "flow", "augment", "adjacency"):
        try:
            src = subprocess.run(["git", "show", f"{rev}:pyg_nar/transforms/{name}.py"], cwd=repo,
                                 check=True, capture_output=True, text=True).stdout
        except (OSError, subprocess.CalledProcessError) as e:
            sys.exit(f"transforms_speed.py: the baseline needs the git history (commit {rev}): {e}")
        with open(os.path.join(pkg, f"{name}.py"), "w") as f:
            f.write(src.replace("pyg_nar.transforms", "_baseline_transforms"))
    sys.path.insert(0, os.path.dirname(pkg))
    import _baseline_transforms

    return _baseline_transforms


before = load_baseline()
from pyg_nar.data import arch_data  # noqa: E402
from pyg_nar.datasets import NASBench201  # noqa: E402
from pyg_nar.transforms import (FlowConsistentPair, FlowConsistentShuffle, FlowMask,  # noqa: E402
                                NodeDegree, SymmetricAdjacency, Tokenize, TopologicalGenerations)

SAMPLE = 1000  # cells timed per transform and for the scipy baseline


def onnx_like_dag(n: int, seed: int = 0):
    """Each node reads 1 input (2 with probability 0.3) among the 20 previous nodes."""
    rng = np.random.default_rng(seed)
    src, dst = [], []
    for v in range(1, n):
        k = min(v, 1 + int(rng.random() < 0.3))
        for u in rng.choice(np.arange(max(0, v - 20), v), size=k, replace=False):
            src.append(int(u))
            dst.append(v)
    return arch_data([0] * n, [src, dst], name="onnx-like DAG")


def chain(n: int):
    return arch_data([0] * n, [list(range(n - 1)), list(range(1, n))], name="chain")


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def scipy_flow_pairs(data):
    n = data.num_nodes
    src, dst = data.edge_index.numpy()
    adj = sp.csr_matrix((np.ones(src.size), (src, dst)), shape=(n, n))
    reach = np.isfinite(csgraph.shortest_path(adj, method="D", directed=True, unweighted=True))
    mask = reach | reach.T
    return torch.from_numpy(mask).nonzero().t()


def networkx_flow_pairs(data):
    import networkx as nx
    g = nx.DiGraph()
    g.add_nodes_from(range(data.num_nodes))
    g.add_edges_from(data.edge_index.t().tolist())
    closure = list(nx.transitive_closure_dag(g).edges())
    return len(closure) * 2 + data.num_nodes


class CopyOnly(T.BaseTransform):
    """What every transform pays before its own work: BaseTransform's ``copy.copy(data)``."""

    def forward(self, data):
        return data


def per_cell_us(transform, cells, rounds):
    """Best over ``rounds`` of the mean CPU time per cell, in microseconds (CPU time: on a
    loaded machine wall time mostly measures the wait for a core)."""
    best = float("inf")
    for _ in range(rounds):
        t = time.process_time()
        for c in cells:
            transform(c)
        best = min(best, time.process_time() - t)
    return best / len(cells) * 1e6


def same_fields(a, b, keys):
    """Bit-identical: same dtype, shape and bytes (so -0.0 != 0.0, unlike torch.equal)."""
    return all(a[k].dtype == b[k].dtype and a[k].shape == b[k].shape
               and a[k].numpy().tobytes() == b[k].numpy().tobytes() for k in keys)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networkx", action="store_true", help="also time networkx")
    parser.add_argument("--cells", type=int, default=None,
                        help="NB201 cells checked bit-identical (default: all)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating timing rounds")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (wall times scale with it)")

    print("== 2,000-node graphs: FlowMask / TopologicalGenerations ==")
    for name, data in (("random ONNX-like DAG", onnx_like_dag(2000)), ("chain", chain(2000))):
        t_gen, gen = best_of(lambda: TopologicalGenerations()(data))
        t_flow, out = best_of(lambda: FlowMask()(data))
        t_scipy, ref = best_of(lambda: scipy_flow_pairs(data), repeat=1)
        assert ref.size(1) == out.flow_index.size(1)
        print(f"{name}: N={data.num_nodes} E={data.num_edges} depth={int(gen.depth)} "
              f"flow pairs P={out.flow_index.size(1):,}")
        print(f"  TopologicalGenerations            {t_gen * 1e3:8.1f} ms")
        print(f"  FlowMask                          {t_flow * 1e3:8.1f} ms")
        print(f"  baseline scipy csgraph BFS        {t_scipy * 1e3:8.1f} ms   "
              f"-> FlowMask is {t_scipy / t_flow:.1f}x faster")
        t_gen0, gen0 = best_of(lambda: before.TopologicalGenerations()(data))
        t_flow0, out0 = best_of(lambda: before.FlowMask()(data))
        assert same_fields(gen, gen0, ("node_gen", "edge_gen", "depth"))
        assert same_fields(out, out0, ("flow_index",))
        print(f"  before: TopologicalGenerations {t_gen0 * 1e3:.1f} ms, FlowMask "
              f"{t_flow0 * 1e3:.1f} ms (same fields)")
        if args.networkx:
            t_nx, p = best_of(lambda: networkx_flow_pairs(data), repeat=1)
            assert p == out.flow_index.size(1)
            print(f"  baseline networkx closure         {t_nx * 1e3:8.1f} ms   "
                  f"-> FlowMask is {t_nx / t_flow:.1f}x faster")

    root = os.environ.get("PYG_NAR_DATA", osp.join(osp.dirname(__file__), "..", "..", "shared",
                                                   "data"))
    if not osp.isdir(osp.join(root, "nasbench201")):
        print(f"\nskipped NAS-Bench-201: no data under {root} (set PYG_NAR_DATA)")
        return
    work = tempfile.mkdtemp(prefix="pyg_nar_bench_")
    try:
        nb201_part(root, work, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def nb201_part(root, work, args):
    t = time.perf_counter()
    dataset = NASBench201(osp.join(work, "plain"), raw_dir=root)
    t_build = time.perf_counter() - t
    cells = [dataset[i] for i in range(len(dataset))][:args.cells]
    print(f"\n== NAS-Bench-201 cells (8 nodes, 10 edges): NASBench201 without pre_transform "
          f"processed in {t_build:.1f} s ==")
    pairs = [  # (name, current, before, fields)
        ("Tokenize", Tokenize(), before.Tokenize(), ("tokens", "end_token", "depth_enc")),
        ("FlowConsistentPair", FlowConsistentPair(FlowConsistentShuffle(seed=0)),
         before.FlowConsistentPair(before.FlowConsistentShuffle(seed=0)), ("aug_tokens",)),
        ("TopologicalGenerations", TopologicalGenerations(), before.TopologicalGenerations(),
         ("node_gen", "edge_gen", "depth")),
        ("FlowMask", FlowMask(), before.FlowMask(), ("flow_index",)),
        ("SymmetricAdjacency", SymmetricAdjacency(), before.SymmetricAdjacency(), ("adj_index",)),
        ("NodeDegree", NodeDegree(), before.NodeDegree(), ("in_degree", "out_degree")),
    ]
    sample = cells[:SAMPLE]
    print(f"per cell, best of {args.rounds} alternating rounds over {len(sample):,} cells "
          f"(CPU time; BaseTransform's copy.copy of the Data is included):")
    floor = per_cell_us(CopyOnly(), sample, args.rounds)
    for name, new, old, keys in pairs:
        t_new = t_old = float("inf")
        for _ in range(args.rounds):  # alternate, so both see the same machine load
            t_old = min(t_old, per_cell_us(old, sample, 1))
            t_new = min(t_new, per_cell_us(new, sample, 1))
        print(f"  {name:24s} before {t_old:7.0f} us   now {t_new:6.0f} us   "
              f"-> {t_old / t_new:5.1f}x faster")
    print(f"  (identity BaseTransform, the copy alone: {floor:.0f} us)")

    # bit-identical on every cell (FlowConsistentPair: same seed -> same orders)
    for name, _, _, keys in pairs:
        new, old = [p[1:3] for p in pairs if p[0] == name][0]
        if name == "FlowConsistentPair":
            new = FlowConsistentPair(FlowConsistentShuffle(seed=1))
            old = before.FlowConsistentPair(before.FlowConsistentShuffle(seed=1))
        bad = sum(not same_fields(new(c), old(c), keys) for c in cells)
        assert bad == 0, f"{name}: {bad} cells differ from the frozen implementation"
    print(f"  all fields bit-identical to the frozen implementation on all {len(cells):,} cells")

    print("\n== NASBench201(root, pre_transform=Compose([Tokenize(), FlowConsistentPair()])), "
          "all 15,625 cells processed from scratch ==")
    times = {}
    for label, mod in (("before", before), ("now", sys.modules["pyg_nar.transforms"])):
        pre = T.Compose([mod.Tokenize(), mod.FlowConsistentPair(mod.FlowConsistentShuffle(0))])
        t, c0 = time.perf_counter(), time.process_time()
        ds = NASBench201(osp.join(work, label), raw_dir=root, pre_transform=pre)
        times[label] = time.perf_counter() - t
        print(f"  {label:6s} {times[label]:6.1f} s wall / {time.process_time() - c0:6.1f} s CPU "
              f"({len(ds):,} cells; tokens {tuple(ds[0].tokens.shape)}, "
              f"aug_tokens {tuple(ds[0].aug_tokens.shape)})")
    print(f"  -> processing is {times['before'] / times['now']:.1f}x faster (includes reading the "
          f"CSVs, building the graphs and saving)")


if __name__ == "__main__":
    main()
