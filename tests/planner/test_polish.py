"""The any-shape polish: the recommended plan is never worse than a schedule printed beside it, and
`--shape exponential` keeps the paper's family."""
from __future__ import annotations

import numpy as np
import pytest

from planner.costs import CostModel
from planner.models import GaussianModel, SurrogateModel
from planner.plan import alternatives, exponential, recommend
from planner.problem import Problem
from planner.report import recommend_report
from planner.solvers.polish import polish
from tests.planner.helpers import problem

# Acceptance about 1e-5 at the start: the first round costs 4e5 per kept sample, then acceptance is near 0.9.
LOW_ACCEPTANCE = Problem(SurrogateModel(0.9, 0.899991, 0.8, 0.1, 1.0), CostModel(1.0, 3.0), 1e6)


def test_a_tiny_first_round_then_large_ones_beats_every_family():
    """The issue's surrogate: its best exponential plan (gap 2.634e-4) printed a linear schedule 1.39x
    better beside it, and an integer search found one 1.49x better than the plan; the recommendation is
    now at least that good, affordable, whole batches, and no schedule printed beside it is better."""
    plan = recommend(LOW_ACCEPTANCE)
    assert plan.schedule.strategy == "free" and plan.solver == "polish"
    assert plan.gap <= 2.634e-4 / 1.49 and float(plan.outcome.cost) <= LOW_ACCEPTANCE.budget
    assert plan.gap >= plan.bound_gap
    others = alternatives(plan)
    assert {o.schedule.strategy for o in others} == {"constant", "linear", "polynomial", "exponential"}
    assert all(plan.gap <= o.gap for o in others)
    assert exponential(plan).gap / plan.gap > 1.49
    assert "a schedule of any shape won" in recommend_report(plan, others)


def test_shape_exponential_keeps_the_papers_family():
    """recommend(shape="exponential") is the best exponential schedule, as before the polish."""
    plan = recommend(LOW_ACCEPTANCE, shape="exponential")
    assert plan.schedule.strategy == "exponential" and plan.shapes == ()
    assert plan.gap == pytest.approx(exponential(recommend(LOW_ACCEPTANCE)).gap, rel=1e-12)


def test_the_headline_plan_stays_exponential():
    """plan --budget 1e6 --cg 1 --ct 3: the exponential plan is within 0.003 % of any shape, so it stays
    the recommendation; the report says it won and names the runner-up."""
    plan = recommend(problem(budget=1e6))
    assert plan.schedule.strategy == "exponential" and plan.schedule.param == pytest.approx(2.0, rel=0.05)
    assert all(plan.gap <= o.gap * (1 + 1e-4) for o in alternatives(plan))
    assert "shape: exponential won" in recommend_report(plan, alternatives(plan))


def test_batch_16_gaussian_plans_as_well_as_the_any_shape_schedule_quoted():
    """The issue's worst plan / best of any shape, 1.00673 (budget 777120, batch 16): the exponential plan
    had gap 1.03834e-5; the recommendation is now at least 1.0067x better, and better than the best
    exponential schedule."""
    p = Problem(GaussianModel(4.447767211767669, 0.5430068177433892, 1.267846363574092),
                CostModel(0.7445301438824797, 0.29067501012180225), 777120.4758671344, 16)
    plan = recommend(p)
    assert plan.gap * 1.0067 <= 1.03834e-5 and plan.gap < exponential(plan).gap
    assert all(k % 16 == 0 for k in plan.schedule.n) and float(plan.outcome.cost) <= p.budget


def test_polish_never_returns_a_worse_schedule_than_its_best_start():
    """From one batch per round, the polish only improves and stays within the budget."""
    p = problem(budget=2e3, batch=4)
    start = np.full(6, 4.0)
    n, gap = polish(p, [start])
    assert gap < float(p.outcome(start).gap) and float(p.outcome(n).cost) <= p.budget
    assert gap == pytest.approx(float(p.outcome(n).gap), rel=1e-12)


@pytest.mark.parametrize("shape, strategy", [("exponential", "exponential"), ("any", "free")])
def test_the_cli_shape_flag(tmp_path, capsys, shape, strategy):
    """plan --shape exponential prints the exponential plan; the default, the polished one."""
    import json

    from planner.cli import main

    model = tmp_path / "model.json"
    model.write_text(json.dumps({"kind": "surrogate", "r_star": 0.9, "g0": 0.899991, "a": 0.8, "b": 0.1, "gamma": 1}))
    assert main(["--budget", "1e6", "--model", str(model), "--shape", shape, "--json"]) == 0
    j = json.loads(capsys.readouterr().out)
    assert j["strategy"] == strategy and len(j["shapes"]) == (0 if shape == "exponential" else 4)
