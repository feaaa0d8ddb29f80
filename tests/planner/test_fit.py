"""Fitting reward models to round logs: recovery, interval coverage, and refusing degenerate logs."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from planner.fit import Observations, fit, fit_gaussian, fit_surrogate
from planner.jsonio import InputError
from planner.models import SurrogateModel


def log_of(model: SurrogateModel, n: list[int]) -> tuple[list[dict], dict]:
    """The round log a noiseless run of the surrogate would write."""
    r = model.trajectory(np.array(n, dtype=float))
    records = [{"round": t, "n": k, "kept": k, "generated": int(k / r[t]) + 1, "reward": float(r[t + 1])}
               for t, k in enumerate(n)]
    return records, {"reward": float(r[0])}


def test_noiseless_surrogate_is_recovered_exactly():
    """On a noiseless log with varied n_t the surrogate fit returns the true parameters."""
    truth = SurrogateModel(0.8, 0.6, 0.6, 0.3, 1.0)
    result = fit_surrogate(Observations.from_log(*log_of(truth, [4, 8, 3, 16, 5, 32, 9, 64])))
    for name in ("r_star", "a", "b"):
        assert result.estimate(name).value == pytest.approx(getattr(truth, name), rel=1e-6)
    assert result.rmse < 1e-9 and result.r2 == pytest.approx(1.0)


def test_profiled_gamma_is_recovered():
    """With gamma profiled over its grid, a noiseless log gives the true gamma back."""
    truth = SurrogateModel(0.8, 0.6, 0.5, 0.4, 0.5)
    result = fit_surrogate(Observations.from_log(*log_of(truth, [2, 50, 3, 80, 5, 200, 8, 400, 13])), gamma=None)
    assert result.model.gamma == pytest.approx(0.5)


def gaussian_runs(fast_tmp, count: int):
    """Observations of `count` seeded Gaussian-task runs of the default exponential plan."""
    from bootstrapper.engine import execute
    from bootstrapper.rundir import RunDir
    from bootstrapper.tasks.gaussian import GaussianTask
    from tests.bootstrapper.conftest import gaussian_plan

    plan, task = gaussian_plan(2e4), GaussianTask()
    initial = task.evaluate(task.init_state(0))
    for seed in range(count):
        RunDir(fast_tmp / str(seed)).prepare(plan.to_json(), {"task": "gaussian"})
        yield Observations.from_log(execute(plan, task, fast_tmp / str(seed), seed=seed), initial)


def test_intervals_cover_rho_and_a_in_90_percent_of_200_runs(fast_tmp):
    """rho (Gaussian fit) and a = rho^2 (surrogate fit) lie in their 95 % intervals in >= 90 %
    of 200 seeded runs (true rho = 0.5). A refused surrogate fit counts as a miss."""
    rho_hits = a_hits = 0
    for obs in gaussian_runs(fast_tmp, 200):
        e = fit_gaussian(obs).estimate("rho")
        rho_hits += e.low <= 0.5 <= e.high
        try:
            e = fit_surrogate(obs).estimate("a")
            a_hits += e.low <= 0.25 <= e.high
        except InputError:
            pass
    assert rho_hits >= 180, rho_hits
    assert a_hits >= 180, a_hits


def record(t, n, reward, generated=None):
    return {"round": t, "n": n, "kept": n, "generated": generated or 2 * n, "reward": reward}


@pytest.mark.parametrize("records, words", [
    ([record(0, 10, 0.5)], "at least"),
    ([record(t, 10, 0.5 + 0.04 * t) for t in range(8)], "n_t"),
    ([record(t, 10 * 2**t, 0.5) for t in range(8)], "never change|do not improve"),
    ([record(t, 10 * 2**t, [0.5, math.nan][t == 3] + 0.01 * t) for t in range(8)], "NaN"),
    ([record(t, 10 * 2**t, 0.5 + 0.01 * t, generated=1) for t in range(8)], "fewer generated"),
    ([], "empty"),
])
def test_degenerate_logs_are_refused_with_a_reason(records, words):
    """One round, constant n_t, constant rewards, NaN, impossible counts, nothing: InputError saying why."""
    with pytest.raises(InputError, match=words):
        fit(Observations.from_log(records, {"reward": 0.4}), "surrogate")


def test_fit_cli_writes_a_model_plan_can_use(tmp_path):
    """`plan fit --out` writes a model file that `plan --model` accepts; bad logs exit 2."""
    from tests.conftest import run_cli

    truth = SurrogateModel(0.8, 0.6, 0.6, 0.3, 1.0)
    records, initial = log_of(truth, [4, 8, 3, 16, 5, 32, 9, 64])
    log = tmp_path / "rounds.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in records))
    (tmp_path / "run.json").write_text(json.dumps({"initial": initial}))
    fitted = run_cli("fit", str(log), "--out", str(tmp_path / "model.json"), "--json")
    assert fitted.returncode == 0, fitted.stderr
    assert json.loads(fitted.stdout)["estimates"]["a"]["value"] == pytest.approx(0.6)
    planned = run_cli("--budget", "1e4", "--model", str(tmp_path / "model.json"), "--json")
    assert planned.returncode == 0 and json.loads(planned.stdout)["model"]["kind"] == "surrogate"
    log.write_text(json.dumps(records[0]) + "\n")
    refused = run_cli("fit", str(log))
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1


def test_a_surrogate_fit_is_used_for_replanning_only_once_identified():
    """A noiseless log pins the surrogate down (intervals inside the domain); the same rounds with
    noise of the size of the reward changes do not, and replan then keeps the plan's rest."""
    from planner.costs import CostModel
    from planner.plan import recommend
    from planner.problem import Problem
    from planner.replan import replan

    truth = SurrogateModel(0.8, 0.6, 0.6, 0.3, 1.0)
    records, initial = log_of(truth, [4, 8, 3, 16, 5, 32])
    assert fit_surrogate(Observations.from_log(records, initial)).unidentified() is None
    noise = np.random.default_rng(0).normal(0, 0.05, len(records))
    noisy = [{**r, "reward": float(np.clip(r["reward"] + e, 0, 1))} for r, e in zip(records, noise)]
    loose = fit_surrogate(Observations.from_log(noisy, initial))
    assert loose.unidentified() and "95 % interval" in loose.unidentified()
    plan = recommend(Problem(truth, CostModel(1.0, 3.0), 1e4))
    kept = replan(plan, noisy, 100.0, initial)
    assert kept.schedule == plan.schedule.n[len(noisy):] and "keeping the plan" in kept.note["reason"]


