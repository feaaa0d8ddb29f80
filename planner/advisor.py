"""The Advisor: spendwise inside your own generate / filter / fine-tune loop.

    advisor = Advisor(budget=2e5, cg=1.0, ct=3.0)
    while (n := advisor.next_round()) is not None:    # keep n samples this round, generating
        ...                                           # at most advisor.generation_cap
        advisor.record(kept=..., generated=..., reward=...)

It holds the plan, the ledger (planner/ledger.py: the engine's, so both price rounds alike) and
the round log (records in the engine's rounds.jsonl format). After every recorded round it
refits and replans with `planner.replan.replan`, the function behind `plan execute --replan`,
so the Advisor and the engine give the same schedule for the same history.

The engine stops generating the moment its ledger would pass the budget; a user's loop is not
ours to stop, so each round comes with a cap (generation_cap), and the round is sized so the cap
rarely binds (planner/advisor_sizing.py: the reserve, and exactly when a loop passes the budget).
Until a round (or initial_reward) has measured the acceptance, round 0 is also sized for an
acceptance of 1 % (ROUND0_ACCEPTANCE, or the model's when lower), so that a loop ignoring the cap
spends at most 3x (OVERSPEND_FACTOR) budget x max(1, 1 % / alpha_0), alpha_0 its true acceptance in
round 0 (a tail bound: a round 0 of one sample generates a geometric count). Measured on 300
random cap-ignoring loops with a wrong model and no initial_reward: 15 passed the budget (worst
17.5x, at alpha_0 = 0.15 %), the worst at 2.55x budget x max(1, 1 % / alpha_0) (sized from the model
alone: 22, worst 23x, 4.2x). Budgets too small for one batch at 1 % acceptance get no round unless
initial_reward is given (48 of the 300).

Measured seconds: pass seconds_generating and seconds_training to every record() (or to none).
Then the budget and c_round are seconds, cg and ct are guesses of seconds per generated
and per kept sample until a round has measured them, and from then on they are the measured
rates (total seconds generating / samples generated, total seconds training / samples kept, over
every round so far): a round is charged its measured seconds plus c_round, the plan is
re-solved at those rates before replanning (as `plan execute --calibrate` re-solves it), and the
cap is in samples at those rates, so a round running slower than the ones before can pass it.
"""
from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping

import planner.replan as replanning
from planner.advisor_inputs import checked_metrics, checked_seconds, reward_model
from planner.advisor_report import report, summarize
from planner.advisor_sizing import forecast, least_generated, round_size
from planner.advisor_state import AdvisorState
from planner.costs import CostModel
from planner.ledger import Ledger
from planner.limits import check_plan, check_scale
from planner.models import RewardModel
from planner.plan import Plan, recommend
from planner.problem import Problem
from planner.rounds import RoundRecord
from planner.trackers import RoundLogger, hyperparameters, parse_log_with
from planner.validate import (
    InputError,
    check_count,
    check_positive,
    check_unit,
    is_int,
)


