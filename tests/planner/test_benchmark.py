"""The planner micro-benchmark runs and writes well-formed JSON (timings are not asserted: too noisy)."""
from __future__ import annotations

import json
import math
import subprocess
import sys

from tests.planner.helpers import REPO


def test_quick_benchmark_writes_its_json(tmp_path):
    """`benchmarks/planner_speed.py --quick` exits 0, prints a table and writes every documented field."""
    out = tmp_path / "speed.json"
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "planner_speed.py"), "--quick", "--runs", "1",
                           "--schedules", "2000", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "plan --help" in proc.stdout and "schedules/s" in proc.stdout
    result = json.loads(out.read_text())
    assert set(result["cold_start"]) == {"python -c pass (interpreter alone)", "plan --help",
                                         "plan --budget 1e6 --cg 1 --ct 3"}
    for figure in result["cold_start"].values():
        assert figure["runs"] == 1 and 0 < figure["min_s"] <= figure["median_s"] < 60
    speed = result["throughput"]
    assert speed["schedules"] == 2000 and speed["rounds"] == 20
    assert math.isclose(speed["schedules_per_s"], 2000 / speed["best_s"])
    assert {t["target"] for t in result["targets"].values()} == {"< 0.3", "> 100000"}
    assert all(isinstance(t["met"], bool) for t in result["targets"].values())
