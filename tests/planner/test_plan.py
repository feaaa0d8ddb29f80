"""Plans: the recommended schedule against the other shapes and the certificate, budgets, JSON."""
from __future__ import annotations

import dataclasses
import functools
import itertools
import json

import numpy as np
import pytest

from planner.plan import Plan, best_of_family, compare, exponential, recommend
from planner.schedules import FAMILIES
from planner.sizing import size_family
from planner.validate import InputError
from tests.conftest import needs
from tests.planner.helpers import problem

# The grid: c_g x c_t x budget x selection (fixed: 3 generated per kept sample).
GRID = list(itertools.product(["proportional", "fixed"], [0.1, 1.0, 10.0], [1.0, 3.0], [1e3, 1e4, 1e5, 1e6]))
MAX_ROUNDS = 30  # every best T in the grid is below 30; fewer padded rounds keeps the grid fast

# Cases where the plan is more than 1 % from the continuous free-form estimate. At a budget of 1e3
# and 6 to 33 cost units per kept sample only 30 to 170 samples are affordable in total, and whole
# samples cannot follow the continuous optimum: for fixed c_g=10, c_t=3 the best integer schedule of
# any shape (exact greedy allocation) is itself 1.17 % from it, as is the plan.
INTEGRALITY_SHORTFALL = {("proportional", 10.0, 1.0, 1e3): 1.13, ("proportional", 10.0, 3.0, 1e3): 1.93,
                         ("fixed", 10.0, 3.0, 1e3): 1.17}


def case_id(case):
    selection, cg, ct, budget = case
    return f"{selection}-cg={cg:g}-ct={ct:g}-budget={budget:.0e}"


@functools.lru_cache(maxsize=None)
def grid_case(selection, cg, ct, budget):
    """The recommended plan and the best constant and linear plans of one grid case."""
    plan = recommend(problem(budget=budget, cg=cg, ct=ct, selection=selection, max_rounds=MAX_ROUNDS))
    return plan, best_of_family(plan, "constant"), best_of_family(plan, "linear")


@pytest.mark.parametrize("case", GRID, ids=case_id)
def test_plan_beats_best_constant_and_linear(case):
    """Same budget: the recommended plan's predicted reward is >= the best constant's and linear's."""
    plan, constant, linear = grid_case(*case)
    assert plan.predicted_reward >= constant.predicted_reward
    assert plan.predicted_reward >= linear.predicted_reward
    for p in (plan, constant, linear):
        assert float(p.outcome.cost) <= p.problem.budget


@pytest.mark.parametrize("case", [
    pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=f"integrality: {INTEGRALITY_SHORTFALL[c]} % "
                                            "from the continuous optimum at a tiny budget"))
    if c in INTEGRALITY_SHORTFALL else c for c in GRID], ids=case_id)
def test_plan_is_within_one_percent_of_free_form(case):
    """The plan's gap is at most 1.01 times the free-form estimate's, and never below the bound."""
    plan, _, _ = grid_case(*case)
    assert plan.gap_percent() >= 0 and plan.estimate_percent() <= 1.0


@pytest.mark.parametrize("case", INTEGRALITY_SHORTFALL, ids=case_id)
def test_small_budget_shortfall_is_not_a_search_failure(case):
    """Where the 1 % claim fails, the plan's exponential schedule is still the best of its family (a base
    every 0.004 from 1.5 to 2.5, every T), its distance to the estimate is the one recorded above, and the
    recommended schedule (of any shape) is at least as good."""
    recommended, _, _ = grid_case(*case)
    plan = exponential(recommended)
    assert plan.schedule.rounds < 12 and recommended.gap <= plan.gap
    bases = np.arange(1.5, 2.5, 0.004)
    few_rounds = dataclasses.replace(plan.problem, max_rounds=12)  # the best T at these budgets is < 12
    dense = float(np.min(size_family(few_rounds, FAMILIES["exponential"].shape, bases).gap))
    assert plan.gap <= dense * (1 + 1e-9)
    assert plan.estimate_percent() == pytest.approx(INTEGRALITY_SHORTFALL[case], abs=0.01)


@pytest.mark.parametrize("budget", [1e3, 1e4, 1e5, 1e6])
def test_constant_gap_is_three_to_five_times_the_plans(budget):
    """docs/theory.md: at theta0=3, sigma=kappa=1, c_g=1, c_t=3 the best constant's gap is 3-5x the plan's."""
    plan, constant, _ = grid_case("proportional", 1.0, 3.0, budget)
    assert 3.0 <= constant.gap / plan.gap <= 5.0


@pytest.mark.parametrize("batch", [1, 7, 64])
@pytest.mark.parametrize("selection", ["proportional", "fixed"])
def test_no_plan_of_any_strategy_exceeds_the_budget(selection, batch):
    """compare(): all five strategies keep whole batches and expected cost <= budget after rounding."""
    plans = compare(problem(budget=2e4, selection=selection, batch=batch, c_round=20.0))
    assert [p.schedule.strategy for p in plans] == ["constant", "linear", "polynomial", "exponential", "free"]
    for plan in plans:
        assert float(plan.outcome.cost) <= plan.problem.budget
        assert all(k % batch == 0 and k >= batch for k in plan.schedule.n)
        assert plan.certificate == plans[0].certificate


