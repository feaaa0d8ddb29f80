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
* round 0, unmeasured: until a round (or initial_reward) has measured the acceptance, the model's
  guess may be far off, so round 0 is also sized to leave room for generating n / ROUND0_ACCEPTANCE
  samples (1 in 100 kept; the model's own guess when lower). Budgets too small for one batch at
  that acceptance get no round 0 (next_round says None): pass initial_reward to size it from that.
* the bound, exactly: a loop that generates until n are kept passes the budget in a round
  exactly when that round's acceptance (kept / generated) is below acceptance_floor =
  n / generation_cap, and then by c_g times its excess over the cap. From round 1 on the floor
  sits reserve_sd sd below the acceptance just measured, so this is rare; round 0's floor is
  at most ROUND0_ACCEPTANCE (or the acceptance initial_reward gives), so a loop ignoring the cap
  whose acceptance alpha_0 in round 0 is lower spends about budget x ROUND0_ACCEPTANCE / alpha_0
  (no sizing that asks for one sample can bound a loop whose acceptance goes to 0). Stated bound,
  tested on 300 random problems with a wrong model and no initial_reward (tests/planner/test_advisor.py):
  spent <= OVERSPEND_FACTOR x budget x max(1, ROUND0_ACCEPTANCE / alpha_0). The reserve costs about
  reserve_sd sd of the last round's generation; on a budget that pays for only a round or two of
  high-variance generation it can leave nothing affordable, and a smaller reserve_sd is the remedy
  (a loop honouring the cap is safe at any value).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from planner.costs import CostModel
from planner.problem import Outcome
from planner.rounds import RoundRecord

ROUND0_ACCEPTANCE = 0.01  # the lowest acceptance (kept / generated) an unmeasured round is sized for
OVERSPEND_FACTOR = 3.0  # a loop ignoring the cap spends at most this x budget x max(1, ROUND0_ACCEPTANCE / alpha_0)


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


def least_generated(n: int, costs: CostModel, history: Sequence[RoundRecord], initial: dict | None) -> float:
    """Samples an unmeasured round of n kept must leave room to generate: n / ROUND0_ACCEPTANCE under
    proportional selection until a round has kept samples or initial_reward is given, else 0."""
    measured = initial is not None or any(r.kept > 0 for r in history)
    return 0.0 if costs.selection == "fixed" or measured else n / ROUND0_ACCEPTANCE


def round_size(planned: int, batch: int, needed: Callable[[int], float], cap: Callable[[int], int]) -> int | None:
    """The most whole batches, up to planned, whose needed generation (samples) fits under the cap
    for that many kept; None if not one batch does."""
    low, high = 0, planned // batch
    while low < high:  # fitting is monotone in n: bisect on the number of batches
        mid = (low + high + 1) // 2
        fits = needed(mid * batch) <= cap(mid * batch)
        low, high = (mid, high) if fits else (low, mid - 1)
    return low * batch if low else None
