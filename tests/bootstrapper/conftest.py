"""Shared fixtures: plans for the Gaussian task and a helper running plans in-process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from planner.costs import CostModel
from planner.models import GaussianModel
from planner.plan import Plan, compare, recommend
from planner.problem import Problem


def gaussian_plan(budget: float = 2e4, strategy: str = "exponential", **costs) -> Plan:
    """The best plan of a strategy for the default Gaussian model, marked for the gaussian task."""
    problem = Problem(GaussianModel(), CostModel(**{"cg": 1.0, "ct": 3.0, **costs}), budget)
    if strategy == "exponential":
        plan = recommend(problem, task="gaussian")
    else:
        plan = next(p for p in compare(problem, task="gaussian") if p.schedule.strategy == strategy)
    return plan


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(gaussian_plan().to_json()))
    return path


@pytest.fixture
def fast_tmp(tmp_path_factory) -> Path:
    """A scratch folder in memory (tmpfs) where it exists: fsync there is nearly free, so the
    statistical tests can run hundreds of runs; durability is tested on the real disk."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        import tempfile

        folder = Path(tempfile.mkdtemp(dir=shm, prefix="spendwise-"))
        yield folder
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    else:
        yield tmp_path_factory.mktemp("runs")


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`plan ARGS` in a subprocess, as a user runs it."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.run([sys.executable, "-m", "planner.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)
