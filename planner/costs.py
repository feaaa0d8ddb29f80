"""What a round costs: c_g per generated sample, c_t per trained (kept) sample, c_round per round.

Under proportional selection (keep each sample with probability R(x)) the expected number
generated per kept sample is E[1 / acceptance], which the reward model supplies; under
fixed-ratio selection (best-of-k, top fraction) it is the constant k.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from planner.models import RewardModel
from planner.validate import InputError, check_positive

SELECTIONS = ("proportional", "fixed")


@dataclasses.dataclass(frozen=True)
class CostModel:
    """Per-sample and per-round costs, in the user's cost units (GPU-seconds, dollars, ...)."""

    cg: float
    ct: float
    c_round: float = 0.0
    selection: str = "proportional"
    ratio: float = 1.0

    def __post_init__(self) -> None:
        check_positive("cg (cost per generated sample)", self.cg, allow_zero=True)
        check_positive("ct (cost per trained sample)", self.ct, allow_zero=True)
        check_positive("c_round (cost per round)", self.c_round, allow_zero=True)
        if self.cg + self.ct <= 0:
            raise InputError("cg and ct cannot both be zero: samples would cost nothing")
        if self.selection not in SELECTIONS:
            raise InputError(f"selection must be one of {', '.join(SELECTIONS)}, got {self.selection!r}")
        check_positive("ratio (generated per kept sample)", self.ratio)
        if self.ratio < 1:
            raise InputError(f"ratio (generated per kept sample) must be >= 1, got {self.ratio!r}")

    def generated(self, model: RewardModel, n: np.ndarray) -> np.ndarray:
        """Expected samples generated in each round: (..., T) kept -> (..., T)."""
        n = np.asarray(n, dtype=float)
        if self.selection == "fixed":
            return self.ratio * n
        return n * model.inverse_acceptance(n)

    def price(self, kept: np.ndarray, generated: np.ndarray, rounds: np.ndarray | int = 1) -> np.ndarray:
        """Cost of rounds that kept and generated so many samples, c_g N + c_t n + c_round (times
        `rounds`: 1 per round priced, 0 for samples alone)."""
        spent_generating = self.cg * generated if self.cg > 0 else 0.0
        return spent_generating + self.ct * np.asarray(kept, dtype=float) + self.c_round * rounds

    def per_kept(self, inverse_acceptance: np.ndarray | float = 1.0) -> np.ndarray | float:
        """Cost of one kept sample, c_t + c_g q, with q samples generated per kept one: the ratio k
        under fixed-ratio selection, else E[1/acceptance] (inverse_acceptance; 1, its least, by default)."""
        q = self.ratio if self.selection == "fixed" else inverse_acceptance
        if self.cg == 0:  # generation is free: q does not matter, even where it is infinite
            q = np.zeros_like(q, dtype=float) if np.ndim(q) else 0.0
        return self.ct + self.cg * q

    def total(self, model: RewardModel, n: np.ndarray) -> np.ndarray:
        """Expected cost of whole schedules: (..., T) -> (...)."""
        return self.price(n, self.generated(model, n)).sum(axis=-1)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)
