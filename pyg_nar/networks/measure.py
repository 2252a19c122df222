r"""Measure ONNX models' latency with onnxruntime and build NNLQP-layout latency datasets.

A shared machine makes one timing unreliable: the same model lands on different levels from
one onnxruntime session to the next (other processes, the host's neighbours, frequency), and
noise only ever adds time. So latency here is measured by a :class:`MeasureProtocol`:

* a measurement is several **rounds**, each in a **fresh** ``InferenceSession`` (the level
  changes between sessions), spread over time: :func:`time_rounds` measures round 1 of every
  model of a batch of jobs, then round 2 of every model, and so on (interleaved);
* each round warms up **by time** (``warmup_ms``), then times runs until at least
  ``round_ms`` of timed work (and ``min_runs`` runs); the round's value is the median run;
* the latency is the **minimum of the round medians**; a model whose two lowest rounds
  disagree by more than ``agree`` is an outlier and gets more rounds, up to ``max_rounds``;
* ``cpu`` pins the measuring thread to one CPU (``os.sched_setaffinity``).

Functions:

* :func:`measure_latency` -- the latency in ms of one model at one batch size.
* :func:`measure_models` -- several (model, batch size) jobs, interleaved; a
  :class:`Measurement` (latency, round medians, spread) each.
* :func:`build_latency_dataset` -- sample models from :mod:`pyg_nar.networks.zoo`, export them
  to ONNX, measure them and append NNLQP's ``gt.txt`` lines as it goes (resumable), so the
  folder loads with :class:`pyg_nar.datasets.NNLQP`. Each line's round medians and spread go
  to the companion file ``gt_spread.jsonl`` beside it, and the protocol to
  ``protocol.json``; NNLQP's layout stays as it is.
* :func:`measure_onnx_folder` -- the same for a folder of the user's own ONNX files.
* :func:`measurement_noise` -- measure a sample of a dataset's models again, as an independent
  build made later, and report the MAPE between the two builds: the floor under any latency
  predictor on this machine; :func:`compare_builds` compares two folders.

Needs ``onnxruntime`` (``pip install pyg-nar[latency]``); it is imported only when used.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import os.path as osp
import random
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np

from pyg_nar.datasets.nnlqp import SHAPES_FILE, read_gt, read_input_shapes
from pyg_nar.errors import OnnxGraphError, PipelineError
from pyg_nar.utils.arguments import check_int, check_number
from pyg_nar.networks import zoo
from pyg_nar.networks.onnx_graph import (floating_types, input_shapes_for, input_shapes_of,
                                         load_onnx, set_batch_size, strip_weights)

__all__ = ["MeasureProtocol", "Measurement", "time_rounds", "pin_cpu", "measure_latency",
           "measure_models", "build_latency_dataset", "measure_onnx_folder",
           "measurement_noise", "compare_builds", "read_spread", "prepare_for_runtime",
           "GT_FILE", "SPREAD_FILE", "PROTOCOL_FILE", "CONFIGS_FILE"]

GT_FILE = "gt.txt"
CONFIGS_FILE = "configs.jsonl"
#: The companion of ``gt.txt``: one JSON line per measured line (round medians, spread, time).
SPREAD_FILE = "gt_spread.jsonl"
#: The protocol a folder was measured with (a resumed build must use the same).
PROTOCOL_FILE = "protocol.json"


#: The clocks a protocol can time runs with.
CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}


@dataclass(frozen=True)
class MeasureProtocol:
    """How one latency is measured (see the module doc).

    Args:
        rounds (int): rounds per measurement, each in a fresh ``InferenceSession``.
            (default: :obj:`5`)
        round_ms (float): timed work per round, at least (ms). (default: :obj:`40.0`)
        warmup_ms (float): untimed runs per round, by time (ms), after the session's first
            run. (default: :obj:`40.0`)
        min_runs (int): timed runs per round, at least. (default: :obj:`3`)
        max_runs (int): timed runs per round, at most. (default: :obj:`2000`)
        agree (float): the two lowest round medians must agree within this relative
            difference, or the model gets more rounds. (default: :obj:`0.02`)
        max_rounds (int, optional): rounds at most, re-measurements included.
            (default: :obj:`None`: ``2 * rounds + 2``)
        run_quantile (float): the round's value is this quantile of its timed runs (0.5: the
            median). (default: :obj:`0.5`)
        clock (str): ``"wall"`` (:func:`time.perf_counter`) or ``"cpu"`` (the measuring
            thread's CPU time, :func:`time.thread_time`: the time the run held a CPU, so
            other processes that take the CPU in between do not count; needs one intra-op
            thread). (default: :obj:`"wall"`)
        cpu (int, optional): pin the measuring thread to this CPU while measuring.
            (default: :obj:`None`: no pinning)
    """

    rounds: int = 5
    round_ms: float = 40.0
    warmup_ms: float = 40.0
    min_runs: int = 3
    max_runs: int = 2000
    agree: float = 0.02
    max_rounds: int | None = None
    cpu: int | None = None
    run_quantile: float = 0.5
    clock: str = "wall"

    def __post_init__(self):
        # types and finiteness first (an infinite round count never ends), ranges below
        for name in ("rounds", "min_runs", "max_runs", "max_rounds", "cpu"):
            check_int(getattr(self, name), name, "MeasureProtocol", None, 10 ** 7,
                      none=name in ("max_rounds", "cpu"))
        for name in ("round_ms", "warmup_ms", "agree", "run_quantile"):
            check_number(getattr(self, name), name, "MeasureProtocol", None, 10 ** 7)
        if self.max_rounds is None:
            object.__setattr__(self, "max_rounds", 2 * self.rounds + 2)
        if self.rounds < 1 or self.min_runs < 1 or self.max_runs < self.min_runs:
            raise ValueError(f"MeasureProtocol: rounds and min_runs must be >= 1 and max_runs "
                             f">= min_runs, got {self}")
        if self.max_rounds < self.rounds:
            raise ValueError(f"MeasureProtocol: max_rounds ({self.max_rounds}) < rounds ({self.rounds})")
        if self.round_ms < 0 or self.warmup_ms < 0 or self.agree < 0:
            raise ValueError(f"MeasureProtocol: round_ms, warmup_ms and agree must be >= 0, got {self}")
        if not 0 <= self.run_quantile <= 1 or self.clock not in CLOCKS:
            raise ValueError(f"MeasureProtocol: run_quantile must be in [0, 1] and clock one of "
                             f"{', '.join(CLOCKS)}, got {self.run_quantile}, {self.clock!r}")
        if self.cpu is not None and self.cpu < 0:
            raise ValueError(f"MeasureProtocol: cpu must be a CPU number >= 0, got {self.cpu}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Measurement:
    """One measured latency: ``latency_ms`` (the minimum of ``rounds_ms``, the round medians
    in the order they were taken), ``runs`` (timed runs in all), ``confirmed`` (the two lowest
    rounds agree within the protocol's ``agree``) and ``time`` (Unix time of the last round)."""

    latency_ms: float
    rounds_ms: list = field(default_factory=list)
    runs: int = 0
    confirmed: bool = False
    time: float = 0.0

    @property
    def spread(self) -> float:
        """``(max - min) / min`` of the round medians."""
        return (max(self.rounds_ms) - min(self.rounds_ms)) / min(self.rounds_ms)

    def to_json(self) -> dict:
        return {"latency_ms": round(self.latency_ms, 6),
                "rounds_ms": [round(r, 6) for r in self.rounds_ms],
                "spread": round(self.spread, 6), "confirmed": self.confirmed,
                "runs": self.runs, "time": round(self.time, 1)}


@contextlib.contextmanager
def pin_cpu(cpu: int | None):
    """Pin the calling thread (and the threads it starts) to CPU ``cpu`` inside the block, then
    restore its CPU set; ``None`` does nothing. A CPU this process may not use is a
    ``ValueError``."""
    if cpu is None:
        yield
        return
    if not hasattr(os, "sched_setaffinity"):
        raise ValueError("MeasureProtocol.cpu: this platform cannot pin threads to CPUs")
    before = os.sched_getaffinity(0)
    if cpu not in before:
        raise ValueError(f"MeasureProtocol.cpu={cpu}: this process may run on CPUs "
                         f"{sorted(before)} only")
    os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _round(open_session: Callable[[], Callable[[], object]], protocol: MeasureProtocol,
           clock: Callable[[], float]) -> tuple[float, int]:
    """One round in a fresh session: its first run, warm-up by time, then timed runs until
    ``round_ms`` of timed work; returns (median run in ms, timed runs)."""
    run = open_session()
    run()  # the session's first run allocates; never timed
    end = clock() + protocol.warmup_ms / 1000.0
    while clock() < end:
        run()
    times: list[float] = []
    total = 0.0
    while len(times) < protocol.max_runs and (len(times) < protocol.min_runs
                                               or total < protocol.round_ms / 1000.0):
        t0 = clock()
        run()
        dt = clock() - t0
        times.append(dt)
        total += dt
    return 1000.0 * float(np.quantile(times, protocol.run_quantile)), len(times)


def _confirmed(rounds: list[float], agree: float) -> bool:
    if len(rounds) < 2:
        return False
    lo, second = sorted(rounds)[:2]
    return second <= lo * (1.0 + agree)


def time_rounds(jobs: Sequence[Callable[[], Callable[[], object]]],
                protocol: MeasureProtocol | None = None,
                clock: Callable[[], float] | None = None,
                on_round: Callable[[int, int], None] | None = None) -> list[Measurement]:
    """Measure ``jobs`` by ``protocol``, interleaved: round 1 of every job, then round 2 of
    every job, ...; then more rounds, again interleaved, for the jobs whose two lowest rounds
    disagree (outliers), until they agree or reach ``max_rounds``.

    Args:
        jobs: one ``open_session()`` per job, returning a fresh ``run()`` that does one
            forward pass (e.g. a new onnxruntime ``InferenceSession``'s).
        protocol: the :class:`MeasureProtocol` (default: the default one).
        clock: seconds, monotonic (default: the protocol's ``clock``; tests pass a fake one).
        on_round: called as ``on_round(job index, rounds so far)`` after each round.

    Returns one :class:`Measurement` per job, in order.
    """
    protocol = protocol or MeasureProtocol()
    clock = clock or CLOCKS[protocol.clock]
    rounds: list[list[float]] = [[] for _ in jobs]
    runs = [0] * len(jobs)
    stamps = [0.0] * len(jobs)
    with pin_cpu(protocol.cpu):
        todo = list(range(len(jobs)))
        target = protocol.rounds
        while todo:
            while todo and min(len(rounds[j]) for j in todo) < target:
                for j in todo:
                    if len(rounds[j]) < target:
                        ms, n = _round(jobs[j], protocol, clock)
                        rounds[j].append(ms)
                        runs[j] += n
                        stamps[j] = time.time()
                        if on_round is not None:
                            on_round(j, len(rounds[j]))
            todo = [j for j in todo if not _confirmed(rounds[j], protocol.agree)
                    and len(rounds[j]) < protocol.max_rounds]
            target += 1
    return [Measurement(min(r), r, n, _confirmed(r, protocol.agree), t)
            for r, n, t in zip(rounds, runs, stamps)]



def _ort():
    try:
        import onnxruntime
    except ImportError:
        raise ImportError(
            "measuring latency needs onnxruntime: pip install 'pyg-nar[latency]' "
            "(or pip install onnxruntime)") from None
    return onnxruntime


def _has_data(t) -> bool:
    return bool(t.raw_data or t.float_data or t.double_data or t.int32_data or t.int64_data
                or t.uint64_data or t.string_data)


def prepare_for_runtime(model_or_path, seed: int = 0):
    """An ``onnx.ModelProto`` ready for onnxruntime: external data is loaded when its files
    exist, and every floating-point initializer without data (weight-stripped models, as NNLQP
    ships them, or missing external files) is filled with random normal values of scale 0.05
    (seeded). Latency does not depend on the values as long as they are finite and not
    denormal. An integer initializer without data (a shape) cannot be invented: that is an
    error."""
    import onnx
    from onnx import numpy_helper

    model, name = load_onnx(model_or_path)
    base = osp.dirname(os.fspath(model_or_path)) if not isinstance(model_or_path, onnx.ModelProto) else ""
    rng = np.random.default_rng(seed)
    floating = floating_types()
    for t in model.graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            info = {e.key: e.value for e in t.external_data}
            if base and osp.isfile(osp.join(base, info.get("location", ""))):
                onnx.external_data_helper.load_external_data_for_tensor(t, base)
                t.data_location = onnx.TensorProto.DEFAULT
                del t.external_data[:]
                continue
            del t.external_data[:]
            t.data_location = onnx.TensorProto.DEFAULT
        if _has_data(t) or math.prod(t.dims) == 0:
            continue
        if t.data_type not in floating:
            raise OnnxGraphError(
                f"{name}: initializer {t.name!r} ({onnx.TensorProto.DataType.Name(t.data_type)}) "
                f"has no data, and only floating-point weights can be filled at random")
        dtype = onnx.helper.tensor_dtype_to_np_dtype(t.data_type)
        values = (rng.standard_normal(tuple(t.dims)) * 0.05).astype(dtype)
        t.CopyFrom(numpy_helper.from_array(values, t.name))
    return model


def _inputs(session, batch_size: int, name: str, rng) -> dict:
    feeds = {}
    for inp in session.get_inputs():
        shape = list(inp.shape)
        if shape:
            shape[0] = batch_size
        for pos, d in enumerate(shape):
            if not isinstance(d, int):
                raise ValueError(f"{name}: input {inp.name!r} has an unknown dimension {pos} ({d}); "
                                 f"measure_latency needs fixed input shapes besides the batch")
        if "float" in inp.type:
            dtype = np.float16 if "float16" in inp.type else np.float32
            feeds[inp.name] = rng.standard_normal(shape).astype(dtype)
        elif "int64" in inp.type:
            feeds[inp.name] = rng.integers(0, 2, shape).astype(np.int64)
        elif "int32" in inp.type:
            feeds[inp.name] = rng.integers(0, 2, shape).astype(np.int32)
        else:
            raise ValueError(f"{name}: cannot make data for input {inp.name!r} of type {inp.type}")
    return feeds


class _OrtJob:
    """One (model, batch size) job for :func:`time_rounds`: the model prepared once (random
    weights where they are stripped, the batch size declared), a fresh ``InferenceSession``
    per call. ``name`` names the model in errors."""

    def __init__(self, onnx_path, batch_size: int, threads: int = 1, seed: int = 0,
                 input_shapes: dict | None = None):
        self.ort = _ort()
        self.name = (os.fspath(onnx_path) if isinstance(onnx_path, (str, os.PathLike))
                     else "<onnx model>")
        self.batch_size, self.threads = int(batch_size), int(threads)
        model = prepare_for_runtime(onnx_path, seed)
        from pyg_nar.networks.onnx_shapes import declare_input_shapes

        # unresolved symbolic dims: the converter's error, with the --input-shape text that fixes it
        declare_input_shapes(model.graph, input_shapes_of(model, self.batch_size, input_shapes,
                                                          self.name))
        set_batch_size(model.graph, self.batch_size)
        self.payload = model.SerializeToString()
        session = self._session()
        self.feeds = _inputs(session, self.batch_size, self.name, np.random.default_rng(seed))
        try:
            session.run(None, self.feeds)
        except Exception as e:
            raise ValueError(f"{self.name}: onnxruntime cannot run the model at batch size "
                             f"{batch_size} (does it hard-code another batch size?): {e}") from None

    def _session(self):
        ort = self.ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = self.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3
        try:
            return ort.InferenceSession(self.payload, so, providers=["CPUExecutionProvider"])
        except Exception as e:
            raise ValueError(f"{self.name}: onnxruntime cannot load the model: {e}") from None

    def __call__(self):
        session, feeds = self._session(), self.feeds
        return lambda: session.run(None, feeds)


def measure_models(jobs: Iterable[tuple], threads: int = 1,
                   protocol: MeasureProtocol | None = None, seed: int = 0,
                   on_round: Callable[[int, int], None] | None = None,
                   input_shapes: dict | None = None) -> list[Measurement]:
    """Measure ``(onnx_path, batch_size)`` jobs by ``protocol``, their rounds interleaved
    (:func:`time_rounds`), on onnxruntime's CPU provider with ``threads`` intra-op threads and
    one inter-op thread (sequential execution, all graph optimisations). Each model goes
    through :func:`prepare_for_runtime` first (weight-stripped models get random weights); the
    first dimension of its data inputs is declared the job's batch size (a file exported at
    batch 1 runs at any batch size unless it hard-codes it); inputs are random.
    ``input_shapes`` gives the shapes of inputs with unknown dimensions, as for
    :func:`~pyg_nar.networks.from_onnx` (the batch size still sets their first dimension).
    Returns one :class:`Measurement` per job."""
    prepared = [_OrtJob(path, b, threads, seed, input_shapes) for path, b in jobs]
    return time_rounds(prepared, protocol, on_round=on_round)


def measure_latency(onnx_path, batch_size: int = 1, threads: int = 1,
                    protocol: MeasureProtocol | None = None, seed: int = 0,
                    input_shapes: dict | None = None) -> float:
    """Latency in milliseconds of one forward pass of a ``batch_size`` batch, measured by
    ``protocol`` (default :class:`MeasureProtocol`): :func:`measure_models` of one job."""
    return measure_models([(onnx_path, batch_size)], threads, protocol, seed,
                          input_shapes=input_shapes)[0].latency_ms


# ---------------------------------------------------------------------- dataset folders
def _check_protocol(out_dir: str, protocol: MeasureProtocol, threads: int) -> None:
    """Record ``protocol`` in ``out_dir/protocol.json``, or check it is the one recorded."""
    path = osp.join(out_dir, PROTOCOL_FILE)
    wanted = {"protocol": protocol.to_dict(), "threads": threads}
    if osp.isfile(path):
        with open(path) as f:
            try:
                have = json.load(f)
            except ValueError:
                raise ValueError(f"{path}: not JSON") from None
        mine = {k: v for k, v in have.get("protocol", {}).items() if k != "cpu"}
        if mine != {k: v for k, v in wanted["protocol"].items() if k != "cpu"} \
                or have.get("threads") != threads:
            raise PipelineError(f"{out_dir} was measured with {have}; resume it with the same "
                                f"protocol, or measure into another folder")
        return
    if osp.isfile(osp.join(out_dir, GT_FILE)) and read_gt(osp.join(out_dir, GT_FILE)):
        return  # measured before protocols were recorded: its lines stay as they are
    import onnxruntime
    import platform as _platform
    wanted.update(onnxruntime=onnxruntime.__version__, machine=_platform.processor() or _platform.machine(),
                  cpus=os.cpu_count())
    with open(path, "w") as f:
        json.dump(wanted, f, indent=1)


def read_spread(root: str) -> dict:
    """``root/gt_spread.jsonl`` as ``{(onnx_path, batch_size, platform): line}`` (empty if the
    folder has none, e.g. an NNLQP download)."""
    return _read_jsonl(osp.join(root, SPREAD_FILE), "a gt_spread JSON line", lambda row: (
        (row["onnx_path"], int(row["batch_size"]), str(row["platform"])), row))


def _read_jsonl(path: str, what: str, item: Callable[[dict], tuple]) -> dict:
    """A JSON-lines file as a dict of ``item(row) = (key, value)`` (empty if there is no
    file); a line that is not JSON or lacks a field is a ``ValueError`` naming file and line."""
    out = {}
    if osp.isfile(path):
        with open(path) as f:
            for k, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    key, value = item(json.loads(line))
                except (ValueError, KeyError, TypeError):
                    raise ValueError(f"{path}, line {k}: not {what}") from None
                out[key] = value
    return out


class _Writer:
    """Appends measured lines to ``gt.txt`` and ``gt_spread.jsonl`` (flushed at once)."""

    def __init__(self, out_dir: str, platform: str):
        self.platform = platform
        self.done, self.next_id = _measured(osp.join(out_dir, GT_FILE))
        self.gt = open(osp.join(out_dir, GT_FILE), "a")
        self.spread = open(osp.join(out_dir, SPREAD_FILE), "a")

    def write(self, rel: str, batch_size: int, model_type: str, m: Measurement) -> None:
        gid = self.next_id
        self.gt.write(f"{gid} {rel} {batch_size} {m.latency_ms:.6f} {model_type} {self.platform}\n")
        self.spread.write(json.dumps({"graph_id": gid, "onnx_path": rel, "batch_size": batch_size,
                                      "platform": self.platform, **m.to_json()}) + "\n")
        self.gt.flush()
        self.spread.flush()
        self.done.add((rel, batch_size, self.platform))
        self.next_id += 1

    def close(self):
        self.gt.close()
        self.spread.close()


def _measure_jobs(jobs: list[tuple], threads: int, protocol: MeasureProtocol,
                  bar, shapes: dict | None = None) -> list[Measurement]:
    """Measure ``(path, rel, batch_size, ...)`` jobs interleaved (:func:`time_rounds`), with
    ``shapes[rel]`` input shapes where given; a model onnxruntime cannot run is a
    ``ValueError`` naming the file and the batch size."""
    prepared = []
    for path, rel, b, *_ in jobs:
        try:
            prepared.append(_OrtJob(path, b, threads, input_shapes=(shapes or {}).get(rel)))
        except OnnxGraphError:
            raise
        except Exception as e:  # noqa: BLE001  (onnxruntime raises many kinds)
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise ValueError(f"{path}: cannot be run by onnxruntime at batch size {b}: {first}") from None

    def on_round(j, k):
        if bar is not None and k <= protocol.rounds:
            bar.update(1.0 / protocol.rounds)

    return time_rounds(prepared, protocol, on_round=on_round)


def _measure_chunk(writer: _Writer, chunk: list[tuple], threads: int,
                   protocol: MeasureProtocol, bar, shapes: dict | None = None) -> None:
    """Measure ``(path, rel, batch_size, model_type)`` jobs interleaved and write their lines
    in order."""
    if chunk:
        for (_, rel, b, mt), m in zip(chunk, _measure_jobs(chunk, threads, protocol, bar, shapes)):
            writer.write(rel, b, mt, m)


def build_latency_dataset(out_dir: str, families: Sequence[str] | None = None,
                          per_family: int = 10, seed: int = 0,
                          batch_sizes: Iterable[int] = (1,), threads: int = 1,
                          protocol: MeasureProtocol | None = None, platform: str | None = None,
                          strip: bool = True, progress: bool = True, chunk: int = 16,
                          export_only: bool = False) -> str:
    """Build (or resume) an NNLQP-layout latency dataset from the :mod:`pyg_nar.networks.zoo` families.

    Writes ``out_dir/onnx/<family>/<family>_<i>.onnx`` (weight-stripped if ``strip``, like
    NNLQP's files), one line per model to ``configs.jsonl`` (``{"onnx_path", "config"}``), and
    measures by ``protocol`` (:class:`MeasureProtocol`) ``chunk`` models at a time, all their
    batch sizes interleaved (:func:`time_rounds`): each chunk's ``gt.txt`` lines (and their
    ``gt_spread.jsonl`` lines: round medians, spread) are appended as soon as it is measured.
    Model ``i`` of a family is sampled from ``random.Random(f"{seed}-{family}-{i}")``, so a
    re-run skips what ``gt.txt`` already holds and continues with identical models; raising
    ``per_family`` extends a dataset. A folder that holds only ``gt.txt`` and ``configs.jsonl``
    (a stored measurement) gets its ONNX files re-exported from the configs, nothing is
    re-measured. Families are interleaved (model 0 of every family, then model 1, ...) so an
    interrupted run stays balanced. ``export_only``: write the ONNX files and configs, measure
    nothing (e.g. before a measurement on a reserved CPU). Returns ``out_dir``.
    """
    import onnx

    _ort()
    protocol = protocol or MeasureProtocol()
    families = list(families or zoo.FAMILIES)
    batch_sizes = list(batch_sizes)
    platform = platform or f"cpu-ort-{threads}t"
    os.makedirs(out_dir, exist_ok=True)
    writer = _Writer(out_dir, platform)
    todo = [(i, fam) for i in range(per_family) for fam in families]
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(todo) * len(batch_sizes), desc="latency dataset", unit="meas")
    configs = _configs(osp.join(out_dir, CONFIGS_FILE))
    pending: list[tuple] = []
    try:
        with open(osp.join(out_dir, CONFIGS_FILE), "a") as cfg_file:
            for i, fam in todo:
                rel = f"onnx/{fam}/{fam}_{i:04d}.onnx"
                missing = [b for b in batch_sizes if (rel, b, platform) not in writer.done]
                if bar is not None:
                    bar.update(len(batch_sizes) - len(missing))
                path = osp.join(out_dir, rel)
                if not missing and (osp.isfile(path) or rel not in configs):
                    continue
                if not osp.isfile(path):  # new, or measured before and only its config kept
                    cfg = configs.get(rel) or zoo.sample_config(fam, random.Random(f"{seed}-{fam}-{i}"))
                    os.makedirs(osp.dirname(path), exist_ok=True)
                    tmp = path + ".tmp"
                    zoo.export_onnx(zoo.build_model(cfg), tmp, cfg["input_size"])
                    if strip:
                        onnx.save(strip_weights(onnx.load(tmp)), tmp)
                    if rel not in configs:
                        # config first, then the file: an existing file always has its config line
                        cfg_file.write(json.dumps({"onnx_path": rel, "config": cfg}) + "\n")
                        cfg_file.flush()
                        configs[rel] = cfg
                    os.replace(tmp, path)  # a half-written file never looks finished
                if export_only or not missing:
                    continue
                if not pending:
                    _check_protocol(out_dir, protocol, threads)
                pending.extend((path, rel, b, fam) for b in missing)
                if len(pending) >= chunk * len(batch_sizes):
                    _measure_chunk(writer, pending, threads, protocol, bar)
                    pending = []
            _measure_chunk(writer, pending, threads, protocol, bar)
    finally:
        writer.close()
        if bar is not None:
            bar.close()
    return out_dir


