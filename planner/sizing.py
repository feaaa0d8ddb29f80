"""Sizing: for a schedule shape and a number of rounds, the largest n0 the budget affords.

For a fixed shape and T the expected reward grows with n0, so the best schedule of that shape
spends the budget. Under proportional selection the cost of a round depends on the model at
that round (poor early models throw most samples away), so n0 solves
n0 = (budget - T c_round) / sum_t s_t (c_t + c_g E[1/acceptance_t](n0)) by a fixed-point
iteration from above, which decreases monotonically to the largest feasible n0.
Everything is vectorised: shapes (..., T_max) with a per-row round count.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from planner.problem import Problem
from planner.schedules import round_down


@dataclasses.dataclass(frozen=True)
class Sized:
    """Best integer schedules for each row; rounds beyond a row's T are padding (n = 0)."""

    n0: np.ndarray  # (...,) continuous size before rounding; nan where infeasible
    n: np.ndarray  # (..., T_max) kept per round, whole batches, 0 beyond the row's T
    cost: np.ndarray  # (...,) expected cost, <= budget where feasible
    gap: np.ndarray  # (...,) expected r_star - final reward; inf where infeasible


def _cost_and_gap(problem: Problem, n: np.ndarray, rounds: np.ndarray, mask: np.ndarray):
    """Expected cost of the first `rounds` rounds and the gap after them, for padded rows."""
    out = problem.outcome(n)
    cost = np.where(mask, out.round_costs, 0.0).sum(axis=-1)
    reward = np.take_along_axis(out.trajectory, rounds[..., None], axis=-1)[..., 0]
    return cost, problem.model.r_star - reward


def size(problem: Problem, shape: np.ndarray, rounds: np.ndarray, iterations: int = 60) -> Sized:
    """Largest affordable whole-batch schedules n_t = round_down(n0 * shape_t) for t < rounds.

    shape: (..., T_max) relative sizes with shape[..., 0] = 1; rounds: (...,) integers in 1..T_max.
    """
    shape = np.asarray(shape, dtype=float)
    rounds = np.broadcast_to(np.asarray(rounds, dtype=int), shape.shape[:-1])
    mask = np.arange(shape.shape[-1]) < rounds[..., None]
    cm, budget, batch = problem.costs, problem.budget, problem.batch
    spendable = budget - rounds * cm.c_round
    weight = np.where(mask, shape, 0.0)
    per_kept = cm.ct + cm.cg * (cm.ratio if cm.selection == "fixed" else 1.0)
    n0 = np.maximum(spendable, 0.0) / (weight.sum(axis=-1) * per_kept)
    # Padding rounds keep n finite so the model's recursions stay defined; they are masked out.
    for _ in range(iterations if cm.selection == "proportional" else 0):
        q = problem.model.inverse_acceptance(np.maximum(n0[..., None] * shape, 1e-300))
        with np.errstate(invalid="ignore"):
            # masked, not multiplied by a zero weight: a padding round's acceptance can be 0 (q = inf)
            new = np.maximum(spendable, 0.0) / np.where(mask, weight * (cm.ct + cm.cg * q), 0.0).sum(axis=-1)
        new = np.where(np.isfinite(new), new, 0.0)
        # A row is settled when it stops moving, or when even its largest round is below one
        # batch: rounding then keeps one batch per round whatever n0 is (checked below).
        settled = (np.abs(new - n0) <= 1e-9 * n0) | (new * weight.max(axis=-1) < batch)
        n0 = new
        if np.all(settled):
            break
    # Round down to whole batches; rounding can raise E[1/acceptance] a little, so shrink and
    # re-round the rows whose integer schedule would pass the budget.
    scale = np.ones_like(n0)
    for _ in range(40):
        n = np.where(mask, round_down(n0[..., None] * scale[..., None] * shape, batch), float(batch))
        cost, gap = _cost_and_gap(problem, n, rounds, mask)
        over = cost > budget * (1 + 1e-12)
        floor = np.all(np.where(mask, n <= batch, True), axis=-1)
        if not np.any(over & ~floor):
            break
        scale = np.where(over & ~floor, scale * np.clip(budget / cost, 0.5, 0.999), scale)
    feasible = ~over & (n0 > 0)
    return Sized(
        n0=np.where(feasible, n0 * scale, np.nan),
        n=np.where(mask & feasible[..., None], n, 0.0),
        cost=np.where(feasible, cost, np.nan),
        gap=np.where(feasible, gap, np.inf),
    )


def size_family(problem: Problem, shape_fn, params: np.ndarray) -> Sized:
    """Size every (param, T) pair for T = 1..max_rounds: result arrays have axes (P, T)."""
    T = problem.max_rounds
    t = np.arange(T, dtype=float)
    params = np.asarray(params, dtype=float)
    shape = shape_fn(params[:, None, None], t[None, None, :]) * np.ones((1, T, 1))
    rounds = np.broadcast_to(np.arange(1, T + 1)[None, :], (len(params), T))
    return size(problem, shape, rounds)
