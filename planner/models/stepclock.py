"""The step clock: the reward as a function of the optimizer steps taken so far, whatever the rounds.

A task that trains one pass over each round's kept samples in batches of `train_batch`, with its
optimizer state carried across rounds (the DDPM task), runs k = ceil(n / train_batch) steps in a
round of n samples, and its held-out reward follows the cumulative steps K almost alone (equal K,
different round histories: within 0.007 on the committed DDPM studies; docs/results.md). Two speeds:

    r(K) = r* - (r* - r0) [w exp(-(K / tau_f)^beta) + (1 - w) exp(-K / tau_s)]

Optionally the steps of one round wear out, since they all train on samples of the model that
started the round: a round of k steps advances the clock by stale * log(1 + k / stale) (about k
for rounds much shorter than `stale` steps). A schedule matters through what each step costs: a
round costs c_round, and under proportional selection its generation costs c_g / r(K) per kept
sample (the reward is the acceptance), so later samples are cheaper. The reward depends on the
clock alone, so the best schedule of any shape is a dynamic programme over it (`any_shape`).
"""
from __future__ import annotations

import dataclasses
import functools
import math
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from planner.validate import InputError, check_positive, is_int

if TYPE_CHECKING:  # planner.fit imports the models: at run time fit is imported where it is used
    from planner.fit import Fit

MAX_STATES = 2000  # clock values the any-shape programme tracks; past it, rounds take steps in whole units


