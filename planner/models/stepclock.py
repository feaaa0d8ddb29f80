"""The step clock: the reward as a function of the optimizer steps taken so far, whatever the rounds.

A task that trains one pass over each round's kept samples in batches of `train_batch`, with its
optimizer state carried across rounds (the DDPM task), runs k = ceil(n / train_batch) steps in a
round of n samples, and its held-out reward follows the cumulative steps K almost alone (equal K,
different round histories: within 0.007 on the committed DDPM studies; docs/results.md). Two speeds:

    r(K) = r* - (r* - r0) [w exp(-(K / tau_f)^beta) + (1 - w) exp(-K / tau_s)]

A schedule matters through what each step costs: a round costs c_round, and under proportional
selection its generation costs c_g / r(K) per kept sample (the reward is the acceptance), so later
samples are cheaper. Since the reward depends on K only, the best schedule of any shape is an exact
dynamic programme over K (`any_shape`), which is this model's certificate.
"""
from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import numpy as np

from planner.validate import InputError, check_positive, is_int

MAX_STATES = 2000  # steps the any-shape programme tracks exactly; beyond, rounds take steps in whole units


@dataclasses.dataclass(frozen=True)
class StepClockModel:
    """Reward after K cumulative optimizer steps; `k0` steps are already taken (the state a plan
    starts from), and a round of n kept samples takes ceil(n / train_batch) more."""

    r_star: float
    r0: float
    w: float
    tau_f: float
    beta: float
    tau_s: float
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
        for name in ("tau_f", "beta", "tau_s"):
            check_positive(name, getattr(self, name))
        if not is_int(self.train_batch) or self.train_batch < 1:
            raise InputError(f"train_batch must be a whole number >= 1, got {self.train_batch!r}")
        check_positive("k0", self.k0, allow_zero=True)

    def reward_at(self, K: np.ndarray) -> np.ndarray:
        """The reward after K cumulative steps (any shape of array)."""
        K = np.asarray(K, dtype=float)
        fast = np.exp(-np.power(K / self.tau_f, self.beta))
        return self.r_star - (self.r_star - self.r0) * (self.w * fast + (1 - self.w) * np.exp(-K / self.tau_s))

    def steps(self, n: np.ndarray) -> np.ndarray:
        """Optimizer steps of rounds of n kept samples (a partial last batch is a step; none for n = 0)."""
        return np.ceil(np.asarray(n, dtype=float) / self.train_batch - 1e-9)

    def clock(self, n: np.ndarray) -> np.ndarray:
        """Cumulative steps before round 0 and after each round: (..., T) -> (..., T+1)."""
        k = np.cumsum(self.steps(n), axis=-1)
        return self.k0 + np.concatenate([np.zeros(k.shape[:-1] + (1,)), k], axis=-1)

    def trajectory(self, n: np.ndarray) -> np.ndarray:
        return self.reward_at(self.clock(n))

    def inverse_acceptance(self, n: np.ndarray) -> np.ndarray:
        r = self.trajectory(n)[..., :-1]
        with np.errstate(divide="ignore"):
            return np.where(r > 0, 1.0 / np.maximum(r, 1e-300), np.inf)

    def optimal_base(self) -> float:
        """No theorem gives a base here: the searches start from doubling, and `any_shape` certifies."""
        return 2.0

    def any_shape(self, problem) -> tuple[tuple[float, ...], float, float]:
        """The best schedule of any shape, whole batches of `problem.batch`, at most max_rounds rounds:
        (kept per round, final reward, expected cost). Exact dynamic programme over cumulative steps;
        a round of k steps keeps the fewest samples that take k steps ((k-1) train batches plus one
        planner batch). Past MAX_STATES affordable steps, rounds take steps in whole units of
        ceil(steps / MAX_STATES), which can only miss schedules, never invent one."""
        costs, batch = problem.costs, problem.batch
        per_sample = costs.ct + (costs.cg * costs.ratio if costs.selection == "fixed" else 0.0)
        spendable = problem.budget - costs.c_round
        if spendable < per_sample * batch:
            raise InputError(f"budget {problem.budget:g} cannot pay for one round of {batch} kept sample(s)")
        most = int(problem.max_rounds + spendable / max(per_sample * self.train_batch, 1e-300)) + 1
        unit = max(1, math.ceil(most / MAX_STATES))
        states = min(most, MAX_STATES * unit) // unit + 1  # K = 0, unit, 2 unit, ... steps
        k = np.arange(1, states) * unit  # steps a round may take
        n = np.maximum(batch, np.ceil(((k - 1) * self.train_batch + 1) / batch) * batch)  # fewest kept for k steps
        reward = self.reward_at(self.k0 + np.arange(states) * unit)
        proportional = costs.selection == "proportional" and costs.cg > 0
        q = np.where(reward > 0, 1.0 / np.maximum(reward, 1e-300), np.inf) if proportional else np.ones(states)
        cost = np.full(states, np.inf)
        cost[0] = 0.0
        best_reward, best = -np.inf, None
        back = []  # back[t][K] = the step count K came from in round t
        for _ in range(problem.max_rounds):
            new, came = np.full(states, np.inf), np.full(states, -1)
            for K in np.flatnonzero(np.isfinite(cost)):
                reach = states - 1 - K
                if reach <= 0:
                    continue
                price = cost[K] + costs.c_round + n[:reach] * (costs.ct + costs.cg * q[K] if proportional
                                                               else per_sample)
                target = slice(K + 1, K + 1 + reach)
                better = price < new[target]
                new[target] = np.where(better, price, new[target])
                came[target] = np.where(better, K, came[target])
            back.append(came)
            cost = np.where(new <= problem.budget, new, np.inf)
            if not np.isfinite(cost).any():
                break
            K = int(np.argmax(np.where(np.isfinite(cost), reward, -np.inf)))
            if reward[K] > best_reward + 1e-12:
                best_reward, best = reward[K], (len(back), K, float(cost[K]))
        if best is None:
            raise InputError(f"budget {problem.budget:g} cannot pay for one round of {batch} kept sample(s)")
        rounds, K, spent = best
        path = []
        for t in range(rounds - 1, -1, -1):
            before = int(back[t][K])
            path.append(float(n[K - before - 1]))
            K = before
        return tuple(reversed(path)), float(best_reward), spent

    def to_json(self) -> dict:
        return {"kind": self.kind, **{f.name: getattr(self, f.name) for f in dataclasses.fields(self)}}