def test_recommend_keeps_the_best_solver_and_reports_all():
    """recommend() runs closed form, grid and Optuna (trials > 0) and keeps the smallest gap."""
    needs("optuna")
    plan = recommend(problem(budget=1e5, cg=10.0, ct=1.0), trials=10, seed=1)
    gaps = {r.solver: float(plan.problem.outcome(r.schedule.array).gap) for r in plan.solvers}
    assert set(gaps) == {"closed-form", "grid", "optuna"}
    assert plan.gap == pytest.approx(min(gaps.values()), rel=1e-15) and plan.solver in gaps


CONTRACT_KEYS = {"strategy", "base", "n0", "rounds", "schedule", "expected_cost", "budget", "predicted_reward",
                 "model", "certificate", "r_star", "gap_percent"}


@pytest.fixture(scope="module")
def plans():
    """A recommended plan with an Optuna row and every strategy of compare(), batch 7."""
    needs("optuna")
    p = problem(budget=1e5, batch=7, c_round=10.0)
    return [recommend(p, trials=5, seed=2)] + compare(p)


def test_plan_json_contract(plans):
    """The documented --json keys, the per-round rows, and values consistent with the plan."""
    for plan in plans:
        j = json.loads(json.dumps(plan.to_json()))  # plain JSON types only
        assert CONTRACT_KEYS <= set(j)
        assert j["rounds"] == len(j["schedule"]) == plan.schedule.rounds
        assert all({"round", "n", "generated", "cost"} <= set(row) for row in j["schedule"])
        assert [row["round"] for row in j["schedule"]] == list(range(j["rounds"]))
        assert sum(row["cost"] for row in j["schedule"]) == pytest.approx(j["expected_cost"], rel=1e-12)
        assert j["expected_cost"] <= j["budget"] == 1e5
        g_plan, g_free = j["r_star"] - j["predicted_reward"], j["r_star"] - j["certificate"]
        assert j["gap_percent"] == pytest.approx(100 * (g_plan - g_free) / g_free, rel=1e-6, abs=1e-9)
        assert j["model"] == {"kind": "gaussian", "theta0": 3.0, "sigma": 1.0, "kappa": 1.0}
        assert (j["base"] is not None) == (j["strategy"] == "exponential")


def test_plan_json_round_trip(plans):
    """Plan.from_json(plan.to_json()).to_json() is the same JSON, for every strategy."""
    for plan in plans:
        text = json.dumps(plan.to_json())
        assert json.dumps(Plan.from_json(json.loads(text)).to_json()) == text


@pytest.mark.parametrize("damage", [
    lambda j: [j],
    lambda j: {**j, "format": 99},
    lambda j: {k: v for k, v in j.items() if k != "schedule"},
    lambda j: {**j, "model": {**j["model"], "kind": "poisson"}},
    lambda j: {**j, "costs": {**j["costs"], "gpu": 1}},
    lambda j: {**j, "schedule": [{**j["schedule"][0], "n": "many"}]},
], ids=["list", "format", "no-schedule", "unknown-kind", "unknown-cost-key", "bad-n"])
def test_damaged_plan_files_are_refused(plans, damage):
    """A plan file that is not one, or has unknown kinds/keys or wrong types, raises InputError."""
    with pytest.raises(InputError):
        Plan.from_json(damage(plans[0].to_json()))


def test_the_report_says_how_the_plan_stands_against_bound_and_estimate():
    """Proportional selection: the bound and the estimate differ and the text names both; a plan below
    the estimate says so; a plan below the bound (impossible under the model) is a warning, not silence."""
    from planner.report import recommend_report

    plan = recommend(problem(budget=1e3))
    text = recommend_report(plan)
    assert "(a bound)" in text and "best continuous schedule found" in text and "at most" in text
    c = plan.certificate
    below_estimate = dataclasses.replace(plan, certificate=dataclasses.replace(c, gap=plan.gap * 1.01))
    assert "below the estimate" in recommend_report(below_estimate)
    broken = dataclasses.replace(plan, certificate=dataclasses.replace(c, bound_gap=plan.gap * 1.01))
    assert broken.gap_percent() < 0 and "warning: the plan's predicted gap" in recommend_report(broken)


def test_gaps_at_huge_budgets_keep_their_digits():
    """At budgets of 1e9 to 1e15 the gap (1e-9 to 1e-15) shrinks as 1 / budget to many digits (by
    subtraction from r* it was rounding noise from 1e15 on), and gap_percent stays above 0 and small."""
    scaled = []
    for budget in (1e9, 1e15):
        plan = recommend(problem(budget=budget), shape="exponential")
        assert 0 < plan.gap_percent() < 0.01
        scaled.append(plan.gap * budget)
    assert scaled[1] == pytest.approx(scaled[0], rel=1e-3)