def _configs(path: str) -> dict:
    """``configs.jsonl`` as ``{onnx_path: config}`` (empty if there is none)."""
    return _read_jsonl(path, 'a {"onnx_path", "config"} JSON line',
                       lambda row: (row["onnx_path"], row["config"]))


def _measured(gt_path: str) -> tuple[set, int]:
    """What ``gt_path`` already holds: ``{(onnx_path, batch_size, platform)}`` and the next GraphID."""
    done, next_id = set(), 0
    if osp.isfile(gt_path):
        for row in read_gt(gt_path):
            done.add((row["onnx_path"], row["batch_size"], row["platform"]))
            next_id = max(next_id, row["graph_id"] + 1)
    return done, next_id


def measure_onnx_folder(src_dir: str, out_dir: str, batch_sizes: Iterable[int] = (1,),
                        threads: int = 1, protocol: MeasureProtocol | None = None,
                        platform: str | None = None, progress: bool = True,
                        chunk: int = 16, input_shapes: dict | None = None) -> str:
    """Measure every ``*.onnx`` file below ``src_dir`` (the user's own models) into an
    NNLQP-layout ``out_dir/gt.txt`` (with ``gt_spread.jsonl``), by ``protocol``, ``chunk``
    files at a time interleaved, resumably: lines already there are kept and skipped.

    The files stay where they are: ``gt.txt`` names them relative to ``out_dir``. A file's
    model type (5th column) is the name of its folder below ``src_dir`` (``"onnx"`` at the top).
    ``input_shapes`` (``{input name: shape}``, ``--input-shape``) applies to every file that
    has such an input; what each file was measured with is recorded in
    ``out_dir/input_shapes.json`` (:data:`SHAPES_FILE`), so
    :class:`~pyg_nar.datasets.NNLQP` converts it the same. Resuming with other shapes for a
    file already measured is an error. Returns ``out_dir``.
    """
    import glob

    _ort()
    protocol = protocol or MeasureProtocol()
    files = sorted(glob.glob(osp.join(src_dir, "**", "*.onnx"), recursive=True))
    if not files:
        raise FileNotFoundError(f"{src_dir}: no .onnx files found")
    for f in files:
        if any(c.isspace() for c in osp.relpath(f, out_dir)):
            raise ValueError(f"{f}: gt.txt is whitespace-separated, so ONNX paths cannot contain spaces")
    batch_sizes = list(batch_sizes)
    platform = platform or f"cpu-ort-{threads}t"
    os.makedirs(out_dir, exist_ok=True)
    done = _measured(osp.join(out_dir, GT_FILE))[0]
    shapes_path = osp.join(out_dir, SHAPES_FILE)
    recorded = read_input_shapes(out_dir)
    for f in files:
        rel = osp.relpath(f, out_dir)
        shapes = {k: list(v) for k, v in input_shapes_for(f, input_shapes).items()}
        old = recorded.get(rel)
        if shapes and old != shapes and any(r[0] == rel for r in done):
            raise ValueError(f"{f} was measured with input shapes {old or 'as declared'} "
                             f"({shapes_path}); now {shapes} are given: measure into another "
                             f"folder")
        if shapes:  # else: as recorded (a resumed run need not repeat --input-shape)
            recorded[rel] = shapes
    if recorded:
        with open(shapes_path + ".tmp", "w") as fh:
            json.dump(recorded, fh, indent=1, sort_keys=True)
        os.replace(shapes_path + ".tmp", shapes_path)
    writer = _Writer(out_dir, platform)
    from tqdm.auto import tqdm

    bar = tqdm(total=len(files) * len(batch_sizes), desc="measuring", unit="meas", disable=not progress)
    jobs = []
    for f in files:
        rel = osp.relpath(f, out_dir)
        parent = osp.dirname(osp.relpath(f, src_dir))
        model_type = parent.replace(os.sep, "/").split("/")[0] if parent else "onnx"
        for b in batch_sizes:
            if (rel, b, platform) in writer.done:
                bar.update(1)
            else:
                jobs.append((f, rel, b, model_type))
    try:
        if jobs:
            _check_protocol(out_dir, protocol, threads)
        for k in range(0, len(jobs), chunk * len(batch_sizes)):
            _measure_chunk(writer, jobs[k:k + chunk * len(batch_sizes)], threads, protocol, bar,
                           recorded)
    finally:
        writer.close()
        bar.close()
    return out_dir


