"""A fitted reward model as planner/fit.py returns it: the model, a 95 % interval for each parameter
it holds, and how well it predicts the next round (also what a model kind's own fit returns)."""
from __future__ import annotations

import dataclasses
import math

from planner.models import RewardModel


@dataclasses.dataclass(frozen=True)
class Estimate:
    """A fitted parameter with its 95 % interval."""

    name: str
    value: float
    low: float
    high: float


@dataclasses.dataclass(frozen=True)
class Fit:
    """A fitted model, its parameters' intervals, and how well it predicts the next round."""

    model: RewardModel
    estimates: tuple[Estimate, ...]
    rmse: float  # root mean square one-round-ahead error, in reward units
    r2: float  # share of the variance of the next round's value explained
    rounds: int
    method: str

    def estimate(self, name: str) -> Estimate:
        return next(e for e in self.estimates if e.name == name)

    def unidentified(self) -> str | None:
        """Why a surrogate fit does not yet pin the model down (a 95 % interval reaching outside its
        domain: a not inside (0, 1), b not above 0), or None when it does. The exact Gaussian fit from
        theta is always usable: its rho is unbiased, and replanning from it helps from round 3 on."""
        bounds = {"a": (0.0, 1.0), "b": (0.0, math.inf)}
        for e in self.estimates:
            if e.name in bounds and not bounds[e.name][0] < e.low <= e.high < bounds[e.name][1]:
                return f"{e.name} = {e.value:.3g} has the 95 % interval [{e.low:.3g}, {e.high:.3g}]"
        return None

    def to_json(self) -> dict:
        """The fit for logs and files; a parameter held fixed has no interval: null (JSON has no NaN)."""
        bound = lambda x: x if math.isfinite(x) else None
        return {"model": self.model.to_json(), "method": self.method, "rounds": self.rounds,
                "rmse": self.rmse, "r2": self.r2,
                "estimates": {e.name: {"value": e.value, "low": bound(e.low), "high": bound(e.high)}
                              for e in self.estimates}}
