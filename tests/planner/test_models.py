"""Reward models: the exact Gaussian formulas against a literal simulation of the loop, the
surrogate recursion, vectorisation, and model files."""
from __future__ import annotations

import json

import numpy as np
import pytest

from planner.models import GaussianModel, SurrogateModel, load_model, model_from_json, predict
from planner.validate import InputError
from tests.planner.helpers import gaussian_reward, simulate_gaussian_loop, within_standard_errors

RUNS = 20_000

# (theta0, sigma, kappa, kept per round): far and near starts, sigma/kappa from 0.5 to 2,
# growing, constant and shrinking schedules.
MC_CASES = [
    (3.0, 1.0, 1.0, [5, 10, 20, 40, 80]),
    (3.0, 1.0, 1.0, [20, 20, 20, 20, 20]),
    (1.0, 2.0, 1.0, [4, 8, 16, 32]),
    (-2.0, 1.0, 2.0, [50, 10, 3]),
]


@pytest.mark.parametrize("theta, sigma, kappa", [(0.0, 1.0, 1.0), (3.0, 1.0, 1.0), (-1.5, 2.0, 0.5), (4.0, 0.3, 3.0)])
def test_reward_at_is_the_expected_reward_of_the_generator(theta, sigma, kappa):
    """reward_at(theta) equals E[R(x)], x ~ N(theta, sigma^2), by quadrature (the acceptance rate)."""
    x = np.linspace(theta - 12 * sigma, theta + 12 * sigma, 200_001)
    density = np.exp(-(x - theta) ** 2 / (2 * sigma**2)) / np.sqrt(2 * np.pi * sigma**2)
    f = density * np.exp(-x**2 / (2 * kappa**2))
    integral = np.sum((f[1:] + f[:-1]) / 2 * np.diff(x))  # trapezoid rule
    model = GaussianModel(theta, sigma, kappa)
    assert model.reward_at(np.array(theta)) == pytest.approx(integral, rel=1e-9)
    assert gaussian_reward(np.array(theta), sigma, kappa) == pytest.approx(integral, rel=1e-9)


@pytest.fixture(scope="module", params=MC_CASES, ids=lambda c: f"theta0={c[0]}-sigma={c[1]}-kappa={c[2]}-n={c[3]}")
def simulated(request):
    """20,000 literal runs of the loop for one schedule, shared by the reward and cost checks."""
    theta0, sigma, kappa, n = request.param
    thetas, generated = simulate_gaussian_loop(theta0, sigma, kappa, n, RUNS, seed=MC_CASES.index(request.param))
    return GaussianModel(theta0, sigma, kappa), np.array(n, dtype=float), thetas, generated


def test_expected_reward_after_every_round_matches_monte_carlo(simulated):
    """The exact E[r(theta_t)] after every round is within 4 standard errors of 20,000 simulated runs."""
    model, n, thetas, _ = simulated
    rewards = gaussian_reward(thetas, model.sigma, model.kappa)
    assert within_standard_errors(rewards, model.trajectory(n)).all(), (rewards.mean(axis=0), model.trajectory(n))


def test_expected_generated_per_round_matches_monte_carlo(simulated):
    """E[N_t] = n_t E[1/acceptance] is within 4 standard errors of the simulated draw counts."""
    model, n, _, generated = simulated
    expected = n * model.inverse_acceptance(n)
    assert within_standard_errors(generated.astype(float), expected).all(), (generated.mean(axis=0), expected)


def test_mean_and_variance_of_theta_match_monte_carlo(simulated):
    """theta_t ~ N(rho^t theta0, v_t): the simulated mean and variance agree with moments()."""
    model, n, thetas, _ = simulated
    m, v = model.moments(n)
    assert within_standard_errors(thetas, m).all()
    # The sample variance of a normal has standard error v sqrt(2 / (runs - 1)).
    assert np.all(np.abs(thetas.var(axis=0, ddof=1) - v) <= 4 * v * np.sqrt(2 / (RUNS - 1)) + 1e-12)


CHECK_SCHEDULE = np.array([10.0 * 2**t for t in range(8)])


def test_theory_check_value():
    """docs/theory.md's check value: theta0=3, sigma=kappa=1, n=10*2^t for t<8 gives 0.706945."""
    assert predict(GaussianModel(3.0, 1.0, 1.0), CHECK_SCHEDULE) == pytest.approx(0.706945, abs=5e-7)


