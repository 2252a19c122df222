"""Speed of pyg_nar.transforms.

1. FlowMask (transitive closure made undirected, plus self pairs) and TopologicalGenerations
   on a 2,000-node random ONNX-like DAG and a 2,000-node chain, against a library baseline
   measured in the same run: reachability by scipy.sparse.csgraph.shortest_path (a BFS from
   every node, in C). ``--networkx`` adds networkx.transitive_closure_dag (slow: ~5 s on the
   random DAG, ~15 s on the chain on a 2-core machine).
2. Compose([Tokenize(), TopologicalGenerations(), FlowMask(), SymmetricAdjacency(),
   NodeDegree()]) over all 15,625 NAS-Bench-201 cells (built with pyg_nar.data.arch_data
   from $PYG_NAR_DATA/nasbench201/nb201_accuracy.csv.gz), against the cost of building
   those graphs.

Usage: python benchmarks/transforms_speed.py [--networkx] [--cells N]
"""
from __future__ import annotations

import argparse
import csv
import gzip
import os
import os.path as osp
import sys
import time

import numpy as np
import scipy.sparse as sp
import torch
import torch_geometric.transforms as T
from scipy.sparse import csgraph

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout

from pyg_nar.data import arch_data  # noqa: E402
from pyg_nar.transforms import (FlowMask, NodeDegree, SymmetricAdjacency,  # noqa: E402
                                Tokenize, TopologicalGenerations)

NB201_VOCAB = ["input", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3", "skip_connect", "none",
               "output"]
# CSV op codes (0 none, 1 skip, 2 conv1x1, 3 conv3x3, 4 avgpool) -> NB201_VOCAB index
CSV_TO_VOCAB = {0: 5, 1: 4, 2: 1, 3: 2, 4: 3}
NB201_EDGES = [[0, 0, 0, 1, 1, 2, 3, 4, 5, 6], [1, 2, 4, 3, 5, 6, 6, 7, 7, 7]]
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


def nb201_cells(root: str, limit: int | None):
    path = osp.join(root, "nasbench201", "nb201_accuracy.csv.gz")
    rows = []
    with gzip.open(path, "rt") as f:
        for row in csv.DictReader(f):
            rows.append(row)
            if limit and len(rows) >= limit:
                break
    graphs = []
    for row in rows:
        ops = [CSV_TO_VOCAB[int(row[c])] for c in
               ("op_e01", "op_e02", "op_e12", "op_e03", "op_e13", "op_e23")]
        graphs.append(arch_data([0, *ops, 6], NB201_EDGES, float(row["cifar10_test_200ep"]) / 100,
                                num_ops=len(NB201_VOCAB), arch_id=int(row["index"]),
                                name=row["arch_str"]))
    return graphs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networkx", action="store_true", help="also time networkx")
    parser.add_argument("--cells", type=int, default=None, help="NB201 cells (default: all)")
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
        if args.networkx:
            t_nx, p = best_of(lambda: networkx_flow_pairs(data), repeat=1)
            assert p == out.flow_index.size(1)
            print(f"  baseline networkx closure         {t_nx * 1e3:8.1f} ms   "
                  f"-> FlowMask is {t_nx / t_flow:.1f}x faster")

    root = os.environ.get("PYG_NAR_DATA", osp.join(osp.dirname(__file__), "..", "..", "shared",
                                                   "data"))
    print("\n== NAS-Bench-201 cells: Compose([Tokenize(), TopologicalGenerations(), FlowMask(), "
          "SymmetricAdjacency(), NodeDegree()]) ==")
    if not osp.isdir(osp.join(root, "nasbench201")):
        print(f"skipped: no NAS-Bench-201 data under {root} (set PYG_NAR_DATA)")
        return
    t = time.perf_counter()
    cells = nb201_cells(root, args.cells)
    t_build = time.perf_counter() - t
    transform = T.Compose([Tokenize(), TopologicalGenerations(), FlowMask(),
                           SymmetricAdjacency(), NodeDegree()])
    t, c0 = time.perf_counter(), time.process_time()
    out = [transform(c) for c in cells]
    t_tr, c_tr = time.perf_counter() - t, time.process_time() - c0
    print(f"{len(cells):,} cells: build (csv + arch_data) {t_build:.2f} s, transforms {t_tr:.2f} s "
          f"wall / {c_tr:.2f} s CPU ({t_tr / len(cells) * 1e6:.0f} us/cell, "
          f"{t_tr / t_build:.1f}x the build time)")
    for key in ("tokens", "end_token", "depth_enc", "flow_index", "adj_index"):
        print(f"  {key}: {tuple(out[0][key].shape)}")
    per = {}
    for tr in transform.transforms:
        t = time.perf_counter()
        for c in cells[:SAMPLE]:
            tr(c)
        per[repr(tr)] = (time.perf_counter() - t) / min(len(cells), SAMPLE) * 1e6
    print("  per transform (us/cell, alone): " +
          ", ".join(f"{k.split('(')[0]} {v:.0f}" for k, v in per.items()))
    t = time.perf_counter()
    for c in cells[:SAMPLE]:
        scipy_flow_pairs(c)
    t_scipy = (time.perf_counter() - t) / min(len(cells), SAMPLE) * 1e6
    print(f"  baseline scipy csgraph flow pairs: {t_scipy:.0f} us/cell -> FlowMask is "
          f"{t_scipy / per[repr(FlowMask())]:.1f}x faster")


if __name__ == "__main__":
    main()