class Advisor:
    """How many samples to keep in each round of your own loop so the budget is spent best."""

    def __init__(self, budget: float = 2e5, cg: float = 1.0, ct: float = 3.0, c_round: float = 0.0,
                 model: RewardModel | str | os.PathLike | None = None, selection: str = "proportional",
                 ratio: float = 1.0, batch: int = 1, max_rounds: int = 40, replan: bool = True,
                 reserve_sd: float = 3.0, initial_reward: float | None = None,
                 initial_metrics: Mapping[str, float] | None = None, log_with: str | list[str] | None = None,
                 log_dir: str | os.PathLike | None = None, cost_per_round: float | None = None,
                 train_batch: int | None = None) -> None:
        """budget in cost units (or seconds, see the module doc); cg / ct per generated / kept
        sample; c_round per round (cost_per_round: its old name); model: a RewardModel or a model
        file (default: the planner's Gaussian warm-up); initial_reward / initial_metrics: your evaluation before
        round 0 (optional; the refit uses it, as the engine uses run.json's); log_with / log_dir: the
        trackers every recorded round goes to and the folder for their files (planner/trackers.py);
        train_batch: samples per optimizer step of your training, from which a round's steps are
        derived when record() is not told them (not part of the state_dict: pass it again on resume)."""
        trackers = parse_log_with(log_with, "log_with", log_dir)
        if not isinstance(replan, bool):
            raise InputError(f"replan must be True or False, got {replan!r}")
        check_positive("reserve_sd", reserve_sd, allow_zero=True)
        for name, value in (("batch", batch), ("max_rounds", max_rounds)):
            if isinstance(value, bool):
                raise InputError(f"{name} must be a whole number, got {value!r}")
        if cost_per_round is not None:
            if c_round:
                raise InputError("give c_round, or its old name cost_per_round, not both")
            c_round = cost_per_round
        costs = CostModel(cg, ct, c_round, selection, ratio)
        check_positive("budget", budget)
        check_scale(budget, costs)
        problem = Problem(reward_model(model), costs, budget, batch, max_rounds)
        initial = None
        if initial_reward is not None or initial_metrics is not None:
            if initial_reward is None:
                raise InputError("initial_metrics need initial_reward as well")
            initial = checked_metrics(initial_metrics, check_unit("initial_reward", initial_reward), "initial_metrics")
        if train_batch is not None and (isinstance(train_batch, bool) or not is_int(train_batch) or train_batch < 1):
            raise InputError(f"train_batch must be a whole number >= 1, got {train_batch!r}")
        self.train_batch = train_batch
        self.plan: Plan = recommend(problem)  # the plan for the whole budget, as `plan` prints it
        check_plan(self.plan)
        self.replanning = replan
        self.reserve_sd = float(reserve_sd)
        self.initial: dict[str, float] | None = initial
        self.history: list[RoundRecord] = []  # one record per round, as the engine's rounds.jsonl
        self.ledger = Ledger(budget, costs)  # cost units (seconds once rounds are timed)
        self.schedule: tuple[int, ...] = self.plan.schedule.n  # kept sizes planned from this round on
        self._asked: int | None = None
        config = lambda: hyperparameters(self.plan, replan=self.replanning, reserve_sd=self.reserve_sd,
                                         initial=self.initial)
        self._logger = RoundLogger(trackers, log_dir, lambda: self.plan, config, keep=0) if trackers else None

    @property
    def budget(self) -> float:
        return self.plan.problem.budget

    @property
    def spent(self) -> float:
        """Cost units (seconds once rounds are timed) spent so far."""
        return self.ledger.spent

    @property
    def timed(self) -> bool:
        """True once rounds carry measured seconds: costs and budget are then seconds."""
        return any(r.seconds is not None for r in self.history)

    @property
    def costs(self) -> CostModel:
        """The prices in force: the given ones, with cg / ct replaced by measured seconds per sample."""
        given = self.plan.problem.costs
        timed = [r for r in self.history if r.seconds is not None]
        rates = {}
        for price, key, count in (("cg", "generate", "generated"), ("ct", "train", "kept")):
            seconds, samples = sum(r.seconds[key] for r in timed), sum(getattr(r, count) for r in timed)
            if seconds > 0 and samples > 0:
                rates[price] = seconds / samples
        return dataclasses.replace(given, **rates)

    # ---- the loop ----------------------------------------------------------------------------

    def next_round(self) -> int | None:
        """Samples to keep in this round, or None to stop; sets generation_cap (samples)."""
        self._asked = self._sized(self.schedule[0]) if self.schedule else None
        if self._asked is None and self._logger:  # the loop is over: finish the tracker runs
            self._logger.close()
        return self._asked

    @property
    def generation_cap(self) -> int | None:
        """Most samples this round may generate within the budget (None before next_round or after it said stop)."""
        return None if self._asked is None else self.ledger.generation_cap(self._asked)

    @property
    def acceptance_floor(self) -> float | None:
        """The lowest acceptance (kept / generated) at which this round's n fit under generation_cap: a loop
        that generates until n are kept passes the budget in this round exactly when its acceptance is lower."""
        return None if self._asked is None else self._asked / max(self.ledger.generation_cap(self._asked), 1)

    @property
    def generation_forecast(self) -> tuple[float, float] | None:
        """Expected samples this round will generate and their standard deviation (the round's spread)."""
        return None if self._asked is None else self._forecast(self._asked)

    def record(self, *, kept: int, generated: int, reward: float | None, seconds_generating: float | None = None,
               seconds_training: float | None = None, metrics: Mapping[str, float] | None = None,
               generation_reward: float | None = None, generation_reward_se: float | None = None,
               steps: int | None = None) -> None:
        """Log a finished round (counts in samples, rewards in [0, 1], seconds of wall time), charge
        it to the ledger, then refit and replan the rounds left. reward is your held-out evaluation
        after the round (None if you did not evaluate); generation_reward is the mean reward of the
        samples the round generated (read on the model before its training, at no extra cost) with
        its standard error; under proportional selection it defaults to kept / generated, with the
        binomial SE (a slight underestimate: rounds stop at their n kept); steps are the optimizer steps
        the round's training ran (default: derived from train_batch if the Advisor was given one)."""
        kept, generated = check_count("kept", kept), check_count("generated", generated)
        if steps is None and self.train_batch is not None:
            steps = math.ceil(kept / self.train_batch)
        steps = None if steps is None else check_count("steps", steps)
        if generated < kept:
            raise InputError(f"generated={generated} is fewer than kept={kept}: every kept sample was generated")
        if reward is None and metrics is not None:
            raise InputError("metrics are held-out metrics: give them with the reward they come with")
        reward = None if reward is None else check_unit("reward", reward)
        metrics = {} if reward is None else checked_metrics(metrics, reward, "metrics")
        generation_reward, generation_reward_se = self._generation(kept, generated, generation_reward,
                                                                   generation_reward_se)
        seconds = self._seconds(seconds_generating, seconds_training)
        cost = self.ledger.book(generated, kept, 1, None if seconds is None else seconds["generate"] + seconds["train"])
        t, trajectory = len(self.history), self.plan.outcome.trajectory
        self.history.append(RoundRecord(
            round=t, n=self._asked, kept=kept, generated=generated,
            trimmed=self._asked is not None and kept < self._asked, cost=cost, spent=self.spent, reward=reward,
            metrics=metrics, generation_reward=generation_reward, generation_reward_se=generation_reward_se,
            seconds=seconds, steps=steps,
            predicted_reward=float(trajectory[t + 1]) if t + 1 < len(trajectory) else None))
        self.ledger.costs = self.costs  # the measured seconds per sample, once rounds are timed
        update = self._replan()
        self.schedule = update.schedule
        self.history[-1] = dataclasses.replace(self.history[-1], schedule=update.schedule, replan=update.note or None)
        self._asked = None
        if self._logger:
            self._logger.log(self.history)

    def _generation(self, kept: int, generated: int, mean: float | None, se: float | None
                    ) -> tuple[float | None, float | None]:
        """The round's generation reward and its SE, checked, or the proportional-selection default."""
        if mean is None:
            if se is not None:
                raise InputError("generation_reward_se needs generation_reward")
            if self.plan.problem.costs.selection != "proportional" or not generated:
                return None, None
            mean = kept / generated
            return mean, math.sqrt(mean * (1 - mean) / generated) if generated > 1 else None
        if se is not None:
            check_positive("generation_reward_se", se, allow_zero=True)
        return check_unit("generation_reward", mean), None if se is None else float(se)

    def _replan(self) -> replanning.Replan:
        """The engine's step after a round: refit and re-solve (replan=True), or the plan's own rest.
        Timed rounds first re-solve the plan at the measured prices, as `plan execute --calibrate` does."""
        plan = self.plan
        if self.timed:
            try:
                plan = recommend(dataclasses.replace(plan.problem, costs=self.costs))
            except InputError as e:
                return replanning.Replan((), {"refit": False, "reason": f"at the measured seconds per sample, {e}"})
        if not self.replanning:
            return replanning.Replan(tuple(plan.schedule.n[len(self.history):]), {})
        return replanning.replan(plan, self.history, self.spent, self.initial)

    def _seconds(self, generating: float | None, training: float | None) -> dict[str, float] | None:
        """The round's measured seconds, checked: both or neither, and the same as earlier rounds."""
        if (generating is None) != (training is None):
            raise InputError("give seconds_generating and seconds_training together, or neither")
        if self.history and (generating is not None) != self.timed:
            was = "were" if self.timed else "were not"
            raise InputError(f"seconds {was} recorded for earlier rounds; record them for every round or none")
        if generating is None:
            return None
        return {"generate": checked_seconds("seconds_generating", generating),
                "train": checked_seconds("seconds_training", training)}

    # ---- sizing the round --------------------------------------------------------------------

    def _needed(self, n: int) -> float:
        """Samples to budget for generating n kept: the forecast mean plus reserve_sd sd, and before any
        acceptance is measured at least n / ROUND0_ACCEPTANCE (planner/advisor_sizing.py)."""
        mean, sd = self._forecast(n)
        return max(mean + self.reserve_sd * sd, least_generated(n, self.costs, self.history, self.initial))

    def _forecast(self, n: int) -> tuple[float, float]:
        """Mean and sd of the count generated for n kept (planner/advisor_sizing.py)."""
        return forecast(n, self.costs, self.history, self.plan.outcome, self.initial)

    def _sized(self, planned: int) -> int | None:
        """The most whole batches, up to planned, whose needed generation fits under the cap."""
        return round_size(planned, self.plan.problem.batch, self._needed, self.ledger.generation_cap)

    # ---- reporting and checkpoints -------------------------------------------------------------

    def summary(self) -> dict:
        """Spending, rounds, the final reward against the plan and its certificate, the latest fit."""
        return summarize(self.plan, self.ledger, self.history, self.initial, self.schedule)

    def report(self) -> str:
        """A few lines for people: spent, rounds, reward and regret against the plan, the fitted model."""
        return report(self.summary())

    def state_dict(self) -> dict:
        """Everything the advisor knows, as plain JSON-able values, for your checkpoint."""
        return AdvisorState(self.plan, self.replanning, self.reserve_sd, self.initial, self.history, self.spent,
                            tuple(self.schedule), self._asked).to_json()

    def load_state_dict(self, state: dict) -> None:
        """Continue from a state_dict(); its settings (budget, costs, model...) replace this advisor's.
        All of it is checked first: a damaged state is one sentence and changes nothing."""
        read = AdvisorState.from_json(state)
        self.plan, self.replanning, self.reserve_sd = read.plan, read.replan, read.reserve_sd
        self.initial, self.history = read.initial, read.history
        self.ledger = Ledger(read.plan.problem.budget, self.costs, read.spent)
        self.schedule, self._asked = read.schedule, read.asked
        if self._logger:
            self._logger.rewind(len(read.history))
