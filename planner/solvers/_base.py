"""The Solver protocol: find the best schedule of one family for a problem."""
from __future__ import annotations

from typing import Protocol

import numpy as np

from planner.jsonio import InputError
from planner.problem import Problem
from planner.schedules import Schedule
from planner.sizing import Sized


class InfeasibleError(InputError):
    """No schedule of the family fits the budget."""


class Solver(Protocol):
    """Returns the best affordable whole-batch schedule of a family (smallest expected gap)."""

    name: str

    def solve(self, problem: Problem, family: str = "exponential") -> Schedule:
        ...


def best_of(sized: Sized, params: np.ndarray, family: str) -> tuple[Schedule, float]:
    """The row of a (P, T) sizing with the smallest gap, as a Schedule, and that gap."""
    if not np.any(np.isfinite(sized.gap)):
        raise InfeasibleError(f"no {family} schedule fits the budget")
    i, j = np.unravel_index(np.argmin(sized.gap), sized.gap.shape)
    schedule = Schedule.from_array(family, sized.n[i, j, : j + 1], float(sized.n0[i, j]),
                                   None if family == "constant" else float(params[i]))
    return schedule, float(sized.gap[i, j])
