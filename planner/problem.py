"""A planning problem (reward model + costs + budget) and the expected outcome of a schedule."""
from __future__ import annotations

import dataclasses

import numpy as np

from planner.costs import CostModel
from planner.models import RewardModel
from planner.validate import MAX_COUNT, InputError, check_positive


@dataclasses.dataclass(frozen=True)
class Problem:
    """Spend at most budget cost units; keep whole batches; use at most max_rounds rounds."""

    model: RewardModel
    costs: CostModel
    budget: float
    batch: int = 1
    max_rounds: int = 40

    def __post_init__(self) -> None:
        check_positive("budget", self.budget)
        if not isinstance(self.batch, int) or not 1 <= self.batch <= MAX_COUNT:
            raise InputError(f"batch must be a whole number from 1 to 2^53, got {self.batch!r}")
        if not isinstance(self.max_rounds, int) or not 1 <= self.max_rounds <= 1000:
            raise InputError(f"max_rounds must be a whole number from 1 to 1000, got {self.max_rounds!r}")
        smallest = float(self.costs.total(self.model, np.array([float(self.batch)])))
        if smallest > self.budget:
            raise InputError(f"budget {self.budget:g} is too small for one round of {self.batch} kept "
                             f"sample(s), which is expected to cost {smallest:.4g}")

    def to_json(self) -> dict:
        return {"model": self.model.to_json(), "costs": self.costs.to_json(), "budget": self.budget,
                "batch": self.batch, "max_rounds": self.max_rounds}

    @classmethod
    def from_json(cls, data: dict) -> "Problem":
        """Rebuild a problem from to_json's object; malformed input raises InputError."""
        from planner.jsonio import from_dict
        from planner.models import model_from_json

        try:
            return cls(model_from_json(data["model"]), from_dict(CostModel, data["costs"], "costs"),
                       float(data["budget"]), int(data["batch"]), int(data["max_rounds"]))
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, InputError):
                raise
            raise InputError(f"the problem description is malformed ({e.__class__.__name__}: {e})") from None

    def outcome(self, n: np.ndarray) -> "Outcome":
        """Expected generated counts, costs and rewards of the schedule(s) n: (..., T)."""
        n = np.asarray(n, dtype=float)
        generated = self.costs.generated(self.model, n)
        return Outcome(n, generated, self.costs.price(n, generated), self.model.gaps(n), self.model.r_star)


@dataclasses.dataclass(frozen=True)
class Outcome:
    """Per-round expectations of a schedule; arrays share the leading axes of n."""

    n: np.ndarray
    generated: np.ndarray
    round_costs: np.ndarray
    gaps: np.ndarray  # r_star - reward before round 0 and after each round, (..., T+1), without cancellation
    r_star: float

    @property
    def cost(self) -> np.ndarray:
        return self.round_costs.sum(axis=-1)

    @property
    def trajectory(self) -> np.ndarray:
        """Reward before round 0 and after each round."""
        return self.r_star - self.gaps

    @property
    def reward(self) -> np.ndarray:
        return self.trajectory[..., -1]

    @property
    def gap(self) -> np.ndarray:
        return self.gaps[..., -1]
