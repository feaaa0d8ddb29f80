"""plan tune and --replan on the Gaussian task whose sigma the planner does not know."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from benchmarks.gaussian_tune import RewardsOnly
from bootstrapper.engine import execute
from bootstrapper.rundir import RunDir
from bootstrapper.tasks.gaussian import GaussianConfig, GaussianTask
from bootstrapper.tune import tune
from planner.costs import CostModel
from planner.fit import Observations, fit
from planner.models import GaussianModel
from planner.plan import Plan, recommend
from planner.priors import load_prior
from planner.problem import Problem
from planner.replan import replan
from planner.runconfig import RunConfig
from planner.schedules import Schedule
from planner.solvers import free_form
from tests.bootstrapper.conftest import Crash, crash_at
from tests.conftest import one_sentence, run_cli

TRUTH = GaussianModel(3.0, 1.5, 1.0)  # u* = 3.25; the default model the planner assumes has u* = 2
TASK = GaussianTask(GaussianConfig(3.0, 1.5, 1.0))
COSTS = CostModel(1.0, 3.0)
WRONG = Problem(GaussianModel(3.0, 0.5, 1.0), COSTS, 2e4)  # a prior that believes sigma = 0.5


def test_tune_from_a_wrong_prior_ends_near_the_oracle(fast_tmp):
    """Started from a plan made for sigma = 0.5 (true 1.5), the tuned run (exact refit from theta after
    every round) ends, over 15 seeds, with a mean gap within 1.5x the oracle plan's and far below
    the wrong plan's as planned; no run passes its budget."""
    oracle = recommend(Problem(TRUTH, COSTS, 2e4), task="gaussian")
    wrong = recommend(WRONG, task="gaussian")
    gaps = {"oracle": [], "wrong": [], "tuned": []}
    for seed in range(15):
        for name, plan in (("oracle", oracle), ("wrong", wrong)):
            folder = fast_tmp / f"{name}{seed}"
            RunDir(folder).prepare(plan.to_json(), RunConfig.for_task(TASK, seed))
            gaps[name].append(TRUTH.r_star - execute(plan, TASK, folder, seed)[-1]["reward"])
        tuned = tune(TASK, WRONG, fast_tmp / f"tuned{seed}", seed, WRONG.model)
        assert tuned.history[-1]["spent"] <= 2e4 and tuned.plan.schedule.n == wrong.schedule.n
        gaps["tuned"].append(TRUTH.r_star - tuned.history[-1]["reward"])
    mean = {k: np.mean(v) for k, v in gaps.items()}
    assert mean["tuned"] < 1.5 * mean["oracle"] and mean["tuned"] < mean["wrong"] / 3, mean


def rewards_only(history: list[dict], initial: dict) -> Observations:
    """A run's transitions without theta, as a task that reports only its reward would log them."""
    return Observations.from_log([{**r, "metrics": {"reward": r["reward"]}} for r in history],
                                 {"reward": initial["reward"]})


def earlier_runs(folder, problem: Problem) -> list[tuple[str, list[dict]]]:
    """Six runs of hand-picked shapes that vary n_t (so that a fit tells a from b), on seeds 100-105:
    each run's round log path and rounds."""
    runs = []
    for i, base in enumerate((2.0, 1.0, 3.0) * 2):
        schedule = Schedule("exponential", tuple(max(1, round(8 * base**t)) for t in range(7)), 8.0, base)
        plan = Plan(problem, schedule, "hand-picked", free_form(problem), task="gaussian")
        RunDir(folder / f"evidence{i}").prepare(plan.to_json(), RunConfig.for_task(TASK, 100 + i))
        history = execute(plan, TASK, folder / f"evidence{i}", 100 + i)
        runs.append((str(folder / f"evidence{i}" / "rounds.jsonl"), history))
    return runs