# ------------------------------------------------------------------------ the noise floor
def _errors(pairs: list[tuple[float, float]]) -> dict:
    ape = [abs(b - a) / a for a, b in pairs]
    return {"mape": float(np.mean(ape)), "max_ape": float(np.max(ape)),
            "acc_3": float(np.mean([e <= 0.03 for e in ape]))}


def compare_builds(root_a: str, root_b: str, keys: Iterable[tuple] | None = None) -> dict:
    """The MAPE between two builds of the same models: the lines of ``root_b/gt.txt`` matched
    to ``root_a``'s by (ONNX path, batch size, platform), relative to ``root_a``'s latency
    (only ``keys``, such triples, if given).

    Returns ``{"mape", "max_ape", "acc_3": fraction within 3%, "pairs": [(a, b), ...],
    "keys": [...], "hours_apart": median hours between the two measurements of a model
    (from ``gt_spread.jsonl``; None without it)}``."""
    def lines(root):
        return {(r["onnx_path"], r["batch_size"], r["platform"]): r["latency_ms"]
                for r in read_gt(osp.join(root, GT_FILE))}

    rows_a, rows_b = lines(root_a), lines(root_b)
    wanted = set(keys) if keys is not None else None
    keys = [k for k in rows_b if k in rows_a and (wanted is None or k in wanted)]
    if not keys:
        raise ValueError(f"{root_a} and {root_b} share no (model, batch size, platform) line")
    pairs = [(rows_a[k], rows_b[k]) for k in keys]
    spread_a, spread_b = read_spread(root_a), read_spread(root_b)
    gaps = [abs(spread_b[k]["time"] - spread_a[k]["time"]) / 3600 for k in keys
            if k in spread_a and k in spread_b]
    return {**_errors(pairs), "pairs": pairs, "keys": keys,
            "hours_apart": float(statistics.median(gaps)) if gaps else None}


