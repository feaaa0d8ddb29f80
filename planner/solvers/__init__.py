"""Solvers by name. Each returns the best schedule of a family; the certificate bounds them all."""
from __future__ import annotations

from planner.jsonio import InputError
from planner.solvers._base import InfeasibleError, Solver
from planner.solvers.certificate import METHODS, Certificate, free_form, free_schedule
from planner.solvers.closed_form import ClosedFormSolver
from planner.solvers.grid import GridSolver

SOLVERS = ("closed-form", "grid", "optuna")


def make_solver(name: str, *, trials: int = 100, seed: int = 0, storage: str | None = None,
                study: str | None = None) -> Solver:
    """A solver by name; Optuna is imported only when its solver is made."""
    if name == "closed-form":
        return ClosedFormSolver()
    if name == "grid":
        return GridSolver()
    if name == "optuna":
        from planner.solvers.search import OptunaSolver

        return OptunaSolver(trials=trials, seed=seed, storage=storage, study=study)
    raise InputError(f"unknown solver {name!r}; known: {', '.join(SOLVERS)}")


__all__ = ["METHODS", "SOLVERS", "Certificate", "InfeasibleError", "Solver", "free_form",
           "free_schedule", "make_solver"]
