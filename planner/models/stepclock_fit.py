"""Fitting the step clock (planner/models/stepclock.py builds the model) to logged rounds, in arrays:
least squares over every reading, each run's clock starting at 0, from several starts; 95 %
intervals by a seeded residual bootstrap; the staleness term scored on held-out runs."""
from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from planner.validate import InputError

PARAMS = ("r_star", "r0", "w", "tau_f", "beta", "tau_s", "stale")
LOWER = np.array([1e-6, 0.0, 0.0, 1e-2, 0.2, 1e-2, 1.0])  # beta in [0.2, 5]: sharper or flatter shapes
UPPER = np.array([1.0, 1.0, 1.0, 1e4, 5.0, 1e5, 1e5])  # are not told apart by rounds of a few steps
TOLERANCE = 1e-12  # least squares converge this far: a refit of the same rounds on another machine agrees to 1e-6
BOOTSTRAP = 100  # residual-bootstrap refits behind the 95 % intervals (seeded: the same log, the same intervals)


@dataclasses.dataclass(frozen=True)
class Runs:
    """Rounds of one or more runs for the fit: each run's optimizer steps per round and its rewards
    before round 0 and after each round (the clock starts at 0 with each run)."""

    steps: tuple[np.ndarray, ...]
    rewards: tuple[np.ndarray, ...]

    @functools.cached_property
    def _layout(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every run's rounds end to end: the steps, where each round's reading sits among the readings
        (a run's first reading is its start, at clock 0), and the first round of each round's run."""
        steps = np.concatenate(self.steps).astype(float)
        lengths = np.array([len(k) for k in self.steps])
        first = np.repeat(np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)  # each round's run's first round
        run = np.repeat(np.arange(len(lengths)), lengths)
        return steps, np.arange(len(steps)) + run + 1, first

    def points(self, theta: np.ndarray, stale: bool) -> tuple[np.ndarray, np.ndarray]:
        """Each reading's clock under theta's staleness (theta[6]), and the readings."""
        steps, at, first = self._layout
        moved = theta[6] * np.log1p(steps / theta[6]) if stale else steps
        total = np.cumsum(moved)
        K = np.zeros(len(steps) + len(self.steps))
        K[at] = total - np.concatenate([[0.0], total])[first]
        return K, np.concatenate(self.rewards)


def distinct_clocks(runs: Runs) -> int:
    """How many different step counts the runs read the reward at (each parameter needs one more)."""
    return len(np.unique(np.concatenate([np.cumsum(k) for k in runs.steps] + [[0.0]])))


def _least_squares(runs: Runs, y: np.ndarray, starts: list[np.ndarray], stale: bool) -> np.ndarray:
    """The parameters with the smallest squared error from several starts (the two speeds trade off)."""
    from scipy.optimize import least_squares

    width = len(PARAMS) if stale else len(PARAMS) - 1
    low, high = LOWER[:width], UPPER[:width]

    def residuals(theta: np.ndarray) -> np.ndarray:
        return _curve(theta, runs.points(theta, stale)[0]) - y

    best = None
    for start in starts:
        found = least_squares(residuals, np.clip(start[:width], low, high), bounds=(low, high), x_scale="jac",
                              xtol=TOLERANCE, ftol=TOLERANCE, gtol=TOLERANCE, max_nfev=4000)
        if best is None or found.cost < best.cost:
            best = found
    return best.x


def fit_runs(runs: Runs, stale: bool = False,
             bootstrap: int = BOOTSTRAP) -> tuple[np.ndarray, np.ndarray, float]:
    """The step clock (with the staleness term if asked) fitted to pooled runs: its parameters (PARAMS,
    without stale unless asked), bootstrap draws
    of its parameters (bootstrap, 6 or 7) and the residual rms. Refused in one sentence when the runs
    cannot pin its parameters down."""
    width = len(PARAMS) if stale else len(PARAMS) - 1
    y = np.concatenate(runs.rewards)
    distinct = distinct_clocks(runs)
    if distinct < width + 1:
        raise InputError(f"the step clock needs rewards at {width + 1} or more different step counts, the log "
                         f"has {distinct}")
    span = float(max(np.sum(k) for k in runs.steps))
    starts = [np.array([min(1.0, float(np.max(y)) + 0.02), float(runs.rewards[0][0]), 0.5, span * f, 1.0, span * s,
                        span * a]) for f, s, a in ((0.05, 0.5, 1.0), (0.1, 1.0, 3.0), (0.02, 2.0, 10.0))]
    theta = _least_squares(runs, y, starts, stale)
    fitted = _curve(theta, runs.points(theta, stale)[0])
    resid = y - fitted
    # bootstrap residuals scaled up by sqrt(N / (N - p)): least-squares residuals are smaller than the
    # errors they estimate, and unscaled draws gave 95 % intervals that held the truth in 78-90 % of
    # simulated logs (88-96 % scaled; tests/planner/test_stepclock.py)
    spread = resid * math.sqrt(len(y) / max(len(y) - width, 1))
    rng = np.random.default_rng(0)
    draws = np.array([_least_squares(runs, fitted + rng.choice(spread, len(y)), [theta], stale)
                      for _ in range(bootstrap)]).reshape(bootstrap, len(theta))
    return theta, draws, float(np.sqrt(np.mean(resid**2)))


STALE_RUNS = 3  # runs it takes to score the staleness term on a held-out run; with fewer it is left out


def runs_of(obs) -> Runs:
    """An Observations' runs as the fit reads them (refused in one sentence when the log has no steps)."""
    if obs.steps is None:
        raise InputError("the log has no optimizer steps per round (a task's train_steps, the Advisor's "
                         "steps= or train_batch=), so the step clock cannot be fitted")
    if len(set(obs.steps[obs.steps > 0].tolist())) < 2:
        raise InputError("every round of the log ran the same number of optimizer steps, so its clock is the "
                         "round count and cannot tell the step clock from any reward-per-round model")
    parts = obs.runs()
    return Runs(tuple(p.steps for p in parts), tuple(np.concatenate([[p.before[0]], p.after]) for p in parts))


def held_out_error(runs: Runs, stale: bool) -> float:
    """Mean absolute error on each run's readings by the step clock fitted to the other runs (no bootstrap)."""
    errors = []
    for i in range(len(runs.steps)):
        rest = Runs(runs.steps[:i] + runs.steps[i + 1:], runs.rewards[:i] + runs.rewards[i + 1:])
        y = np.concatenate(rest.rewards)
        top, span = float(np.max(y)), float(max(np.sum(k) for k in rest.steps))
        start = np.array([min(1.0, top + 0.02), float(rest.rewards[0][0]), 0.5, span * 0.05, 1.0, span, span])
        theta = _least_squares(rest, y, [start], stale)
        K, _ = Runs((runs.steps[i],), (runs.rewards[i],)).points(theta, stale)
        errors.append(np.mean(np.abs(_curve(theta, K) - runs.rewards[i])))
    return float(np.mean(errors))


def train_batch_of(kept: np.ndarray, steps: np.ndarray) -> int:
    """The samples per step that turn every round's kept count into its logged steps (ceil(kept / b) =
    steps), the smallest such b; where none does (steps also counted otherwise), the median ratio."""
    trained = steps > 0
    kept, steps = kept[trained], steps[trained]
    if not len(kept):
        return 1
    low = int(np.max(np.ceil(kept / steps - 1e-9)))  # ceil(kept / b) <= steps
    high = np.min(np.where(steps > 1, (kept - 1) / np.maximum(steps - 1, 1), np.inf))  # ceil(kept / b) > steps - 1
    return low if low <= high else max(1, int(round(float(np.median(kept / steps)))))


def _gap_curve(theta: np.ndarray, K: np.ndarray) -> np.ndarray:
    """The gap r* - r at clock K for theta = (r_star, r0, w, tau_f, beta, tau_s, ...), without cancellation."""
    r_star, r0, w, tau_f, beta, tau_s = theta[:6]
    return (r_star - r0) * (w * np.exp(-np.power(K / tau_f, beta)) + (1 - w) * np.exp(-K / tau_s))


def _curve(theta: np.ndarray, K: np.ndarray) -> np.ndarray:
    """The two-speed reward at clock K."""
    return theta[0] - _gap_curve(theta, K)
