"""Fit a reward model to observed rounds, with 95 % intervals and a goodness-of-fit number.

Two fits, both regressions of one round on the previous one (conditional least squares):
* Gaussian, when the task reports its generator mean theta (metrics "theta"): the exact model
  says theta_{t+1} = rho theta_t + e_t, e_t ~ N(0, rho sigma^2 / n_t), a weighted regression
  whose t-interval for rho is exact given the path; the reward readings give rho a second time
  (log r = log(rho) / 2 - theta^2 / (2 s2), a regression on theta^2), and the two are combined by
  precision (from exact readings rho is exact, and with it r* = sqrt(rho)); then
  sigma^2 = tau^2 / rho and kappa^2 = rho sigma^2 / (1 - rho).
* Surrogate, for any task: r_{t+1} = (1 - a) r* + a r_t - b n_t^-gamma is linear in
  ((1 - a) r*, a, b) for a fixed gamma; gamma is 1 unless asked to be profiled over a grid.
  A round's noise grows with its gap and shrinks with n_t: in the Gaussian case
  Var(g_{t+1}) = 2 (b/n_t)(2 a g_t + b/n_t) exactly (a scaled non-central chi-square), so the
  regression is solved by feasible generalised least squares with those weights. With ~10
  rounds the estimate of a is biased low (the small-sample bias of autoregressions).
Readings: a round's held-out evaluation where it has one; else the free generation reading of the
same model (the next round's mean generated score, with its standard error), moved onto the
held-out scale by the precision-weighted mean difference of the rounds that have both readings.
A generation reading's sampling variance enters the weights, and its error in the previous reward
(the regressor) is corrected for in the normal equations (errors-in-variables: it would bias a to 0).
Every parameter a model file holds gets a 95 % interval, except what is observed or held fixed
(theta0, the Gaussian's start; gamma unless profiled): rho's t-interval; sigma and kappa by the delta
method on the log scale; r* (delta method), a and b from the regression; g0 from r*'s; a profiled
gamma from its profile. Coverage over seeded runs is in the tests.
Degenerate logs (too few rounds, constant n_t, constant rewards, NaN) are refused with a
sentence saying what is missing, instead of fitting nonsense.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from planner import registry
from planner.fitted import Estimate, Fit
from planner.models import GaussianModel, RewardModel, SurrogateModel
from planner.observations import Observations
from planner.validate import InputError

GAMMAS = np.round(np.arange(0.25, 3.01, 0.05), 2)  # grid for profiling gamma
A_MIN, B_MIN = 1e-3, 1e-12  # the fitted surrogate must contract: A_MIN <= a <= 1 - A_MIN, b >= B_MIN
# The tolerances of the fit, each with why:
MAX_CONDITION = 1e8  # a design whose scaled columns are worse conditioned cannot be identified from a log
FLAT = 1e-12  # a regressor varying less than this (relative to the design's largest value) never changes
CORRECTION_HALVINGS = 30  # halvings of the errors-in-variables correction before dropping it (2^-30 ~ 1e-9)
POSITIVE = 1e-9  # the corrected X'WX counts as positive definite when its least eigenvalue is this share of its largest
FGLS_PASSES = 5  # reweighting passes of the feasible generalised least squares
A_WEIGHTS = (0.01, 0.99)  # a clipped to this range in the noise weights: at 0 or 1 a round's gap term would vanish
TINY = 1e-300  # keeps a divisor above 0 (an all-zero column, residuals below the reading variance)
MIN_VARIANCE = 1e-30  # a round's modelled variance floor: keeps every weight finite
ABOVE_FLOOR = 1e-9  # the fitted r* sits this far above the best reward plus its noise push, so g0 > 0
READING_ROUNDING = 1e-9  # rho's SE is at least this share of it: exact readings still carry float rounding
MAX_START_GAP = 0.999  # a surrogate's starting gap is at most this share of r*: g0 < r*, as the model requires


def _check_design(X: np.ndarray, names: list[str], what: str) -> None:
    """Refuse a regression that the data cannot identify (too few rows, collinear columns)."""
    rows, cols = X.shape
    if rows < cols + 2:
        raise InputError(f"{what} needs at least {cols + 2} observed transitions between rounds, the log has "
                         f"{rows}; run more rounds")
    scaled = X / np.maximum(np.abs(X).max(axis=0), TINY)
    if np.linalg.cond(scaled) > MAX_CONDITION:
        spread = {name: np.ptp(X[:, i]) for i, name in enumerate(names) if name != "1"}
        flat = [name for name, s in spread.items() if s <= FLAT * max(1.0, np.abs(X).max())]
        detail = f"{' and '.join(flat)} never change" if flat else "its columns are nearly collinear"
        raise InputError(f"{what} cannot be identified from this log: {detail}; vary n_t across rounds")


def _wls(X: np.ndarray, y: np.ndarray, w: np.ndarray, noisy: np.ndarray | None = None):
    """Weighted least squares: coefficients, their covariance, residual variance, residuals. With
    `noisy` (the variance of column 1's measurement error in each row) the normal equations are
    corrected for that error (it would bias the coefficient towards 0): X'WX less sum w var, kept
    positive definite by halving the correction (at most CORRECTION_HALVINGS times, then none) where it
    would not be."""
    normal = (X * w[:, None]).T @ X
    if noisy is not None and np.any(noisy > 0):
        correction = np.zeros_like(normal)
        correction[1, 1] = float(np.sum(w * noisy))
        for _ in range(CORRECTION_HALVINGS):
            if np.linalg.eigvalsh(normal - correction).min() > POSITIVE * np.abs(normal).max():
                break
            correction /= 2
        else:  # the design itself is (nearly) singular: no correction
            correction[:] = 0.0
        normal = normal - correction
        beta = np.linalg.pinv(normal) @ ((X * w[:, None]).T @ y)
    else:
        sw = np.sqrt(w)
        beta, *_ = np.linalg.lstsq(X * sw[:, None], y * sw, rcond=None)
    resid = y - X @ beta
    dof = len(y) - X.shape[1]
    s2 = float(np.sum(w * resid**2) / dof)
    cov = s2 * np.linalg.pinv(normal)
    return beta, cov, s2, resid


def _t975(dof: int) -> float:
    from scipy.stats import t

    return float(t.ppf(0.975, dof))


def _f95(dof: int) -> float:
    from scipy.stats import f

    return float(f.ppf(0.95, 1, dof))


def _interval(name: str, value: float, se: float, q: float) -> Estimate:
    return Estimate(name, float(value), float(value - q * se), float(value + q * se))


def _log_interval(name: str, value: float, log_se: float, q: float) -> Estimate:
    return Estimate(name, float(value), float(value * math.exp(-q * log_se)), float(value * math.exp(q * log_se)))


def _quality(y: np.ndarray, resid: np.ndarray) -> tuple[float, float]:
    total = float(np.sum((y - y.mean()) ** 2))
    rss = float(np.sum(resid**2))
    return math.sqrt(rss / len(y)), 1.0 - rss / total if total > 0 else math.nan


def fit_gaussian(obs: Observations) -> Fit:
    """The exact Gaussian model from the path of theta (tasks that report it)."""
    if obs.theta_before is None:
        raise InputError("the log has no 'theta' metric, so the Gaussian model cannot be fitted; use the surrogate")
    x, y, w = obs.theta_before, obs.theta_after, obs.n
    _check_design(x[:, None], ["theta"], "the Gaussian fit")
    beta, cov, tau2, resid = _wls(x[:, None], y, w)
    rho, se = float(beta[0]), math.sqrt(cov[0, 0])
    if not 0 < rho < 1:
        raise InputError(f"the fitted contraction rho = {rho:.3g} is outside (0, 1): the log does not look "
                         "like a Gaussian bootstrapping run")
    from_rewards = _rho_from_rewards(obs)
    if from_rewards is not None:  # two independent estimates of rho: precision-weighted
        rho_r, se_r = from_rewards
        weights = 1 / np.square(np.maximum([se, se_r], READING_ROUNDING * rho_r))
        rho, se = float(np.dot(weights, [rho, rho_r]) / weights.sum()), float(weights.sum() ** -0.5)
    se = max(se, READING_ROUNDING * rho)
    q = _t975(len(y) - 1)
    sigma = math.sqrt(tau2 / rho)
    kappa = math.sqrt(rho * sigma**2 / (1 - rho))
    model = GaussianModel(float(obs.theta_before[0]), sigma, kappa)
    rmse, r2 = _quality(y, resid)
    # log sigma = (log tau^2 - log rho) / 2 and log kappa = (log tau^2 - log(1 - rho)) / 2, with tau^2
    # and rho independent (residual variance and coefficient of a regression): delta method on the
    # log scale, Var(log tau^2) = 2 / dof, Var(log rho) = (se / rho)^2, Var(log(1 - rho)) = (se / (1 - rho))^2.
    dof = len(y) - 1
    log_sd = lambda other: 0.5 * math.sqrt(2 / dof + other**2)
    estimates = (_interval("rho", rho, se, q), _log_interval("sigma", sigma, log_sd(se / rho), q),
                 _log_interval("kappa", kappa, log_sd(se / (1 - rho)), q))
    return Fit(model, estimates, rmse, r2, len(obs.n), "gaussian")


def _rho_from_rewards(obs: Observations) -> tuple[float, float] | None:
    """rho and its SE from the reward readings: under the model a generator at theta scores
    r = sqrt(rho) exp(-theta^2 / (2 s2)), so log r = log(rho) / 2 - (theta^2 / 2) / s2 is a linear
    regression on theta^2 whose intercept is log(rho) / 2 (weights: 1 / the reading's variance on the
    log scale, equal for held-out readings). None where the readings cannot identify it (too few,
    theta^2 never changing, a non-positive reward, rho outside (0, 1])."""
    theta = np.concatenate([obs.theta_before, obs.theta_after])
    reward = np.concatenate([obs.before, obs.after])
    var = np.concatenate([np.zeros(len(obs.n)) if v is None else v for v in (obs.before_var, obs.after_var)])
    readings = np.unique(np.column_stack([theta, reward, var]), axis=0)
    readings = readings[np.isfinite(readings[:, 1]) & (readings[:, 1] > 0)]
    X = np.column_stack([np.ones(len(readings)), -np.square(readings[:, 0]) / 2])
    try:
        _check_design(X, ["1", "theta^2"], "the Gaussian fit's reward readings")
    except InputError:
        return None
    log_var = readings[:, 2] / np.square(readings[:, 1])
    weight = 1 / (log_var + log_var.mean() + TINY)
    beta, cov, _, _ = _wls(X, np.log(readings[:, 1]), weight / weight.mean())
    rho = math.exp(2 * beta[0])
    if not 0 < rho <= 1:
        return None
    return rho, 2 * rho * math.sqrt(max(float(cov[0, 0]), 0.0))  # delta method: d rho / d(log(rho) / 2) = 2 rho


def fit_surrogate(obs: Observations, gamma: float | None = 1.0) -> Fit:
    """The surrogate g_{t+1} = a g_t + b n_t^-gamma from rewards; gamma=None profiles it."""
    known = np.isfinite(obs.before)
    r_prev, r_next, n = obs.before[known], obs.after[known], obs.n[known]
    zeros = np.zeros(len(obs.n))
    reading_var = tuple((zeros if v is None else v)[known] for v in (obs.before_var, obs.after_var))
    gammas = GAMMAS if gamma is None else np.array([gamma])
    fits = []
    for g in gammas:
        X = np.column_stack([np.ones_like(r_prev), r_prev, -(n ** -g)])
        _check_design(X, ["1", "the reward", "n_t"], "the surrogate fit")
        beta, cov, resid, w = _fgls(X, r_next, r_prev, n ** -g, reading_var)
        fits.append((float(np.sum(resid**2)), float(g), beta, cov, resid, X, w))
    rss, g, beta, cov, resid, X, w = min(fits, key=lambda f: f[0])
    q = _t975(len(r_next) - 3)
    # gamma's profile interval (least squares, Bates & Watts): the grid values whose weighted residual
    # sum of squares, with the best fit's weights for all (the noise law is the same whatever gamma),
    # is within F(1, K - 4; 95 %) residual variances of the least; fixed, not fitted: no interval.
    rss_w = np.array([_wls(np.column_stack([np.ones_like(r_prev), r_prev, -(n ** -f[1])]), r_next, w)[2]
                      for f in fits]) * (len(r_next) - 3)
    within = (rss_w - rss_w.min()) / (rss_w.min() / max(len(r_next) - 4, 1)) <= _f95(max(len(r_next) - 4, 1))
    kept = gammas[within] if gamma is None else [math.nan]
    c, a, b = (float(v) for v in beta)
    se_a, se_b = math.sqrt(cov[1, 1]), math.sqrt(cov[2, 2])
    if a + q * se_a <= 0 or a - q * se_a >= 1 or b + q * se_b <= 0:
        raise InputError(f"the rewards do not improve and settle as the surrogate needs (a = {a:.3g} +- "
                         f"{q * se_a:.2g}, b = {b:.3g} +- {q * se_b:.2g}): run more or larger rounds")
    # The intervals come from the unconstrained fit; the model itself must contract (0 < a < 1,
    # b > 0), so its parameters are the weighted least-squares fit within those bounds.
    from scipy.optimize import lsq_linear

    sw = np.sqrt(w)
    bounded = lsq_linear(X * sw[:, None], r_next * sw, bounds=([-np.inf, A_MIN, B_MIN], [np.inf, 1 - A_MIN, np.inf]))
    c_m, a_m, b_m = (float(v) for v in bounded.x)
    r_star, se_r = math.inf, math.inf  # a >= 1 (within its interval's reach of 1): r* is not identified
    if a < 1:
        r_star = c / (1 - a)
        grad = np.array([1 / (1 - a), c / (1 - a) ** 2, 0.0])  # delta method for r* = c / (1 - a)
        se_r = math.sqrt(max(float(grad @ cov @ grad), 0.0))
    # Under the model a round of n leaves an expected gap of at least b n^-gamma, so r* lies about that
    # far above the best reward seen; flooring r* at the highest reward alone made the last reading look
    # like the optimum (gap ~ 0), and replanning then stopped with most of the budget unspent. Only the
    # best round sets the floor: a lucky small round (large b/n) would otherwise lift r* far too high.
    best = int(np.nanargmax(obs.after))
    floor = float(obs.after[best] + b_m * obs.n[best] ** -g)
    model_r_star = min(max(c_m / (1 - a_m), floor + ABOVE_FLOOR), 1.0)
    model = SurrogateModel(model_r_star, _gap(model_r_star, obs.start_reward), a_m, b_m, g)
    rmse, r2 = _quality(r_next, resid)
    r_star_est = _interval("r_star", r_star, se_r, q)
    start = obs.start_reward  # g0 = r* - the first reward seen: r*'s interval shifted
    g0_est = Estimate("g0", r_star - start, max(r_star_est.low - start, 0.0), r_star_est.high - start)
    estimates = (r_star_est, g0_est, _interval("a", a, se_a, q), _interval("b", b, se_b, q),
                 Estimate("gamma", g, min(kept), max(kept)))
    return Fit(model, estimates, rmse, r2, len(obs.n), "surrogate")


def _fgls(X: np.ndarray, y: np.ndarray, r_prev: np.ndarray, noise: np.ndarray,
          reading_var: tuple[np.ndarray, np.ndarray], iterations: int = FGLS_PASSES):
    """Regression of the next reward with weights 1 / Var: the round's own noise s^2 (b n^-gamma)
    (2 a g_t + b n^-gamma), its scale s^2 from the residuals, plus the variance of generation
    readings of the next reward and (times a^2) of the previous one (0 for held-out evaluations);
    the previous reading's error is corrected for in the normal equations."""
    before_var, after_var = reading_var
    w = np.ones_like(y)
    for _ in range(iterations):
        beta, cov, _, resid = _wls(X, y, w, before_var)
        c, a, b = beta
        r_star = c / (1 - a) if a < 1 else r_prev.max()
        gap = np.maximum(r_star - r_prev, 0.0)
        push = max(b, B_MIN) * noise
        shape = np.maximum(push * (2 * min(max(a, A_WEIGHTS[0]), A_WEIGHTS[1]) * gap + push), MIN_VARIANCE)
        reading = after_var + min(max(a, 0.0), 1.0) ** 2 * before_var
        scale = max(float(np.mean(resid**2 - reading) / np.mean(shape)), TINY)
        w = 1.0 / np.maximum(shape + reading / scale, MIN_VARIANCE)
        w = w / w.mean()
    beta, cov, _, resid = _wls(X, y, w, before_var)
    return beta, cov, resid, w


def fit(obs: Observations, kind: str = "auto", gamma: float | None = 1.0) -> Fit:
    """Fit the Gaussian model where the log allows it (kind auto or gaussian), else the surrogate; any
    other registered kind by its own classmethod fit(obs) (planner/selection.py picks among them)."""
    if kind == "gaussian" or (kind == "auto" and obs.theta_before is not None):
        return fit_gaussian(obs)
    if kind in ("auto", "surrogate"):
        return fit_surrogate(obs, gamma)
    own = getattr(registry.load(registry.MODELS, kind, "model kind"), "fit", None)
    if not callable(own):
        raise InputError(f"the {kind} model kind brings no fit of its own")
    return own(obs)


def refit(model: RewardModel, obs: Observations, kind: str = "auto") -> Fit:
    """The refit of a run planned with `model`: its kind's own fit when the kind brings one (a
    classmethod fit(obs) -> Fit, for a model of another package) and kind is auto, else fit(obs, kind)."""
    own = getattr(type(model), "fit", None)
    return own(obs) if callable(own) and kind == "auto" else fit(obs, kind)


def _gap(r_star: float, reward: float) -> float:
    """The surrogate's starting gap for an observed reward, kept inside [0, r_star)."""
    return float(min(max(r_star - reward, 0.0), r_star * MAX_START_GAP))


def restart_model(model: RewardModel, obs: Observations) -> RewardModel:
    """The fitted model restarted at the last observed state, for planning the rest of a run (by
    its own restart(obs), for a model of another package that brings one)."""
    if callable(getattr(model, "restart", None)):
        return model.restart(obs)
    if isinstance(model, GaussianModel) and "theta" in obs.last:
        return dataclasses.replace(model, theta0=obs.last["theta"])
    if isinstance(model, SurrogateModel):
        if obs.pending is not None:  # the last round's model was not read yet: one step of the model on
            before, n = obs.pending  # from the reading before it
            gap = model.a * max(model.r_star - before, 0.0) + model.b * n ** -model.gamma
            return dataclasses.replace(model, g0=_gap(model.r_star, model.r_star - gap))
        return dataclasses.replace(model, g0=_gap(model.r_star, obs.last["reward"]))
    return model
