"""How fast is ``pyg_nar.networks.from_onnx`` on a large network?

Builds residual CNNs of 500 .. 4000 operators with ``onnx.helper`` (Conv-Relu-Conv-Add-Relu
blocks, 16 channels, 14x14, real float weights), saves each full and weight-stripped, and times
``from_onnx(path)`` (median of --repeats runs). The baseline, timed in the same run on the same
file, is ``onnx.load`` + ``onnx.shape_inference.infer_shapes`` alone: the floor that any
converter using ONNX's shape inference pays. Target: a 2,000-operator graph in under 1 s.
``--compare DIR`` also times the ``from_onnx`` of another checkout (e.g. the main branch's
worktree) on the same files, in a subprocess with ``PYTHONPATH=DIR``.

    python benchmarks/onnx_speed.py [--repeats 5] [--compare /path/to/other/checkout]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from pyg_nar.networks import from_onnx, strip_weights


def residual_cnn(num_ops: int, channels: int = 16, size: int = 14) -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    nodes, inits = [], []
    x = "input"
    for b in range(num_ops // 5):
        w1, w2 = f"w{b}a", f"w{b}b"
        for w in (w1, w2):
            inits.append(numpy_helper.from_array(
                rng.standard_normal((channels, channels, 3, 3)).astype(np.float32) * 0.05, w))
        nodes += [
            helper.make_node("Conv", [x, w1], [f"c{b}a"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", [f"c{b}a"], [f"r{b}a"]),
            helper.make_node("Conv", [f"r{b}a", w2], [f"c{b}b"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
            helper.make_node("Add", [f"c{b}b", x], [f"s{b}"]),
            helper.make_node("Relu", [f"s{b}"], [f"o{b}"]),
        ]
        x = f"o{b}"
    graph = helper.make_graph(
        nodes, "residual_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, channels, size, size])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


OTHER = """
import statistics, sys, time
import torch
torch.set_num_threads(1)
from pyg_nar.networks import from_onnx
path, repeats = sys.argv[1], int(sys.argv[2])
from_onnx(path)
times = []
for _ in range(repeats):
    t0 = time.perf_counter()
    from_onnx(path)
    times.append(time.perf_counter() - t0)
print(statistics.median(times))
"""


def other_time(checkout, path, repeats):
    env = dict(os.environ, PYTHONPATH=os.path.abspath(checkout))
    r = subprocess.run([sys.executable, "-c", OTHER, path, str(repeats)], env=env,
                       capture_output=True, text=True, cwd=tempfile.gettempdir())
    if r.returncode != 0:
        return float("nan")
    return float(r.stdout.split()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000, 4000])
    ap.add_argument("--compare", metavar="DIR", help="another checkout whose from_onnx to time too")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    tmp = tempfile.mkdtemp()
    other = f" {'other s':>8} {'ours/other':>10}" if args.compare else ""
    print(f"{'operators':>9} {'file':>9} {'MB':>6} {'from_onnx s':>12} {'load+infer s':>13} {'ratio':>6}{other}")
    for n in args.sizes:
        model = residual_cnn(n)
        for kind, m in (("full", model), ("stripped", strip_weights(model))):
            path = os.path.join(tmp, f"{kind}_{n}.onnx")
            onnx.save(m, path)
            d = from_onnx(path)
            assert d.num_nodes == n + 1, d.num_nodes  # + the Input node
            t_ours = median_time(lambda: from_onnx(path), args.repeats)
            t_base = median_time(lambda: onnx.shape_inference.infer_shapes(
                onnx.load(path), strict_mode=True, data_prop=True), args.repeats)
            mb = os.path.getsize(path) / 1e6
            cmp = ""
            if args.compare:
                t_other = other_time(args.compare, path, args.repeats)
                cmp = f" {t_other:>8.3f} {t_ours / t_other:>10.2f}"
            print(f"{n:>9} {kind:>9} {mb:>6.1f} {t_ours:>12.3f} {t_base:>13.3f} {t_ours / t_base:>6.2f}{cmp}",
                  flush=True)
            if n == 2000:
                verdict = "OK" if t_ours < 1.0 else "TOO SLOW"
                print(f"          2,000-operator {kind} graph: {t_ours:.3f} s (< 1 s target: {verdict})")


if __name__ == "__main__":
    main()