def test_tune_pools_the_evidence_it_is_given_from_its_first_round(fast_tmp):
    """With earlier measured transitions (a prior's rounds) the refit after round 0 already has them
    all plus the run's own, is identified and replans; without them the first rounds keep the plan."""
    initial = TASK.evaluate(TASK.init_state(0))
    problem = Problem(TRUTH, COSTS, 4e4, max_rounds=7)
    earlier = [rewards_only(history, initial) for _, history in earlier_runs(fast_tmp, problem)]
    evidence = Observations.pool(earlier)
    prior = fit(evidence, "surrogate")
    assert prior.unidentified() is None, prior.estimates
    pooled = tune(TASK, dataclasses.replace(WRONG, model=prior.model), fast_tmp / "pooled", 0, prior.model, evidence)
    first = pooled.history[0]["replan"]
    assert first["refit"] and first["fit"]["rounds"] == len(evidence.n) + 1 and "base" in first, first
    alone = tune(TASK, dataclasses.replace(WRONG, model=prior.model), fast_tmp / "alone", 0, prior.model)
    assert not alone.history[0]["replan"]["refit"]


def test_a_killed_tuned_run_resumes_to_the_same_rounds(fast_tmp):
    """Crashed right after round 2 was committed, then run again: the same rounds as a run never killed."""
    whole = tune(TASK, WRONG, fast_tmp / "whole", 3, WRONG.model)
    with pytest.raises(Crash):
        tune(TASK, WRONG, fast_tmp / "killed", 3, WRONG.model, progress=crash_at(2, "done"))
    resumed = tune(NO_START_EVALUATION, WRONG, fast_tmp / "killed", 3, WRONG.model)
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]
    assert strip(resumed.history) == strip(whole.history) and len(whole.history) > 3


class _RecordedStart(GaussianTask):
    """TASK, but evaluating the starting model fails: a resume must read the metrics run.json recorded."""

    def evaluate(self, state):
        assert state.theta != TASK.init_state(3).theta, "a resumed tune evaluated the starting model again"
        return super().evaluate(state)


NO_START_EVALUATION = _RecordedStart(TASK.config)


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


def test_a_replan_that_cannot_refit_keeps_the_schedule_an_earlier_replan_set():
    """Round 1 was replanned to [7, 7]; round 2's refit fails: the rest is [7], not the plan's own."""
    plan = recommend(Problem(TRUTH, COSTS, 2e4), task="gaussian")
    history = [{"round": 0, "n": 1, "kept": 1, "generated": 3, "reward": 0.3, "schedule": [5, 7, 7]},
               {"round": 1, "n": 5, "kept": 5, "generated": 9, "reward": 0.4, "schedule": [7, 7]},
               {"round": 2, "n": 7, "kept": 7, "generated": 11, "reward": 0.5}]
    kept = replan(plan, history, 50.0, {"reward": 0.05})
    assert not kept.note["refit"] and kept.schedule == (7,)


def test_replans_keep_a_schedule_the_refit_does_not_beat_by_a_tenth_and_never_shrink_the_next_round(fast_tmp):
    """From rewards alone a reading near saturation is noisier than the gap left, and re-solving from
    each one restarted ramps of small rounds: started from a prior fitted to earlier runs, some refits
    keep the schedule (their plan is not 10 % better), some whose plan would start below the round just
    run keep it (or stop, rather than spend the crumbs left on a tiny round), so kept sizes never fall
    but for a last round the ledger trims.
    With theta observed (the exact Gaussian fit) every identified refit's plan is taken."""
    initial = TASK.evaluate(TASK.init_state(0))
    evidence = Observations.pool([rewards_only(history, initial)
                                  for _, history in earlier_runs(fast_tmp, Problem(TRUTH, COSTS, 4e4, max_rounds=7))])
    prior = fit(evidence, "surrogate").model
    task = RewardsOnly(TASK.config)
    reasons = []
    for seed in range(4):
        tuned = tune(task, dataclasses.replace(WRONG, model=prior), fast_tmp / f"prior{seed}", seed, prior, evidence)
        kept = [r["kept"] for r in tuned.history]
        untrimmed = kept[:-1] if tuned.history[-1]["trimmed"] else kept
        assert untrimmed == sorted(untrimmed), kept
        reasons += [r["replan"].get("reason", "") for r in tuned.history]
    assert any("not 10% less than" in reason for reason in reasons), reasons
    assert any("would shrink the next round" in reason for reason in reasons), reasons
    exact = tune(TASK, WRONG, fast_tmp / "theta", 0, WRONG.model)
    assert not any("keeping the schedule" in r["replan"].get("reason", "") for r in exact.history)


TUNE = ["tune", "--task", "gaussian", "-o", "sigma=1.5", "--budget", "2e4"]


