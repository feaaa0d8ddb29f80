"""plan tune and --replan on the Gaussian task whose sigma the planner does not know."""
from __future__ import annotations

import json

import numpy as np
import pytest

from bootstrapper.engine import execute
from bootstrapper.rundir import RunDir
from bootstrapper.tasks.gaussian import GaussianConfig, GaussianTask
from bootstrapper.tune import tune
from planner.costs import CostModel
from planner.models import GaussianModel
from planner.plan import recommend
from planner.problem import Problem
from planner.replan import replan
from tests.conftest import one_sentence, run_cli

TRUTH = GaussianModel(3.0, 1.5, 1.0)  # u* = 3.25; the default model the planner assumes has u* = 2
TASK = GaussianTask(GaussianConfig(3.0, 1.5, 1.0))
COSTS = CostModel(1.0, 3.0)


def start_theta(plan) -> float:
    checkpoint = plan.start["checkpoint"]
    return json.loads(open(f"{checkpoint}/state.json").read())["theta"] if checkpoint else TRUTH.theta0


def test_tuned_plan_is_within_10_percent_of_the_oracle(fast_tmp):
    """Pilots spend <= 10 % of the budget; the tuned plan's expected gap under the true model
    (from the state it starts in), averaged over 30 seeds, is within 10 % of the oracle plan's,
    and the tuned base is within 10 % of the oracle's."""
    oracle = recommend(Problem(TRUTH, COSTS, 2e4))
    gaps, bases = [], []
    for seed in range(30):
        tuned = tune(TASK, Problem(GaussianModel(), COSTS, 2e4), 0.1, fast_tmp / str(seed), seed=seed)
        assert tuned.pilot_spent <= 0.1 * 2e4
        assert tuned.plan.problem.budget == 2e4 - tuned.pilot_spent
        truth_from_start = GaussianModel(start_theta(tuned.plan), TRUTH.sigma, TRUTH.kappa)
        gaps.append(TRUTH.r_star - truth_from_start.trajectory(tuned.plan.schedule.array)[-1])
        bases.append(tuned.plan.schedule.param)
    assert np.mean(gaps) <= 1.10 * oracle.gap, (np.mean(gaps), oracle.gap)
    assert abs(np.median(bases) / oracle.schedule.param - 1) < 0.10, (np.median(bases), oracle.schedule.param)


def test_replanning_rescues_a_run_started_from_a_wrong_model(fast_tmp):
    """A plan made for sigma = 0.5 (true 1.5): with refit + replan after each round the mean final
    gap over 40 seeds is far smaller than without, and within 2x of the oracle plan's."""
    wrong = recommend(Problem(GaussianModel(3.0, 0.5, 1.0), COSTS, 2e4), task="gaussian")
    oracle = recommend(Problem(TRUTH, COSTS, 2e4), task="gaussian")
    initial = TASK.evaluate(TASK.init_state(0))
    refit = lambda plan, history, ledger: replan(plan, history, ledger.spent, initial)
    gaps = {"oracle": [], "wrong": [], "replanned": []}
    for seed in range(40):
        for name, plan, replanner in (("oracle", oracle, None), ("wrong", wrong, None), ("replanned", wrong, refit)):
            folder = fast_tmp / f"{name}{seed}"
            RunDir(folder).prepare(plan.to_json(), {"task": "gaussian"})
            history = execute(plan, TASK, folder, seed, **({"replanner": replanner} if replanner else {}))
            assert history[-1]["spent"] <= 2e4
            gaps[name].append(TRUTH.r_star - history[-1]["reward"])
    mean = {k: np.mean(v) for k, v in gaps.items()}
    assert mean["replanned"] < mean["wrong"] / 3, mean
    assert mean["replanned"] < 2 * mean["oracle"], mean


