"""planner/testing.py's contracts, run on every registered reward model and solver (and, in
test_registry.py, on a model kind installed by entry point)."""
from __future__ import annotations

import pytest

from planner import registry
from planner.models import model_from_json
from planner.solvers import make_solver
from planner.testing import RewardModelContract, SolverContract

# a model of each registered kind, away from its defaults
EXAMPLES = {"gaussian": {"theta0": 2.0, "sigma": 1.2, "kappa": 0.8},
            "surrogate": {"r_star": 0.9, "g0": 0.6, "a": 0.7, "b": 0.4, "gamma": 0.8},
            "step-clock": {"r_star": 0.86, "r0": 0.23, "w": 0.5, "tau_f": 4.0, "beta": 1.3, "tau_s": 35.0,
                           "stale": 100.0, "train_batch": 4}}
SOLVER_OPTIONS = {"optuna": {"trials": 20, "seed": 1}}  # few trials keep the suite fast


class TestRegisteredModels(RewardModelContract):
    @pytest.fixture(params=registry.names(registry.MODELS))
    def model(self, request):
        return model_from_json({"kind": request.param, **EXAMPLES[request.param]})


class TestRegisteredSolvers(SolverContract):
    @pytest.fixture(params=registry.names(registry.SOLVERS))
    def solver(self, request):
        if request.param == "optuna":
            pytest.importorskip("optuna")
        return make_solver(request.param, **SOLVER_OPTIONS.get(request.param, {}))
