"""Model selection on held-out rounds: every registered model kind the log supports is fitted and
scored by how well it predicts rounds it was not fitted to, and the best one is chosen.

Several pooled runs (a prior): leave one run out, predict its readings from its start and its
schedule, and also the rank correlation of the runs' predicted and measured finals. One or two
runs: one step ahead, each round's reading predicted by the fit to the rounds before it. Errors are
mean absolute differences in reward units; a kind whose error is not lower than another's by two
standard errors of their paired log ratio is not called better, and the output says so.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from planner import registry
from planner.fit import Fit, fit, restart_model
from planner.models import RewardModel
from planner.observations import Observations
from planner.validate import InputError

POOLED = 3  # runs it takes to leave one out; with fewer, rounds are predicted one step ahead
TINY_ERROR = 1e-12  # held-out errors are floored here before their logs are compared (an exact fit errs by 0)
FIRST_AHEAD = 3  # rounds a one-step-ahead prediction needs before it (no kind fits fewer)


@dataclasses.dataclass(frozen=True)
class Score:
    """One kind's fit to the whole log and its held-out error (None, with the reason, where it was skipped)."""

    kind: str
    fit: Fit | None = None
    errors: np.ndarray | None = None  # held-out mean absolute error of each run (or of each round ahead)
    rank: float | None = None  # pooled runs: rank correlation of predicted and measured finals
    skipped: str | None = None  # why the kind could not be fitted to the log at all
    unscored: str | None = None  # why its fit could not be scored on held-out rounds

    @property
    def error(self) -> float:
        return float(np.mean(self.errors)) if self.errors is not None and len(self.errors) else math.inf

    @property
    def se(self) -> float | None:
        n = 0 if self.errors is None else len(self.errors)
        return float(np.std(self.errors, ddof=1) / math.sqrt(n)) if n > 1 else None

    def to_json(self) -> dict:
        return {"kind": self.kind, "error": None if self.errors is None else self.error, "se": self.se,
                "rank": self.rank, "skipped": self.skipped, "unscored": self.unscored,
                "model": self.fit.model.to_json() if self.fit else None}


@dataclasses.dataclass(frozen=True)
class Selection:
    """The kinds' scores, the chosen kind's fit, how they were scored and what the scores allow saying."""

    scores: tuple[Score, ...]
    method: str
    verdict: str
    kind: str  # the chosen kind

    @property
    def chosen(self) -> Score:
        return next(s for s in self.scores if s.kind == self.kind)

    def to_json(self) -> dict:
        return {"method": self.method, "chosen": self.chosen.kind, "verdict": self.verdict,
                "scores": [s.to_json() for s in self.scores]}

    def table(self) -> str:
        """The scores for people: kind, parameters with intervals, held-out error, rank correlation."""
        lines = [f"model selection ({self.method}, mean absolute error in reward units):",
                 f"  {'kind':<12} {'held-out error':>20} {'rank corr.':>10}  parameters (95 % interval)"]
        for s in self.scores:
            if s.skipped:
                lines.append(f"  {s.kind:<12} skipped: {s.skipped}")
                continue
            error = ("not scored" if s.errors is None else
                     f"{s.error:.4g}" + (f" ± {s.se:.2g}" if s.se is not None else ""))
            rank = "-" if s.rank is None else f"{s.rank:.2f}"
            params = ", ".join(f"{e.name} {e.value:.4g} [{e.low:.3g}, {e.high:.3g}]" for e in s.fit.estimates
                               if math.isfinite(e.low) and math.isfinite(e.high))
            lines.append(f"  {s.kind:<12} {error:>20} {rank:>10}  {params}")
        return "\n".join(lines + [self.verdict])


def start_of(run: Observations, after: int = 0) -> Observations:
    """The state of a run after its first `after` transitions, as restart_model reads one: the reading
    (and theta) then, and the steps taken so far."""
    reward = run.before[after] if after < len(run.n) else run.after[-1]
    last = {"reward": float(reward)}
    if run.theta_before is not None:
        last["theta"] = float(run.theta_before[after] if after < len(run.n) else run.theta_after[-1])
    steps = None if run.steps is None else tuple(int(k) for k in run.steps[:after])
    return dataclasses.replace(run, n=run.n[:after], before=run.before[:after], after=run.after[:after],
                               theta_before=None if run.theta_before is None else run.theta_before[:after],
                               theta_after=None if run.theta_after is None else run.theta_after[:after],
                               after_var=None, before_var=None, steps=None if run.steps is None else run.steps[:after],
                               run=None if run.run is None else run.run[:after], last=last, pending=None,
                               last_steps=steps)


def point_fit(obs: Observations, kind: str, like: RewardModel | None = None) -> RewardModel:
    """The kind fitted to (part of) a log for a held-out prediction: by its cheaper classmethod
    point_fit(obs, like) where the kind brings one (no intervals; like's variant, e.g. the whole log's,
    or the kind's default for None), else by its fit."""
    quick = getattr(registry.load(registry.MODELS, kind, "model kind"), "point_fit", None)
    return quick(obs, like) if callable(quick) else fit(obs, kind).model


