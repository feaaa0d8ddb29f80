"""What float64 planning can represent: sample counts up to 2^53 (beyond that integers are not
exact) and a predicted gap that rounding has not erased. Past either, one sentence, not NaN."""
from __future__ import annotations

from typing import TYPE_CHECKING

from planner.validate import MAX_COUNT, InputError

if TYPE_CHECKING:
    from planner.costs import CostModel
    from planner.plan import Plan

def check_scale(budget: float, costs: CostModel) -> None:
    """Refuse a budget that buys more than 2^53 kept samples at these prices."""
    most = budget / costs.per_kept()
    if most > MAX_COUNT:
        raise InputError(f"budget {budget:g} buys up to {most:.3g} kept samples at these costs, more than 2^53 "
                         "(9.0e15), past which sample counts are not exact; lower the budget or state the "
                         "costs in a smaller unit")


def check_plan(plan: Plan) -> None:
    """Refuse a plan whose numbers rounding has swamped: no gap left to compare, or a round
    expected to generate more than 2^53 samples."""
    problem, certificate = plan.problem, plan.certificate
    if not certificate.gap > 0:
        raise InputError(f"at budget {problem.budget:g} the best schedule is predicted to reach r* = "
                         f"{problem.model.r_star:.6g} to floating-point precision (gap {certificate.gap:g}), "
                         "so schedules cannot be told apart; plan a smaller budget")
    generated = float(plan.outcome.generated.max())
    if not generated <= MAX_COUNT:
        raise InputError(f"the plan for budget {problem.budget:g} expects a round to generate {generated:.3g} "
                         "samples, more than 2^53, past which counts are not exact; plan a smaller budget")
