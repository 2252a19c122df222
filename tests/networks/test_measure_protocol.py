"""The measurement protocol on models whose latency the test controls: a fake clock and fake
sessions (no wall-clock timing, so nothing here can be flaky)."""
import itertools
import json
import os
import os.path as osp

import pytest

from pyg_nar.errors import PipelineError
from pyg_nar.networks.measure import (MeasureProtocol, Measurement, compare_builds, pin_cpu,
                                      read_spread, time_rounds)


class FakeMachine:
    """A clock that only moves when a fake model runs, and models whose run time (ms) is
    set per session (``levels``, one per session, cycled) and per run (``jitter``)."""

    def __init__(self):
        self.now = 0.0
        self.sessions = []      # model name of each session opened, in order
        self.runs = {}          # model name -> runs per session

    def clock(self) -> float:
        return self.now

    def model(self, name, levels, jitter=(0.0,)):
        levels = itertools.cycle(levels)

        def open_session():
            level = next(levels)
            self.sessions.append(name)
            self.runs.setdefault(name, []).append(0)
            noise = itertools.cycle(jitter)

            def run():
                self.now += (level + next(noise)) / 1000.0
                self.runs[name][-1] += 1
            return run
        return open_session


def test_rounds_are_interleaved_across_models_in_fresh_sessions():
    m = FakeMachine()
    p = MeasureProtocol(rounds=3, round_ms=10, warmup_ms=0, agree=0.5)
    out = time_rounds([m.model("a", [1.0]), m.model("b", [2.0])], p, clock=m.clock)
    assert m.sessions == ["a", "b", "a", "b", "a", "b"]
    assert [o.latency_ms for o in out] == pytest.approx([1.0, 2.0])
    assert all(o.confirmed and len(o.rounds_ms) == 3 for o in out)


def test_latency_is_the_lowest_level_of_the_sessions():
    """The level changes from one session to the next (2.8 / 1.5 ms, as in the issue): the
    minimum of the round medians is the low level, the spread records the range."""
    m = FakeMachine()
    p = MeasureProtocol(rounds=5, round_ms=20, warmup_ms=0)
    (out,) = time_rounds([m.model("x", [2.8, 1.5, 2.8, 1.5, 2.8])], p, clock=m.clock)
    assert out.latency_ms == pytest.approx(1.5)
    assert out.rounds_ms == pytest.approx([2.8, 1.5, 2.8, 1.5, 2.8])
    assert out.confirmed and out.spread == pytest.approx(1.3 / 1.5)
    assert len(m.sessions) == 5


def test_an_unconfirmed_minimum_gets_more_rounds():
    """One low round among five is an outlier: more rounds, interleaved with the other job
    that needs them, until a second round agrees with it."""
    m = FakeMachine()
    p = MeasureProtocol(rounds=5, round_ms=20, warmup_ms=0, agree=0.02)
    levels = [2.8, 1.5, 2.8, 2.8, 2.8, 2.8, 1.51, 9.0]
    out = time_rounds([m.model("x", levels), m.model("y", [2.0]), m.model("z", [3.0, 1.0, 3.0, 3.0, 3.0, 1.0])],
                      p, clock=m.clock)
    x, y, z = out
    assert len(x.rounds_ms) == 7 and x.confirmed and x.latency_ms == pytest.approx(1.5)
    assert len(y.rounds_ms) == 5 and y.confirmed  # agreed from the start: no extra round
    # round 6 and 7 alternate between the two jobs still unconfirmed
    assert m.sessions[15:] == ["x", "z", "x"]
    assert z.confirmed and z.latency_ms == pytest.approx(1.0) and len(z.rounds_ms) == 6


def test_rounds_stop_at_max_rounds_unconfirmed():
    m = FakeMachine()
    p = MeasureProtocol(rounds=2, round_ms=5, warmup_ms=0, agree=0.01)
    (out,) = time_rounds([m.model("x", [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])], p, clock=m.clock)
    assert p.max_rounds == 6 and len(out.rounds_ms) == 6
    assert not out.confirmed and out.latency_ms == pytest.approx(1.0)


