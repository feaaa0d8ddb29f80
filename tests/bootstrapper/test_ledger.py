"""The ledger never lets spending pass the budget, whatever the plan, costs and acceptance."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bootstrapper.engine import execute, run_round
from bootstrapper.rundir import RunDir
from bootstrapper.tasks import Task
from planner import Advisor
from planner.costs import CostModel
from planner.ledger import BudgetExceeded, Ledger
from planner.models import GaussianModel
from planner.plan import Plan
from planner.problem import Problem
from planner.runconfig import RunConfig
from planner.schedules import Schedule
from planner.solvers import free_form


class CoinTask(Task):
    """Samples are indices; each is accepted with a fixed probability (reward = that probability)."""

    name = "coin"

    def __init__(self, acceptance: float):
        super().__init__()
        self.acceptance = acceptance

    def init_state(self, seed):
        return {"rng": np.random.default_rng(seed), "trained": 0}

    def generate(self, state, n):
        return state["rng"].random(n)

    def reward(self, state, batch):
        return np.full(len(batch), self.acceptance)

    def train(self, state, kept):
        return {**state, "trained": state["trained"] + len(kept)}

    def evaluate(self, state):
        return {"reward": self.acceptance}

    def save(self, state, folder):
        data = {"trained": state["trained"], "rng": state["rng"].bit_generator.state}
        (folder / "s.json").write_text(json.dumps(data))

    def load(self, folder):
        data = json.loads((folder / "s.json").read_text())
        rng = np.random.default_rng()
        rng.bit_generator.state = data["rng"]
        return {"rng": rng, "trained": data["trained"]}


costs = st.builds(CostModel, cg=st.floats(0.0, 20.0), ct=st.floats(0.01, 20.0), c_round=st.floats(0.0, 50.0),
                  selection=st.sampled_from(["proportional", "fixed"]), ratio=st.floats(1.0, 8.0))


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedule=st.lists(st.integers(1, 400), min_size=1, max_size=8), cost=costs,
       acceptance=st.floats(0.02, 1.0), budget=st.floats(1.0, 5e4), seed=st.integers(0, 2**32 - 1))
def test_rounds_never_pass_the_budget(schedule, cost, acceptance, budget, seed):
    """Round after round, spending stays within the budget and each round's charges add up."""
    ledger, task = Ledger(budget, cost), CoinTask(acceptance)
    state, rng = task.init_state(seed), np.random.default_rng(seed)
    for target in schedule:
        if not ledger.affordable(generated=1, trained=1, rounds=1):
            break
        before = ledger.spent
        result = run_round(task, state, target, ledger, rng)
        assert ledger.spent <= budget * (1 + 1e-9)
        assert np.isclose(result.cost, ledger.price(result.generated, result.n_kept, 1))
        assert np.isclose(ledger.spent - before, result.cost)
        assert result.n_kept <= target and (result.trimmed == (result.n_kept < target))
        if cost.selection == "fixed":
            assert result.generated == int(np.ceil(cost.ratio * result.n_kept))
        if result.trimmed:
            break


def _plan(schedule: list[int], cost: CostModel, budget: float) -> Plan:
    problem = Problem(GaussianModel(), cost, budget, max_rounds=len(schedule))
    return Plan(problem, Schedule("free", tuple(schedule)), "test", free_form(problem), task="coin")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schedule=st.lists(st.integers(1, 200), min_size=1, max_size=6), acceptance=st.floats(0.05, 1.0),
       extra=st.floats(0.5, 3.0))
def test_log_costs_add_up_to_the_ledger(tmp_path_factory, schedule, acceptance, extra):
    """The run log's per-round costs sum to the cumulative spent, which stays within the budget."""
    cost = CostModel(1.0, 3.0, 2.0)
    budget = max(extra * sum(4 * n / acceptance for n in schedule) / 2, 50.0)
    folder = tmp_path_factory.mktemp("run")
    plan = _plan(schedule, cost, budget)
    task = CoinTask(acceptance)
    RunDir(folder).prepare(plan.to_json(), RunConfig.for_task(task, seed=3))
    history = execute(plan, task, folder, seed=3)
    assert history, "at least one round fits"
    assert np.isclose(sum(r["cost"] for r in history), history[-1]["spent"])
    assert history[-1]["spent"] <= budget * (1 + 1e-9)
    assert [r["round"] for r in history] == list(range(len(history)))


@pytest.mark.parametrize("selection", ["proportional", "fixed"])
def test_the_advisor_and_the_engine_charge_through_the_same_ledger(selection):
    """The engine's rounds, each of the size the Advisor asks for, recorded in the Advisor: after
    every round both have spent the same (exactly: the prices are binary fractions); before it, the
    Advisor's generation cap is the most the engine's ledger lets that round generate (one more is
    refused); and a round past the cap is refused by the engine and booked as overspent by the Advisor."""
    budget, cg, ct, c_round, ratio = 1500.0, 0.5, 1.25, 3.0, 2.0
    advisor = Advisor(budget=budget, cg=cg, ct=ct, cost_per_round=c_round, selection=selection, ratio=ratio,
                      replan=False, reserve_sd=0.0)
    ledger, task = Ledger(budget, CostModel(cg, ct, c_round, selection, ratio)), CoinTask(0.3)
    state, rng = task.init_state(0), np.random.default_rng(0)
    rounds = 0
    while (n := advisor.next_round()) is not None:
        cap = advisor.generation_cap
        assert ledger.affordable(generated=cap, trained=n, rounds=1)
        with pytest.raises(BudgetExceeded):
            dataclasses.replace(ledger).charge(generated=cap + 1, trained=n, rounds=1)
        result = run_round(task, state, n, ledger, rng)
        advisor.record(kept=result.n_kept, generated=result.generated, reward=0.3)
        assert (advisor.spent, advisor.history[-1]["cost"]) == (ledger.spent, result.cost)
        rounds += 1
    assert rounds >= 3 and not advisor.summary()["overspent"]
    assert ledger.spent <= budget
    cap = Ledger(budget, advisor.costs, advisor.spent).generation_cap(0)  # -1: not even the round's cost
    with pytest.raises(BudgetExceeded):
        ledger.charge(generated=cap + 1, rounds=1)
    advisor.record(kept=0, generated=cap + 1, reward=0.3)
    assert advisor.summary()["overspent"]
