"""Shared by the bootstrapper tests: plans for the Gaussian task, crashes at chosen points of a
run, the options of a slow `plan execute` on the Gaussian task, and the command that runs it
under `accelerate launch`."""
from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import pytest

from bootstrapper.engine import Progress
from bootstrapper.testing import Crash
from planner.costs import CostModel
from planner.models import GaussianModel
from planner.plan import Plan, compare, recommend
from planner.problem import Problem
from tests.conftest import ROOT

SLOW = ["-o", "delay=4e-4", "--no-report", "--no-progress", "--seed", "3"]  # execute rounds long enough to kill
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


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


def crash_at(round_: int, where: str) -> Progress:
    """Progress hooks that crash the run mid-round (`chunk`) or right after a commit (`done`)."""
    def chunk(kept, generated, spent):
        if where == "chunk" and current["round"] == round_:
            raise Crash
    def done(record):
        if where == "done" and record["round"] == round_:
            raise Crash
    current = {"round": -1}
    return Progress(round_started=lambda t, n: current.update(round=t), chunk=chunk, round_done=done)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(processes: int, *args: str, target: tuple[str, ...] = ("-m", "bootstrapper", "execute")) -> list[str]:
    """`python -m bootstrapper execute ARGS`, under `accelerate launch` when processes > 1. On a machine
    without GPUs, --multi_gpu is what makes accelerate start N torchrun workers (--cpu alone needs
    mpirun); the workers pick gloo because torch sees no GPU."""
    if processes == 1:
        return [sys.executable, *target, *args]
    return [sys.executable, "-m", "accelerate.commands.accelerate_cli", "launch", "--multi_gpu",
            "--num_processes", str(processes), "--num_machines", "1", "--mixed_precision", "no",
            "--dynamo_backend", "no", "--main_process_port", str(free_port()), "--monitor_interval", "0.1",
            *target, *args]
