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
import math
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from planner.models._base import reward_acceptance
from planner.models.stepclock_fit import (
    PARAMS,
    STALE_RUNS,
    _curve,
    _gap_curve,
    distinct_clocks,
    fit_runs,
    held_out_error,
    runs_of,
    train_batch_of,
)
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
        return reward_acceptance(self.trajectory(n)[..., :-1])

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
        per_kept = (costs.ct + costs.cg * reward_acceptance(reward)
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
    def from_theta(cls, theta: np.ndarray, stale: bool, train_batch: int) -> "StepClockModel":
        """The model of fitted parameters (PARAMS order; stale only if fitted)."""
        return cls(*(float(v) for v in theta[:6]), stale=float(theta[6]) if stale else None, train_batch=train_batch)

    @classmethod
    def fit(cls, obs) -> "Fit":
        """The kind's own refit (planner.fit.refit): fitted to the log's steps, with the staleness term
        when STALE_RUNS or more runs show it predicts a held-out run better, its train batch read off
        the log; 95 % intervals from the bootstrap."""
        from planner.fit import Estimate, Fit

        runs = runs_of(obs)
        stale = (len(runs.steps) >= STALE_RUNS and distinct_clocks(runs) > len(PARAMS)
                 and held_out_error(runs, True) < held_out_error(runs, False))
        theta, draws, rmse = fit_runs(runs, stale)
        model = cls.from_theta(theta, stale, train_batch_of(obs.n, obs.steps))
        y = np.concatenate(runs.rewards)
        low, high = np.percentile(draws, [2.5, 97.5], axis=0)
        estimates = tuple(Estimate(name, float(getattr(model, name)), float(lo), float(hi))
                          for name, lo, hi in zip(PARAMS if stale else PARAMS[:-1], low, high))
        r2 = 1 - rmse**2 / float(np.var(y)) if np.var(y) > 0 else math.nan
        return Fit(model, estimates, rmse, r2, len(obs.n), cls.kind)

    @classmethod
    def point_fit(cls, obs, like: "StepClockModel | None" = None) -> "StepClockModel":
        """The fit without intervals, with like's staleness choice and train batch (without like: no
        staleness term, the train batch read off the log): what model selection scores on held-out
        rounds (planner/selection.py, planner/prequential.py)."""
        runs, stale = runs_of(obs), like is not None and like.stale is not None
        batch = like.train_batch if like is not None else train_batch_of(obs.n, obs.steps)
        return cls.from_theta(fit_runs(runs, stale, bootstrap=0)[0], stale, batch)

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