def test_timed_work_per_round_and_warmup_by_time():
    m = FakeMachine()
    p = MeasureProtocol(rounds=1, round_ms=40, warmup_ms=10, min_runs=3, max_rounds=1)
    time_rounds([m.model("fast", [1.0]), m.model("slow", [100.0])], p, clock=m.clock)
    # fast: first run + 10 warm-up runs (10 ms) + 40 timed runs (40 ms)
    assert m.runs["fast"] == [1 + 10 + 40]
    # slow: first run, one warm-up run (already past 10 ms), then min_runs timed runs
    assert m.runs["slow"] == [1 + 1 + 3]
    capped = FakeMachine()
    time_rounds([capped.model("fast", [1.0])], MeasureProtocol(rounds=1, round_ms=1e6, warmup_ms=0,
                                                             max_runs=7, max_rounds=1),
                clock=capped.clock)
    assert capped.runs["fast"] == [1 + 7]


def test_round_value_is_the_median_run():
    """Slow runs inside a session (an interrupt) do not move the round's value."""
    m = FakeMachine()
    p = MeasureProtocol(rounds=2, round_ms=0, warmup_ms=0, min_runs=5)
    (out,) = time_rounds([m.model("x", [1.0], jitter=[0, 0, 0, 40.0, 0, 0])], p, clock=m.clock)
    # runs: first (untimed), then 5 timed runs of jitter 0, 0, 40, 0, 0 -> median 1.0
    assert out.rounds_ms == pytest.approx([1.0, 1.0]) and out.runs == 10


def test_on_round_reports_progress():
    m = FakeMachine()
    seen = []
    time_rounds([m.model("a", [1.0]), m.model("b", [1.0])], MeasureProtocol(rounds=2, round_ms=0, warmup_ms=0),
                clock=m.clock, on_round=lambda j, k: seen.append((j, k)))
    assert seen == [(0, 1), (1, 1), (0, 2), (1, 2)]


def test_protocol_checks_its_fields():
    with pytest.raises(ValueError, match="max_rounds"):
        MeasureProtocol(rounds=5, max_rounds=3)
    with pytest.raises(ValueError, match="rounds and min_runs"):
        MeasureProtocol(rounds=0)
    with pytest.raises(ValueError, match="cpu"):
        MeasureProtocol(cpu=-1)
    assert MeasureProtocol(rounds=3).max_rounds == 8
    # an infinite or non-integer round count would never end: a named error at once
    from pyg_nar.errors import ArgumentError
    for bad in (dict(rounds=float("inf")), dict(rounds=2.5), dict(round_ms=float("nan")), dict(cpu=True)):
        with pytest.raises(ArgumentError, match=f"MeasureProtocol: {next(iter(bad))} must be"):
            MeasureProtocol(**bad)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity here")
def test_pin_cpu_pins_and_restores():
    before = os.sched_getaffinity(0)
    cpu = min(before)
    with pin_cpu(cpu):
        assert os.sched_getaffinity(0) == {cpu}
    assert os.sched_getaffinity(0) == before
    with pytest.raises(ValueError, match="may run on CPUs"):
        with pin_cpu(max(before) + 1000):
            pass
    m = FakeMachine()
    seen = []

    def model():
        seen.append(os.sched_getaffinity(0))
        return lambda: setattr(m, "now", m.now + 0.001)
    time_rounds([model], MeasureProtocol(rounds=1, round_ms=0, warmup_ms=0, max_rounds=1, cpu=cpu),
                clock=m.clock)
    assert seen == [{cpu}] and os.sched_getaffinity(0) == before


def _write_build(root, lines, spread_times=None):
    os.makedirs(root, exist_ok=True)
    with open(osp.join(root, "gt.txt"), "w") as f:
        for gid, (path, bs, ms) in enumerate(lines):
            f.write(f"{gid} {path} {bs} {ms} fam cpu\n")
    if spread_times is not None:
        with open(osp.join(root, "gt_spread.jsonl"), "w") as f:
            for gid, ((path, bs, ms), t) in enumerate(zip(lines, spread_times)):
                f.write(json.dumps({"graph_id": gid, "onnx_path": path, "batch_size": bs,
                                    "platform": "cpu", "latency_ms": ms, "rounds_ms": [ms],
                                    "time": t}) + "\n")


