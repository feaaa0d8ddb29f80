"""The Gaussian warm-up model of the paper, solved exactly (derived in docs/theory.md, section 2).

Generator N(theta, sigma^2), reward R(x) = exp(-x^2 / (2 kappa^2)), MLE update on the kept
samples. With s2 = sigma^2 + kappa^2 and rho = kappa^2 / s2, theta_t ~ N(m_t, v_t) where
m_t = rho^t theta_0 and v_{t+1} = rho^2 v_t + rho sigma^2 / n_t.
"""
from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

from planner.models._base import contracting_sum
from planner.validate import InputError, check_positive


@dataclasses.dataclass(frozen=True)
class GaussianModel:
    """Exact expected reward and generation counts of the Gaussian bootstrapping loop."""

    theta0: float = 3.0
    sigma: float = 1.0
    kappa: float = 1.0
    kind: ClassVar[str] = "gaussian"

    def __post_init__(self) -> None:
        check_positive("sigma", self.sigma)
        check_positive("kappa", self.kappa)
        try:
            rho = self.rho
        except OverflowError:  # sigma^2 + kappa^2 beyond the float range
            rho = float("nan")
        if not 0 < rho <= 1:
            raise InputError(f"sigma={self.sigma!r} and kappa={self.kappa!r} are out of range: sigma^2 + kappa^2 "
                             f"must be finite and kappa^2 / (sigma^2 + kappa^2) must be > 0")
        if not np.isfinite(self.theta0):
            raise InputError(f"theta0 must be a finite number, got {self.theta0!r}")

    @property
    def s2(self) -> float:
        return self.sigma**2 + self.kappa**2

    @property
    def rho(self) -> float:
        """Contraction of the mean per round, kappa^2 / (sigma^2 + kappa^2)."""
        return self.kappa**2 / self.s2

    @property
    def r_star(self) -> float:
        return float(np.sqrt(self.rho))

    def reward_at(self, theta: np.ndarray) -> np.ndarray:
        """Mean reward (= acceptance rate) of the generator N(theta, sigma^2)."""
        return np.sqrt(self.rho) * np.exp(-np.square(theta) / (2 * self.s2))

    def moments(self, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean m_t and variance v_t of theta_t for t = 0..T: (..., T) -> two (..., T+1) arrays."""
        n = np.asarray(n, dtype=float)
        rho, T = self.rho, n.shape[-1]
        m = self.theta0 * rho ** np.arange(T + 1)
        v = contracting_sum(rho**2, 0.0, rho * self.sigma**2 / n)
        return np.broadcast_to(m, v.shape), v

    def trajectory(self, n: np.ndarray) -> np.ndarray:
        return self._reward(*self.moments(n))

    def gaps(self, n: np.ndarray) -> np.ndarray:
        return self._gap(*self.moments(n))

    def _reward(self, m: np.ndarray, v: np.ndarray) -> np.ndarray:
        """E[r(theta)] for theta ~ N(m, v)."""
        s2 = self.s2
        return np.sqrt(self.rho) * np.sqrt(s2 / (s2 + v)) * np.exp(-np.square(m) / (2 * (s2 + v)))

    def _gap(self, m: np.ndarray, v: np.ndarray) -> np.ndarray:
        """r_star - E[r(theta)] = sqrt(rho) (1 - exp(log of the rest)), by expm1: no cancellation."""
        s2 = self.s2
        return -np.sqrt(self.rho) * np.expm1(-0.5 * np.log1p(v / s2) - np.square(m) / (2 * (s2 + v)))

    def inverse_acceptance(self, n: np.ndarray) -> np.ndarray:
        m, v = self.moments(n)
        return self._inverse_acceptance(m[..., :-1], v[..., :-1])

    def _inverse_acceptance(self, m: np.ndarray, v: np.ndarray) -> np.ndarray:
        """E[1 / r(theta)] for theta ~ N(m, v); infinite once v reaches s2."""
        room = self.s2 - v
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = np.sqrt(self.s2 / room) * np.exp(np.square(m) / (2 * room)) / np.sqrt(self.rho)
        return np.where(room > 0, out, np.inf)

    def noise_weights(self, rounds: int) -> tuple[np.ndarray, float]:
        # v_T = sum_t rho^(2(T-1-t)) rho sigma^2 / n_t: the variance of theta_T is the noise term.
        t = np.arange(rounds)
        return self.rho ** (2 * (rounds - 1 - t)) * self.rho * self.sigma**2, 1.0

    def noise_inverse_acceptance(self, t: np.ndarray, noise: np.ndarray) -> np.ndarray:
        return self._inverse_acceptance(self.theta0 * self.rho ** np.asarray(t, dtype=float), noise)

    def least_gap(self, rounds: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        # log E[r] = -log(s2 + v)/2 - m^2 / (2 (s2 + v)) rises with v while s2 + v < m^2, then falls:
        # far from the optimum a noisier model scores higher, so the best v may be above the least.
        m = self.theta0 * self.rho ** np.asarray(rounds, dtype=float)
        return self._gap(m, np.clip(np.square(m) - self.s2, low, high))

    def optimal_base(self) -> float:
        """Theorem 3.1: u* = 1 + sigma^2 / kappa^2."""
        return 1.0 + self.sigma**2 / self.kappa**2

    def to_json(self) -> dict:
        return {"kind": self.kind, "theta0": self.theta0, "sigma": self.sigma, "kappa": self.kappa}
