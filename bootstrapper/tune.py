"""Auto-tuning that wastes nothing: plan the whole budget from a prior, run it, and after every
round refit the reward model on the prior's measured rounds pooled with this run's own,
re-solving the rest of the budget once the fit pins the model down.

Why this design (measured on the Gaussian task from rewards alone, budget 1e4, c_g 1, c_t 3,
c_r 20; see docs/tune.md): separate pilot runs thrown away after the fit left 3.2x the
oracle plan's final gap, a refit's point estimate replanned every round 3.2x, and a single replan
after a few rounds 3.5-9.8x (small early rounds give a noisy contraction, and a too-large base
costs more than a too-small one), while a plan from a vague prior, replanned only when the fit is
identified, left 1.6x (400 seeds). With a task prior the fit starts from the prior's rounds, so the run's own
rounds refine a fitted model instead of identifying one from nothing.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from bootstrapper.engine import Progress, execute, initial_metrics
from bootstrapper.rundir import RunDir
from bootstrapper.tasks import Task
from bootstrapper.tracking import tracker_logger, with_trackers
from planner.fit import MAX_START_GAP, Observations
from planner.models import RewardModel, SurrogateModel
from planner.plan import Plan, recommend
from planner.problem import Problem
from planner.replan import Replan, replan
from planner.rounds import RoundRecord
from planner.runconfig import RunConfig

VAGUE_A = 0.5  # the vague model halves the gap each round
VAGUE_PUSH = 0.1  # and pushes it back by a tenth of the starting gap per sample (b = VAGUE_PUSH * gap, gamma 1)
MIN_GAP = 1e-6  # its starting gap when the starting reward is already 1: the surrogate needs b > 0


def vague_model(reward0: float) -> SurrogateModel:
    """A deliberately vague surrogate from the starting reward alone (no task prior): the best
    reward halfway to 1, the gap halved each round, a noise push of a tenth of the gap per sample."""
    r_star = min(1.0, (1.0 + reward0) / 2) if reward0 < 1 else 1.0
    gap = max(r_star - reward0, MIN_GAP)
    return SurrogateModel(r_star, min(gap, MAX_START_GAP * r_star), VAGUE_A, VAGUE_PUSH * gap, 1.0)


@dataclasses.dataclass(frozen=True)
class Tuned:
    """The plan the run started from, the rounds it ran and the schedule it ended with."""

    plan: Plan
    history: list[RoundRecord]

    @property
    def schedule(self) -> list[int]:
        """Kept samples per round as run (replans included) and still planned, if the run was cut."""
        return [r.kept for r in self.history] + list(self.history[-1].schedule if self.history else [])


def tuned_plan(task: Task, problem: Problem, initial: dict, prior: RewardModel | None, trials: int = 0,
               seed: int = 0) -> Plan:
    """The plan for the whole budget from the prior (or a vague one from the starting reward)."""
    model = prior or vague_model(initial["reward"])
    return recommend(dataclasses.replace(problem, model=model), trials=trials, seed=seed, task=task.name)


def recorded_initial(run_dir: str | Path) -> dict | None:
    """The starting metrics a started run recorded in its run.json (None for a new run): a resume
    need not evaluate the starting model again (134 s on the LLM study's held-out set). A run_dir
    that holds no run and cannot hold a new one is refused here, before that evaluation and the plan."""
    folder = RunDir(run_dir)
    return folder.run_config().initial if folder.check_place() else None


def tune(task: Task, problem: Problem, run_dir: str | Path, seed: int = 0, prior: RewardModel | None = None,
         evidence: Observations | None = None, trials: int = 0, eval_every: int = 1,
         log_with: tuple[str, ...] = (), progress: Progress | None = None) -> Tuned:
    """Run (or resume) the tuned run in run_dir: the prior's plan, refitted on evidence (the prior's
    measured transitions, if any) and this run's rounds after every round."""
    initial = recorded_initial(run_dir) or initial_metrics(task, task.init_state(seed))
    plan = tuned_plan(task, problem, initial, prior, trials, seed)
    earlier = [evidence] if evidence is not None else []

    def refit(plan: Plan, history: list[RoundRecord], ledger) -> Replan:
        return replan(plan, history, ledger.spent, initial, "auto", earlier)

    with RunDir(run_dir) as folder:  # locked: a second `plan tune` on run_dir is refused
        folder.prepare(plan.to_json(), RunConfig.for_task(task, seed, replan=True, eval_every=eval_every,
                                                          initial=initial))
        logger = tracker_logger(log_with, folder, lambda: plan, folder.run_config) if log_with else None
        if logger:
            logger.start()
        history = with_trackers(logger, folder, progress or Progress(),
                                lambda hooks: execute(plan, task, folder.path, seed, refit, hooks,
                                                      eval_every=eval_every))
    return Tuned(plan, history)
