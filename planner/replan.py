"""Refit and replan: after each round, fit the reward model on every round so far and re-solve
for the budget that is left. One code path for the engine's --replan and for the Advisor."""
from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np

from planner.fit import Fit, Observations, fit, refit, restart_model
from planner.models import RewardModel
from planner.plan import Plan, recommend
from planner.prequential import better_kind, forecasts
from planner.problem import Problem
from planner.rounds import RoundRecord, read_rounds
from planner.validate import InputError

# From a fit on rewards alone (every kind but the exact Gaussian), a refit's plan replaces the schedule
# in force only if, by the refit model and from the same state, it leaves a final gap at least this much
# smaller: near saturation the reward read after a round is noisier than the gap left, and a plan
# re-solved from each noisy reading restarts its ramp of small rounds again and again (the step clock's
# DDPM replans swung between rising and flat schedules: docs/results.md). A Gaussian fit restarts from
# the observed theta, where replanning freely is better (measured on the Gaussian task; docs/tune.md).
KEEP_WITHIN = 0.1
EXACT = "gaussian"  # the fit method whose replans are adopted freely


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
    kind's own fit where it brings one, planner.fit.refit, or with kind auto by another kind that has
    forecast the run's rounds better, planner/prequential.py) and plan the rest of the budget from the
    current state; keep the schedule in force (an earlier replan's, else the plan's) if the log
    cannot identify a model yet, or, from rewards alone (any fit but the Gaussian's, which restarts from the
    observed theta), if the refit's plan is not KEEP_WITHIN
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
    scores = None
    if kind == "auto":  # another kind that has forecast this run's rounds better replaces the plan's own
        chosen, scores = better_kind(fitted.model.kind, history)
        if chosen != fitted.model.kind:
            try:
                fitted = fit(obs, chosen)
            except InputError:  # it fitted the log a round ago; if it cannot now, the current kind stays
                scores = {**scores, "kind": fitted.model.kind}
    note = {"refit": True, "fit": fitted.to_json(), **({"selection": scores} if scores else {}),
            "forecasts": forecasts(obs, fitted)}
    loose = fitted.unidentified()
    if loose:
        # A plan re-solved from a loose fit chases the noise of a few rounds (restarting ramps of
        # tiny rounds, or jumping to huge ones); the plan in hand is the better bet until then.
        return Replan(rest, {**note, "reason": f"keeping the plan: the fit is not identified yet ({loose})"})
    if rounds_left < 1:
        return Replan((), {**note, "reason": "no rounds left under --max-rounds"})
    least = float(plan.problem.costs.price(1, 1))
    if left < least:
        return Replan((), {**note, "reason": f"the budget is spent: the {left:.4g} left cannot pay for one more round "
                                              f"(at least {least:.4g})"})
    model = restart_model(fitted.model, obs)
    try:
        new = recommend(Problem(model, plan.problem.costs, left, plan.problem.batch, rounds_left))
    except InputError as e:
        # A fit that cannot plan (e.g. it says not one round is affordable) is not trusted: the run goes
        # on with its schedule, and the ledger still stops it when the money is gone.
        return Replan(rest, {**note, "reason": f"keeping the plan: the refit model cannot plan ({e})"})
    now = float(model.trajectory(np.empty(0))[0])
    if new.predicted_reward <= now:
        # A small last round would replace a good model by one trained on few samples; but a point
        # estimate is not enough to end a run with money left: every model the fit's intervals allow must agree.
        gain = best_gain(fitted, obs, new.problem)
        if gain <= 0:
            return Replan((), {**note, "reason": stop_reason(plan, fitted, obs, left, gain, now)})
        note = {**note, "reason": f"not stopping: the point fit predicts no gain from the {left:.4g} left, but "
                                  f"its 95 % intervals allow a gain of {gain:.3g}"}
    if fitted.method == EXACT:
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


def corners(fitted: Fit) -> list[RewardModel]:
    """The fitted model with each parameter that has a 95 % interval at one end of it (every
    combination): a box holding the plausible models, used to bound what the fit cannot rule out."""
    fields = {f.name for f in dataclasses.fields(fitted.model)}
    ends = [[(e.name, e.low), (e.name, e.high)] for e in fitted.estimates
            if e.name in fields and math.isfinite(e.low) and math.isfinite(e.high) and e.low < e.high]
    models = []
    for combination in itertools.product(*ends):
        try:
            models.append(dataclasses.replace(fitted.model, **dict(combination)))
        except InputError:  # an end outside the model's domain (e.g. r* above 1)
            continue
    return models


def best_gain(fitted: Fit, obs: Observations, problem: Problem) -> float:
    """The largest reward gain over the current state that the best use of problem's budget is predicted
    to bring by any model in the fit's interval box (its point estimate included): an upper 95 %
    bound (the box of marginal intervals is conservative)."""
    gains = []
    for corner in [fitted.model, *corners(fitted)]:
        model = restart_model(corner, obs)
        try:
            best = recommend(dataclasses.replace(problem, model=model))
        except InputError:
            continue
        gains.append(best.predicted_reward - float(model.trajectory(np.empty(0))[0]))
    return max(gains)


def stop_reason(plan: Plan, fitted: Fit, obs: Observations, left: float, gain: float, now: float) -> str:
    """Why a run stops early, in the run's terms: the measured reward, the fit's r* with its interval,
    the money left and what the starting plan predicted; a model-scale reward that disagrees with the
    measured one is said to."""
    measured = obs.last.get("reward")
    said = f"the measured reward is {measured:.6g}" if measured is not None else f"the reward is about {now:.6g}"
    if measured is not None and not math.isclose(now, measured, rel_tol=1e-3):
        said += f" (the refit model puts it at {now:.6g})"
    r_star = next((e for e in fitted.estimates if e.name == "r_star"), None)
    bound = (f" [{r_star.low:.4g}, {r_star.high:.4g}]" if r_star and math.isfinite(r_star.low)
             and math.isfinite(r_star.high) else "")
    return (f"stopping with {left:.4g} left: {said}; the fit's r* is {fitted.model.r_star:.6g}{bound}, and even "
            f"at the ends of its 95 % intervals the best use of what is left gains at most {gain:.3g}; the "
            f"starting plan predicted {plan.predicted_reward:.6g} for the whole budget")
