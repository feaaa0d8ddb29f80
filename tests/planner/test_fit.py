"""Fitting reward models to round logs: recovery, interval coverage, and refusing degenerate logs."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from planner.fit import Observations, fit, fit_gaussian, fit_surrogate
from planner.models import SurrogateModel
from planner.validate import InputError
from tests.planner.helpers import interval_hits, log_of


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
    from planner.runconfig import RunConfig
    from tests.bootstrapper.conftest import gaussian_plan

    plan, task = gaussian_plan(2e4), GaussianTask()
    initial = task.evaluate(task.init_state(0))
    for seed in range(count):
        RunDir(fast_tmp / str(seed)).prepare(plan.to_json(), RunConfig.for_task(task, seed))
        yield Observations.from_log(execute(plan, task, fast_tmp / str(seed), seed=seed), initial)


def test_intervals_cover_the_true_parameters_in_200_runs(fast_tmp):
    """Seeded Gaussian-task runs (theta0 = 3, sigma = kappa = 1, so rho = 0.5): rho, sigma and kappa
    (Gaussian fit) lie in their 95 % intervals in >= 90 % of 200 runs (measured 194, 193, 189), and
    a = rho^2 (surrogate fit) in >= 85 % (measured 177 here, 547 of 600 seeds: the surrogate is the
    Gaussian's first-order form, and a is biased low over 13 rounds). A refused fit counts as a miss."""
    hits = dict.fromkeys(["rho", "sigma", "kappa", "a"], 0)
    truth = {"rho": 0.5, "sigma": 1.0, "kappa": 1.0, "a": 0.25}
    for obs in gaussian_runs(fast_tmp, 200):
        gaussian = fit_gaussian(obs)
        for name in ("rho", "sigma", "kappa"):
            e = gaussian.estimate(name)
            hits[name] += e.low <= truth[name] <= e.high
        try:
            e = fit_surrogate(obs).estimate("a")
            hits["a"] += e.low <= 0.25 <= e.high
        except InputError:
            pass
    assert min(hits["rho"], hits["sigma"], hits["kappa"]) >= 180 and hits["a"] >= 170, hits


NOISY_TRUTH = SurrogateModel(0.8, 0.6, 0.5, 0.05, 1.0)
VARIED_N = [10, 20, 15, 40, 25, 80, 50, 160, 100, 320, 200, 640, 400, 1280]


def noisy_surrogate_runs(count: int):
    """Observations of `count` seeded runs whose gap moves as NOISY_TRUTH says, with the noise law the
    fit assumes (the Gaussian task's): g_{t+1} = a g_t + b/n_t + e_t, Var(e_t) = 2 (b/n_t)(2 a g_t + b/n_t),
    e_t normal, the gap kept >= 0."""
    a, b = NOISY_TRUTH.a, NOISY_TRUTH.b
    for seed in range(count):
        rng, gaps = np.random.default_rng(seed), [NOISY_TRUTH.g0]
        for n in VARIED_N:
            push = b / n
            gaps.append(max(a * gaps[-1] + push + rng.normal(0, math.sqrt(2 * push * (2 * a * gaps[-1] + push))), 0.0))
        r = NOISY_TRUTH.r_star - np.array(gaps)
        yield Observations(np.array(VARIED_N, dtype=float), r[:-1], r[1:], None, None, {"reward": float(r[-1])})


def surrogate_hits(count: int, gamma: float | None, names: tuple[str, ...]) -> dict:
    """How many of `count` noisy runs' fits have each true parameter inside its 95 % interval (a
    refused fit counts as a miss)."""
    return interval_hits(noisy_surrogate_runs(count), NOISY_TRUTH, names, gamma)


def test_surrogate_intervals_cover_the_truth_in_200_noisy_runs():
    """r_star, g0 (r_star's interval less the first reward), a and b with gamma held at 1: measured
    coverage 155 to 169 of 200 (nominal 95 %: the Wald intervals of a 14-transition autoregression are
    too narrow, and some fits are refused), asserted >= 70 %. gamma, held fixed, has no interval."""
    hits = surrogate_hits(200, 1.0, ("r_star", "g0", "a", "b"))
    assert min(hits.values()) >= 140, hits
    assert math.isnan(fit_surrogate(Observations.from_log(*log_of(NOISY_TRUTH, VARIED_N))).estimate("gamma").low)


def test_profiled_gamma_interval_covers_the_truth_in_100_noisy_runs():
    """gamma profiled over its grid: its profile interval (F test on the weighted residuals) holds the
    true gamma = 1 in >= 75 of 100 runs (measured 84; 5 fits refused)."""
    assert surrogate_hits(100, None, ("gamma",))["gamma"] >= 75


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


def test_rounds_not_evaluated_end_no_transition_and_replanning_keeps_the_plan_until_it_can_fit():
    """A log run with eval_every 2 (reward null on every other round, and no generation reward as in
    logs from before it was logged): the fit uses only the transitions between evaluated rounds,
    and replan keeps the plan while those are too few to fit."""
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
    assert waiting.schedule == plan.schedule.n[5:] and "transitions" in waiting.note["reason"]
