"""Shared by the benchmarks' tests: run a benchmark script."""
from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def bench(script: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run benchmarks/SCRIPT with args; it must exit 0."""
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc

