"""The contracts a reward model kind and a solver keep, shipped as pytest suites that a package of
any author runs (as bootstrapper.testing.TaskContract does for tasks): subclass one and give it the
object to check.

    import pytest
    from planner.testing import RewardModelContract, SolverContract

    class TestMyModel(RewardModelContract):
        @pytest.fixture
        def model(self):
            return MyModel(r_star=0.9, ...)

    class TestMySolver(SolverContract):
        @pytest.fixture
        def solver(self):
            return MySolver()

A model: its JSON round trip, vectorised shapes, rewards below r_star, more samples never worse,
the noise term that the certificate relies on (schedules with the same one end at the same reward),
and a plan made with it. A solver: whole-batch schedules within the budget and max_rounds, no
better than the certificate's bound, and the same answer twice.
Needs pytest (the dev extra).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from planner.costs import CostModel
from planner.models import GaussianModel, RewardModel, predict
from planner.plan import recommend
from planner.problem import Problem
from planner.solvers import Solver, free_form

RTOL = 1e-9  # two float computations of one quantity agree to this relative tolerance
SCHEDULES = np.array([[4.0, 8.0, 16.0], [10.0, 10.0, 10.0], [30.0, 5.0, 1.0]])  # varied shapes, 3 rounds


class RewardModelContract:
    """The contract's tests; a subclass overrides the `model` fixture."""

    @pytest.fixture
    def model(self) -> RewardModel:
        raise NotImplementedError("override the model fixture: return the reward model to check")

    def test_json_round_trips_and_names_its_kind(self, model: RewardModel) -> None:
        data = model.to_json()
        assert data["kind"] == model.kind and isinstance(model.kind, str)
        assert type(model)(**{k: v for k, v in data.items() if k != "kind"}) == model
        assert dataclasses.is_dataclass(model) and type(model).__dataclass_params__.frozen

    def test_trajectory_and_acceptance_are_vectorised_over_schedules(self, model: RewardModel) -> None:
        """(K, T) schedules give (K, T+1) rewards and (K, T) generated-per-kept ratios, row by row the
        same as one schedule at a time; every schedule starts from the same reward."""
        trajectory, ratio = model.trajectory(SCHEDULES), model.inverse_acceptance(SCHEDULES)
        assert trajectory.shape == (3, 4) and ratio.shape == (3, 3)
        for row, n in enumerate(SCHEDULES):
            np.testing.assert_allclose(trajectory[row], model.trajectory(n), rtol=RTOL)
            np.testing.assert_allclose(ratio[row], model.inverse_acceptance(n), rtol=RTOL)
        np.testing.assert_allclose(trajectory[:, 0], trajectory[0, 0], rtol=RTOL)
        assert model.trajectory(np.empty(0)).shape == (1,)

    def test_rewards_stay_below_r_star_and_selection_generates_at_least_one_per_kept(self, model) -> None:
        trajectory = model.trajectory(SCHEDULES)
        assert np.all(np.isfinite(trajectory)) and np.all(trajectory <= model.r_star * (1 + RTOL))
        assert np.all(model.inverse_acceptance(SCHEDULES) >= 1 - RTOL)

    def test_a_larger_round_never_lowers_the_reward(self, model: RewardModel) -> None:
        """Keeping more samples in one round leaves a final reward at least as high."""
        for n in SCHEDULES:
            for t in range(len(n)):
                larger = n.copy()
                larger[t] *= 4
                assert predict(model, larger) >= predict(model, n) - RTOL * abs(predict(model, n))

    def test_its_own_any_shape_programme_is_within_budget_and_under_its_bound(self, model: RewardModel) -> None:
        """A model whose state is no noise term (the step clock) brings any_shape(problem) -> (kept per
        round, final reward, cost, bound): the schedule is whole batches within the budget, scores the
        reward it says, and no schedule tried here beats the bound."""
        if not callable(getattr(model, "any_shape", None)):
            pytest.skip("the certificate rests on this model's noise term")
        problem = Problem(model, CostModel(1.0, 3.0, 10.0), 5e3, batch=2, max_rounds=4)
        n, reward, cost, bound = model.any_shape(problem)
        outcome = problem.outcome(np.array(n))
        assert cost <= 5e3 * (1 + RTOL) and all(k % 2 == 0 for k in n) and 1 <= len(n) <= 4
        assert float(outcome.reward) == pytest.approx(reward, rel=RTOL) and reward <= bound + RTOL
        for schedule in SCHEDULES:
            if float(problem.outcome(schedule).cost) <= 5e3:
                assert predict(model, schedule) <= bound + RTOL

    def test_the_noise_term_is_all_the_final_reward_depends_on(self, model: RewardModel) -> None:
        """Two schedules with the same noise term V = sum_t w_t n_t^-gamma end at the same reward, which
        least_gap over [V, V] gives (the free-form certificate rests on this)."""
        if callable(getattr(model, "any_shape", None)):
            pytest.skip("the model solves its own any-shape programme: the certificate needs no noise term")
        w, gamma = model.noise_weights(3)
        assert w.shape == (3,) and gamma > 0 and np.all(w >= 0)
        noise = lambda n: float(np.sum(w * n ** -gamma))
        first = SCHEDULES[0]
        for other in SCHEDULES[1:]:
            scaled = other * (noise(other) / noise(first)) ** (1 / gamma)  # the same V as first
            assert predict(model, scaled) == pytest.approx(predict(model, first), rel=1e-7)
        least = model.least_gap(np.array([3]), np.array([noise(first)]), np.array([noise(first)]))
        assert float(np.ravel(least)[0]) == pytest.approx(model.r_star - predict(model, first), rel=1e-7)

    def test_more_noise_never_lowers_the_generated_per_kept_floor(self, model: RewardModel) -> None:
        if callable(getattr(model, "any_shape", None)):
            pytest.skip("the model solves its own any-shape programme: the certificate needs no noise term")
        floor = model.noise_inverse_acceptance(np.full(4, 2.0), np.array([0.0, 1e-3, 1e-2, 1e-1]))
        assert np.all(np.diff(floor) >= -RTOL * np.abs(floor[:-1]))

    def test_it_plans_within_the_budget_below_the_certificate(self, model: RewardModel) -> None:
        """recommend() with this model: a schedule of whole rounds within budget, its predicted reward
        no better than the free-form certificate's bound and no better than r_star."""
        assert model.optimal_base() > 1 and np.isfinite(model.optimal_base())
        plan = recommend(Problem(model, CostModel(1.0, 3.0, 10.0), 5e3, max_rounds=8))
        assert float(plan.outcome.cost) <= 5e3 * (1 + RTOL) and 1 <= plan.schedule.rounds <= 8
        bound = plan.certificate.bound_reward
        assert plan.predicted_reward <= model.r_star * (1 + RTOL)
        assert bound is None or plan.predicted_reward <= bound + RTOL * abs(bound)


