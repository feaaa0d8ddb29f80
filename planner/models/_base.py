"""The RewardModel protocol: what the planner needs to know about how a model improves.

A reward model maps a schedule of kept samples per round, n of shape (..., T), to the
expected reward after every round, and says how many samples must be generated per kept one
under proportional selection. Everything is vectorised over the leading axes so thousands of
candidate schedules are scored in one call.

A model kind of another package may also bring its own refit, which replanning then uses
(planner.fit.refit, restart_model): a classmethod fit(obs: Observations) -> Fit fitting a model
of its kind to a run's rounds, and a method restart(obs) -> RewardModel restarting a fitted one
at the last observed state. planner/testing.py ships the contract a model kind keeps.
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

    def gaps(self, n: np.ndarray) -> np.ndarray:
        """r_star - trajectory(n), computed without cancellation (so a gap of 1e-16 keeps its digits):
        what plans are compared by."""

    def inverse_acceptance(self, n: np.ndarray) -> np.ndarray:
        """E[1 / acceptance] in each round, i.e. generated per kept sample under proportional
        selection: (..., T) -> (..., T); inf where the expectation diverges."""

    def noise_weights(self, rounds: int) -> tuple[np.ndarray, float]:
        """(w, gamma) such that after this many rounds the state depends on the schedule only through
        the noise term V = sum_t w_t n_t^-gamma (the convex free-form program behind the certificate)."""

    def noise_inverse_acceptance(self, t: np.ndarray, noise: np.ndarray) -> np.ndarray:
        """E[1 / acceptance] in round t of any schedule whose noise term after t rounds is `noise`;
        non-decreasing in noise, so the least noise the budget allows gives a floor on the cost."""

    def least_gap(self, rounds: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """The least expected gap after `rounds` rounds over noise terms in [low, high]."""

    def optimal_base(self) -> float:
        """The closed-form best exponential base u* (exact when every kept sample costs the same)."""

    def to_json(self) -> dict:
        """The model file contents: {"kind": ..., parameters...}."""


def contracting_sum(factor: float, start: float, drive: np.ndarray) -> np.ndarray:
    """y_0 = start, y_{t+1} = factor y_t + drive_t along the last axis: (..., T) -> (..., T+1).

    Both models' state follows this recursion (the Gaussian's variance, the surrogate's gap). It is
    summed in closed form, y_t = f^t (start + sum_{j<t} f^-(j+1) drive_j), in blocks short enough
    that f^-block stays finite: a few numpy calls instead of one per round (1000 rounds stay fast).
    With 0 < factor <= 1 and drive >= 0 every term is non-negative, so the sums lose no precision."""
    drive = np.asarray(drive, dtype=float)
    T = drive.shape[-1]
    out = np.empty(drive.shape[:-1] + (T + 1,))
    out[..., 0] = start
    block = T if factor >= 1 else max(1, int(100 / -np.log(factor)))
    for s in range(0, T, block):
        e = min(s + block, T)
        powers = factor ** np.arange(1, e - s + 1)  # f^1 .. f^L >= e^-100
        out[..., s + 1:e + 1] = powers * (out[..., s, None] + np.cumsum(drive[..., s:e] / powers, axis=-1))
    return out


def predict(model: RewardModel, n: np.ndarray) -> np.ndarray:
    """Expected final reward of each schedule: (..., T) -> (...)."""
    return model.trajectory(n)[..., -1]


def gap(model: RewardModel, n: np.ndarray) -> np.ndarray:
    """Expected remaining gap r_star - final reward, the number plans are compared by."""
    return model.gaps(n)[..., -1]


def reward_acceptance(rewards: np.ndarray) -> np.ndarray:
    """Generated per kept sample under proportional selection where the reward is the acceptance
    rate: 1 / reward (the surrogate's and the step clock's reading of E[1/acceptance]); inf at 0."""
    with np.errstate(divide="ignore"):
        return np.where(rewards > 0, 1.0 / np.maximum(rewards, 1e-300), np.inf)
