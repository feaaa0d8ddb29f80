"""Grid search: every (parameter, T) pair of a coarse grid at once, then zoom in twice.

Vectorised with numpy, so it scores thousands of schedules in a few milliseconds; this is the
default search behind `plan`, and the reference the Optuna search is checked against.
"""
from __future__ import annotations

from planner.problem import Problem
from planner.schedules import Schedule
from planner.schedules import family as get_family
from planner.solvers._base import search


class GridSolver:
    """Coarse grid of `points` parameter values, then `zooms` finer grids around the best."""

    name = "grid"

    def __init__(self, points: int = 32, zooms: int = 2):
        self.points, self.zooms = points, zooms

    def solve(self, problem: Problem, family: str = "exponential") -> Schedule:
        fam = get_family(family)
        params = fam.grid(self.points, problem.model.optimal_base())
        # every cell of the paper's family near its best; the other families only seed the polish
        return search(problem, fam, params, self.zooms if fam.param_name else 0, self.points // 2,
                      cells=family == "exponential")[0]
