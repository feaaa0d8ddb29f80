"""The RewardModel protocol: what the planner needs to know about how a model improves.

A reward model maps a schedule of kept samples per round, n of shape (..., T), to the
expected reward after every round, and says how many samples must be generated per kept one
under proportional selection. Everything is vectorised over the leading axes so thousands of
candidate schedules are scored in one call.
"""
from __future__ import annotations

from typing import ClassVar, Protocol

import numpy as np


class RewardModel(Protocol):
    """Expected reward as a function of the schedule; a frozen dataclass with a JSON round-trip."""

    kind: ClassVar[str]

    @property
    def r_star(self) -> float:
        """Best attainable reward (plans are compared by the gap r_star - r)."""

    def trajectory(self, n: np.ndarray) -> np.ndarray:
        """Expected reward before round 0 and after each round: (..., T) samples -> (..., T+1)."""

    def inverse_acceptance(self, n: np.ndarray) -> np.ndarray:
        """E[1 / acceptance] in each round, i.e. generated per kept sample under proportional
        selection: (..., T) -> (..., T); inf where the expectation diverges."""

    def noise_weights(self, rounds: int) -> tuple[np.ndarray, float]:
        """(w, gamma) such that, for this many rounds, maximising the final reward is minimising
        sum_t w_t n_t^-gamma (the convex free-form program behind the certificate)."""

    def optimal_base(self) -> float:
        """The closed-form best exponential base u* (exact when every kept sample costs the same)."""

    def to_json(self) -> dict:
        """The model file contents: {"kind": ..., parameters...}."""


def predict(model: RewardModel, n: np.ndarray) -> np.ndarray:
    """Expected final reward of each schedule: (..., T) -> (...)."""
    return model.trajectory(n)[..., -1]


def gap(model: RewardModel, n: np.ndarray) -> np.ndarray:
    """Expected remaining gap r_star - final reward, the number plans are compared by."""
    return model.r_star - predict(model, n)
