"""What a fit reads: the transitions of one or more runs across rounds (reward, and theta where a
task reports it, before and after training on n kept samples; the optimizer steps of each round
where the log has them), built from round logs and pooled across runs."""
from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping, Sequence

import numpy as np

from planner.rounds import RoundRecord, read_rounds
from planner.validate import InputError

MIN_READING_VAR = 1e-12  # a generation reading's variance floor: one with SE 0 would take all the offset's weight


@dataclasses.dataclass(frozen=True)
class Observations:
    """Transitions across rounds: the reward (and theta, where the task reports it) of the model
    before and after training on n kept samples. A reward is the held-out evaluation where the
    round has one, else the free generation reading of the same model (the next round's mean
    generated score), shifted by the mean paired difference between the two readings. Several
    runs' transitions can be pooled."""

    n: np.ndarray  # (K,) kept samples of each transition's round
    before: np.ndarray  # (K,) reward before the round (nan where the log has no reading of it)
    after: np.ndarray  # (K,) reward after the round
    theta_before: np.ndarray | None  # (K,) generator mean, for tasks that report "theta"
    theta_after: np.ndarray | None
    last: dict  # metrics after the last round of the last run pooled (the state plans start from)
    after_var: np.ndarray | None = None  # (K,) variance of a generation reading of `after`; 0 held-out
    before_var: np.ndarray | None = None  # (K,) the same for `before`
    pending: tuple[float, float] | None = None  # (reading before, n) of a last round with no reading after
    steps: np.ndarray | None = None  # (K,) optimizer steps of each transition's round (None: not logged)
    run: np.ndarray | None = None  # (K,) which pooled run each transition belongs to (0, 1, ...)
    last_steps: tuple[int, ...] | None = None  # steps of every round of the last run (the clock a plan restarts at)

    @classmethod
    def from_log(cls, records: Sequence[RoundRecord | Mapping], initial: dict | None = None) -> "Observations":
        """From one run's rounds (RoundRecords, or rounds.jsonl objects, read by read_rounds) and its
        initial metrics from run.json, if known."""
        if not records:
            raise InputError("the round log is empty: there is nothing to fit")
        records = read_rounds(records, "the round log", item="record")
        n = np.array([float(r.kept) for r in records])
        held = np.array([_number(r.reward) for r in records])  # null: not evaluated (eval_every)
        gen = np.array([_number(r.generation_reward) for r in records] + [math.nan])
        gen_se = np.array([_number(r.generation_reward_se) for r in records] + [math.nan])
        start = _number((initial or {}).get("reward"))
        thetas = [(initial or {}).get("theta")] + [r.metrics.get("theta") for r in records]
        last = dict(records[-1].metrics)
        if "reward" not in last and records[-1].reward is not None:
            last["reward"] = records[-1].reward
        theta = np.array(thetas, dtype=float) if all(t is not None for t in thetas) else None
        if theta is not None and not np.all(np.isfinite(theta)):
            raise InputError("the initial metrics hold a NaN or infinite theta; cannot fit")
        # the model after round t is read by round t's evaluation or by round t+1's generated scores
        both = np.isfinite(held) & np.isfinite(gen[1:])
        weight = 1.0 / np.maximum(np.nan_to_num(gen_se[1:][both]) ** 2, MIN_READING_VAR)  # precise readings count more
        offset = float(np.sum(weight * (held[both] - gen[1:][both])) / np.sum(weight)) if both.any() else 0.0
        free = ~np.isfinite(held)
        after = np.where(free, gen[1:] + offset, held)
        first = start if math.isfinite(start) else gen[0] + offset
        reward = np.concatenate([[first], after])
        var = np.concatenate([[0.0 if math.isfinite(start) else np.nan_to_num(gen_se[0]) ** 2],
                              np.where(free, np.nan_to_num(gen_se[1:]) ** 2, 0.0)])
        pending = (float(reward[-2]), float(n[-1])) if not math.isfinite(after[-1]) and n[-1] >= 1 else None
        # a round trimmed to nothing kept did not train, and a model nothing read ends no transition
        trained = (n >= 1) & np.isfinite(after)
        pick = lambda a: a[trained]
        steps = [r.steps for r in records]
        logged = all(k is not None for k in steps)
        return cls(pick(n), pick(reward[:-1]), pick(reward[1:]), None if theta is None else pick(theta[:-1]),
                   None if theta is None else pick(theta[1:]), last, after_var=pick(var[1:]),
                   before_var=pick(var[:-1]), pending=pending,
                   steps=pick(np.array(steps, dtype=float)) if logged else None,
                   run=np.zeros(int(trained.sum()), dtype=int), last_steps=tuple(steps) if logged else None)

    @classmethod
    def pool(cls, runs: list["Observations"]) -> "Observations":
        """All transitions of several runs (theta only if every run reports it); `last` of the final run."""
        cat = lambda name: np.concatenate([getattr(o, name) for o in runs])
        has_theta = all(o.theta_before is not None for o in runs)
        var = lambda name: np.concatenate([np.zeros(len(o.n)) if getattr(o, name) is None else getattr(o, name)
                                           for o in runs])
        has_steps = all(o.steps is not None for o in runs)
        run = np.concatenate([np.full(len(o.n), offset) if o.run is None else o.run + offset
                              for i, (o, offset) in enumerate(zip(runs, _offsets(runs)))])
        return cls(cat("n"), cat("before"), cat("after"), cat("theta_before") if has_theta else None,
                   cat("theta_after") if has_theta else None, runs[-1].last, after_var=var("after_var"),
                   before_var=var("before_var"), pending=runs[-1].pending,
                   steps=cat("steps") if has_steps else None, run=run, last_steps=runs[-1].last_steps)

    def runs(self) -> list["Observations"]:
        """The pooled runs again, one Observations each; the state after the last round (last, pending,
        last_steps) is known for the final run only."""
        ids = np.zeros(len(self.n), dtype=int) if self.run is None else self.run
        out = []
        numbers = list(dict.fromkeys(ids.tolist()))
        for i in numbers:
            at = ids == i
            part = functools.partial(_rows, at=at)
            final = i == numbers[-1]
            out.append(dataclasses.replace(
                self, n=self.n[at], before=self.before[at], after=self.after[at], theta_before=part(self.theta_before),
                theta_after=part(self.theta_after), after_var=part(self.after_var), before_var=part(self.before_var),
                steps=part(self.steps), run=np.zeros(int(at.sum()), dtype=int), last=self.last if final else {},
                pending=self.pending if final else None, last_steps=self.last_steps if final else None))
        return out

    @property
    def start_reward(self) -> float:
        """The first known reward: before the first round, else after it."""
        return float(self.before[0] if np.isfinite(self.before[0]) else self.after[0])


def _rows(values: np.ndarray | None, at: np.ndarray) -> np.ndarray | None:
    """values[at], or None for an array a log does not have."""
    return None if values is None else values[at]


def _offsets(runs: list[Observations]) -> list[int]:
    """The first run number each pooled Observations takes (a pooled one brings several runs)."""
    counts = [1 if o.run is None or not len(o.run) else int(o.run.max()) + 1 for o in runs]
    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int).tolist()


def _number(value) -> float:
    """A reading from a log: a float, or nan where the log holds null (not measured)."""
    return math.nan if value is None else float(value)
