"""The budget ledger: charges costs as they are spent and never lets spending pass the budget.

Costs are charged from counts (generated, trained, rounds) at the cost model's prices, so a
resumed run charges exactly what the uninterrupted one did. Before each chunk of generation
the engine asks how much it may still generate while keeping enough budget to train on what
it keeps; a round that cannot finish is trimmed there.
"""
from __future__ import annotations

import dataclasses
import math

from planner.costs import CostModel

SLACK = 1e-9
UNLIMITED = 1 << 62  # "as many as you like" when generating is (nearly) free  # relative tolerance for floating-point sums at the budget's edge


class BudgetExceeded(RuntimeError):
    """A charge would pass the budget: a bug in the caller, which must ask before spending."""


@dataclasses.dataclass
class Ledger:
    """Cost units spent so far out of the budget, under the run's cost model."""

    budget: float
    costs: CostModel
    spent: float = 0.0

    @property
    def remaining(self) -> float:
        return self.budget - self.spent

    def price(self, generated: int = 0, trained: int = 0, rounds: int = 0) -> float:
        c = self.costs
        return c.cg * generated + c.ct * trained + c.c_round * rounds

    def affordable(self, generated: int = 0, trained: int = 0, rounds: int = 0) -> bool:
        return self.spent + self.price(generated, trained, rounds) <= self.budget * (1 + SLACK)

    def charge(self, generated: int = 0, trained: int = 0, rounds: int = 0) -> float:
        """Record spending; returns the cost charged. Refuses (raises) to pass the budget."""
        cost = self.price(generated, trained, rounds)
        if not self.affordable(generated, trained, rounds):
            raise BudgetExceeded(f"charging {cost:g} would bring spending to {self.spent + cost:g} "
                                 f"of a {self.budget:g} budget")
        self.spent += cost
        return cost

    def generation_allowance(self, kept: int, target: int) -> int:
        """Most samples that may still be generated in a proportional round that has kept `kept`
        of `target`, reserving the training cost of everything it may yet keep."""
        c, room = self.costs, self.remaining * (1 + SLACK) + self.budget * SLACK
        need = target - kept
        # Up to `need` more samples, each may be kept: each costs c_g + c_t.
        few = math.floor(max(room - c.ct * kept, 0.0) / (c.cg + c.ct))
        if few < need:
            return max(few, 0)
        # Beyond `need`, at most `target` are trained whatever is generated.
        more = (room - c.ct * target) / c.cg if c.cg > 0 else math.inf
        return max(int(min(more, UNLIMITED)), need)

    def fixed_ratio_allowance(self, target: int) -> int:
        """Most samples that may be kept in a fixed-ratio round (ceil(k n) generated, n trained)."""
        c = self.costs
        n = target
        while n > 0 and not self.affordable(generated=math.ceil(c.ratio * n), trained=n):
            n = min(n - 1, math.floor(self.remaining / (c.cg * c.ratio + c.ct)) + 1)
        return max(n, 0)