def test_replan_keeps_the_plan_until_the_model_is_identified_and_stops_when_rounds_would_hurt():
    """Too few rounds to fit: the plan's own rest. A tiny budget left: stop rather than train on a few samples."""
    plan = recommend(Problem(TRUTH, COSTS, 2e4), task="gaussian")
    history = [{"round": 0, "n": 1, "kept": 1, "generated": 3, "reward": 0.3, "metrics": {"reward": 0.3, "theta": 1.0}}]
    early = replan(plan, history, 10.0, {"reward": 0.05, "theta": 3.0})
    assert early.schedule == plan.schedule.n[1:] and not early.note["refit"]
    thetas = [3.0, 1.2, 0.5, 0.2, 0.05, 0.01]
    history = [{"round": t, "n": 10 * 2**t, "kept": 10 * 2**t, "generated": 20 * 2**t, "reward": 0.5,
                "metrics": {"reward": 0.5, "theta": thetas[t + 1] * (-1) ** t}} for t in range(5)]
    late = replan(plan, history, 2e4 - 30, {"reward": 0.05, "theta": 3.0})
    assert late.schedule == () and "stopping" in late.note["reason"]


def test_tune_cli_then_execute_continues_from_the_pilot(tmp_path):
    """`plan tune` writes a plan that `plan execute --replan` runs from the chosen pilot state."""
    tuned = tmp_path / "tuned.json"
    made = run_cli("tune", "--task", "gaussian", "-o", "sigma=1.5", "--budget", "2e4", "--pilot", "0.05",
                   "--run-dir", str(tmp_path / "pilots"), "--out", str(tuned))
    assert made.returncode == 0, made.stderr
    plan = json.loads(tuned.read_text())
    assert plan["start"]["pilot_spent"] <= 0.05 * 2e4 and plan["budget"] == 2e4 - plan["start"]["pilot_spent"]
    ran = run_cli("execute", str(tuned), "--run-dir", str(tmp_path / "main"), "-o", "sigma=1.5", "--replan",
                  "--json", "--no-progress", "--no-report")
    assert ran.returncode == 0, ran.stderr
    summary = json.loads(ran.stdout)
    assert summary["spent"] <= plan["budget"]
    if plan["start"]["checkpoint"]:
        assert summary["initial_reward"] > TASK.evaluate(TASK.init_state(0))["reward"]
    wrong_options = run_cli("execute", str(tuned), "--run-dir", str(tmp_path / "other"), "--no-progress")
    assert wrong_options.returncode == 2 and "same options" in wrong_options.stderr


TUNE = ["tune", "--task", "gaussian", "-o", "sigma=1.5", "--budget", "2e4", "--pilot", "0.05"]


@pytest.mark.parametrize("bad, missing", [
    (["--out", "{tmp}"], ()), (["--seed", "-1"], ()), (["-o", "theta0=1e308"], ()), (["--budget", "1e20"], ()),
    (["--trials", "-1"], ()), (["--trials", "2"], ("optuna",)), (["--pilot", "1.5"], ()),
], ids=["out-a-folder", "seed-negative", "theta0-1e308", "budget-1e20", "trials-negative", "trials-without-optuna",
        "pilot-share"])
def test_bad_tune_input_is_refused_before_the_pilots_and_the_corrected_command_works(tmp_path, bad, missing):
    """plan tune --out DIR and the other bad inputs: one sentence, exit 2, no pilot run made."""
    pilots, out = tmp_path / "pilots", tmp_path / "tuned.json"
    refused = run_cli(*TUNE, "--run-dir", str(pilots), "--out", str(out), *[a.format(tmp=tmp_path) for a in bad],
                      missing=missing)
    assert one_sentence(refused) and refused.stdout == "", refused.stderr
    assert not pilots.exists() and not out.exists()
    done = run_cli(*TUNE, "--run-dir", str(pilots), "--out", str(out))
    assert done.returncode == 0 and json.loads(out.read_text())["start"]["pilot_spent"] > 0, done.stderr


def test_plan_tune_takes_the_run_directory_lock(tmp_path):
    """While another process holds a pilot's run directory, `plan tune` on it is refused in one
    sentence naming it (the lock `plan execute` takes); released, the same command resumes."""
    from bootstrapper.lock import RunLock

    args = [*TUNE, "--run-dir", str(tmp_path / "pilots"), "--out", str(tmp_path / "tuned.json")]
    assert run_cli(*args).returncode == 0
    lock = RunLock(tmp_path / "pilots" / "pilot-doubling")
    try:
        refused = run_cli(*args)
    finally:
        lock.release()
    assert one_sentence(refused) and "pilot-doubling is in use by another process" in refused.stderr
    assert run_cli(*args).returncode == 0
