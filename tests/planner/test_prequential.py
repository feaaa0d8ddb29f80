"""Model selection during a run: each round's replan logs every kind's forecast, the next round scores
it, and the refit changes kind only when another kind has forecast better beyond noise."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from planner.models import SurrogateModel
from planner.models.stepclock import StepClockModel
from planner.prequential import MIN_SCORED, better_kind, errors
from planner.rounds import RoundRecord

TRUTH = SurrogateModel(0.8, 0.5, 0.5, 0.4, 1.0)
KEPT = [16, 32, 24, 64, 48, 128, 96, 256]


def logged_run(forecasters: dict[str, object], noise: float = 0.0, seed: int = 0) -> list[RoundRecord]:
    """Rounds whose readings follow TRUTH (plus noise), each logging the forecasts of `forecasters`
    (kind -> function of the state's reward giving a model restarted there)."""
    rng, records, reward = np.random.default_rng(seed), [], float(TRUTH.trajectory(np.empty(0))[0])
    for t, n in enumerate(KEPT):
        reward = float(exact(reward).trajectory(np.array([float(n)]))[-1]) + float(rng.normal(0, noise))
        note = {"forecasts": {kind: make(reward).to_json() for kind, make in forecasters.items()}}
        records.append(RoundRecord(round=t, kept=n, generated=2 * n, reward=reward, replan=note))
    return records


def exact(reward: float) -> SurrogateModel:
    """TRUTH restarted at the reward (a noisy reading above r* counts as r*)."""
    return dataclasses.replace(TRUTH, g0=max(TRUTH.r_star - reward, 0.0))


SLOW = StepClockModel(0.8, 0.2, 0.5, 400.0, 1.0, 4000.0, train_batch=32)  # far too little progress per step


def slow(reward: float) -> StepClockModel:
    """SLOW restarted at the clock where it gives the reward."""
    grid = np.linspace(0, 40000, 40001)
    return dataclasses.replace(SLOW, k0=float(grid[np.argmin(np.abs(SLOW.reward_at(grid) - reward))]))


def test_a_kind_that_forecasts_better_beyond_noise_replaces_the_current_one():
    history = logged_run({"surrogate": exact, "step-clock": slow})
    scored = errors(history)
    assert len(scored["surrogate"]) == len(KEPT) - 1 and max(scored["surrogate"].values()) < 1e-9
    assert min(scored["step-clock"].values()) > 1e-3
    kind, note = better_kind("step-clock", history)
    assert kind == "surrogate" and note["kind"] == "surrogate"
    assert note["forecast_errors"]["step-clock"]["rounds"] == len(KEPT) - 1


def test_the_current_kind_stays_until_enough_rounds_are_scored():
    history = logged_run({"surrogate": exact, "step-clock": slow})[:MIN_SCORED]  # MIN_SCORED - 1 scored
    assert better_kind("step-clock", history)[0] == "step-clock"
    assert better_kind("step-clock", logged_run({"surrogate": exact, "step-clock": slow})[:MIN_SCORED + 1])[0] \
        == "surrogate"


@pytest.mark.parametrize("seed", range(3))
def test_kinds_within_noise_of_each_other_leave_the_current_kind(seed):
    """Two forecasters equally good (the same exact model under both kind names is impossible, so the
    surrogate forecasts exactly and the readings are noisy; the current kind is the surrogate): no
    challenger beats it, and a damaged note is skipped, not a traceback."""
    history = logged_run({"surrogate": exact}, noise=0.01, seed=seed)
    damaged = [RoundRecord(round=0, kept=8, generated=8, reward=0.5, replan={"forecasts": {"surrogate": {"kind": 3}}}),
               *history[1:]]
    assert better_kind("surrogate", history)[0] == "surrogate"
    assert better_kind("surrogate", damaged)[0] == "surrogate"


def test_a_run_without_notes_has_nothing_scored():
    history = [RoundRecord(round=t, kept=n, generated=n, reward=0.5) for t, n in enumerate(KEPT)]
    assert better_kind("surrogate", history) == ("surrogate", None)


def test_a_gaussian_task_run_logs_every_kinds_forecast_and_keeps_the_exact_model(tmp_path):
    """plan tune's replans on the Gaussian task (sigma 1.5, vague start, theta logged): each note holds the
    Gaussian's and the surrogate's forecasts, and the scores leave the exact Gaussian fit in place."""
    from bootstrapper.tasks.gaussian import GaussianConfig, GaussianTask
    from bootstrapper.tune import tune
    from planner.costs import CostModel
    from planner.models import GaussianModel
    from planner.problem import Problem

    problem = Problem(GaussianModel(), CostModel(1.0, 3.0, 20.0), 2e4)
    history = tune(GaussianTask(GaussianConfig(sigma=1.5)), problem, tmp_path / "run", seed=0).history
    notes = [r.replan for r in history if r.replan and r.replan.get("refit")]
    assert notes and all("gaussian" in note["forecasts"] for note in notes)
    assert "surrogate" in notes[-1]["forecasts"]  # once the log has the transitions it needs
    scored = [note for note in notes if "selection" in note]
    assert scored and all(note["selection"]["kind"] == "gaussian" == note["fit"]["method"] for note in scored)
