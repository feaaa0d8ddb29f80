"""Closed form: the base from the model's theorem, n0 and T from the budget.

u* = 1 + sigma^2/kappa^2 for the Gaussian (Theorem 3.1), a^(-1/(1+gamma)) for the surrogate;
exact when every kept sample costs the same (fixed-ratio selection or c_g = 0).
"""
from __future__ import annotations

import numpy as np

from planner.problem import Problem
from planner.schedules import FAMILIES, Schedule
from planner.solvers._base import search
from planner.validate import InputError


class ClosedFormSolver:
    """The exponential schedule with the theorem's base, sized for the budget (T by integer search)."""

    name = "closed-form"

    def solve(self, problem: Problem, family: str = "exponential") -> Schedule:
        if family != "exponential":
            raise InputError(f"the closed form gives exponential schedules only, not {family}")
        return search(problem, FAMILIES[family], np.array([problem.model.optimal_base()]))[0]
