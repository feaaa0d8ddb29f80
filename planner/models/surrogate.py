"""The general-setting surrogate: the reward gap contracts each round and is pushed up by
the round's sampling noise, g_{t+1} = a g_t + b n_t^-gamma, reward r_t = r_star - g_t."""
from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

from planner.models._base import contracting_sum, reward_acceptance
from planner.validate import InputError, check_positive


@dataclasses.dataclass(frozen=True)
class SurrogateModel:
    """Deterministic gap recursion fitted to observed rounds (see planner.fit)."""

    r_star: float
    g0: float
    a: float
    b: float
    gamma: float = 1.0
    kind: ClassVar[str] = "surrogate"

    def __post_init__(self) -> None:
        if not (np.isfinite(self.r_star) and 0 < self.r_star <= 1):
            raise InputError(f"r_star must be in (0, 1], got {self.r_star!r}")
        if not (np.isfinite(self.g0) and 0 <= self.g0 < self.r_star):
            raise InputError(f"g0 must be in [0, r_star) = [0, {self.r_star}), got {self.g0!r}")
        if not (np.isfinite(self.a) and 0 < self.a < 1):
            raise InputError(f"a must be in (0, 1), got {self.a!r}")
        check_positive("b", self.b)
        check_positive("gamma", self.gamma)

    def gaps(self, n: np.ndarray) -> np.ndarray:
        """Gap before round 0 and after each round: (..., T) -> (..., T+1)."""
        return contracting_sum(self.a, self.g0, self.b * np.asarray(n, dtype=float) ** -self.gamma)

    def trajectory(self, n: np.ndarray) -> np.ndarray:
        return self.r_star - self.gaps(n)

    def inverse_acceptance(self, n: np.ndarray) -> np.ndarray:
        return reward_acceptance(self.trajectory(n)[..., :-1])

    def noise_weights(self, rounds: int) -> tuple[np.ndarray, float]:
        # g_T = a^T g0 + sum_t a^(T-1-t) b n_t^-gamma
        t = np.arange(rounds)
        return self.b * self.a ** (rounds - 1 - t), self.gamma

    def noise_inverse_acceptance(self, t: np.ndarray, noise: np.ndarray) -> np.ndarray:
        r = self.r_star - self.a ** np.asarray(t, dtype=float) * self.g0 - noise
        return reward_acceptance(r)

    def least_gap(self, rounds: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        return self.a ** np.asarray(rounds, dtype=float) * self.g0 + low

    def optimal_base(self) -> float:
        """Minimising sum_t a^(T-1-t) n_t^-gamma at equal cost gives n_t ~ a^(-t/(1+gamma))."""
        return float(self.a ** (-1.0 / (1.0 + self.gamma)))

    def to_json(self) -> dict:
        return {"kind": self.kind, "r_star": self.r_star, "g0": self.g0, "a": self.a, "b": self.b,
                "gamma": self.gamma}
