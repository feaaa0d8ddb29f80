"""The budget ledger: what has been spent out of the budget, priced by the cost model, for the
engine (bootstrapper/engine.py) and the Advisor (planner/advisor.py) alike.

Costs are charged from counts (generated, trained, rounds) at the cost model's prices, so a
resumed run charges exactly what the uninterrupted one did. The engine asks before each chunk
of generation how much it may still generate while keeping enough budget to train on what it
keeps (a round that cannot finish is trimmed there) and charges before it spends; the Advisor
gives a user's loop the most a round may generate (generation_cap) and books what the round
did, since a loop that ignored the cap has already spent it. "Within the budget" allows a
relative SLACK of 1e-9 everywhere, for floating-point sums at the budget's edge.
"""
from __future__ import annotations

import dataclasses
import math

from planner.costs import CostModel

SLACK = 1e-9  # relative tolerance for floating-point sums at the budget's edge
UNLIMITED = 1 << 62  # "as many as you like" when generating is (nearly) free


class BudgetExceeded(RuntimeError):
    """A charge would pass the budget: a bug in the caller, which must ask before spending."""


@dataclasses.dataclass
class Ledger:
    """Cost units spent so far out of the budget (seconds when the costs are seconds per sample)."""

    budget: float
    costs: CostModel
    spent: float = 0.0

    @property
    def remaining(self) -> float:
        return self.budget - self.spent

    @property
    def overspent(self) -> bool:
        """Whether what was booked passed the budget (only a loop that ignored the cap can)."""
        return self.spent > self.budget * (1 + SLACK)

    def price(self, generated: int = 0, trained: int = 0, rounds: int = 0) -> float:
        """c_g generated + c_t trained + c_round rounds, in cost units."""
        return float(self.costs.price(trained, generated, rounds))

    def affordable(self, generated: int = 0, trained: int = 0, rounds: int = 0) -> bool:
        return self.spent + self.price(generated, trained, rounds) <= self.budget * (1 + SLACK)

    def charge(self, generated: int = 0, trained: int = 0, rounds: int = 0) -> float:
        """Record spending before it happens; returns the cost charged. Refuses (raises) to pass the budget."""
        cost = self.price(generated, trained, rounds)
        if not self.affordable(generated, trained, rounds):
            raise BudgetExceeded(f"charging {cost:g} would bring spending to {self.spent + cost:g} "
                                 f"of a {self.budget:g} budget")
        self.spent += cost
        return cost

    def book(self, generated: int = 0, trained: int = 0, rounds: int = 0, seconds: float | None = None) -> float:
        """Record what a finished round spent, even past the budget; returns its cost. seconds: the
        measured seconds its samples took, charged instead of their price (rounds still at c_round)."""
        cost = self.price(generated, trained, rounds) if seconds is None else seconds + self.price(rounds=rounds)
        self.spent += cost
        return cost

    def generation_cap(self, kept: int) -> int:
        """Most samples a round that trains `kept` (and pays c_round) may generate within the
        budget; -1 when not even that is affordable, UNLIMITED when generating costs nothing."""
        c = self.costs
        if not self.affordable(trained=kept, rounds=1):
            return -1
        room = self.budget * (1 + SLACK) - self.spent - self.price(trained=kept, rounds=1)
        if c.cg == 0 or room / c.cg >= UNLIMITED:
            return UNLIMITED
        cap = math.floor(room / c.cg)
        while cap >= 0 and not self.affordable(generated=cap, trained=kept, rounds=1):  # floating-point edge
            cap -= 1
        return cap

    def generation_allowance(self, kept: int, target: int) -> int:
        """Most samples that may still be generated in a proportional round that has kept `kept`
        of `target`, reserving the training cost of everything it may yet keep."""
        c, room = self.costs, self.remaining * (1 + SLACK) + self.budget * SLACK
        need = target - kept
        # Up to `need` more samples, each may be kept: each costs c_g + c_t.
        few = math.floor(max(room - c.ct * kept, 0.0) / c.per_kept())
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
            n = min(n - 1, math.floor(self.remaining / c.per_kept()) + 1)
        return max(n, 0)