@dataclasses.dataclass(frozen=True)
class StepClockModel:
    """Reward after a clock of K optimizer steps; `k0` steps are already on the clock (the state a
    plan starts from), and a round of n kept samples runs ceil(n / train_batch) more."""

    r_star: float
    r0: float
    w: float
    tau_f: float
    beta: float
    tau_s: float
    stale: float | None = None  # steps over which one round's steps wear out; None: they never do
    train_batch: int = 32
    k0: float = 0.0
    kind: ClassVar[str] = "step-clock"

    def __post_init__(self) -> None:
        if not (np.isfinite(self.r_star) and 0 < self.r_star <= 1):
            raise InputError(f"r_star must be in (0, 1], got {self.r_star!r}")
        if not (np.isfinite(self.r0) and 0 <= self.r0 <= 1):
            raise InputError(f"r0 must be in [0, 1], got {self.r0!r}")
        if not (np.isfinite(self.w) and 0 <= self.w <= 1):
            raise InputError(f"w must be in [0, 1], got {self.w!r}")
        for name in ("tau_f", "beta", "tau_s") + (("stale",) if self.stale is not None else ()):
            check_positive(name, getattr(self, name))
        if not is_int(self.train_batch) or self.train_batch < 1:
            raise InputError(f"train_batch must be a whole number >= 1, got {self.train_batch!r}")
        check_positive("k0", self.k0, allow_zero=True)

    def reward_at(self, K: np.ndarray) -> np.ndarray:
        """The reward at clock K (any shape of array)."""
        return _curve(self._theta, np.asarray(K, dtype=float))

    @property
    def _theta(self) -> np.ndarray:
        return np.array([self.r_star, self.r0, self.w, self.tau_f, self.beta, self.tau_s])

    def steps(self, n: np.ndarray) -> np.ndarray:
        """Optimizer steps of rounds of n kept samples (a partial last batch is a step; none for n = 0)."""
        return np.ceil(np.asarray(n, dtype=float) / self.train_batch - 1e-9)

    def advance(self, k: np.ndarray) -> np.ndarray:
        """How far rounds of k steps move the clock."""
        k = np.asarray(k, dtype=float)
        return k if self.stale is None else self.stale * np.log1p(k / self.stale)

    def clock(self, n: np.ndarray) -> np.ndarray:
        """The clock before round 0 and after each round: (..., T) -> (..., T+1)."""
        k = np.cumsum(self.advance(self.steps(n)), axis=-1)
        return self.k0 + np.concatenate([np.zeros(k.shape[:-1] + (1,)), k], axis=-1)

    def gaps(self, n: np.ndarray) -> np.ndarray:
        """The gap r* - r before round 0 and after each round: (..., T) -> (..., T+1)."""
        return _gap_curve(self._theta, self.clock(n))

    def trajectory(self, n: np.ndarray) -> np.ndarray:
        return self.r_star - self.gaps(n)

    def inverse_acceptance(self, n: np.ndarray) -> np.ndarray:
        r = self.trajectory(n)[..., :-1]
        with np.errstate(divide="ignore"):
            return np.where(r > 0, 1.0 / np.maximum(r, 1e-300), np.inf)

    def optimal_base(self) -> float:
        """No theorem gives a base here: the searches start from doubling, and `any_shape` certifies."""
        return 2.0

    def any_shape(self, problem) -> tuple[tuple[float, ...], float, float, float]:
        """The best schedule of any shape (whole batches of problem.batch, at most max_rounds rounds):
        (kept per round, its final reward, its expected cost, a reward no schedule exceeds). A dynamic
        programme over the clock, each round keeping the fewest samples that run its k steps ((k-1)
        train batches plus one batch). Clock values are tracked on a grid: rounded down, the programme
        finds a schedule (scored exactly afterwards); rounded up, a bound. Without staleness and below
        MAX_STATES steps the grid is the steps themselves and both are exact."""
        costs, batch = problem.costs, problem.batch
        per_sample = costs.ct + costs.cg * (costs.ratio if costs.selection == "fixed" else 1.0)  # its least
        most = int(problem.max_rounds + (problem.budget - costs.c_round) / (per_sample * self.train_batch)) + 1
        unit = max(1, math.ceil(most / MAX_STATES))  # steps a round takes come in whole units
        k = np.arange(1, most // unit + 1) * unit
        n = np.maximum(batch, np.ceil(((k - 1) * self.train_batch + 1) / batch) * batch)
        exact = self.stale is None
        grid = float(unit) if exact else float(self.advance(most)) / MAX_STATES
        found = self._programme(problem, n, self.advance(k), grid, np.floor)
        if found is None:
            raise InputError(f"budget {problem.budget:g} cannot pay for one round of {batch} kept sample(s)")
        outcome = problem.outcome(np.array(found[0]))
        reward = float(outcome.reward)
        bound = reward if exact else max(reward, self._programme(problem, n, self.advance(k), grid, np.ceil)[1])
        return found[0], reward, float(outcome.cost), bound

    def _programme(self, problem, n: np.ndarray, move: np.ndarray, grid: float, rounding) -> tuple | None:
        """Least cost to reach each grid value of the clock in t rounds, t = 1..max_rounds: the schedule
        reaching the highest reward within the budget, and that reward at its grid value."""
        costs = problem.costs
        jump = rounding(move / grid + 1e-9).astype(int)  # grid cells a round of each length moves the clock
        states = int(np.sum(np.sort(jump)[::-1][: problem.max_rounds])) + 1
        reward = self.reward_at(self.k0 + np.arange(states) * grid)
        proportional = costs.selection == "proportional" and costs.cg > 0
        per_kept = (costs.ct + costs.cg * np.where(reward > 0, 1.0 / np.maximum(reward, 1e-300), np.inf)
                    if proportional else np.full(states, costs.ct + costs.cg * costs.ratio))
        cost = np.full(states, np.inf)
        cost[0] = 0.0
        back, best, best_reward = [], None, -np.inf
        for t in range(problem.max_rounds):
            source = np.flatnonzero(np.isfinite(cost))
            price = cost[source, None] + costs.c_round + n[None, :] * per_kept[source, None]
            target = source[:, None] + jump[None, :]
            ok = (price <= problem.budget) & (target < states)
            if not ok.any():
                break
            rows, lengths = np.nonzero(ok)
            order = np.lexsort((price[ok], target[ok]))  # by target, cheapest first
            first = order[np.unique(target[ok][order], return_index=True)[1]]
            cost = np.full(states, np.inf)
            came, how = np.full(states, -1), np.full(states, -1)
            at = target[ok][first]
            cost[at], came[at], how[at] = price[ok][first], source[rows[first]], lengths[first]
            back.append((came, how))
            i = int(np.argmax(np.where(np.isfinite(cost), reward, -np.inf)))
            if reward[i] > best_reward + 1e-12:
                best_reward, best = float(reward[i]), (t, i)
        if best is None:
            return None
        t, i = best
        path = []
        for came, how in reversed(back[: t + 1]):
            path.append(float(n[how[i]]))
            i = int(came[i])
        return tuple(reversed(path)), best_reward

    @classmethod
    def fit(cls, obs) -> "Fit":
        """The kind's own refit (planner.fit.refit): the step clock on the log's steps."""
        return fit_observations(obs)

    @classmethod
    def point_fit(cls, obs, like: "StepClockModel") -> "StepClockModel":
        """The fit without intervals, with like's staleness choice and train batch: what model selection
        scores on each held-out run (planner/selection.py)."""
        return fit_runs(runs_of(obs), like.train_batch, like.stale is not None, bootstrap=0)[0]

    def restart(self, obs) -> "StepClockModel":
        """The model at the clock the last run has reached: its logged steps, else the clock at which
        the model gives the last measured reward."""
        if obs.last_steps is not None:
            return dataclasses.replace(self, k0=float(np.sum(self.advance(np.array(obs.last_steps, dtype=float)))))
        reward = obs.last.get("reward")
        if reward is None:
            return self
        grid = np.linspace(0.0, 50 * self.tau_s, 20001)
        return dataclasses.replace(self, k0=float(grid[np.argmin(np.abs(self.reward_at(grid) - reward))]))

    def to_json(self) -> dict:
        return {"kind": self.kind, **{f.name: getattr(self, f.name) for f in dataclasses.fields(self)}}


# ---- fitting ----------------------------------------------------------------------------------------
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


def _gap_curve(theta: np.ndarray, K: np.ndarray) -> np.ndarray:
    """The gap r* - r at clock K for theta = (r_star, r0, w, tau_f, beta, tau_s, ...), without cancellation."""
    r_star, r0, w, tau_f, beta, tau_s = theta[:6]
    return (r_star - r0) * (w * np.exp(-np.power(K / tau_f, beta)) + (1 - w) * np.exp(-K / tau_s))


def _curve(theta: np.ndarray, K: np.ndarray) -> np.ndarray:
    """The two-speed reward at clock K."""
    return theta[0] - _gap_curve(theta, K)


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


def fit_runs(runs: Runs, train_batch: int, stale: bool = False,
             bootstrap: int = BOOTSTRAP) -> tuple[StepClockModel, np.ndarray, float]:
    """The step clock (with the staleness term if asked) fitted to pooled runs: the model, bootstrap draws
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
    rng = np.random.default_rng(0)
    draws = np.array([_least_squares(runs, fitted + rng.choice(resid, len(y)), [theta], stale)
                      for _ in range(bootstrap)]).reshape(bootstrap, len(theta))
    model = StepClockModel(*(float(v) for v in theta[:6]), stale=float(theta[6]) if stale else None,
                           train_batch=train_batch)
    return model, draws, float(np.sqrt(np.mean(resid**2)))


# ---- the kind's own refit (planner.fit.refit and restart_model call these) --------------------------
STALE_RUNS = 3  # runs it takes to score the staleness term on a held-out run; with fewer it is left out


def runs_of(obs) -> Runs:
    """An Observations' runs as the fit reads them (refused in one sentence when the log has no steps)."""
    if obs.steps is None:
        raise InputError("the log has no optimizer steps per round (a task's train_steps, the Advisor's "
                         "steps= or train_batch=), so the step clock cannot be fitted")
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


def fit_observations(obs):
    """The step clock fitted to a log: with the staleness term when STALE_RUNS or more runs show it
    predicts a held-out run better, else without; its train batch read off the log. A planner.fit.Fit
    with bootstrap intervals."""
    from planner.fit import Estimate, Fit

    runs = runs_of(obs)
    train_batch = train_batch_of(obs.n, obs.steps)
    stale = (len(runs.steps) >= STALE_RUNS and distinct_clocks(runs) > len(PARAMS)
             and held_out_error(runs, True) < held_out_error(runs, False))
    model, draws, rmse = fit_runs(runs, train_batch, stale)
    y = np.concatenate(runs.rewards)
    low, high = np.percentile(draws, [2.5, 97.5], axis=0)
    names = PARAMS if stale else PARAMS[:-1]
    estimates = tuple(Estimate(name, float(getattr(model, name)), float(lo), float(hi))
                      for name, lo, hi in zip(names, low, high))
    r2 = 1 - rmse**2 / float(np.var(y)) if np.var(y) > 0 else math.nan
    return Fit(model, estimates, rmse, r2, len(obs.n), StepClockModel.kind)
