"""SpendwiseCallback: an Advisor's round inside a transformers / TRL Trainer.

    callback = SpendwiseCallback(advisor)
    while (n := callback.next_round()) is not None:   # keep n; generate at most advisor.generation_cap
        kept, generated = ...                         # your generate and filter
        callback.generation(kept=len(kept), generated=generated)
        trainer = SFTTrainer(..., train_dataset=kept, callbacks=[callback]); trainer.train()

Each optimizer step trains per_device_train_batch_size x world_size x gradient_accumulation_steps
samples (the last step of a round only what is left). Before every step the callback prices the
round so far (c_round + cg x generated + ct x trained, at the advisor's prices in force; a timed
round: c_round + its seconds generating and training so far, and the next step at its pace) and
stops training (control.should_training_stop) when one more step would pass the budget or the round
has trained its share (the n asked, or the kept samples given): spent never passes the budget (timed,
it can by as much as a last step runs slower than the round's pace).
At the end of train() it records the round on the advisor: kept = distinct samples trained,
generated, the last evaluation's `reward_key` metric as the reward (None if none ran; other eval
metrics come along), and the mean `reward` that GRPO / RLOO log while they generate as the
generation reward. Timed advisors (seconds_generating given) get the training seconds measured.
Under `accelerate launch` every process runs the callback on the same global counts, so every
process's advisor holds the same history and plans the same next round: the world is charged once
(in cost units: timed rounds stop on each process's own clock, which may differ).
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable

from planner._imports import try_import
from planner.advisor import Advisor
from planner.validate import InputError, check_count, check_positive

with try_import("the spendwise TRL integration (planner.integrations)", "trl"):
    from transformers import TrainerCallback


class SpendwiseCallback(TrainerCallback):
    """Charges a Trainer's steps to an Advisor, stops at the round's share or the budget, records the round."""

    def __init__(self, advisor: Advisor, reward_key: str = "eval_reward",
                 evaluate: Callable[[Any], float] | None = None) -> None:
        """reward_key: the Trainer evaluation metric that is the round's held-out reward in [0, 1];
        evaluate(model): your own held-out evaluation, run at the end of train() instead."""
        if not isinstance(advisor, Advisor):
            raise InputError(f"SpendwiseCallback needs a planner.Advisor, got {type(advisor).__name__}")
        if not advisor.schedule or advisor.spent >= advisor.budget:
            raise InputError(f"the Advisor has no rounds left to run (spent {advisor.spent:g} of its budget "
                             f"{advisor.budget:g}); give the callback a fresh Advisor or a larger budget")
        self.advisor, self.reward_key, self.evaluate = advisor, reward_key, evaluate
        self._reset()

    def _reset(self) -> None:
        self.n: int | None = None  # the round's share: samples to train, as the advisor asked
        self.kept: int | None = None  # distinct samples the round's data holds (None: each trained sample is new)
        self.generated: int | None = None
        self.seconds_generating: float | None = None
        self.trained = 0  # samples trained this round (global, over every process)
        self.metrics: dict[str, float] = {}  # the last evaluation's
        self.rewards: list[float] = []  # the generation rewards logged by GRPO / RLOO
        self._clock = 0.0
        self.seconds_training = 0.0

    # ---- the user's side of a round ------------------------------------------------------------

    def next_round(self) -> int | None:
        """The advisor's n for this round (None: stop), remembered as the round's share."""
        self._reset()
        self.n = self.advisor.next_round()
        return self.n

    def generation(self, *, kept: int, generated: int, seconds_generating: float | None = None) -> None:
        """What the round's generation produced before training: the samples kept for training and
        generated, and its seconds (for an advisor that is given seconds)."""
        self.kept, self.generated = check_count("kept", kept), check_count("generated", generated)
        if generated < kept:
            raise InputError(f"generated={generated} is fewer than kept={kept}")
        if seconds_generating is not None:
            check_positive("seconds_generating", seconds_generating, allow_zero=True)
        self.seconds_generating = seconds_generating

    # ---- pricing -------------------------------------------------------------------------------

    def share(self) -> int:
        """Samples this round may train: the kept samples given, else the advisor's n."""
        return self.n if self.kept is None else min(self.kept, self.n)

    def round_cost(self, trained: int) -> float:
        """The round's cost once `trained` samples are trained: at the advisor's prices in force, or, for
        a timed round (seconds_generating given), its seconds so far plus the rest at this round's pace."""
        costs = self.advisor.costs
        if self.seconds_generating is not None:
            elapsed = time.perf_counter() - self._clock
            pace = elapsed / self.trained if self.trained else costs.ct
            return costs.c_round + self.seconds_generating + elapsed + pace * (trained - self.trained)
        generated = trained if self.generated is None else max(self.generated, min(trained, self.share()))
        return costs.c_round + costs.cg * generated + costs.ct * trained

    def _affordable(self, trained: int) -> bool:
        return self.advisor.spent + self.round_cost(trained) <= self.advisor.budget

    # ---- the Trainer's side --------------------------------------------------------------------

    @staticmethod
    def per_step(args) -> int:
        """Samples in one optimizer step over the whole world."""
        return args.per_device_train_batch_size * args.world_size * args.gradient_accumulation_steps

    def on_train_begin(self, args, state, control, **kwargs):
        if self.n is None and self.next_round() is None:
            raise InputError("the Advisor says stop: no round is left within its budget")
        self._clock = time.perf_counter()
        step = min(self.per_step(args), self.share())
        if not self._affordable(step):
            raise InputError(f"one step of {step} samples would pass the Advisor's budget "
                             f"({self.advisor.spent:g} spent of {self.advisor.budget:g})")

    def on_step_end(self, args, state, control, **kwargs):
        self.trained = min(self.trained + self.per_step(args), self.share())
        following = min(self.trained + self.per_step(args), self.share())
        if self.trained >= self.share() or not self._affordable(following):
            control.should_training_stop = True
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "reward" in logs and math.isfinite(logs["reward"]):
            self.rewards.append(float(logs["reward"]))

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        self.metrics = {k: float(v) for k, v in (metrics or {}).items()
                        if isinstance(v, (int, float)) and math.isfinite(v)}

    def on_train_end(self, args, state, control, model=None, **kwargs):
        self.seconds_training = time.perf_counter() - self._clock
        self.record(self.evaluate(model) if self.evaluate else self.metrics.get(self.reward_key))

    def record(self, reward: float | None) -> None:
        """Record the round on the advisor (on_train_end does; call it yourself for a round with
        nothing to train): kept = distinct samples trained, the generation given, reward in [0, 1] or None."""
        seconds = {}
        if self.seconds_generating is not None:
            seconds = {"seconds_generating": self.seconds_generating, "seconds_training": self.seconds_training}
        extra = {k: v for k, v in self.metrics.items() if k != self.reward_key}
        kept = self.trained if self.kept is None else min(self.trained, self.kept)
        generated = self.trained if self.generated is None else max(self.generated, kept)
        self.advisor.record(kept=kept, generated=generated, reward=reward,
                            metrics=None if reward is None else extra, **seconds,
                            generation_reward=sum(self.rewards) / len(self.rewards) if self.rewards else None)
        self.n = None  # the round is recorded: a further train() starts the next one