def _leave_one_run_out(obs: Observations, kind: str, whole: Fit) -> tuple[np.ndarray, float]:
    """Each held-out run's mean absolute error, and the rank correlation of predicted and measured finals."""
    from scipy.stats import spearmanr

    runs = obs.runs()
    errors, predicted, measured = [], [], []
    for i, run in enumerate(runs):
        model = restart_model(point_fit(Observations.pool(runs[:i] + runs[i + 1:]), kind, whole.model), start_of(run))
        path = model.trajectory(run.n)[1:]
        errors.append(float(np.mean(np.abs(path - run.after))))
        predicted.append(float(path[-1]))
        measured.append(float(run.after[-1]))
    rank = spearmanr(predicted, measured).statistic if len(set(measured)) > 1 else math.nan
    return np.array(errors), float(rank)


def _one_step_ahead(obs: Observations, kind: str, whole: Fit) -> np.ndarray:
    """The error of each round's reading predicted by the fit to the rounds before it (the first
    FIRST_AHEAD rounds and any round the prefix cannot fit are not scored)."""
    errors = []
    for t in range(FIRST_AHEAD, len(obs.n)):
        prefix = start_of(obs, t)
        try:
            model = restart_model(point_fit(prefix, kind, whole.model), prefix)
        except InputError:
            continue
        errors.append(abs(float(model.trajectory(obs.n[t:t + 1])[-1]) - float(obs.after[t])))
    return np.array(errors)


def score(obs: Observations, kind: str) -> Score:
    """One kind fitted to the whole log and scored on held-out rounds; skipped, with the reason, where
    the log cannot fit it, and left unscored where it has too few rounds to hold any out."""
    try:
        whole = fit(obs, kind)
    except InputError as e:
        return Score(kind, skipped=str(e))
    try:
        if len(obs.runs()) >= POOLED:
            errors, rank = _leave_one_run_out(obs, kind, whole)
            return Score(kind, whole, errors, rank)
        errors = _one_step_ahead(obs, kind, whole)
    except InputError as e:
        return Score(kind, whole, unscored=str(e))
    if not len(errors):
        return Score(kind, whole, unscored="too few rounds to predict one it was not fitted to")
    return Score(kind, whole, errors)


def clearly_worse(errors: np.ndarray, best: np.ndarray) -> bool:
    """Whether errors are larger than best's beyond noise: their log ratio, paired by held-out run or
    round, averages more than two standard errors above 0 (ratios: one run's error of 0.2 against 0.002
    counts as much as 0.02 against 0.0002)."""
    if len(errors) != len(best) or len(best) < 2:
        return False
    ratio = np.log(np.maximum(errors, TINY_ERROR)) - np.log(np.maximum(best, TINY_ERROR))
    return bool(np.mean(ratio) > 2 * np.std(ratio, ddof=1) / math.sqrt(len(ratio)))


def choose(scores: list[Score]) -> tuple[str, str]:
    """The chosen kind and the sentence that says why: the smallest held-out error, unless another kind
    is within noise of it (two SE of the paired log ratio), when the one with the fewest parameters
    among them is chosen (the log cannot tell them apart, and fewer parameters extrapolate less)."""
    fitted = [s for s in scores if not s.skipped]
    if len(fitted) == 1:
        return fitted[0].kind, f"chosen: {fitted[0].kind}, the only kind this log can fit"
    ranked = sorted((s for s in fitted if s.errors is not None), key=lambda s: s.error)
    if not ranked:
        simplest = min(fitted, key=lambda s: len(s.fit.estimates))
        return simplest.kind, (f"chosen: {simplest.kind}, the kind with the fewest parameters: the log has too few "
                               "rounds to score any kind on rounds it was not fitted to")
    best = ranked[0]
    if len(ranked) == 1:
        others = ", ".join(s.kind for s in fitted if s is not best)
        return best.kind, (f"chosen: {best.kind}, the only kind scored on held-out rounds ({others}: fitted, but too "
                           "few rounds to score)")
    close = [s for s in ranked[1:] if not clearly_worse(s.errors, best.errors)]
    if not close:
        return best.kind, (f"chosen: {best.kind}, better than every other kind by more than two SE of the paired "
                           "log ratio of their errors")
    simplest = min([best, *close], key=lambda s: len(s.fit.estimates))
    return simplest.kind, (f"chosen: {simplest.kind}; {', '.join(s.kind for s in [best, *close])} predict held-out "
                           "rounds equally well within noise (two SE of the paired log ratio), so the log cannot "
                           "tell them apart and the one with the fewest parameters is taken")


def select(obs: Observations, kinds: list[str] | None = None) -> Selection:
    """Every registered kind (or `kinds`) fitted and scored; refused in one sentence when none fits."""
    scores = [score(obs, kind) for kind in (kinds or registry.names(registry.MODELS))]
    fitted = [s for s in scores if not s.skipped]
    if not fitted:
        raise InputError("no model kind can be fitted to this log: " +
                         "; ".join(f"{s.kind}: {s.skipped}" for s in scores))
    method = "leave one run out" if len(obs.runs()) >= POOLED else "one step ahead"
    kind, said = choose(scores)
    return Selection(tuple(scores), method, said, kind)
