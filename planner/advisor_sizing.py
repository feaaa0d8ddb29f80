"""Sizing an Advisor round. The engine stops generating the moment its ledger would pass the
budget; a user's loop is not ours to stop, so each round comes with a cap, and the round is sized
so the cap rarely binds:
* generation_cap: the most samples the round may generate and still pay for training the n it
  keeps plus the round's fixed cost out of what is left. A loop that stops generating at the
  cap (and keeps at most n) never passes the budget.
* reserve: the round asked for is the planned n_t cut down, in whole batches, until its expected
  generated count plus `reserve_sd` standard deviations fits under that cap. Under proportional
  selection the count generated for n kept is negative binomial, mean n q and variance
  n q (q - 1), with q the generated-per-kept ratio of the last round; q measured on k kept
  samples is itself uncertain, which multiplies the variance by 1 + n / k. Round 0 has no
  measurement: q is the plan's, or 1 / initial_reward when that is larger (proportional
  selection accepts at the mean reward). Fixed-ratio rounds generate exactly ceil(r n).
* the bound, exactly: a loop that generates until n are kept passes the budget in a round
  exactly when that round's acceptance (kept / generated) is below acceptance_floor =
  n / generation_cap, and then by c_g times its excess over the cap. From round 1 on the floor
  sits reserve_sd sd below the acceptance just measured, so this is rare; round 0's floor rests
  on the model (and initial_reward), so a wrong model without initial_reward can pass the budget
  there without bound as the true acceptance goes to 0. The reserve costs about reserve_sd sd
  of the last round's generation; on a budget that pays for only a round or two of high-variance
  generation it can leave nothing affordable, and a smaller reserve_sd is the remedy (a loop
  honouring the cap is safe at any value).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from planner.costs import CostModel
from planner.problem import Outcome
from planner.rounds import RoundRecord


def forecast(n: int, costs: CostModel, history: Sequence[RoundRecord], planned: Outcome,
             initial: dict | None) -> tuple[float, float]:
    """Mean and sd of the count generated for n kept. Fixed ratio: exactly ceil(k n).
    Proportional: negative binomial with q generated per kept sample, q measured on the last
    round that kept any (its error widens the sd); for round 0 the plan's expectation (`planned`,
    its outcome), or 1 / initial_reward when that is more pessimistic (the model alone may be wrong)."""
    if costs.selection == "fixed":
        return float(math.ceil(costs.ratio * n)), 0.0
    last = next((r for r in reversed(history) if r.kept > 0), None)
    if last is None:
        q, widen = float(planned.generated[0] / planned.n[0]), 1.0
        if initial is not None:  # proportional selection accepts at the mean reward: the more pessimistic
            q = max(q, 1 / initial["reward"]) if initial["reward"] > 0 else math.inf
    else:
        q, widen = last.generated / last.kept, 1.0 + n / last.kept
    return n * q, math.sqrt(n * q * (q - 1) * widen)


def round_size(planned: int, batch: int, needed: Callable[[int], float], cap: Callable[[int], int]) -> int | None:
    """The most whole batches, up to planned, whose needed generation (samples) fits under the cap
    for that many kept; None if not one batch does."""
    low, high = 0, planned // batch
    while low < high:  # fitting is monotone in n: bisect on the number of batches
        mid = (low + high + 1) // 2
        fits = needed(mid * batch) <= cap(mid * batch)
        low, high = (mid, high) if fits else (low, mid - 1)
    return low * batch if low else None