class SolverContract:
    """The contract's tests; a subclass overrides the `solver` fixture (and `problem`, to check the
    solver on a problem of its own)."""

    @pytest.fixture
    def solver(self) -> Solver:
        raise NotImplementedError("override the solver fixture: return the solver to check")

    @pytest.fixture
    def problem(self) -> Problem:
        return Problem(GaussianModel(3.0, 1.0, 1.0), CostModel(1.0, 3.0, 20.0), 2e4, batch=4, max_rounds=10)

    def test_the_schedule_is_whole_batches_within_budget_and_rounds(self, solver: Solver, problem: Problem) -> None:
        schedule = solver.solve(problem, "exponential")
        assert schedule.strategy == "exponential" and 1 <= schedule.rounds <= problem.max_rounds
        assert all(k % problem.batch == 0 for k in schedule.n)
        assert float(problem.outcome(schedule.array).cost) <= problem.budget * (1 + RTOL)

    def test_no_schedule_beats_the_certificate(self, solver: Solver, problem: Problem) -> None:
        gap = float(problem.outcome(solver.solve(problem, "exponential").array).gap)
        assert gap >= free_form(problem).bound_gap * (1 - 1e-6)

    def test_the_same_problem_gives_the_same_schedule(self, solver: Solver, problem: Problem) -> None:
        assert solver.solve(problem, "exponential") == solver.solve(problem, "exponential")
