"""Speed per device: every predictor's training epoch and inference, eager, compiled and under
mixed precision, each against the same model eager in float32 on the CPU, in the same run.

    python benchmarks/device_speed.py [--device auto] [--threads 1] [--models flowerformer ...]
                                      [--variants eager compile bf16 fp16] [--quick] [--paper-size]

For each model of :data:`pyg_nar.recipes.RECIPES` (NAR-Former, NAR-Former V2 and FlowerFormer on
NAS-Bench-201 cells; NNLP and the FLOPs regression on whole networks built from the zoo with
``from_torch``, their ``y`` being their FLOPs) and each variant:

* ``cpu``: eager float32 on the CPU, the baseline every ratio divides;
* ``eager``: eager float32 on ``--device`` (skipped when that is the CPU);
* ``compile``: ``TrainConfig(compile=True)`` (:func:`pyg_nar.devices.compile_model`) on
  ``--device``, with the seconds spent compiling;
* ``bf16`` / ``fp16``: autocast on ``--device`` (fp16 only on CUDA);

it prints the steady training epoch (the last of ``--epochs`` epochs of
:func:`pyg_nar.training.fit` with the model's recipe; the first pays for compilation), the
inference time over ``--infer`` graphs at batch 256 (:func:`pyg_nar.training.predict`, the
second of two passes), the matmul FLOPs of both (:class:`torch.utils.flop_counter.
FlopCounterMode`: matmuls, convolutions, attention) and the FLOP/s achieved, the speed-up
over the ``cpu`` line, and the largest difference of the variant's predictions from the
baseline's (the same weights: the baseline's after its training epochs).

Every figure comes from this run; the machine's speed drifts between runs, so compare ratios
within one run only. With ``--device cuda`` it is the GPU figure of the README (the GPU's name
is printed).
"""
from __future__ import annotations

import argparse
import inspect
import os
import sys
import tempfile
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from torch_geometric.data import Batch  # noqa: E402

from pyg_nar.devices import resolve_device  # noqa: E402
from pyg_nar.recipes import DATASETS, NARFORMER_CPU_SIZE, RECIPES, load_dataset  # noqa: E402
from pyg_nar import training  # noqa: E402
from pyg_nar.training import fit, predict  # noqa: E402

VARIANTS = ("eager", "compile", "bf16", "fp16")
CLOCK = time.perf_counter  # --clock cpu: time.process_time (this process's CPU seconds)


def cell_graphs(recipe, cache: str) -> list:
    """All NB201 cells with the recipe's fields (processed once into ``cache``)."""
    spec = DATASETS["nasbench201"]
    ds = load_dataset("nasbench201", os.path.join(cache, recipe.name),
                      pre_transform=recipe.transform("accuracy", spec))
    return [ds[i] for i in range(len(ds))], len(ds.op_vocab)


def network_graphs(count: int, seed: int = 0) -> list:
    """``count`` whole networks of the zoo's families (ONNX graphs through ``from_torch`` at
    input size 32), ``y`` their MFLOPs + 1: the latency models' input, without measuring."""
    from pyg_nar.networks import from_torch, zoo

    graphs = []
    for k in range(count):
        family = zoo.FAMILIES[k % len(zoo.FAMILIES)]
        cfg = dict(zoo.sample_config(family, seed + k), input_size=32)
        model = zoo.build_model(cfg)
        d = from_torch(model, zoo.example_input(model, 32))
        d.y = d.static[:, 1] + 1.0
        graphs.append(d)
    return graphs


def tile(graphs: list, n: int) -> list:
    return [graphs[i % len(graphs)] for i in range(n)]


def flops_of(model, graphs: list, train: bool) -> int:
    """Matmul FLOPs of one forward (and, with ``train``, backward) over ``graphs``, on the CPU."""
    batch = Batch.from_data_list(graphs)
    model.train(train)
    with FlopCounterMode(display=False) as counter:  # (under no_grad its module hooks fail)
        out = model(batch)
        if train:
            out.sum().backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def build(recipe, example, num_ops: int, paper_size: bool, seed: int):
    kwargs = {}
    if paper_size and recipe.name == "narformer":  # the class's defaults are the paper's size
        from pyg_nar.models import NARFormer
        sig = inspect.signature(NARFormer.__init__).parameters
        kwargs = {k: sig[k].default for k in NARFORMER_CPU_SIZE}
    task = "accuracy" if "op_attrs" not in example else "latency"
    torch.manual_seed(seed)
    return recipe.build(example, num_ops, task, **kwargs), task


