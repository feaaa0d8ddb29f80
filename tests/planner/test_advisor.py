"""planner.Advisor: the README's loop, the engine's schedule for the same
history, input checks, checkpoints, and the generation cap."""
from __future__ import annotations

import copy
import dataclasses
import json
import math
import random
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ncx2

from bootstrapper.cli.session import Session
from bootstrapper.tasks.gaussian import GaussianConfig, GaussianTask
from planner import Advisor
from planner.advisor_sizing import OVERSPEND_FACTOR, ROUND0_ACCEPTANCE
from planner.costs import CostModel
from planner.models import GaussianModel, SurrogateModel
from planner.plan import recommend
from planner.problem import Problem
from planner.validate import InputError
from tests.conftest import ROOT, needs
from tests.damage import damaged_value
from tests.planner.helpers import GaussianLoop

SECTION = "## In your own loop: the Advisor"


def readme_snippet() -> str:
    """The python block of the README's Advisor section, exactly as written there."""
    section = (ROOT / "README.md").read_text().split(SECTION, 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python quick\n(.*?)```", section, re.S).group(1)


def drive(advisor: Advisor, loop: GaussianLoop, honour: bool = True) -> list[float]:
    """Run the loop to the end; returns each round's forecast sd of the generated count."""
    spreads = []
    while (n := advisor.next_round()) is not None:
        spreads.append(advisor.generation_forecast[1])
        kept, generated = loop.generate_and_filter(n, advisor.generation_cap if honour else None)
        loop.finetune(kept)
        advisor.record(kept=len(kept), generated=generated, reward=loop.evaluate())
    return spreads


def trained(advisor: Advisor) -> tuple[int, ...]:
    """Samples kept in each round that trained (a round that kept nothing changed nothing)."""
    return tuple(r["kept"] for r in advisor.history if r["kept"] > 0)


def lowest_reward(model: GaussianModel, n: tuple[int, ...], p: float) -> float:
    """The reward the schedule n ends below with probability p: theta_T ~ N(m, v) exactly."""
    m, v = (a[-1] for a in model.moments(np.array(n, dtype=float)))
    theta = math.sqrt(v * ncx2.ppf(1 - p, 1, m**2 / v))
    return float(model.reward_at(theta))


# ---- (a) the README's loop, literally ---------------------------------------------------------

def test_readme_loop_spends_the_budget_and_ends_in_the_predicted_band():
    """The README's snippet, run as written (a Gaussian generator N(theta, 1) with reward
    exp(-x^2 / 2), the model the default plan assumes; rewards only, so the advisor refits the
    surrogate): it spends 95-100 % of the budget, never more, and ends above the reward that the
    exact model says the plan's schedule ends below with probability 0.001. (Rewards alone rarely
    pin the surrogate down, so the advisor keeps the plan; the mean over 200 seeds, with and
    without replanning, is the next test.)"""
    printed = []
    scope = {"print": printed.append}
    exec(compile(readme_snippet(), "README.md", "exec"), scope)
    advisor, model = scope["advisor"], scope["advisor"].plan.problem.model
    assert 0.95 * advisor.budget <= advisor.spent <= advisor.budget
    assert model.reward_at(scope["theta"]) >= lowest_reward(model, advisor.plan.schedule.n, 0.001)
    assert "spent" in printed[0] and "fitted model" in printed[0]


@pytest.mark.parametrize("replan", [False, True])
def test_mean_final_gap_matches_the_prediction_over_200_seeds(replan):
    """With the right model the advisor runs the plan (its last round cut by the reserve), and
    replanning from rewards alone must not lead it astray (a refit from a few noisy rounds used to
    restart ramps of tiny rounds: 4-7x the planned gap): over 200 seeds the mean measured final
    gap is within 3 standard errors of the exact prediction for the rounds actually kept, which
    is within 2 % of the plan's (measured 1.1 % above it with replanning)."""
    base = Advisor(budget=2e4, replan=replan)
    model = base.plan.problem.model
    measured, predicted = [], []
    for seed in range(200):
        advisor, loop = copy.deepcopy(base), GaussianLoop(seed)
        drive(advisor, loop)
        assert advisor.spent <= advisor.budget
        measured.append(model.r_star - loop.evaluate())
        predicted.append(model.r_star - model.trajectory(np.array(trained(advisor)))[-1])
    se = np.std(measured, ddof=1) / math.sqrt(len(measured))
    assert abs(np.mean(measured) - np.mean(predicted)) < 3 * se, (np.mean(measured), np.mean(predicted), se)
    assert np.mean(predicted) == pytest.approx(base.plan.gap, rel=0.02)


# ---- (b) one code path with the engine -------------------------------------------------------

def test_engine_and_advisor_give_the_same_schedule_for_the_same_history(tmp_path):
    """`plan execute --replan` on a task the plan's model gets wrong (sigma 1.5, planned for 1),
    then its round log fed to an Advisor: after every round both plan the same rounds with the
    same fit, and the advisor asks for the sizes the engine ran."""
    problem = dict(budget=2e4, cg=1.0, ct=3.0, cost_per_round=20.0)
    plan = recommend(Problem(GaussianModel(), CostModel(1.0, 3.0, 20.0), 2e4), task="gaussian")
    session = Session.open(plan.to_json(), None, str(tmp_path / "run"), 3, ["sigma=1.5"], None, replanning=True)
    history = session.run(progress=False)
    initial = session.run_dir.run_config().initial
    advisor = Advisor(**problem, initial_reward=initial["reward"], initial_metrics=initial)
    assert advisor.schedule == plan.schedule.n
    assert any(r["replan"]["refit"] for r in history) and any(r["schedule"] != list(plan.schedule.n[r["round"] + 1:])
                                                              for r in history)
    for record in history:
        asked = advisor.next_round()  # the last round may be cut by the reserve, which the engine does not need
        assert asked == record["n"] if record is not history[-1] else asked <= record["n"]
        advisor.record(kept=record["kept"], generated=record["generated"], reward=record["reward"],
                       metrics=record["metrics"])
        assert list(advisor.schedule) == record["schedule"]
        assert advisor.history[-1]["replan"] == record["replan"]
        assert advisor.spent == record["spent"]


def test_generation_reward_defaults_to_the_acceptance_under_proportional_selection():
    """record() without generation_reward logs kept / generated with its binomial SE (proportional
    selection keeps each sample with probability equal to its reward), none under a fixed ratio;
    a round need not be evaluated (reward None), and a given generation reward is kept as given."""
    advisor = Advisor(budget=2e4, max_rounds=6)
    advisor.next_round()
    advisor.record(kept=20, generated=80, reward=None)
    entry = advisor.history[-1]
    assert (entry["reward"], entry["metrics"], entry["generation_reward"]) == (None, {}, 0.25)
    assert entry["generation_reward_se"] == pytest.approx(math.sqrt(0.25 * 0.75 / 80))
    advisor.next_round()
    advisor.record(kept=20, generated=50, reward=0.5, generation_reward=0.37, generation_reward_se=0.02)
    assert (advisor.history[-1]["generation_reward"], advisor.history[-1]["generation_reward_se"]) == (0.37, 0.02)
    fixed = Advisor(budget=2e4, max_rounds=6, selection="fixed", ratio=4.0)
    fixed.next_round()
    fixed.record(kept=5, generated=20, reward=0.4)
    assert fixed.history[-1]["generation_reward"] is None


# ---- (c) input checks ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def advisor() -> Advisor:
    return Advisor(budget=2e3, max_rounds=6)


@pytest.mark.parametrize("kwargs, named", [
    (dict(kept=-1, generated=5, reward=0.5), "kept.*-1"),
    (dict(kept=2, generated=-5, reward=0.5), "generated.*-5"),
    (dict(kept=8, generated=5, reward=0.5), "generated=5.*kept=8"),
    (dict(kept=2.5, generated=5, reward=0.5), "kept.*2.5"),
    (dict(kept=True, generated=5, reward=0.5), "kept.*True"),
    (dict(kept=2, generated=5, reward=1.5), "reward.*1.5"),
    (dict(kept=2, generated=5, reward=-0.1), "reward.*-0.1"),
    (dict(kept=2, generated=5, reward=math.nan), "reward.*nan"),
    (dict(kept=2, generated=5, reward="0.5"), "reward.*'0.5'"),
    (dict(kept=2, generated=5, reward=0.5, metrics={"theta": math.inf}), "theta.*inf"),
    (dict(kept=2, generated=5, reward=0.5, metrics={"reward": 0.4}), "0.4"),
    (dict(kept=2, generated=5, reward=0.5, seconds_generating=1.0), "together"),
    (dict(kept=2, generated=5, reward=0.5, seconds_generating=math.nan, seconds_training=1.0),
     "seconds_generating.*nan"),
    (dict(kept=2, generated=5, reward=0.5, seconds_generating=1.0, seconds_training=-2.0), "seconds_training.*-2"),
    (dict(kept=2, generated=10**30, reward=0.5), r"generated.*2\^53.*10{30}"),
    (dict(kept=2, generated=True, reward=0.5), "generated.*True"),
    (dict(kept=2, generated=5, reward=True), "reward.*True"),
    (dict(kept=2, generated=5, reward=0.5, generation_reward=1.5), "generation_reward.*1.5"),
    (dict(kept=2, generated=5, reward=0.5, generation_reward=0.4, generation_reward_se=-1.0),
     "generation_reward_se.*-1"),
    (dict(kept=2, generated=5, reward=0.5, generation_reward_se=0.1), "generation_reward_se needs"),
    (dict(kept=2, generated=5, reward=None, metrics={"theta": 1.0}), "metrics are held-out"),
    (dict(kept=2, generated=5, reward=0.5, seconds_generating=1e308, seconds_training=1.0),
     "seconds_generating must be a number of seconds from 0 to 1e.09, got 1e.308"),
    (dict(kept=2, generated=5, reward=0.5, seconds_generating=1.0, seconds_training=10**400), "seconds_training"),
    (dict(kept=2, generated=10**400, reward=0.5), "generated"),
])
def test_record_refuses_bad_input_naming_the_value(advisor, kwargs, named):
    """Each bad value raises ValueError naming it, and nothing is recorded."""
    before = advisor.state_dict()
    with pytest.raises(ValueError, match=named):
        advisor.record(**kwargs)
    assert advisor.state_dict() == before


@pytest.mark.parametrize("kwargs, named", [
    (dict(budget=-1.0), "budget.*-1"), (dict(budget=math.nan), "budget.*nan"), (dict(budget=2.0), "budget 2"),
    (dict(cg=-1.0), "cg.*-1"), (dict(ct=math.inf), "ct.*inf"), (dict(cost_per_round=-3.0), "-3"),
    (dict(selection="best"), "'best'"), (dict(selection="fixed", ratio=0.5), "ratio.*0.5"),
    (dict(batch=0), "batch.*0"), (dict(max_rounds=0), "max_rounds.*0"), (dict(model=3), "model.*3"),
    (dict(model="/no/such/model.json"), "/no/such/model.json"), (dict(replan="yes"), "replan.*'yes'"),
    (dict(reserve_sd=-1.0), "reserve_sd.*-1"), (dict(initial_reward=2.0), "initial_reward.*2.0"),
    (dict(budget=1e308), "budget 1e.308.*2.53"), (dict(budget=1e20), "budget 1e.20.*2.53"),
    (dict(budget=True), "budget.*True"), (dict(cg=True), "cg.*True"), (dict(batch=True), "batch.*True"),
    (dict(max_rounds=True), "max_rounds.*True"), (dict(reserve_sd=True), "reserve_sd.*True"),
    (dict(model=SurrogateModel(0.9, 0.6, 1e-9, 0.2, 50.0), budget=1e9), "floating-point precision"),
    (dict(budget=10**400), "budget must be a finite number > 0"), (dict(cg=10**400), "cg"),
])
def test_constructor_refuses_bad_settings_naming_the_value(kwargs, named):
    with pytest.raises(InputError, match=named):
        Advisor(**kwargs)


def test_seconds_must_be_given_for_every_round_or_none(advisor):
    timed, untimed = copy.deepcopy(advisor), copy.deepcopy(advisor)
    timed.record(kept=1, generated=10, reward=0.2, seconds_generating=1.0, seconds_training=0.5)
    with pytest.raises(ValueError, match="every round or none"):
        timed.record(kept=1, generated=10, reward=0.2)
    untimed.record(kept=1, generated=10, reward=0.2)
    with pytest.raises(ValueError, match="every round or none"):
        untimed.record(kept=1, generated=10, reward=0.2, seconds_generating=1.0, seconds_training=0.5)


def test_measured_seconds_replace_the_given_costs():
    """Timed rounds are charged their seconds plus cost_per_round, and cg / ct become the
    measured seconds per generated / kept sample, pooled over rounds; the cap follows them."""
    advisor = Advisor(budget=600.0, cg=0.1, ct=0.3, cost_per_round=2.0, replan=False)
    advisor.next_round()
    advisor.record(kept=4, generated=40, reward=0.1, seconds_generating=8.0, seconds_training=2.0)
    advisor.record(kept=16, generated=60, reward=0.3, seconds_generating=12.0, seconds_training=8.0)
    assert advisor.spent == pytest.approx(8 + 2 + 2 + 12 + 8 + 2)
    assert (advisor.costs.cg, advisor.costs.ct) == pytest.approx((20 / 100, 10 / 20))
    resolved = recommend(dataclasses.replace(advisor.plan.problem, costs=advisor.costs))
    assert advisor.schedule == resolved.schedule.n[2:]  # the plan re-solved at the measured prices
    n = advisor.next_round()
    assert advisor.generation_cap == math.floor((600 - advisor.spent - 0.5 * n - 2.0) / 0.2)
    assert advisor.summary()["unit"] == "seconds"


# ---- (d) checkpoints ---------------------------------------------------------------------------

def test_state_dict_round_trip_mid_run_continues_identically():
    """A JSON round-trip of state_dict() after 4 rounds, loaded into a fresh advisor: both then ask
    for the same rounds, caps and schedules to the end, given the same outcomes."""
    original = Advisor(budget=5e3, cost_per_round=20.0, max_rounds=10, initial_reward=GaussianLoop(0).evaluate())
    loop = GaussianLoop(0)
    for _ in range(4):
        kept, generated = loop.generate_and_filter(original.next_round(), original.generation_cap)
        loop.finetune(kept)
        original.record(kept=len(kept), generated=generated, reward=loop.evaluate())
    restored = Advisor(budget=1e3)
    restored.load_state_dict(json.loads(json.dumps(original.state_dict())))
    assert restored.state_dict() == original.state_dict()
    while (n := original.next_round()) is not None:
        assert (restored.next_round(), restored.generation_cap) == (n, original.generation_cap)
        kept, generated = loop.generate_and_filter(n, original.generation_cap)
        loop.finetune(kept)
        for a in (original, restored):
            a.record(kept=len(kept), generated=generated, reward=loop.evaluate())
        assert restored.schedule == original.schedule
    assert restored.next_round() is None
    assert any(r["replan"]["refit"] for r in restored.history[4:])  # the restored advisor refitted too
    assert restored.state_dict() == original.state_dict() and restored.report() == original.report()


def test_load_state_dict_refuses_what_is_not_one(advisor):
    with pytest.raises(InputError, match="state_dict"):
        copy.deepcopy(advisor).load_state_dict({"format": 99})


def _drop(key):
    return lambda s: s["history"][0].pop(key)


@pytest.mark.parametrize("damage, named", [
    (_drop("kept"), "history entry 1 lacks kept"), (_drop("seconds"), "history entry 1 lacks seconds"),
    (lambda s: s["history"][0].update(reward=5), "entry 1: reward"),
    (lambda s: s["history"][0].update(generated=10**30), "entry 1: generated"),
    (lambda s: s["history"][1].update(round=0), "entry 2 is round 0, not 1"),
    (lambda s: s["history"].reverse(), "entry 1 is round 1, not 0"),
    (lambda s: s.update(spent=-1e9), "spent -1000000000.0"), (lambda s: s.pop("schedule"), "lacks schedule"),
    (lambda s: s.update(schedule=[4, "8"]), "schedule entry"), (lambda s: s.update(asked=-1), "asked"),
    (lambda s: s.update(replan="yes"), "replan"), (lambda s: s.update(history={}), "history must be a list"),
    (lambda s: s.update(initial={"reward": 3.0}), "initial metrics"),
    (lambda s: s["plan"].pop("budget"), "problem description is malformed"),
    (lambda s: s["plan"].update(budget=1e308), "budget 1e.308"),
    (lambda s: s["plan"]["schedule"][0].update(n=1e20), "schedule n"),
    (lambda s: s.update(schedule=[1] * 5000), "5000 planned, more than its plan's max_rounds 6"),
    (lambda s: [r.update(spent=r["spent"] + 50) for r in s["history"]] and s.update(spent=s["spent"] + 50),
     "entry 1 has spent"),
    (lambda s: s.update(asked=10**6), "asked"),
])
def test_a_damaged_state_dict_is_one_sentence_and_changes_nothing(advisor, damage, named):
    """A state_dict with a history entry missing a key, a wrong value, rounds out of order, a spent
    that is not the history's...: ValueError naming it, and the advisor is left as it was."""
    source = copy.deepcopy(advisor)
    for kept in (2, 3):
        source.next_round()
        source.record(kept=kept, generated=4 * kept, reward=0.2)
    state = json.loads(json.dumps(source.state_dict()))
    damage(state)
    before = advisor.state_dict()
    with pytest.raises(InputError, match=named):
        advisor.load_state_dict(state)
    assert advisor.state_dict() == before


def test_randomly_damaged_state_dicts_load_cleanly_or_are_one_sentence(advisor):
    """300 seeded damages of a state_dict (odd types, 10**400, 1e308, NaN, nesting 100,000 deep, keys
    missing or added): each loads, or is one InputError line that changes nothing."""
    source = copy.deepcopy(advisor)
    for kept in (2, 3):
        source.next_round()
        source.record(kept=kept, generated=4 * kept, reward=0.2)
    state, rng = source.state_dict(), random.Random(0)
    refused = 0
    for _ in range(300):
        target = copy.deepcopy(advisor)
        before = target.state_dict()
        try:
            target.load_state_dict(damaged_value(state, rng))
        except InputError as e:
            refused += 1
            assert "\n" not in str(e) and target.state_dict() == before
        else:
            target.next_round()  # what a loaded advisor does next works
    assert refused >= 150


# ---- (e) the generation cap ------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(budget=st.floats(50, 5e4), cg=st.sampled_from([0.0, 0.3, 1.0, 4.0]), ct=st.floats(0.5, 5),
       cost_per_round=st.sampled_from([0.0, 5.0]), fixed=st.booleans(), batch=st.sampled_from([1, 4]),
       replan=st.booleans(), acceptance=st.lists(st.floats(0.01, 1.0), min_size=1, max_size=8), seed=st.integers(0, 99))
def test_a_loop_honouring_the_cap_never_overspends(budget, cg, ct, cost_per_round, fixed, batch, replan, acceptance,
                                                   seed):
    """Whatever the true acceptance rates (unrelated to the plan's model), a loop that stops
    generating at the cap never spends more than the budget, and every round is paid for."""
    rng = np.random.default_rng(seed)
    selection = dict(selection="fixed", ratio=3.0) if fixed else {}
    try:
        advisor = Advisor(budget=budget, cg=cg, ct=ct, cost_per_round=cost_per_round, batch=batch, max_rounds=6,
                          replan=replan, **selection)
    except InputError:  # too small a budget for one round: refused, nothing to check
        return
    for t in range(12):
        n = advisor.next_round()
        if n is None:
            break
        cap, alpha = advisor.generation_cap, acceptance[t % len(acceptance)]
        assert n >= batch and n % batch == 0 and cap >= n
        needed = math.ceil(3.0 * n) if fixed else n + int(rng.negative_binomial(n, alpha))
        generated = min(needed, cap)
        kept = n if generated == needed else min(n - 1, int(rng.binomial(generated, alpha)))
        advisor.record(kept=kept, generated=generated, reward=min(1.0, alpha * (1 + t) / 4))
        assert advisor.spent <= advisor.budget


def random_settings(rng: np.random.Generator) -> dict:
    """A random Advisor problem: budget, costs, c_round, batch and replan on or off."""
    return dict(budget=float(np.exp(rng.uniform(np.log(50), np.log(5e4)))), cg=float(rng.choice([0.3, 1.0, 4.0])),
                ct=float(rng.uniform(0.5, 5)), max_rounds=6, c_round=float(rng.choice([0.0, 5.0])),
                batch=int(rng.choice([1, 4])), replan=bool(rng.integers(2)))


def wrong_generator(rng: np.random.Generator, seed: int) -> GaussianLoop:
    """A loop whose true generator the Advisor's model gets wrong: theta0 in [2, 4.5] and sigma in
    [0.3, 2] drawn at random (acceptance 1e-4 to 0.3 before round 0, where the model says 0.07)."""
    loop = GaussianLoop(seed, sigma=float(rng.uniform(0.3, 2)))
    loop.task = GaussianTask(GaussianConfig(theta0=float(rng.uniform(2, 4.5)), sigma=loop.task.config.sigma))
    loop.state = loop.task.init_state(seed)
    return loop


def ignore_the_cap(advisor: Advisor, loop: GaussianLoop, check_floor: bool = False) -> int:
    """Generate until n are kept whatever the cap, until the advisor stops or the budget is passed;
    with check_floor, a round passes the budget exactly when its acceptance is below acceptance_floor.
    Returns the rounds run."""
    rounds = 0
    while (n := advisor.next_round()) is not None and advisor.spent <= advisor.budget:
        floor = advisor.acceptance_floor
        kept, generated = loop.generate_and_filter(n)
        loop.finetune(kept)
        advisor.record(kept=len(kept), generated=generated, reward=loop.evaluate())
        if check_floor:
            assert (advisor.spent > advisor.budget) == (len(kept) / generated < floor)
        rounds += 1
    return rounds


def test_ignoring_the_cap_passes_the_budget_exactly_below_the_acceptance_floor():
    """Random problems, the Advisor's model wrong, a loop that generates until n are kept whatever
    the cap: a round passes the budget if and only if its acceptance is below acceptance_floor.
    With initial_reward given, round 0 is forecast from it and overspending is rare and small
    (measured: 3 of 295 problems, worst 1.24x)."""
    rng, over, worst, checked = np.random.default_rng(0), 0, 1.0, 0
    for i in range(60):
        settings = random_settings(rng)
        loop = wrong_generator(rng, i)
        try:
            advisor = Advisor(initial_reward=loop.evaluate(), **settings)
        except InputError:  # too small a budget for one round
            continue
        checked += ignore_the_cap(advisor, loop, check_floor=True)
        over += advisor.spent > advisor.budget
        worst = max(worst, advisor.spent / advisor.budget)
    assert checked > 100 and over <= 3 and worst < 1.5, (checked, over, worst)


def test_a_loop_ignoring_the_cap_without_initial_reward_spends_at_most_the_stated_factor():
    """300 loops without initial_reward that generate until n are kept whatever the cap: 100 random
    problems, each run against 3 true generators the model gets wrong (wrong_generator). None spends
    more than OVERSPEND_FACTOR x budget x max(1, ROUND0_ACCEPTANCE / alpha_0), alpha_0 the generator's
    acceptance before round 0 (planner/advisor_sizing.py). Measured: 252 of the 300 ran a round (the rest
    had too small a budget for one batch at ROUND0_ACCEPTANCE), 15 passed the budget (worst 17.5x, at
    alpha_0 = 0.15 %), worst spent / (budget x max(1, ROUND0_ACCEPTANCE / alpha_0)) 2.55 (a round 0 of one
    sample that generated 3.9 times its mean). Sized from the model alone (ROUND0_ACCEPTANCE = 1): 22
    passed it, worst 23x, that ratio 4.2."""
    rng, runs, ran, over, worst, relative = np.random.default_rng(0), 0, 0, 0, 1.0, 0.0
    while runs < 300:
        try:
            base = Advisor(**random_settings(rng))
        except InputError:  # too small a budget for one round
            continue
        for _ in range(3):
            loop, advisor = wrong_generator(rng, runs), copy.deepcopy(base)
            alpha_0 = loop.evaluate()  # the Gaussian task keeps a sample with probability its reward
            ran += ignore_the_cap(advisor, loop) > 0
            runs += 1
            ratio = advisor.spent / advisor.budget
            over, worst = over + (ratio > 1), max(worst, ratio)
            relative = max(relative, ratio / max(1.0, ROUND0_ACCEPTANCE / alpha_0))
    assert ran >= 200 and relative <= OVERSPEND_FACTOR, (ran, over, worst, relative)


def test_a_loop_ignoring_the_cap_overspends_rarely_and_by_less_than_one_round_spread():
    """Loops that generate until n are kept, whatever the cap: over 200 seeded Gaussian runs at
    each budget, at most 1 % pass the budget, and none by more than one standard deviation of
    its last round's generated count (times cg)."""
    for budget in (2e3, 2e4):
        base = Advisor(budget=budget, replan=False)
        over = []
        for seed in range(200):
            advisor = copy.deepcopy(base)
            spreads = drive(advisor, GaussianLoop(seed), honour=False)
            over.append((advisor.spent - budget) / spreads[-1])
        assert np.mean(np.array(over) > 0) <= 0.01, budget
        assert max(over) <= 1.0, budget


# ---- the package stays light, the examples run ------------------------------------------------

def test_importing_planner_loads_no_numpy_until_the_advisor_is_used():
    code = ("import sys, planner; assert 'numpy' not in sys.modules and 'planner.advisor' not in sys.modules; "
            "planner.Advisor; assert 'planner.advisor' in sys.modules")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True).returncode == 0


@pytest.mark.parametrize("example", ["plain_loop.py", "trainer_rejection_sampling.py"])
def test_examples_have_help(example):
    done = subprocess.run([sys.executable, str(ROOT / "examples" / example), "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "--budget" in done.stdout, done.stderr


def test_plain_loop_example_runs_end_to_end(tmp_path):
    """The PyTorch example on a small budget: finishes, reports, and stays within the budget."""
    needs("torch")
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "plain_loop.py"), "--budget", "3e3", "--cr", "10",
                           "--state", str(tmp_path / "advisor.json")], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    state = json.loads((tmp_path / "advisor.json").read_text())["advisor"]
    assert state["history"] and state["spent"] <= 3e3
    assert "spendwise advisor" in done.stdout


def test_plain_loop_example_with_its_defaults_spends_its_budget_and_prints_no_negative_gap():
    """Its fits from rounds of 1-2 samples underestimate r*: a stop is taken only when every model the
    fit's intervals allow agrees (it stopped at 63 % of the budget on a point estimate), and a
    measured reward above the fit's r* is said in words, not printed as a negative gap."""
    needs("torch")
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "plain_loop.py")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    share = float(re.search(r"spent [\d,.]+ of [\d,.]+ cost units \(([\d.]+) %\)", done.stdout).group(1))
    assert share >= 95 or "stopping with" in done.stdout, done.stdout
    assert not re.search(r"(gap|regret)[^\n]*= -|regret -", done.stdout), done.stdout


def test_record_logs_the_steps_it_is_told_or_derives_them_from_the_train_batch():
    advisor = Advisor(budget=2e3, train_batch=4)
    n = advisor.next_round()
    advisor.record(kept=n, generated=n + 5, reward=0.5)
    advisor.record(kept=advisor.next_round(), generated=50, reward=0.6, steps=7)
    assert [r.steps for r in advisor.history] == [math.ceil(n / 4), 7]
    plain = Advisor(budget=2e3)
    plain.record(kept=plain.next_round(), generated=20, reward=0.5)
    assert plain.history[0].steps is None
    with pytest.raises(InputError, match="train_batch"):
        Advisor(budget=2e3, train_batch=0)
    with pytest.raises(InputError, match="steps"):
        advisor.record(kept=1, generated=1, reward=0.5, steps=-1)
