"""Grid search: every (parameter, T) pair of a coarse grid at once, then zoom in twice.

Vectorised with numpy, so it scores thousands of schedules in a few milliseconds; this is the
default search behind `plan`, and the reference the Optuna search is checked against.
"""
from __future__ import annotations

import numpy as np

from planner.problem import Problem
from planner.schedules import Schedule, family as get_family
from planner.sizing import size_family
from planner.solvers._base import best_of


class GridSolver:
    """Coarse grid of `points` parameter values, then `zooms` finer grids around the best."""

    name = "grid"

    def __init__(self, points: int = 32, zooms: int = 2):
        self.points, self.zooms = points, zooms

    def solve(self, problem: Problem, family: str = "exponential") -> Schedule:
        fam = get_family(family)
        params = fam.grid(self.points)
        best, best_gap = best_of(size_family(problem, fam.shape, params), params, family)
        for _ in range(self.zooms if fam.param_name else 0):
            i = int(np.argmin(np.abs(params - best.param)))
            lo, hi = params[max(i - 1, 0)], params[min(i + 1, len(params) - 1)]
            params = np.linspace(lo, hi, self.points // 2)
            candidate, gap = best_of(size_family(problem, fam.shape, params), params, family)
            if gap < best_gap:
                best, best_gap = candidate, gap
        return best
