"""Refit and replan: after each round, fit the reward model on every round so far and re-solve
for the budget that is left. One code path for the engine's --replan and for the Advisor."""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from planner.fit import Observations, refit, restart_model
from planner.plan import Plan, recommend
from planner.problem import Problem
from planner.rounds import RoundRecord, read_rounds
from planner.validate import InputError

# From a reward-only (surrogate) fit, a refit's plan replaces the schedule in force only if, by the
# refit model and from the same state, it leaves a final gap at least this much smaller: near
# saturation the reward read after a round is noisier than the gap left, and a plan re-solved from
# each noisy reading restarts its ramp of small rounds again and again. A Gaussian fit restarts from
# the observed theta, where replanning freely is better (measured on the Gaussian task; README, `plan tune`).
KEEP_WITHIN = 0.1


@dataclasses.dataclass(frozen=True)
class Replan:
    """The kept sizes for the rounds still to run, and what the refit said (for the log)."""

    schedule: tuple[int, ...]
    note: dict


def planned_rest(plan: Plan, history: list[RoundRecord]) -> tuple[int, ...]:
    """The kept sizes still planned after the last round of history: the latest replan's (each
    committed round records the schedule left after it), else the plan's own."""
    earlier = [r.schedule for r in history[:-1] if r.schedule is not None]
    return earlier[-1][1:] if earlier else tuple(plan.schedule.n[len(history):])


def replan(plan: Plan, history: Sequence[RoundRecord | Mapping], spent: float, initial: dict | None = None,
           kind: str = "auto", earlier: list[Observations] = ()) -> Replan:
    """Fit on the history (plus earlier runs' transitions, e.g. a task prior's; by the plan's model
    kind's own fit where it brings one, planner.fit.refit) and plan the rest of the budget from the
    current state; keep the schedule in force (an earlier replan's, else the plan's) if the log
    cannot identify a model yet, or, from rewards alone, if the refit's plan is not KEEP_WITHIN
    better than it or would shrink the next round below the one just run."""
    history = read_rounds(history, "the history", item="round")  # RoundRecords, or their JSON objects
    rest = planned_rest(plan, history)
    left = plan.problem.budget - spent
    rounds_left = plan.problem.max_rounds - len(history)
    try:
        obs = Observations.pool([*earlier, Observations.from_log(history, initial)])
        fitted = refit(plan.problem.model, obs, kind)
    except InputError as e:
        return Replan(rest, {"refit": False, "reason": str(e)})
    note = {"refit": True, "fit": fitted.to_json()}
    loose = fitted.unidentified()
    if loose:
        # A plan re-solved from a loose fit chases the noise of a few rounds (restarting ramps of
        # tiny rounds, or jumping to huge ones); the plan in hand is the better bet until then.
        return Replan(rest, {**note, "reason": f"keeping the plan: the fit is not identified yet ({loose})"})
    if rounds_left < 1:
        return Replan((), {**note, "reason": "no rounds left under --max-rounds"})
    model = restart_model(fitted.model, obs)
    try:
        new = recommend(Problem(model, plan.problem.costs, left, plan.problem.batch, rounds_left))
    except InputError as e:
        # A fit that cannot plan (e.g. it says not one round is affordable) is not trusted: the run goes
        # on with its schedule, and the ledger still stops it when the money is gone.
        return Replan(rest, {**note, "reason": f"keeping the plan: the refit model cannot plan ({e})"})
    now = float(model.trajectory(np.empty(0))[0])
    if new.predicted_reward <= now:
        # A small last round would replace a good model by one trained on few samples.
        return Replan((), {**note, "reason": f"stopping: the best use of the {left:.4g} left is predicted to "
                                            f"lower the reward ({new.predicted_reward:.6g} < {now:.6g} now)"})
    if fitted.method != "surrogate":
        return adopt(new, note)
    if new.schedule.n[0] < history[-1].kept:
        return Replan(rest, {**note, "reason": f"keeping the schedule: the refit's plan would shrink the next round to "
                                              f"{new.schedule.n[0]} after one of {history[-1].kept}"})
    kept = new.problem.outcome(np.array(rest, dtype=float))
    if float(kept.cost) <= left and new.gap >= (1 - KEEP_WITHIN) * float(kept.gap):
        return Replan(rest, {**note, "reason": f"keeping the schedule: the refit's plan would leave {new.gap:.4g}, "
                                              f"not {KEEP_WITHIN:.0%} less than its {float(kept.gap):.4g}"})
    return adopt(new, note)


def adopt(new: Plan, note: dict) -> Replan:
    """The refit's plan as the schedule for the rest of the run."""
    return Replan(tuple(new.schedule.n), {**note, "base": new.schedule.param,
                                         "predicted_final_reward": new.predicted_reward})