def test_rounds_not_evaluated_end_no_transition_and_replanning_waits_for_an_evaluation():
    """A log run with eval_every 2 (reward null on every other round, and no generation reward as in
    logs from before it was logged): the fit uses only the transitions between evaluated rounds,
    and replan keeps the plan after a round that was not evaluated."""
    from planner.costs import CostModel
    from planner.plan import recommend
    from planner.problem import Problem
    from planner.replan import replan

    truth = SurrogateModel(0.8, 0.6, 0.6, 0.3, 1.0)
    records, initial = log_of(truth, [4, 8, 3, 16, 5, 32, 9, 64, 7, 128, 11, 256])
    sparse = [{**r, "reward": None, "metrics": {}} if r["round"] % 2 == 0 else r for r in records]
    obs = Observations.from_log(sparse, initial)
    assert list(obs.n) == [8, 16, 32, 64, 128, 256] and not np.any(np.isfinite(obs.before))
    with pytest.raises(InputError, match="transitions"):
        fit_surrogate(obs)  # no transition starts at an evaluated round
    plan = recommend(Problem(truth, CostModel(1.0, 3.0), 1e4))
    waiting = replan(plan, sparse[:5], 100.0, initial)
    assert waiting.schedule == plan.schedule.n[5:] and "not evaluated" in waiting.note["reason"]
