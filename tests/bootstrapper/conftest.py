"""Plans for the Gaussian task, shared by the bootstrapper tests."""
from __future__ import annotations

import json
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

