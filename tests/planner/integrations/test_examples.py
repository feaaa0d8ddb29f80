"""The TRL examples: both have --help, and GRPO in phases runs on a small budget within it."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT, needs


@pytest.mark.parametrize("example", ["trainer_rejection_sampling.py", "grpo_phases.py"])
def test_the_trl_examples_have_help(example):
    done = subprocess.run([sys.executable, str(ROOT / "examples" / example), "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "--budget" in done.stdout, done.stderr


@pytest.mark.realmodel
def test_grpo_phases_run_within_the_budget():
    """Phases of growing generation_batch_size, each stopped by the callback before the budget is passed."""
    needs("trl")
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "grpo_phases.py"), "--budget", "120",
                           "--max-rounds", "3"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    phases = re.findall(r"phase \d+: n (\d+), generation_batch_size (\d+), max_steps (\d+), trained (\d+)", done.stdout)
    assert len(phases) >= 2 and all(int(size) >= int(n) for n, size, _, _ in phases)
    spent, budget = map(float, re.search(r"spent ([\d.]+) of ([\d.]+) cost units", done.stdout).groups())
    assert spent <= budget == 120
