"""The Solver protocol: find the best schedule of one family for a problem."""
from __future__ import annotations

from typing import Protocol

import numpy as np

from planner.problem import Problem
from planner.schedules import Family, Schedule
from planner.sizing import DENSE_ROUNDS, Sized, round_counts, rounds_around, size, size_family
from planner.validate import InputError

CELL_POINTS = 64  # the dense grid over the whole parameter range
CELL_PAIRS = 64  # neighbouring parameters with different schedules bisected at once, the most promising first
CELL_WIDTH = 1e-7  # relative: a cell narrower than this may still be skipped


class InfeasibleError(InputError):
    """No schedule of the family fits the budget."""


class Solver(Protocol):
    """Returns the best affordable whole-batch schedule of a family (smallest expected gap)."""

    name: str

    def solve(self, problem: Problem, family: str = "exponential") -> Schedule:
        ...


def best_of(sized: Sized, params: np.ndarray, rounds: np.ndarray, family: str) -> tuple[Schedule, float]:
    """The (param, T) cell of a sizing with the smallest gap, as a Schedule, and that gap."""
    if not np.any(np.isfinite(sized.gap)):
        raise InfeasibleError(f"no {family} schedule fits the budget")
    i, j = np.unravel_index(np.argmin(sized.gap), sized.gap.shape)
    schedule = Schedule.from_array(family, sized.n[i, j, : rounds[j]], float(sized.n0[i, j]),
                                   None if family == "constant" else float(params[i]))
    return schedule, float(sized.gap[i, j])


def search(problem: Problem, family: Family, params: np.ndarray, zooms: int = 0, points: int = 16,
           cells: bool = False) -> tuple[Schedule, float]:
    """The best schedule of the family over params x every round count, then `zooms` finer parameter
    grids (`points` values between the best's neighbours); with cells (params > 0), then the cells of
    the whole range of params near the best T (see _cells)."""
    best, best_gap = _over_rounds(problem, family, params)
    bracket = (float(params.min()), float(params.max()))
    for _ in range(zooms if family.param_name else 0):
        i = int(np.argmin(np.abs(params - best.param)))
        params = np.linspace(params[max(i - 1, 0)], params[min(i + 1, len(params) - 1)], points)
        candidate, gap = _over_rounds(problem, family, params)
        if gap < best_gap:
            best, best_gap = candidate, gap
    if cells and family.param_name and best.rounds <= DENSE_ROUNDS:
        candidate, gap = _cells(problem, family, bracket, best.rounds)
        if gap < best_gap:
            best, best_gap = candidate, gap
    return best, best_gap


def _cells(problem: Problem, family: Family, bracket: tuple[float, float], rounds: int) -> tuple[Schedule, float]:
    """The best schedule of the cells (parameter ranges sizing gives one schedule) between the bracket's
    ends (> 0), T within 2 of rounds. The sized schedule changes only at finitely many parameters, and a
    grid can step over a narrow cell: a dense geometric grid, then bisection of every two neighbouring parameters whose
    schedules differ, until they are CELL_WIDTH apart (CELL_PAIRS at a time, those with the smaller gap
    first: at large budgets the cells are countless and differ by nothing that matters). Not past
    DENSE_ROUNDS rounds, where neighbouring cells differ by a batch in one round of so many."""
    counts = np.arange(max(1, rounds - 2), min(problem.max_rounds, rounds + 2) + 1)
    params = np.geomspace(*bracket, CELL_POINTS)
    sized = size_family(problem, family.shape, params, counts)
    best, best_gap = best_of(sized, params, counts, family.name)
    t = np.arange(int(counts.max()), dtype=float)
    # neighbouring pairs of each T, flattened: parameters, schedules and gaps at both ends
    lo, hi = (np.repeat(p, len(counts)) for p in (params[:-1], params[1:]))
    T = np.tile(counts, len(params) - 1)
    n_lo, n_hi = sized.n[:-1].reshape(len(lo), -1), sized.n[1:].reshape(len(lo), -1)
    g_lo, g_hi = sized.gap[:-1].reshape(-1), sized.gap[1:].reshape(-1)
    while True:
        live = np.nonzero(np.any(n_lo != n_hi, axis=-1) & (hi - lo > CELL_WIDTH * np.abs(hi)))[0]
        live = live[np.argsort(np.minimum(g_lo[live], g_hi[live]))[:CELL_PAIRS]]
        if not len(live):
            return best, best_gap
        lo, hi, T, n_lo, n_hi, g_lo, g_hi = (a[live] for a in (lo, hi, T, n_lo, n_hi, g_lo, g_hi))
        mid = np.sqrt(lo * hi)
        with np.errstate(over="ignore"):
            middle = size(problem, family.shape(mid[:, None], t[None, :]), T)
        i = int(np.argmin(middle.gap))
        if middle.gap[i] < best_gap:
            best_gap = float(middle.gap[i])
            best = Schedule.from_array(family.name, middle.n[i, : T[i]], float(middle.n0[i]), float(mid[i]))
        lo, hi, T = np.concatenate([lo, mid]), np.concatenate([mid, hi]), np.concatenate([T, T])
        n_lo, n_hi = np.concatenate([n_lo, middle.n]), np.concatenate([middle.n, n_hi])
        g_lo, g_hi = np.concatenate([g_lo, middle.gap]), np.concatenate([middle.gap, g_hi])


def _over_rounds(problem: Problem, family: Family, params: np.ndarray) -> tuple[Schedule, float]:
    """The best (param, T): every T up to DENSE_ROUNDS, a ladder beyond, then the round counts around
    the best until every T near it has been sized (only needed when max_rounds is large), for the best
    param and its neighbours in params only (those near it are the zooms' to search)."""
    rounds = round_counts(problem.max_rounds)
    best, best_gap = best_of(size_family(problem, family.shape, params, rounds, True), params, rounds, family.name)
    if family.param_name:
        i = int(np.argmin(np.abs(params - best.param)))
        params = params[max(i - 1, 0): i + 2]
    while np.any(np.diff(rounds) > 1):
        rounds = rounds_around(rounds, best.rounds)
        candidate, gap = best_of(size_family(problem, family.shape, params, rounds, True), params, rounds,
                                 family.name)
        if gap < best_gap:
            best, best_gap = candidate, gap
    return best, best_gap
