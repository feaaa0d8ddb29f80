"""Solvers by name (the entry-point group spendwise.solvers, planner/registry.py). Each returns
the best schedule of a family; the certificate bounds them all."""
from __future__ import annotations

from typing import Any

from planner import registry
from planner.solvers._base import InfeasibleError, Solver
from planner.solvers.certificate import METHODS, Certificate, free_form, free_schedule


def make_solver(name: str, **options: Any) -> Solver:
    """The registered solver called name, made with its options (e.g. trials, seed, storage and
    study for "optuna"); a solver's module is imported only when it is made."""
    return registry.load(registry.SOLVERS, name, "solver")(**options)


__all__ = ["METHODS", "Certificate", "InfeasibleError", "Solver", "free_form",
           "free_schedule", "make_solver"]
