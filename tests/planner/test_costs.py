"""The cost model: c_g N_t + c_t n_t + c_round per round, under both selection rules."""
from __future__ import annotations

import numpy as np
import pytest

from planner.costs import CostModel
from planner.jsonio import from_dict
from planner.models import GaussianModel, SurrogateModel
from planner.validate import InputError

N = np.array([5.0, 10.0, 40.0, 160.0])


def test_fixed_ratio_generates_k_per_kept_sample():
    """Fixed-ratio selection: N_t = k n_t whatever the model, and the total is hand-computable."""
    costs = CostModel(cg=2.0, ct=3.0, c_round=7.0, selection="fixed", ratio=4.0)
    model = GaussianModel(3.0, 1.0, 1.0)
    np.testing.assert_array_equal(costs.generated(model, N), 4.0 * N)
    assert costs.total(model, N) == pytest.approx((2.0 * 4.0 + 3.0) * N.sum() + 4 * 7.0, rel=1e-15)


def test_proportional_selection_uses_the_closed_form_generation_count():
    """Proportional selection, Gaussian: N_t = n_t sqrt(s2/(s2-v_t)) exp(m_t^2/(2(s2-v_t))) / sqrt(rho)."""
    model = GaussianModel(3.0, 1.0, 2.0)
    s2, rho = 5.0, 4.0 / 5.0
    m, v = 3.0, 0.0
    expected = []
    for k in N:  # docs/theory.md, written out independently of the model's code
        expected.append(k * np.sqrt(s2 / (s2 - v)) * np.exp(m**2 / (2 * (s2 - v))) / np.sqrt(rho))
        m, v = rho * m, rho**2 * v + rho * 1.0 / k
    costs = CostModel(cg=1.0, ct=3.0)
    np.testing.assert_allclose(costs.generated(model, N), expected, rtol=1e-12)
    assert costs.total(model, N) == pytest.approx(sum(expected) + 3.0 * N.sum(), rel=1e-12)


def test_proportional_selection_with_the_surrogate_divides_by_the_reward():
    """Surrogate: acceptance is the current mean reward r_t, so N_t = n_t / r_t."""
    model = SurrogateModel(0.9, 0.6, 0.5, 0.2, 1.0)
    r = model.trajectory(N)[:-1]
    np.testing.assert_allclose(CostModel(1.0, 1.0).generated(model, N), N / r, rtol=1e-12)


@pytest.mark.parametrize("selection", ["proportional", "fixed"])
def test_the_cost_per_kept_sample_is_the_round_price_per_kept_sample(selection):
    """per_kept(E[1/acceptance]) = (c_g N_t + c_t n_t) / n_t, the samples' price of a round per sample kept,
    and its default (q = 1 under proportional selection) is the least a kept sample can cost."""
    costs, model = CostModel(cg=2.0, ct=3.0, c_round=7.0, selection=selection, ratio=4.0), GaussianModel(3.0, 1.0, 2.0)
    generated = costs.generated(model, N)
    np.testing.assert_allclose(costs.per_kept(model.inverse_acceptance(N)), costs.price(N, generated, 0) / N,
                               rtol=1e-12)
    assert costs.per_kept() == (2.0 * 4.0 + 3.0 if selection == "fixed" else 2.0 + 3.0)


def test_generation_is_free_when_cg_is_zero_even_if_acceptance_vanishes():
    """c_g = 0 prices rounds at c_t n_t + c_round even where E[1/acceptance] is infinite (no nan)."""
    model = GaussianModel(0.0, 1.0, 1.0)
    n = np.array([0.2, 10.0])  # the second round has infinite expected generation
    assert np.isinf(CostModel(1.0, 1.0).total(model, n))
    assert CostModel(0.0, 2.0, c_round=5.0).total(model, n) == pytest.approx(2.0 * 10.2 + 10.0)
    q = model.inverse_acceptance(n)
    assert np.isinf(q[1]) and np.array_equal(CostModel(0.0, 2.0).per_kept(q), [2.0, 2.0])
    assert CostModel(0.0, 2.0).per_kept() == 2.0


def test_costs_are_vectorised():
    """total() prices a (3, T) batch exactly like row-by-row calls."""
    model, costs = GaussianModel(), CostModel(1.0, 3.0, 2.0)
    batch = np.stack([N, 2 * N, N[::-1]])
    np.testing.assert_array_equal(costs.total(model, batch), [costs.total(model, row) for row in batch])


@pytest.mark.parametrize("kwargs", [
    {"cg": -1.0, "ct": 1.0}, {"cg": float("nan"), "ct": 1.0}, {"cg": 1.0, "ct": float("inf")},
    {"cg": 0.0, "ct": 0.0}, {"cg": 1.0, "ct": 1.0, "c_round": -1.0}, {"cg": 1.0, "ct": 1.0, "c_round": float("nan")},
    {"cg": 1.0, "ct": 1.0, "selection": "best"}, {"cg": 1.0, "ct": 1.0, "selection": "fixed", "ratio": 0.5},
    {"cg": 1.0, "ct": 1.0, "selection": "fixed", "ratio": float("nan")},
])
def test_bad_costs_are_refused(kwargs):
    """Negative, NaN or infinite costs, free samples, unknown selections and k < 1 raise InputError."""
    with pytest.raises(InputError):
        CostModel(**kwargs)


def test_cost_model_json_round_trip():
    """to_json feeds back through the strict loader used for plan files."""
    costs = CostModel(0.5, 2.0, 10.0, "fixed", 3.0)
    assert from_dict(CostModel, costs.to_json(), "costs") == costs