def run_model(recipe, graphs, num_ops, args, device) -> None:
    train, infer = tile(graphs, args.train), tile(graphs, args.infer)
    model, task = build(recipe, graphs[0], num_ops, args.paper_size, 0)
    params = sum(p.numel() for p in model.parameters())
    closed_form = recipe.config is None
    if closed_form:  # fitted in closed form: no epochs; its forward is a few multiplications
        train_flops = 0
        model.fit(train)
    else:
        bs = recipe.config(task, {}).batch_size
        per_batch = flops_of(model, train[:bs], True)
        train_flops = per_batch * len(train) / bs
    infer_flops = flops_of(model, infer[:256], False) * len(infer) / min(256, len(infer))
    print(f"\n== {recipe.name} ({task}, {params:,} parameters): train {len(train)} graphs "
          f"({train_flops / 1e9:.2f} GFLOP per epoch, forward + backward), infer {len(infer)} "
          f"({infer_flops / 1e9:.2f} GFLOP)")
    variants = [("cpu", torch.device("cpu"), None, False)]
    for name in args.variants:
        if name == "eager" and device.type == "cpu":
            continue
        if name == "fp16" and device.type != "cuda":
            continue
        if closed_form and name in ("compile", "bf16", "fp16"):
            continue
        amp = name if name in ("bf16", "fp16") else None
        variants.append((name, device, amp, name == "compile"))

    base = None
    for name, dev, amp, compiled in variants:
        model, _ = build(recipe, graphs[0], num_ops, args.paper_size, 0)
        t0 = CLOCK()
        if closed_form:
            model.to(dev)
            model.fit(train)
            epoch, comp = CLOCK() - t0, None
        else:
            config = recipe.config(task, dict(epochs=args.epochs, seed=0, progress=False,
                                              device=str(dev), amp=amp, compile=compiled))
            res = fit(model, train, None, config)
            epoch, comp = res.history[-1]["seconds"], res.compile_seconds
        if base is None:
            weights = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        else:  # the baseline's weights: the predictions differ only by the variant's numerics
            model.load_state_dict(weights)
        times = []
        for _ in range(2):
            t = CLOCK()
            pred = predict(model, infer, batch_size=256, device=dev, amp=amp)
            times.append(CLOCK() - t)
        inf = times[-1]
        line = (f"  {name:8s} {str(dev):7s} epoch {epoch:7.3f} s "
                f"({train_flops / epoch / 1e9:6.2f} GFLOP/s)  infer {inf:7.3f} s = "
                f"{len(infer) / inf:9,.0f} graphs/s = {inf / len(infer) * 1e3:.4f} ms/graph "
                f"({infer_flops / inf / 1e9:6.2f} GFLOP/s)")
        if base is None:
            base = (epoch, inf, pred)
            line += "  [baseline]"
        else:
            diff = float((pred - base[2]).abs().max())
            spread = float(base[2].std())
            line += (f"  x{base[0] / epoch:.2f} epoch, x{base[1] / inf:.2f} infer; "
                     f"max |pred - cpu| {diff:.2e} (pred std {spread:.2e})")
        if comp is not None:
            line += f"; compiling {comp:.1f} s wall (first epoch {res.history[0]['seconds']:.1f} s)"
        print(line, flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    parser.add_argument("--models", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--train", type=int, default=781, help="training graphs (NB201: 781)")
    parser.add_argument("--infer", type=int, default=15625, help="graphs predicted")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per fit (the last is timed)")
    parser.add_argument("--networks", type=int, default=30, help="distinct zoo networks")
    parser.add_argument("--paper-size", action="store_true",
                        help="NAR-Former at the paper's size (d 192, 6 blocks), not the pipeline's")
    parser.add_argument("--quick", action="store_true", help="--train 256 --infer 2048 --networks 5")
    parser.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "pyg_nar", "device_speed"))
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="cpu: this process's CPU seconds, on a CPU shared with other jobs "
                             "(with --threads 1; a GPU run needs wall)")
    args = parser.parse_args(argv)
    global CLOCK
    if args.clock == "cpu":  # fit's per-epoch seconds too
        CLOCK = time.process_time
        training.time = type("CpuClock", (), {"perf_counter": staticmethod(time.process_time)})
    if args.quick:
        args.train, args.infer, args.networks = 256, 2048, 5
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"torch {torch.__version__}; device {device} ({name}); {torch.get_num_threads()} CPU "
          f"threads; {args.clock} clock; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    nets = None
    for model_name in args.models:
        recipe = RECIPES[model_name]
        if "accuracy" in recipe.tasks:
            graphs, num_ops = cell_graphs(recipe, args.cache)
        else:
            from pyg_nar.networks import onnx_op_vocab
            nets = network_graphs(args.networks) if nets is None else nets
            transform = recipe.transform("latency", DATASETS["nnlqp"])
            graphs = [transform(d.clone()) if transform is not None else d for d in nets]
            num_ops = len(onnx_op_vocab())
        run_model(recipe, graphs, num_ops, args, device)

if __name__ == "__main__":
    main()