# ---- fitting ----------------------------------------------------------------------------------------
PARAMS = ("r_star", "r0", "w", "tau_f", "beta", "tau_s")
LOWER = np.array([1e-6, 0.0, 0.0, 1e-2, 0.2, 1e-2])  # beta in [0.2, 5]: sharper or flatter shapes
UPPER = np.array([1.0, 1.0, 1.0, 1e4, 5.0, 1e5])  # are not told apart by rounds of a few steps
BOOTSTRAP = 100  # residual-bootstrap refits behind the 95 % intervals (seeded: the same log, the same intervals)


def _curve(theta: np.ndarray, K: np.ndarray) -> np.ndarray:
    r_star, r0, w, tau_f, beta, tau_s = theta
    return r_star - (r_star - r0) * (w * np.exp(-np.power(K / tau_f, beta)) + (1 - w) * np.exp(-K / tau_s))


def _least_squares(K: np.ndarray, y: np.ndarray, starts: list[np.ndarray]) -> np.ndarray:
    """The parameters with the smallest squared error from several starts (the two speeds trade off)."""
    from scipy.optimize import least_squares

    best = None
    for start in starts:
        found = least_squares(lambda t: _curve(t, K) - y, np.clip(start, LOWER, UPPER), bounds=(LOWER, UPPER),
                              x_scale="jac", max_nfev=2000)
        if best is None or found.cost < best.cost:
            best = found
    return best.x


def fit_points(K: np.ndarray, y: np.ndarray, train_batch: int) -> tuple[StepClockModel, np.ndarray, float]:
    """The step clock fitted to rewards y read after K cumulative steps (pooled runs, K = 0 at each
    run's start): the model, the bootstrap draws of its parameters (BOOTSTRAP, 6), and the residual
    rms. Refused in one sentence when the points cannot pin six parameters down."""
    K, y = np.asarray(K, dtype=float), np.asarray(y, dtype=float)
    if len(np.unique(K)) < len(PARAMS) + 1:
        raise InputError(f"the step clock needs rewards at {len(PARAMS) + 1} or more different step counts, the log "
                         f"has {len(np.unique(K))}")
    top, span = float(np.max(y)), float(np.max(K))
    starts = [np.array([min(1.0, top + 0.02), float(y[np.argmin(K)]), 0.5, span * f, 1.0, span * s])
              for f, s in ((0.05, 0.5), (0.1, 1.0), (0.02, 2.0))]
    theta = _least_squares(K, y, starts)
    resid = y - _curve(theta, K)
    rng = np.random.default_rng(0)
    draws = np.array([_least_squares(K, _curve(theta, K) + rng.choice(resid, len(y)), [theta])
                      for _ in range(BOOTSTRAP)])
    model = StepClockModel(*(float(v) for v in theta), train_batch=train_batch)
    return model, draws, float(np.sqrt(np.mean(resid**2)))
