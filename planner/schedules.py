"""Schedules: how many samples to keep in each round.

A family is a shape s(p, t) with s(p, 0) = 1; the schedule is n_t = n0 * s(p, t) rounded
down to a multiple of the batch (at least one batch), and n0 is sized to spend the budget.
"free" schedules come from the certificate and have no shape parameter.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from planner.validate import MAX_COUNT, InputError


@dataclasses.dataclass(frozen=True)
class Family:
    """A one-parameter schedule shape and the range the solvers search it over."""

    name: str
    shape: Callable[[np.ndarray, np.ndarray], np.ndarray]  # (param, t) -> relative size
    param_name: str | None
    spacing: Callable[[int, float, float], np.ndarray]  # (k, low, high) -> k starting values to search from
    low: float  # bounds of the parameter
    high: float
    log: bool = False  # search the parameter on a log scale (Optuna)
    reach: float = 0.0  # the range reaches at least this multiple of the problem's closed-form base

    def bounds(self, base: float = 1.0) -> tuple[float, float]:
        """The parameter range for a problem whose closed-form exponential base is `base`."""
        return self.low, max(self.high, self.reach * base)

    def grid(self, k: int, base: float = 1.0) -> np.ndarray:
        """k starting values spanning bounds(base)."""
        return self.spacing(k, *self.bounds(base))


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("constant", lambda p, t: np.ones_like(p * t, dtype=float), None,
               lambda k, low, high: np.zeros(1), 0.0, 0.0),
        # n_t = n0 (1 + slope t): slope 0 is constant, a large slope is n_t ~ t (the paper's t B).
        Family("linear", lambda p, t: 1.0 + p * t, "slope",
               lambda k, low, high: np.concatenate([[0.0], np.geomspace(1e-2, high, k - 1)]), 1e-3, 1e4, log=True),
        Family("polynomial", lambda p, t: (1.0 + t) ** p, "power",
               lambda k, low, high: np.linspace(low, high, k), 0.0, 6.0),
        # Whole batches at small budgets can favour bases well past the closed form's: search to 4x it.
        Family("exponential", lambda p, t: p**t, "base", lambda k, low, high: np.geomspace(low, high, k), 1.0, 16.0,
               log=True, reach=4.0),
    )
}
STRATEGIES = tuple(FAMILIES) + ("free",)


def family(name: str) -> Family:
    """The family called name, or an InputError listing the known ones."""
    if name not in FAMILIES:
        raise InputError(f"unknown schedule family {name!r}; known: {', '.join(FAMILIES)}")
    return FAMILIES[name]


def round_down(n: np.ndarray, batch: int) -> np.ndarray:
    """Whole batches of kept samples per round: floor to a multiple of batch, at least one batch."""
    return np.maximum(batch, np.floor(np.asarray(n, dtype=float) / batch + 1e-9) * batch)


@dataclasses.dataclass(frozen=True)
class Schedule:
    """Kept samples per round (integers), with the family and parameters that produced them."""

    strategy: str
    n: tuple[int, ...]
    n0: float | None = None
    param: float | None = None

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise InputError(f"unknown strategy {self.strategy!r}; known: {', '.join(STRATEGIES)}")
        if not self.n:
            raise InputError("a schedule needs at least one round")
        if any(not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_COUNT for k in self.n):
            raise InputError(f"every round must keep a whole number of samples from 1 to 2^53, got {list(self.n)}")

    @property
    def rounds(self) -> int:
        return len(self.n)

    @property
    def array(self) -> np.ndarray:
        return np.asarray(self.n, dtype=float)

    @classmethod
    def from_array(cls, strategy: str, n: np.ndarray, n0: float | None = None,
                   param: float | None = None) -> "Schedule":
        """A schedule from a float array of whole numbers (as the solvers produce)."""
        return cls(strategy, tuple(int(round(k)) for k in np.asarray(n)), n0, param)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)
