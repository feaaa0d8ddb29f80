"""The Solver protocol: find the best schedule of one family for a problem."""
from __future__ import annotations

from typing import Protocol

import numpy as np

from planner.problem import Problem
from planner.schedules import Family, Schedule
from planner.sizing import Sized, round_counts, rounds_around, size_family
from planner.validate import InputError


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


def search(problem: Problem, family: Family, params: np.ndarray, zooms: int = 0,
           points: int = 16) -> tuple[Schedule, float]:
    """The best schedule of the family over params x every round count, then `zooms` finer parameter
    grids (`points` values between the best's neighbours)."""
    best, best_gap = _over_rounds(problem, family, params)
    for _ in range(zooms if family.param_name else 0):
        i = int(np.argmin(np.abs(params - best.param)))
        params = np.linspace(params[max(i - 1, 0)], params[min(i + 1, len(params) - 1)], points)
        candidate, gap = _over_rounds(problem, family, params)
        if gap < best_gap:
            best, best_gap = candidate, gap
    return best, best_gap


def _over_rounds(problem: Problem, family: Family, params: np.ndarray) -> tuple[Schedule, float]:
    """The best (param, T): every T up to DENSE_ROUNDS, a ladder beyond, then the round counts around
    the best until every T near it has been sized (only needed when max_rounds is large)."""
    rounds = round_counts(problem.max_rounds)
    best, best_gap = best_of(size_family(problem, family.shape, params, rounds, True), params, rounds, family.name)
    while np.any(np.diff(rounds) > 1):
        rounds = rounds_around(rounds, best.rounds)
        candidate, gap = best_of(size_family(problem, family.shape, params, rounds, True), params, rounds,
                                 family.name)
        if gap < best_gap:
            best, best_gap = candidate, gap
    return best, best_gap
