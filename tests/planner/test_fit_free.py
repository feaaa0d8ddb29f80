"""Fitting from the free generation readings (mean score of each round's generated samples) where
held-out evaluations are sparse: coverage on simulated logs, the paired offset, the restart state."""
from __future__ import annotations

import math

import numpy as np
import pytest

from planner.costs import CostModel
from planner.fit import Observations, restart_model
from planner.models import SurrogateModel
from planner.plan import recommend
from planner.problem import Problem
from planner.replan import replan
from tests.planner.helpers import interval_hits

TRUTH = SurrogateModel(0.8, 0.6, 0.5, 0.05, 1.0)
VARIED_N = [10, 20, 15, 40, 25, 80, 50, 160, 100, 320, 200, 640, 400, 1280]


def simulated_log(seed: int, eval_every: int, offset: float = 0.0, n: list[int] = VARIED_N) -> tuple[list[dict], dict]:
    """A run's records as the engine writes them: the gap moves as TRUTH says with the fit's noise law;
    each round generates n_t / r_t samples whose mean score reads r_t - offset (binomial); held-out
    evaluations (exact) after every eval_every-th round and the last, null otherwise."""
    rng, gap = np.random.default_rng(seed), TRUTH.g0
    records = []
    for t, k in enumerate(n):
        r = TRUTH.r_star - gap
        generated = max(int(round(k / r)), k)
        reading = rng.binomial(generated, r - offset) / generated
        push = TRUTH.b / k
        gap = max(TRUTH.a * gap + push + rng.normal(0, math.sqrt(2 * push * (2 * TRUTH.a * gap + push))), 0.0)
        evaluated = (t + 1) % eval_every == 0 or t == len(n) - 1
        records.append({"round": t, "n": k, "kept": k, "generated": generated,
                        "generation_reward": reading,
                        "generation_reward_se": math.sqrt(reading * (1 - reading) / generated),
                        "reward": TRUTH.r_star - gap if evaluated else None,
                        "metrics": {"reward": TRUTH.r_star - gap} if evaluated else {}})
    return records, {"reward": TRUTH.r_star - TRUTH.g0}


def hits(runs: int, eval_every: int, offset: float = 0.0) -> dict:
    """How many of `runs` simulated logs' fits hold each true parameter in its 95 % interval."""
    logs = (Observations.from_log(*simulated_log(seed, eval_every, offset)) for seed in range(runs))
    return interval_hits(logs, TRUTH, ("r_star", "a", "b"))


def test_generation_readings_alone_recover_the_surrogate():
    """Held-out evaluation only after the last round: the fit on the generation readings (their
    sampling error weighted and corrected for in the regressor) covers r*, a and b in >= 70 % of 100
    runs (measured 152, 172 and 178 of 200; held-out after every round: 172, 169, 177)."""
    counts = hits(100, eval_every=100)
    assert min(counts.values()) >= 70, counts


def test_an_offset_between_the_readings_is_taken_out_by_their_pairs():
    """Generation readings 0.1 below the held-out reward (as sampling at a temperature reads below
    greedy accuracy): with an evaluation every 3rd round, the paired offset puts r* back on the
    held-out scale (measured coverage 161 of 200); with no pair to estimate it from, r* is off by
    the offset (49 of 200)."""
    paired, blind = hits(100, eval_every=3, offset=0.1), hits(100, eval_every=100, offset=0.1)
    assert paired["r_star"] >= 70 and paired["r_star"] > 2 * blind["r_star"], (paired, blind)


def test_a_transition_reads_held_out_where_it_can_and_the_next_generation_reading_elsewhere():
    records, initial = simulated_log(0, eval_every=3, offset=0.1, n=[10, 20, 15, 40, 25])
    obs = Observations.from_log(records, initial)
    gen = [r["generation_reward"] for r in records]
    offset = records[2]["reward"] - gen[3]  # the one pair: round 2's evaluation and round 3's generation
    assert obs.after[0] == pytest.approx(gen[1] + offset) and obs.after[2] == records[2]["reward"]
    assert obs.after_var[0] == pytest.approx(records[1]["generation_reward_se"] ** 2) and obs.after_var[2] == 0
    assert list(obs.before[1:]) == list(obs.after[:-1]) and obs.before_var[0] == 0  # round 0 starts held-out
    assert obs.pending is None  # the last round is always evaluated
    cut = Observations.from_log(records[:4], initial)  # round 3 not evaluated: its model not read yet
    before, n = cut.pending
    assert n == 40 and before == pytest.approx(cut.after[-1]) and len(cut.n) == 3
    restarted = restart_model(TRUTH, cut)
    assert TRUTH.r_star - restarted.g0 == pytest.approx(
        TRUTH.r_star - (TRUTH.a * (TRUTH.r_star - before) + TRUTH.b / 40))


def test_replanning_after_a_round_without_evaluation_refits_from_the_free_readings():
    """Round 12 of an eval-every-3 log was not evaluated: the refit still runs, on the 12 transitions
    the readings close (round 12's model is not read yet), instead of waiting for an evaluation."""
    records, initial = simulated_log(1, eval_every=3)
    plan = recommend(Problem(TRUTH, CostModel(1.0, 3.0), 2e4))
    update = replan(plan, records[:13], 1e4, initial, "surrogate")
    assert update.note["refit"] and update.note["fit"]["rounds"] == 12, update.note
