"""Auto-tuning: short pilot runs on the real task, a fit on their rounds, a plan for the rest.

Two pilots share the pilot budget: a doubling schedule and a constant one (different n_t, so
the fit can tell the contraction from the noise). Their rounds are pooled for the fit; the main
run then starts from the best pilot's final state when the plan predicts that beats starting
over, and the plan says which (its `start` record).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from bootstrapper.engine import Progress, execute
from bootstrapper.rundir import RunDir
from bootstrapper.session import initial_metrics, tracker_logger, with_trackers
from bootstrapper.tasks import Task
from planner.fit import Observations, fit, restart_model
from planner.jsonio import InputError
from planner.models import RewardModel, SurrogateModel
from planner.plan import Plan, recommend
from planner.problem import Problem
from planner.schedules import FAMILIES, Schedule
from planner.sizing import size
from planner.solvers import free_form

PILOTS = {"doubling": ("exponential", 2.0), "constant": ("constant", 0.0)}


def prior_model(reward0: float) -> SurrogateModel:
    """A deliberately vague model for sizing the pilots from the starting reward alone."""
    r_star = min(1.0, (1.0 + reward0) / 2) if reward0 < 1 else 1.0
    gap = max(r_star - reward0, 1e-6)
    return SurrogateModel(r_star, min(gap, 0.999 * r_star), 0.5, 0.1 * gap, 1.0)


MIN_PILOT_ROUNDS = 3  # the fits need a few transitions per pilot


def pilot_plan(name: str, problem: Problem, rounds: int, task: str, seed: int) -> Plan:
    """A pilot schedule of the named shape, sized by the prior to spend its share, with as many
    rounds (at most `rounds`, at least 3) as that share can pay for."""
    family, param = PILOTS[name]
    counts = np.arange(rounds, MIN_PILOT_ROUNDS - 1, -1)
    shape = FAMILIES[family].shape(np.array(param), np.arange(rounds, dtype=float))
    sized = size(problem, np.broadcast_to(shape, (len(counts), rounds)), counts)
    feasible = np.flatnonzero(np.isfinite(sized.gap))
    if not len(feasible):
        raise InputError(f"the pilot budget {problem.budget:g} cannot pay for {MIN_PILOT_ROUNDS} pilot rounds; "
                         "raise --pilot or the budget")
    i = feasible[0]
    schedule = Schedule.from_array(family, sized.n[i, : counts[i]], float(sized.n0[i]),
                                   param if family != "constant" else None)
    return Plan(problem, schedule, f"pilot-{name}", free_form(problem), task=task, seed=seed)


@dataclasses.dataclass(frozen=True)
class Tuned:
    """The plan for the rest of the budget, and what the pilots found."""

    plan: Plan
    pilot_spent: float
    fit: dict


def tune(task: Task, problem: Problem, pilot_share: float, run_dir: str | Path, seed: int = 0,
         pilot_rounds: int = 6, prior: RewardModel | None = None, trials: int = 0,
         log_with: tuple[str, ...] = ()) -> Tuned:
    """Spend at most pilot_share of the budget on pilots in run_dir, fit, and plan the rest; each pilot's
    rounds also go to the trackers of log_with (one tracker run per pilot)."""
    if not 0 < pilot_share < 1:
        raise InputError(f"--pilot must be a fraction between 0 and 1, got {pilot_share!r}")
    root = Path(run_dir)
    initial = initial_metrics(task, task.init_state(seed))
    prior = prior or prior_model(initial["reward"])
    share = dataclasses.replace(problem, model=prior, budget=pilot_share * problem.budget / len(PILOTS),
                                max_rounds=pilot_rounds)
    pilots = {name: pilot_plan(name, share, pilot_rounds, task.name, seed) for name in PILOTS}  # before any run
    run = {"format": 1, "task": task.name, "task_config": task.config.to_json(), "seed": seed, "initial": initial}
    runs, spent, finals = [], 0.0, {}
    for name, pilot in pilots.items():
        folder = root / f"pilot-{name}"
        with RunDir(folder) as pilot_dir:  # locked: a second `plan tune` on run_dir is refused
            pilot_dir.prepare(pilot.to_json(), run)
            logger = tracker_logger(log_with, pilot_dir, lambda: pilot, pilot_dir.run_config) if log_with else None
            if logger:
                logger.start()
            history = with_trackers(logger, pilot_dir, Progress(),
                                    lambda hooks: execute(pilot, task, folder, seed, progress=hooks))
        spent += history[-1]["spent"] if history else 0.0
        runs.append(Observations.from_log(history, initial))
        finals[name] = history[-1]["reward"] if history else -np.inf
    pooled = Observations.pool(runs)
    fitted = fit(pooled)
    rest = dataclasses.replace(problem, budget=problem.budget - spent)
    best = max(finals, key=finals.get)
    candidates = {"initial state": (restart_model(fitted.model, dataclasses.replace(pooled, last=initial)), None)}
    best_run = runs[list(PILOTS).index(best)]
    checkpoint = root / f"pilot-{best}" / "checkpoint" / "task"
    candidates[f"pilot-{best}"] = (restart_model(fitted.model, best_run), str(checkpoint.resolve()))
    plans = {}
    for where, (model, checkpoint) in candidates.items():
        try:  # a start the fitted model deems hopeless (one round costs more than is left) is skipped
            plans[where] = (recommend(dataclasses.replace(rest, model=model), trials=trials, seed=seed,
                                      task=task.name), checkpoint)
        except InputError:
            continue
    if not plans:
        raise InputError(f"after the pilots, {rest.budget:g} is left, which the fitted model says cannot pay "
                         "for a single round; raise the budget or lower --pilot")
    where = max(plans, key=lambda k: plans[k][0].predicted_reward)
    plan, checkpoint = plans[where]
    start = {"from": where, "checkpoint": checkpoint, "task_config": task.config.to_json(), "pilot_spent": spent,
             "pilot_budget": pilot_share * problem.budget, "fit": fitted.to_json(),
             "predicted": {k: p.predicted_reward for k, (p, _) in plans.items()}}
    return Tuned(dataclasses.replace(plan, start=start), spent, fitted.to_json())
