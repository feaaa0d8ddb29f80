"""The free-form optimum: the best schedule of any shape, a bound no plan can beat.

For T rounds and a cost per kept sample k_t, choosing n_t freely is convex:
    minimise sum_t w_t n_t^-gamma  s.t.  sum_t k_t n_t <= budget - T c_round,  n_t >= batch,
with (w, gamma) from the reward model. Its KKT solution is water-filling,
n_t = max(batch, (gamma w_t / (lambda k_t))^(1/(1+gamma))), with lambda set by the budget.
Under proportional selection k_t = c_t + c_g E[1/acceptance_t] depends on the schedule, so
we iterate (solve, recompute k_t, solve) to a fixed point (shared/theory.md). The cvxpy path
solves the same programs with a generic conic solver and must agree (checked in the tests).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from planner.problem import Problem
from planner.schedules import Schedule
from planner.sizing import size
from planner.solvers._base import InfeasibleError

METHODS = ("kkt", "cvxpy")


@dataclasses.dataclass(frozen=True)
class Certificate:
    """The free-form optimum (continuous n_t) and its predicted final reward."""

    method: str
    n: tuple[float, ...]
    reward: float
    gap: float
    cost: float

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def _water_fill(w, gamma, k, spend, batch, mask, iterations: int = 200) -> np.ndarray:
    """KKT solution for each row (axis -1 = rounds), by bisection on log lambda. A tiny lambda
    overflows n to inf, which only says "over budget": the warning is silenced, not the result."""
    def sizes(log_lambda: np.ndarray) -> np.ndarray:  # the stationary n_t for a multiplier, at least a batch
        with np.errstate(over="ignore"):
            return np.maximum(batch, (gamma * w / (np.exp(log_lambda)[..., None] * k)) ** (1 / (1 + gamma)))

    lo, hi = np.full(spend.shape, -700.0), np.full(spend.shape, 700.0)
    for _ in range(iterations):
        mid = (lo + hi) / 2
        over = np.where(mask, k * sizes(mid), 0.0).sum(axis=-1) > spend
        lo, hi = np.where(over, mid, lo), np.where(over, hi, mid)
    return sizes(hi)


def _cvxpy_fill(w, gamma, k, spend, batch, mask) -> np.ndarray:
    """The same programs, one per row, solved by cvxpy (an independent check of the KKT path)."""
    import cvxpy as cp

    out = np.full(w.shape, float(batch))
    for row in np.ndindex(spend.shape):
        T = int(mask[row].sum())
        kt, budget = k[row][:T], spend[row]
        if budget < batch * kt.sum():
            continue
        # Solve for x_t = k_t n_t / budget (the share of the budget spent on round t), with the
        # weights scaled to a maximum of 1: n spans many decades and conic solvers want O(1).
        x = cp.Variable(T)
        coef = w[row][:T] * (kt / budget) ** gamma
        coef = coef / coef.max()
        noise = coef @ (cp.inv_pos(x) if gamma == 1 else cp.power(x, -gamma))
        cp.Problem(cp.Minimize(noise), [cp.sum(x) <= 1, x >= batch * kt / budget]).solve()
        out[row][:T] = np.maximum(x.value * budget / kt, batch)
    return out


def free_form(problem: Problem, method: str = "kkt", iterations: int = 30) -> Certificate:
    """The free-form optimum over T = 1..max_rounds (best T by predicted final reward)."""
    cm, Tmax = problem.costs, problem.max_rounds
    rounds = np.arange(1, Tmax + 1)
    mask = np.arange(Tmax)[None, :] < rounds[:, None]
    gamma = problem.model.noise_weights(1)[1]
    w = np.zeros((Tmax, Tmax))
    for T in rounds:
        w[T - 1, :T] = problem.model.noise_weights(int(T))[0]
    spend = problem.budget - rounds * cm.c_round
    fill = _water_fill if method == "kkt" else _cvxpy_fill
    k = np.full((Tmax, Tmax), cm.ct + cm.cg * (cm.ratio if cm.selection == "fixed" else 1.0))
    n = fill(w, gamma, k, spend, problem.batch, mask)
    for _ in range(iterations if cm.selection == "proportional" else 0):
        k_new = cm.ct + cm.cg * np.minimum(problem.model.inverse_acceptance(n), 1e12)
        if np.allclose(k_new, k, rtol=1e-10):
            break
        k = k_new
        n = fill(w, gamma, k, spend, problem.batch, mask)
    out = problem.outcome(n)
    cost = np.where(mask, out.round_costs, 0.0).sum(axis=-1)
    reward = out.trajectory[rounds - 1, rounds]
    reward = np.where(cost <= problem.budget * (1 + 1e-6), reward, -np.inf)
    best = int(np.argmax(reward))
    return Certificate(method, tuple(float(x) for x in n[best, : best + 1]), float(reward[best]),
                       float(problem.model.r_star - reward[best]), float(cost[best]))


def free_schedule(problem: Problem, certificate: Certificate) -> Schedule:
    """The certificate's shape as an executable plan: whole batches, sized to fit the budget."""
    n = np.asarray(certificate.n)
    sized = size(problem, n[None, :] / n[0], np.array([len(n)]))
    if not np.isfinite(sized.gap[0]):
        raise InfeasibleError("the free-form schedule cannot be rounded to whole batches within the budget")
    return Schedule.from_array("free", sized.n[0], float(sized.n0[0]))
