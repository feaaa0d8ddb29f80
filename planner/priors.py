"""Task priors: a reward model fitted to measured rounds of one task's shipped checkpoint, with
where it came from, so that `plan --task NAME` plans from what that task really does (instead of
the Gaussian warm-up) when no --model is given.

    {"format": 1, "task": "ddpm", "model": {"kind": "surrogate", ...},
     "fit": {... planner.fit.Fit.to_json() ...}, "source": {"study": ..., "rounds": ..., ...,
     "transitions": {"n": [...], "before": [...], "after": [...]}}}

The transitions (kept samples of a round, held-out reward before and after it) are the measured
rounds themselves: `plan tune` pools them with a run's own rounds when it refits.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from planner.fit import Observations
from planner.jsonio import read_json
from planner.models import RewardModel, model_from_json
from planner.validate import MAX_COUNT, InputError, is_whole, shown

FORMAT = 1


@dataclasses.dataclass(frozen=True)
class TaskPrior:
    """A task's prior reward model and a one-line account of what it was fitted to."""

    task: str
    model: RewardModel
    source: dict  # what it was fitted to: study file, command, task options, runs and rounds
    fit: dict  # the fit's estimates, intervals and error (planner.fit.Fit.to_json())

    def describe(self) -> str:
        """One line for people: which prior, of which model kind, fitted to what."""
        return (f"the {self.task} task's prior, a {self.model.kind} model fitted to {self.source.get('rounds', '?')} "
                f"measured rounds ({self.source.get('what', 'see its file')})")

    def evidence(self) -> Observations | None:
        """The measured transitions the prior was fitted to, for pooling with a run's own rounds
        (None for a prior file that does not carry them)."""
        rows = self.source.get("transitions")
        if rows is None:
            return None
        try:
            n, before, after = (np.asarray(rows[k], dtype=float) for k in ("n", "before", "after"))
        except (KeyError, TypeError, ValueError):
            raise InputError(f"the {self.task} prior's transitions are not lists of numbers n, before, after") from None
        if not (n.ndim == 1 and n.shape == before.shape == after.shape and len(n) and np.all(whole(n, 1))
                and np.all(in_unit(after)) and np.all(np.isnan(before) | in_unit(before))):
            raise InputError(f"the {self.task} prior's transitions must be equally long lists with n whole numbers "
                             "from 1 to 2^53, rewards after in [0, 1] and before in [0, 1] or NaN (not evaluated)")
        steps, run = rows.get("steps"), rows.get("run")
        try:
            steps = None if steps is None else np.asarray(steps, dtype=float)
            run = np.zeros(len(n)) if run is None else np.asarray(run, dtype=float)
        except (TypeError, ValueError):
            raise InputError(f"the {self.task} prior's transitions' steps and run must be lists of numbers") from None
        if run.shape != n.shape or not np.all(whole(run, 0, len(n))) or (
                steps is not None and (steps.shape != n.shape or not np.all(whole(steps, 0)))):
            raise InputError(f"the {self.task} prior's transitions' steps and run must be as long as n, steps whole "
                             "numbers from 0 to 2^53 and runs numbered from 0")
        return Observations(n, before, after, None, None, {}, steps=steps, run=run.astype(int))

    def to_json(self) -> dict:
        return {"format": FORMAT, "task": self.task, "model": self.model.to_json(), "fit": self.fit,
                "source": self.source}


def in_unit(x: np.ndarray) -> np.ndarray:
    """Which entries are in [0, 1] (NaN is not)."""
    return (x >= 0) & (x <= 1)


def whole(x: np.ndarray, low: float, high: float = MAX_COUNT) -> np.ndarray:
    """Which entries are whole numbers from low to high (NaN and inf are not)."""
    return np.isfinite(x) & (x == np.round(x)) & (x >= low) & (x <= high)


def fit_prior(task: str, runs: list[Observations], source: dict, kinds: list[str] | None = None) -> TaskPrior:
    """The model kind that best predicts held-out runs (planner/selection.py), fitted to several runs'
    measured rounds pooled, its source completed with the rounds themselves so that `plan tune` can
    pool them with a run's own, and its fit with the selection's scores (among `kinds`, default every
    registered one); InputError if the chosen surrogate is not pinned down by the rounds."""
    from planner.selection import select

    # a prior carries rewards and steps (its transitions hold no theta), so its kind is chosen from those
    pooled = dataclasses.replace(Observations.pool(runs), theta_before=None, theta_after=None)
    selection = select(pooled, kinds)
    fitted = selection.chosen.fit
    loose = fitted.unidentified()
    if loose:
        raise InputError(f"the runs' rounds do not pin the {fitted.method} down: {loose}")
    transitions = {"n": pooled.n.tolist(), "before": pooled.before.tolist(), "after": pooled.after.tolist(),
                   "run": pooled.run.tolist()}
    if pooled.steps is not None:
        transitions["steps"] = pooled.steps.tolist()
    return TaskPrior(task, fitted.model, {**source, "rounds": len(pooled.n), "runs": len(runs),
                                          "transitions": transitions},
                     {**fitted.to_json(), "selection": selection.to_json()})


def load_prior(path: str | Path, task: str) -> TaskPrior:
    """Read a prior file for `task`; a malformed file, or one made for another task, is one sentence."""
    data = read_json(path, f"the {task} task's prior file")
    if not isinstance(data, dict) or set(data) != {"format", "task", "model", "fit", "source"}:
        raise InputError(f"{path} is not a task prior file (an object with format, task, model, fit, source)")
    if data["format"] != FORMAT:
        raise InputError(f"{path} has prior format {data['format']!r}; this spendwise reads format {FORMAT}")
    if data["task"] != task:
        raise InputError(f"{path} is the prior of task {data['task']!r}, not {task!r}")
    if not isinstance(data["source"], dict) or not isinstance(data["fit"], dict):
        raise InputError(f"{path}: source and fit must be JSON objects")
    for key in ("rounds", "runs"):  # what describe() tells people the prior was fitted to
        if key in data["source"] and not is_whole(data["source"][key]):
            raise InputError(f"{path}: source {key} must be a whole number, got {shown(data['source'][key])}")
    try:
        model = model_from_json(data["model"])
    except InputError as e:
        raise InputError(f"{path}: its model is not valid ({e})") from None
    return TaskPrior(task, model, data["source"], data["fit"])
