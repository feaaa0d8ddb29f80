"""The step-clock reward model: its clock, its exact any-shape programme, its fit and its file."""
from __future__ import annotations

import dataclasses
import itertools
import json

import numpy as np
import pytest

from planner.costs import CostModel
from planner.models import model_from_json
from planner.models.stepclock import StepClockModel
from planner.models.stepclock_fit import PARAMS, Runs, fit_runs
from planner.plan import recommend
from planner.problem import Problem
from planner.validate import InputError
from tests.conftest import one_sentence, run_cli

TRUTH = StepClockModel(0.86, 0.23, 0.5, 4.0, 1.3, 35.0, train_batch=32)


def test_the_reward_follows_the_cumulative_steps_whatever_the_rounds():
    """{96}, {72} and {8, 40} are three steps each (a partial batch is a step): the same reward."""
    finals = [TRUTH.trajectory(np.array(n, dtype=float))[-1] for n in ([96], [72], [8, 40])]
    assert finals == pytest.approx([TRUTH.reward_at(3.0)] * 3, rel=1e-12)
    assert TRUTH.clock(np.array([[32.0, 33.0], [1.0, 64.0]])).tolist() == [[0, 1, 3], [0, 1, 3]]
    later = dataclasses.replace(TRUTH, k0=10.0)
    assert later.trajectory(np.array([64.0]))[-1] == pytest.approx(TRUTH.reward_at(12.0), rel=1e-12)


def best_by_enumeration(model: StepClockModel, problem: Problem, largest: int) -> float:
    """The best final reward over every schedule of whole batches up to `largest` kept, T <= max_rounds."""
    sizes = np.arange(problem.batch, largest + 1, problem.batch, dtype=float)
    best = -np.inf
    for T in range(1, problem.max_rounds + 1):
        n = np.array(list(itertools.product(sizes, repeat=T)))
        out = problem.outcome(n)
        best = max(best, float(np.max(np.where(out.cost <= problem.budget, out.reward, -np.inf))))
    return best


@pytest.mark.parametrize("selection, budget, stale", [("proportional", 60.0, None), ("proportional", 120.0, None),
                                                      ("fixed", 90.0, None), ("proportional", 120.0, 5.0)])
def test_the_any_shape_programme_is_the_best_of_every_whole_batch_schedule(selection, budget, stale):
    model = StepClockModel(0.86, 0.23, 0.5, 2.0, 1.3, 10.0, stale=stale, train_batch=4)
    costs = CostModel(1.0, 1.0, 3.0, selection, 2.0 if selection == "fixed" else 1.0)  # rounds of <= 40 affordable
    problem = Problem(model, costs, budget, 2, 3)
    n, reward, cost, bound = model.any_shape(problem)
    assert cost <= budget and problem.outcome(np.array(n)).reward == pytest.approx(reward, rel=1e-12)
    best = best_by_enumeration(model, problem, largest=40)
    if stale is None:  # the clock in whole steps: the programme is exact
        assert reward == pytest.approx(best, rel=1e-12) and bound == reward
    else:  # on a grid: a schedule at most a grid cell per round short, and a bound above every schedule
        assert reward <= best + 1e-12 and bound >= best - 1e-12 and best - reward < 0.01


def test_plans_from_the_step_clock_are_certified_by_its_programme():
    problem = Problem(TRUTH, CostModel(0.192, 0.0487, 4.68), 720.0, 8, 12)
    plan = recommend(problem)
    assert plan.certificate.method == "exact" and plan.certificate.bound_reward >= plan.predicted_reward
    assert plan.certificate.cost <= 720.0


SHAPES = ([312] * 5, [56, 120, 240, 488, 984], [8, 40, 136, 400, 1216], [96, 152, 264, 456, 800])


def simulated_runs(model: StepClockModel, rng: np.random.Generator, noise: float) -> Runs:
    """Held-out readings of runs of four shapes (the clock at 0 at each run's start), with reading noise."""
    steps = tuple(model.steps(np.array(n, dtype=float)) for n in SHAPES)
    rewards = tuple(model.trajectory(np.array(n, dtype=float)) + rng.normal(0, noise, len(n) + 1) for n in SHAPES)
    return Runs(steps, rewards)


@pytest.mark.parametrize("truth", [TRUTH, dataclasses.replace(TRUTH, stale=20.0)], ids=["no staleness", "stale"])
def test_the_fit_recovers_the_model_and_its_intervals_cover_it(truth):
    """Over 40 seeds of noisy simulated runs (four shapes, 24 readings, noise 0.003), every parameter's
    bootstrap 95 % interval covers the truth in at least 30 (measured 32-38 for each truth; 88-96 of 100
    without staleness; unscaled residuals gave 31-36 of 40), and the fit predicts every shape's final
    reward within 0.01 in every seed."""
    stale = truth.stale is not None
    names = PARAMS if stale else PARAMS[:-1]
    values = np.array([getattr(truth, p) for p in names])
    covered, seeds = np.zeros(len(names)), 40
    for seed in range(seeds):
        theta, draws, rmse = fit_runs(simulated_runs(truth, np.random.default_rng(seed), 0.003), stale)
        model = StepClockModel.from_theta(theta, stale, 32)
        low, high = np.percentile(draws, [2.5, 97.5], axis=0)
        covered += (low <= values) & (values <= high)
        finals = [(m.trajectory(np.array(n, dtype=float))[-1] for m in (model, truth)) for n in SHAPES]
        assert max(abs(a - b) for a, b in finals) < 0.01 and rmse == pytest.approx(0.003, rel=0.6)  # 17+ dof
    assert np.all(covered >= 30), dict(zip(names, covered))


def test_the_fit_refuses_too_few_step_counts():
    with pytest.raises(InputError, match="different step counts"):
        fit_runs(Runs((np.array([1.0, 1.0, 1.0]),), (np.array([0.2, 0.3, 0.4, 0.5]),)))


@pytest.mark.parametrize("change, words", [({"tau_s": -1.0}, "tau_s"), ({"r_star": float("nan")}, "r_star"),
                                           ({"w": 1.5}, "w must be"), ({"train_batch": 0}, "train_batch"),
                                           ({"k0": -2.0}, "k0"), ({"stale": 0.0}, "stale")])
def test_a_bad_step_clock_model_is_one_sentence(change, words):
    with pytest.raises(InputError, match=words) as raised:
        model_from_json({**TRUTH.to_json(), **change})
    assert "\n" not in str(raised.value)


def test_a_step_clock_file_with_a_field_missing_is_refused_by_plan(tmp_path):
    path = tmp_path / "model.json"
    path.write_text(json.dumps({k: v for k, v in TRUTH.to_json().items() if k != "tau_f"}))
    assert one_sentence(run_cli("--budget", "720", "--cg", "0.2", "--ct", "0.05", "--model", str(path)))