def measurement_noise(root: str, num_samples: int = 20, seed: int = 0, threads: int = 1,
                      protocol: MeasureProtocol | None = None, out_dir: str | None = None,
                      back_to_back: bool = True, chunk: int = 32, progress: bool = False) -> dict:
    """Measure ``num_samples`` random lines of ``root/gt.txt`` again, as an independent build
    (by ``protocol``, ``chunk`` lines at a time interleaved), and compare the two builds
    (:func:`compare_builds`): the MAPE between two builds of the same models is the noise
    floor for any latency predictor trained on these labels. It includes the drift of the
    machine since ``root`` was built; build it an hour or more after ``root`` for a floor that
    holds over time.

    ``out_dir``: keep the second build there (resumable: a re-run measures only what it
    lacks); default: a temporary folder, removed afterwards. ``back_to_back``: also measure
    the sample once more right after the second build and report the MAPE between those two
    (``"mape_back_to_back"``: the noise of the moment, without drift; ``None`` when the second
    build was all resumed). Returns :func:`compare_builds`'s dict over the sample plus
    ``"paths"`` (the sampled ONNX files, relative to ``root``)."""
    import shutil
    import tempfile

    rows = read_gt(osp.join(root, GT_FILE))
    if not rows:
        raise ValueError(f"{osp.join(root, GT_FILE)}: no measurements to re-measure")
    sample = random.Random(seed).sample(rows, min(num_samples, len(rows)))
    protocol = protocol or MeasureProtocol()
    keep_dir = out_dir is not None
    out_dir = out_dir if keep_dir else tempfile.mkdtemp(prefix="pyg_nar_noise_")
    os.makedirs(out_dir, exist_ok=True)
    from tqdm.auto import tqdm

    try:
        writer = _Writer(out_dir, "")
        jobs = [(osp.join(root, r["onnx_path"]), r["onnx_path"], r["batch_size"],
                 r["model_type"], r["platform"]) for r in sample
                if (r["onnx_path"], r["batch_size"], r["platform"]) not in writer.done]
        bar = tqdm(total=len(jobs) * (2 if back_to_back else 1), desc="re-measuring",
                   unit="meas", disable=not progress)
        second, third = [], []
        try:
            if jobs:
                _check_protocol(out_dir, protocol, threads)
            for k in range(0, len(jobs), chunk):
                part = jobs[k:k + chunk]
                for (_, rel, b, mt, pf), m in zip(part, _measure_jobs(part, threads, protocol, bar)):
                    writer.platform = pf
                    writer.write(rel, b, mt, m)
                    second.append(m.latency_ms)
            for k in range(0, len(jobs) if back_to_back else 0, chunk):
                third += [m.latency_ms for m in _measure_jobs(jobs[k:k + chunk], threads, protocol, bar)]
        finally:
            writer.close()
            bar.close()
        out = compare_builds(root, out_dir, [(r["onnx_path"], r["batch_size"], r["platform"])
                                             for r in sample])
    finally:
        if not keep_dir:
            shutil.rmtree(out_dir, ignore_errors=True)
    out["paths"] = [r["onnx_path"] for r in sample]
    if back_to_back:
        out["mape_back_to_back"] = _errors(list(zip(second, third)))["mape"] if third else None
    return out