@pytest.mark.slow
def test_theory_check_value_by_simulation():
    """20,000 literal runs of the check schedule (about 75M draws, ~7 s) agree with 0.706945."""
    thetas, _ = simulate_gaussian_loop(3.0, 1.0, 1.0, CHECK_SCHEDULE, RUNS, seed=7)
    final = gaussian_reward(thetas[:, -1], 1.0, 1.0)
    assert within_standard_errors(final[:, None], np.array([0.706945])).all(), final.mean()


def test_inverse_acceptance_is_infinite_once_the_variance_reaches_s2():
    """E[exp(theta^2 / 2 s2)] diverges for v >= s2: rounds after a tiny n_t report inf, not garbage."""
    model = GaussianModel(0.0, 1.0, 1.0)  # v_1 = rho sigma^2 / n_0 = 0.5 / n_0 >= s2 = 2 when n_0 <= 0.25
    q = model.inverse_acceptance(np.array([0.2, 10.0, 10.0]))
    assert np.isfinite(q[0]) and np.isinf(q[1])


def test_surrogate_follows_its_recursion():
    """Surrogate gaps are g_{t+1} = a g_t + b n_t^-gamma and rewards r_star - g_t."""
    model = SurrogateModel(r_star=0.9, g0=0.6, a=0.7, b=0.3, gamma=0.8)
    n = np.array([3.0, 7.0, 20.0, 55.0])
    g = [0.6]
    for k in n:
        g.append(0.7 * g[-1] + 0.3 * k**-0.8)
    np.testing.assert_allclose(model.trajectory(n), 0.9 - np.array(g), rtol=1e-12)
    np.testing.assert_allclose(model.inverse_acceptance(n), 1 / (0.9 - np.array(g[:-1])), rtol=1e-12)


def test_surrogate_reproduces_the_gaussian_to_first_order():
    """docs/theory.md: near the optimum the Gaussian gap follows a = rho^2, gamma = 1, b = rho^1.5 sigma^2 / (2 s2)."""
    gauss = GaussianModel(theta0=0.05, sigma=1.0, kappa=1.5)
    rho, s2 = gauss.rho, gauss.s2
    surrogate = SurrogateModel(r_star=gauss.r_star, g0=gauss.r_star - float(gauss.reward_at(np.array(0.05))),
                               a=rho**2, b=rho**1.5 * gauss.sigma**2 / (2 * s2), gamma=1.0)
    n = np.array([200.0, 400.0, 800.0, 1600.0, 3200.0])
    g_gauss = gauss.r_star - gauss.trajectory(n)
    g_surr = surrogate.r_star - surrogate.trajectory(n)
    np.testing.assert_allclose(g_surr, g_gauss, rtol=5e-3)


@pytest.mark.parametrize("model", [GaussianModel(3.0, 1.0, 1.0), GaussianModel(-1.0, 2.0, 0.7),
                                   SurrogateModel(0.8, 0.5, 0.6, 0.2, 1.0), SurrogateModel(0.8, 0.5, 0.3, 0.4, 0.5)],
                         ids=lambda m: m.kind)
def test_noise_weights_give_the_final_noise_term(model):
    """sum_t w_t n_t^-gamma is exactly the noise in the final gap (v_T, or g_T - a^T g0)."""
    n = np.array([4.0, 9.0, 30.0, 100.0, 250.0])
    w, gamma = model.noise_weights(len(n))
    if isinstance(model, GaussianModel):
        noise = model.moments(n)[1][-1]
    else:
        noise = model.gaps(n)[-1] - model.a ** len(n) * model.g0
    assert np.sum(w * n**-gamma) == pytest.approx(noise, rel=1e-12)


@pytest.mark.parametrize("model, base", [(GaussianModel(3.0, 1.0, 1.0), 2.0), (GaussianModel(0.0, 2.0, 1.0), 5.0),
                                         (SurrogateModel(0.9, 0.5, 0.25, 0.1, 1.0), 2.0),
                                         (SurrogateModel(0.9, 0.5, 0.125, 0.1, 2.0), 2.0)])
def test_optimal_base(model, base):
    """u* = 1 + sigma^2/kappa^2 (Gaussian) and a^(-1/(1+gamma)) (surrogate)."""
    assert model.optimal_base() == pytest.approx(base, rel=1e-12)


@pytest.mark.parametrize("model", [GaussianModel(3.0, 1.0, 1.0), SurrogateModel(0.8, 0.5, 0.6, 0.2, 1.0)],
                         ids=lambda m: m.kind)
def test_trajectory_is_vectorised_over_leading_axes(model):
    """A (2, 3, T) batch of schedules gives exactly the row-by-row results."""
    n = np.random.default_rng(0).integers(1, 500, size=(2, 3, 6)).astype(float)
    batched, inverse = model.trajectory(n), model.inverse_acceptance(n)
    assert batched.shape == (2, 3, 7) and inverse.shape == (2, 3, 6)
    for i in np.ndindex(2, 3):
        np.testing.assert_array_equal(batched[i], model.trajectory(n[i]))
        np.testing.assert_array_equal(inverse[i], model.inverse_acceptance(n[i]))


