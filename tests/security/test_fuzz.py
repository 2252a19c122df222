"""A seeded subset of ``benchmarks/fuzz.py`` (1,000 inputs over every category, two workers,
10 s and 2 GB per input): no crash, no hang, no code run, no file overwritten, and nothing
that ``onnx.checker`` rejects accepted."""
import json
import os.path as osp

import pytest


def test_seeded_fuzz_subset(fuzz, tmp_path):
    pytest.importorskip("onnx")
    summary = fuzz.run_fuzz(1000, str(tmp_path / "report"), seed=0, workers=2, timeout=10.0,
                            memory_mb=2048, work=str(tmp_path / "work"), log=lambda *a: None)
    table = summary["table"]
    assert summary["inputs"] == summary["planned"] == 1000
    assert set(table) == set(fuzz.CATEGORIES)
    total = {k: sum(t.get(k, 0) for t in table.values())
             for k in ("crash", "hang", "executions", "overwrites", "checker missed", "accepted", "named error")}
    findings = []
    if total["crash"] or total["hang"] or total["checker missed"]:
        with open(osp.join(tmp_path, "report", "results.jsonl")) as f:
            findings = [r for r in map(json.loads, f) if fuzz.is_finding(r)][:5]
    assert total["crash"] == total["hang"] == total["checker missed"] == 0, findings
    assert total["executions"] == 0 and not summary["markers"]
    assert total["overwrites"] == 0 and not summary["overwritten_base_files"]
    assert total["accepted"] > 50 and total["named error"] > 500  # the inputs reach the library