def test_compare_builds(tmp_path):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    _write_build(a, [("m0.onnx", 1, 1.0), ("m1.onnx", 1, 2.0), ("m1.onnx", 16, 4.0)], [0, 0, 0])
    _write_build(b, [("m1.onnx", 16, 4.4), ("m0.onnx", 1, 1.0), ("other.onnx", 1, 3.0)],
                 [7200, 3600, 0])
    out = compare_builds(a, b)
    assert out["keys"] == [("m1.onnx", 16, "cpu"), ("m0.onnx", 1, "cpu")]
    assert out["mape"] == pytest.approx(0.05) and out["max_ape"] == pytest.approx(0.1)
    assert out["acc_3"] == pytest.approx(0.5) and out["hours_apart"] == pytest.approx(1.5)
    assert compare_builds(a, b, keys=[("m0.onnx", 1, "cpu")])["mape"] == 0
    assert read_spread(b)[("m1.onnx", 16, "cpu")]["time"] == 7200
    _write_build(str(tmp_path / "c"), [("x.onnx", 1, 1.0)])
    with pytest.raises(ValueError, match="share no"):
        compare_builds(a, str(tmp_path / "c"))
    with open(osp.join(b, "gt_spread.jsonl"), "a") as f:
        f.write("not json\n")
    with pytest.raises(ValueError, match="gt_spread.jsonl, line 4"):
        read_spread(b)


def test_measurement_json_round_trip():
    m = Measurement(1.5, [2.0, 1.5, 1.53], runs=30, confirmed=True, time=123.4)
    row = m.to_json()
    assert row["latency_ms"] == 1.5 and row["rounds_ms"] == [2.0, 1.5, 1.53]
    assert row["spread"] == pytest.approx(0.5 / 1.5, abs=1e-6) and row["confirmed"] is True


def test_dataset_folder_records_spreads_and_protocol(tmp_path):
    """A real (small) build: gt.txt stays NNLQP's layout, its companion holds every line's
    rounds, and resuming with another protocol is refused."""
    pytest.importorskip("onnxruntime")
    from pyg_nar.datasets import NNLQP
    from pyg_nar.datasets.nnlqp import read_gt
    from pyg_nar.networks import build_latency_dataset

    root = str(tmp_path / "zoo")
    p = MeasureProtocol(rounds=2, round_ms=1, warmup_ms=0, max_rounds=2)
    build_latency_dataset(root, ["alexnet", "squeezenet"], per_family=1, seed=3,
                          batch_sizes=(1, 2), protocol=p, progress=False)
    rows = read_gt(osp.join(root, "gt.txt"))
    spread = read_spread(root)
    assert len(rows) == 4 and len(spread) == 4
    for r in rows:
        s = spread[(r["onnx_path"], r["batch_size"], r["platform"])]
        assert s["graph_id"] == r["graph_id"] and len(s["rounds_ms"]) == 2
        assert s["latency_ms"] == pytest.approx(min(s["rounds_ms"]), abs=1e-6)
        assert r["latency_ms"] == pytest.approx(s["latency_ms"], abs=1e-6)
    with open(osp.join(root, "protocol.json")) as f:
        assert json.load(f)["protocol"]["rounds"] == 2
    assert len(NNLQP(root)) == 4
    with pytest.raises(PipelineError, match="resume it with the same protocol"):
        build_latency_dataset(root, ["alexnet", "squeezenet"], per_family=2, seed=3,
                              batch_sizes=(1, 2), protocol=MeasureProtocol(rounds=3),
                              progress=False)
    # export_only writes the new models' ONNX files and configs, measures nothing
    build_latency_dataset(root, ["alexnet", "squeezenet"], per_family=2, seed=3, batch_sizes=(1, 2),
                          protocol=MeasureProtocol(rounds=3), progress=False, export_only=True)
    assert len(read_gt(osp.join(root, "gt.txt"))) == 4
    assert osp.isfile(osp.join(root, "onnx", "alexnet", "alexnet_0001.onnx"))