@pytest.mark.parametrize("model", [GaussianModel(3.0, 1.0, 1.0), GaussianModel(-0.5, 0.25, 4.0),
                                   SurrogateModel(0.8, 0.5, 0.6, 0.2, 1.0)], ids=lambda m: m.kind)
def test_model_json_round_trip(model, tmp_path):
    """to_json -> JSON text -> model file -> load_model gives the same model, and the documented keys."""
    path = tmp_path / "model.json"
    path.write_text(json.dumps(model.to_json()))
    assert load_model(str(path)) == model
    keys = {"gaussian": {"kind", "theta0", "sigma", "kappa"},
            "surrogate": {"kind", "r_star", "g0", "a", "b", "gamma"}}[model.kind]
    assert set(model.to_json()) == keys


GOOD_GAUSSIAN = {"kind": "gaussian", "theta0": 3.0, "sigma": 1.0, "kappa": 1.0}
GOOD_SURROGATE = {"kind": "surrogate", "r_star": 0.9, "g0": 0.5, "a": 0.5, "b": 0.1, "gamma": 1.0}


@pytest.mark.parametrize("data", [
    {**GOOD_GAUSSIAN, "kind": "poisson"},
    {**GOOD_GAUSSIAN, "kind": ["gaussian"]},
    {k: v for k, v in GOOD_GAUSSIAN.items() if k != "kind"},
    {**GOOD_GAUSSIAN, "mu": 0.0},
    {**GOOD_GAUSSIAN, "sigma": "1"},
    {**GOOD_GAUSSIAN, "sigma": True},
    {**GOOD_GAUSSIAN, "sigma": 0.0},
    {**GOOD_GAUSSIAN, "kappa": -1.0},
    {**GOOD_GAUSSIAN, "theta0": float("nan")},
    {**GOOD_GAUSSIAN, "sigma": float("inf")},
    {**GOOD_GAUSSIAN, "sigma": 1e200, "kappa": 1e-200},
    {**GOOD_SURROGATE, "a": 1.0},
    {**GOOD_SURROGATE, "g0": 0.95},
    {**GOOD_SURROGATE, "r_star": 1.5},
    {**GOOD_SURROGATE, "b": 0.0},
    {**GOOD_SURROGATE, "gamma": -1.0},
    {k: v for k, v in GOOD_SURROGATE.items() if k != "r_star"},
    [GOOD_GAUSSIAN],
])
def test_bad_model_json_is_refused(data):
    """Unknown kinds or keys, wrong types and out-of-range parameters raise InputError (one sentence)."""
    with pytest.raises(InputError) as err:
        model_from_json(data)
    assert "\n" not in str(err.value)


def test_good_model_json_is_accepted():
    """The documented model files of both kinds load, with integers accepted as numbers."""
    assert model_from_json({**GOOD_GAUSSIAN, "sigma": 2}) == GaussianModel(3.0, 2.0, 1.0)
    assert model_from_json(GOOD_SURROGATE) == SurrogateModel(0.9, 0.5, 0.5, 0.1, 1.0)


@pytest.mark.parametrize("text", ['{"kind": "gaussian", "sigma": 1', "", "not json"])
def test_malformed_model_file_is_refused(text, tmp_path):
    """A model file that is not valid JSON raises InputError naming the file."""
    path = tmp_path / "model.json"
    path.write_text(text)
    with pytest.raises(InputError, match="model file"):
        load_model(str(path))


def test_gaps_keep_their_digits_where_the_reward_is_within_rounding_of_r_star():
    """gaps() is r_star - trajectory() without the subtraction: equal where both are exact, and at a
    gap of 1e-16 (a huge round) still the series' first term, sqrt(rho) v / (2 s2) for theta0 = 0."""
    n = np.array([3.0, 7.0, 50.0])
    for model in (GaussianModel(2.0, 1.3, 0.7), SurrogateModel(0.9, 0.5, 0.6, 0.3, 1.5)):
        np.testing.assert_allclose(model.gaps(n), model.r_star - model.trajectory(n), rtol=1e-12)
    model = GaussianModel(0.0, 1.0, 1.0)
    v = model.rho * model.sigma**2 / 1e15
    assert model.gaps(np.array([1e15]))[-1] == pytest.approx(model.r_star * v / (2 * model.s2), rel=1e-9)