def test_plan_tune_runs_the_budget_and_a_second_call_reads_the_finished_run(tmp_path):
    """`plan tune --json`: rounds within the budget, the schedule as run; again: the same summary."""
    args = [*TUNE, "--run-dir", str(tmp_path / "run"), "--json", "--no-progress"]
    done = run_cli(*args)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert 0 < summary["spent"] <= 2e4 and summary["rounds"] == len(summary["schedule"]) >= 3
    assert summary["final_reward"] > 0.5 and "vague" in summary["model_source"] and "ended_because" in summary
    assert json.loads(run_cli(*args).stdout) == summary


@pytest.mark.parametrize("bad, missing", [
    (["--seed", "-1"], ()), (["-o", "theta0=1e308"], ()), (["--budget", "1e20"], ()), (["--budget", "5"], ()),
    (["--trials", "-1"], ()), (["--trials", "2"], ("optuna",)), (["--eval-every", "0"], ()),
], ids=["seed-negative", "theta0-1e308", "budget-1e20", "budget-below-one-round", "trials-negative",
        "trials-without-optuna", "eval-every-0"])
def test_bad_tune_input_is_refused_before_anything_is_written(tmp_path, bad, missing):
    """One sentence, exit 2, no run directory."""
    folder = tmp_path / "run"
    refused = run_cli(*TUNE, "--run-dir", str(folder), *bad, missing=missing)
    assert one_sentence(refused) and refused.stdout == "", refused.stderr
    assert not folder.exists()


def test_a_budget_for_a_single_round_is_tuned_and_run(tmp_path):
    """A budget of 20 pays for one round: tune refuses only when not one round is affordable, and the
    command the refusals above would be corrected to runs."""
    done = run_cli(*TUNE[:-1], "20", "--run-dir", str(tmp_path / "run"), "--json", "--no-progress")
    assert done.returncode == 0 and json.loads(done.stdout)["rounds"] >= 1, done.stderr


def test_plan_tune_takes_the_run_directory_lock(tmp_path):
    """While another process holds the run directory, `plan tune` on it is refused in one sentence
    naming it (the lock `plan execute` takes); released, the same command resumes."""
    from bootstrapper.lock import RunLock

    args = [*TUNE[:-1], "2e3", "--run-dir", str(tmp_path / "run"), "--no-progress"]
    assert run_cli(*args).returncode == 0
    lock = RunLock(tmp_path / "run")
    try:
        refused = run_cli(*args)
    finally:
        lock.release()
    assert one_sentence(refused) and "is in use by another process" in refused.stderr
    assert run_cli(*args).returncode == 0


def test_your_earlier_runs_as_a_prior_file_start_and_feed_a_tuned_run(fast_tmp):
    """`plan fit RUNS --prior-out P` writes a prior of the runs' task (fitted to their rewards, their
    rounds inside); `plan tune --prior P` plans from it, says so, and pools its rounds from the first
    refit. --prior with --model, or a prior of another task, is one sentence and writes nothing."""
    logs = [log for log, _ in earlier_runs(fast_tmp, Problem(TRUTH, COSTS, 4e4, max_rounds=7))]
    prior_file = fast_tmp / "prior.json"
    done = run_cli("fit", *logs, "--kind", "surrogate", "--prior-out", str(prior_file))
    assert done.returncode == 0 and "plan tune --task gaussian --prior" in done.stdout, done.stderr
    prior = load_prior(prior_file, "gaussian")
    assert prior.source["runs"] == 6 and prior.fit["estimates"]["a"]["high"] < 1
    tuned = json.loads(run_cli(*TUNE, "--prior", str(prior_file), "--run-dir", str(fast_tmp / "run"), "--json",
                               "--no-progress").stdout)
    assert str(prior_file) in tuned["model_source"] and tuned["replans"] >= 1
    first = json.loads((fast_tmp / "run" / "rounds.jsonl").read_text().splitlines()[0])
    assert first["replan"]["fit"]["rounds"] == prior.source["rounds"] + 1
    for bad in (["--model", str(prior_file)], ["--task", "ddpm"]):
        refused = run_cli(*TUNE, "--prior", str(prior_file), "--run-dir", str(fast_tmp / "bad"), *bad)
        assert one_sentence(refused) and not (fast_tmp / "bad").exists(), refused.stderr
