"""Model selection during a run, one round at a time: each kind is scored on rounds it had not seen
when it forecast them (prequential scoring).

After every round each registered model kind the log supports is fitted and restarted at the run's
state, and the replan note logs these models ("forecasts"). After the next round each logged model's
forecast of that round's reading, for the samples the round really kept, is compared with the
reading. The refit keeps the kind it would use anyway (the plan's own kind, which for a task prior was
chosen on held-out runs by planner/selection.py) until another kind has forecast the same rounds
better beyond noise (selection.clearly_worse: the paired log ratio of their errors, two SE) on at
least MIN_SCORED rounds. The cost is one fit per kind per round, where scoring held-out rounds from
scratch refits every prefix (about 25 s a round on the DDPM prior's 111 rounds).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from planner import registry
from planner.fit import Fit, restart_model
from planner.models import model_from_json
from planner.observations import Observations
from planner.rounds import RoundRecord
from planner.selection import clearly_worse, point_fit
from planner.validate import InputError

MIN_SCORED = 3  # rounds two kinds must both have forecast before one can replace the other


def forecasts(obs: Observations, fitted: Fit) -> dict[str, dict]:
    """Every registered kind fitted to obs (`fitted` for its own kind, the others by their point fits)
    and restarted at the last state, as model JSON; kinds the log cannot fit are left out."""
    out = {}
    for kind in registry.names(registry.MODELS):
        try:
            model = fitted.model if kind == fitted.model.kind else point_fit(obs, kind)
            out[kind] = restart_model(model, obs).to_json()
        except InputError:
            continue
    return out


def errors(history: Sequence[RoundRecord]) -> dict[str, dict[int, float]]:
    """Each kind's forecast errors so far, by round: |forecast - held-out reading| for every round with a
    reading whose previous round logged forecasts (reward units)."""
    out: dict[str, dict[int, float]] = {}
    for before, record in zip(history, history[1:]):
        logged = before.replan.get("forecasts") if before.replan else None
        if not isinstance(logged, dict) or record.reward is None or record.kept < 1:
            continue
        for kind, data in logged.items():
            try:
                model = model_from_json(data)
            except InputError:  # a kind no longer installed, or a damaged note: not scored
                continue
            forecast = float(model.trajectory(np.array([float(record.kept)]))[-1])
            out.setdefault(kind, {})[record.round] = abs(forecast - record.reward)
    return out


def better_kind(current: str, history: Sequence[RoundRecord]) -> tuple[str, dict | None]:
    """The kind to refit with: `current`, unless another kind's forecasts beat its own beyond noise on
    at least MIN_SCORED shared rounds (then the one with the smallest mean error on them); and the
    scores for the log (None before any round is scored)."""
    scored = errors(history)
    if not scored:
        return current, None
    mine = scored.get(current, {})
    challengers = []
    for kind, theirs in scored.items():
        shared = sorted(set(mine) & set(theirs))
        if kind == current or len(shared) < MIN_SCORED:
            continue
        a, b = (np.array([errs[t] for t in shared]) for errs in (mine, theirs))
        if clearly_worse(a, b):
            challengers.append((float(b.mean()), kind))
    chosen = min(challengers)[1] if challengers else current
    means = {kind: {"error": float(np.mean(list(errs.values()))), "rounds": len(errs)} for kind, errs in scored.items()}
    return chosen, {"kind": chosen, "forecast_errors": means}
