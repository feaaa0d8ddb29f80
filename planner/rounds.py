"""The round record: one line of a run's rounds.jsonl, one entry of an Advisor's history. Frozen and
checked on construction, so a damaged or hand-edited log is one sentence naming the line, not a
traceback or a wrong fit. read_rounds is the one reader of stored rounds: it upgrades records written
before a field existed (an absent optional field takes its default) and checks rounds against each other.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Callable

from planner.validate import InputError, is_number, is_unit, is_whole

# what each kind of stored round has always held (a line lacking one is damaged)
ENGINE_KEYS = ("round", "n", "kept", "generated", "trimmed", "cost", "spent", "reward", "metrics", "schedule")
HISTORY_KEYS = ("round", "n", "kept", "generated", "cost", "spent", "reward", "metrics", "seconds", "schedule")
FIT_KEYS = ("round", "kept", "generated", "reward")  # the least a log to fit needs: the record's required fields


def _seconds(value: Any) -> bool:
    return value is None or (isinstance(value, dict) and {"generate", "train"} <= set(value)
                             and all(is_number(v) and v >= 0 for v in value.values()))


def _finite(value: Any) -> bool:
    """False for a NaN or an infinity, also among a dict's values (metrics, seconds)."""
    values = value.values() if isinstance(value, dict) else [value]
    return not any(isinstance(v, float) and not math.isfinite(v) for v in values)


def is_schedule(value: Any) -> bool:
    """Kept sizes as a log holds them: a list (or tuple) of whole numbers."""
    return isinstance(value, (list, tuple)) and all(is_whole(x) for x in value)


_optional = lambda test: (lambda v: v is None or test(v))
_cost = lambda v: is_number(v) and v >= 0
# field -> (test of its value, what the value must be)
CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "round": (is_whole, "a whole number"),
    "kept": (is_whole, "a whole number from 0 to 2^53"),
    "generated": (is_whole, "a whole number from 0 to 2^53"),
    "reward": (_optional(is_unit), "a number in [0, 1] or null"),
    "n": (_optional(is_whole), "a whole number >= 0"),
    "trimmed": (lambda v: isinstance(v, bool), "true or false"),
    "cost": (_optional(_cost), "a finite number >= 0"),
    "spent": (_optional(_cost), "a finite number >= 0"),
    "metrics": (lambda v: isinstance(v, dict) and all(is_number(x) for x in v.values()), "an object of finite numbers"),
    "generation_reward": (_optional(is_unit), "a number in [0, 1] or null"),
    "generation_reward_se": (_optional(_cost), "a finite number >= 0 or null"),
    "predicted_reward": (_optional(is_number), "a finite number or null"),
    "seconds": (_seconds, "null or an object of seconds >= 0 with generate and train"),
    "schedule": (_optional(is_schedule), "a list of whole numbers"),
    "replan": (_optional(lambda v: isinstance(v, dict)), "an object"),
    "steps": (_optional(is_whole), "a whole number >= 0 or null"),
}


@dataclasses.dataclass(frozen=True)
class RoundRecord(Mapping):
    """One round: counts in samples, costs in cost units (seconds once timed), rewards in [0, 1].
    Also readable by key as its JSON object (record["kept"]), for code written against dict records."""

    round: int  # 0, 1, ...
    kept: int  # samples kept and trained on
    generated: int  # samples generated (>= kept)
    reward: float | None  # held-out reward after the round; None: not evaluated (execute(eval_every=K))
    n: int | None = None  # samples the round was asked to keep (None: not recorded)
    trimmed: bool = False  # kept fewer than asked: the budget (or the user's loop) stopped the round short
    cost: float | None = None  # what the round cost (None: not recorded, e.g. a hand-written log)
    spent: float | None = None  # spent from round 0 through this round
    metrics: dict[str, float] = dataclasses.field(default_factory=dict)  # held-out metrics ({} if not evaluated)
    generation_reward: float | None = None  # mean reward of the samples generated (of the model before training)
    generation_reward_se: float | None = None  # its standard error
    predicted_reward: float | None = None  # the plan's prediction of the reward after this round
    seconds: dict[str, float] | None = None  # wall seconds per phase (generate, train[, evaluate]); None: untimed
    schedule: tuple[int, ...] | None = None  # kept sizes planned for the rounds after this one
    replan: dict | None = None  # what the refit after this round said (None: nothing to say)
    steps: int | None = None  # optimizer steps the round trained for (None: not reported)

    def __post_init__(self) -> None:
        for name, (ok, must) in CHECKS.items():
            value = getattr(self, name)
            if name != "replan" and not _finite(value):
                raise InputError(f"{name} is {value!r}: the round log contains NaN or infinite values")
            if not ok(value):
                raise InputError(f"{name} must be {must}, got {value!r}")
        whole = lambda v: None if v is None else int(v)
        number = lambda v: None if v is None else float(v)
        for name in ("round", "kept", "generated", "n", "steps"):
            object.__setattr__(self, name, whole(getattr(self, name)))
        for name in ("reward", "cost", "spent", "generation_reward", "generation_reward_se", "predicted_reward"):
            object.__setattr__(self, name, number(getattr(self, name)))
        object.__setattr__(self, "metrics", {k: float(v) for k, v in self.metrics.items()})
        if self.seconds is not None:
            object.__setattr__(self, "seconds", {k: float(v) for k, v in self.seconds.items()})
        if self.schedule is not None:
            object.__setattr__(self, "schedule", tuple(int(k) for k in self.schedule))
        if self.metrics.get("reward", self.reward) != self.reward:
            raise InputError(f"metrics reward {self.metrics['reward']!r} is not its reward {self.reward!r}")

    @classmethod
    def from_json(cls, data: Any, where: str = "the round record", required: Sequence[str] = FIT_KEYS
                  ) -> "RoundRecord":
        """Read a stored round strictly: unknown keys, wrong types and bad values are refused, and so is a
        record lacking one of `required`; an optional field it lacks (written before it existed) is defaulted."""
        if not isinstance(data, Mapping):
            raise InputError(f"{where} is not a JSON object")
        absent = [key for key in (*FIT_KEYS, *required) if key not in data]
        if absent:
            raise InputError(f"{where} lacks {', '.join(dict.fromkeys(absent))}")
        unknown = sorted(set(data) - set(CHECKS))
        if unknown:
            raise InputError(f"{where} has unknown key(s) {', '.join(unknown)}; allowed: {', '.join(CHECKS)}")
        try:
            return cls(**data)
        except InputError as e:
            raise InputError(f"{where}: {e}") from None

    def to_json(self) -> dict:
        """The record as a log line holds it (no "replan" key when there was nothing to say)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["metrics"] = dict(self.metrics)
        out["seconds"] = None if self.seconds is None else dict(self.seconds)
        out["schedule"] = None if self.schedule is None else list(self.schedule)
        if self.replan is None:
            del out["replan"]
        return out

    def __getitem__(self, key: str) -> Any:
        return self.to_json()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_json())

    def __len__(self) -> int:
        return len(self.to_json())


def as_record(data: Any, where: str = "the round record") -> RoundRecord:
    """A round as a RoundRecord: one already is, a JSON object is read by from_json."""
    return data if isinstance(data, RoundRecord) else RoundRecord.from_json(data, where)


def read_rounds(records: Sequence[Any], where: str, required: Sequence[str] = FIT_KEYS, item: str = "line",
                first: int = 0) -> list[RoundRecord]:
    """Stored rounds as records (a RoundRecord passes as it is), refusing any that is damaged, lacks a
    required key, keeps more than it generated, is not round first, first + 1, ... or spends less than
    the round before."""
    out, spent = [], 0.0
    for i, data in enumerate(records):
        at = f"{where} {item} {i + 1}"
        record = data if isinstance(data, RoundRecord) else RoundRecord.from_json(data, at, required)
        if record.generated < record.kept:
            raise InputError(f"{at} kept {record.kept} samples but generated {record.generated}: fewer generated "
                             "than kept")
        if record.round != first + i:
            raise InputError(f"{at} is round {record.round!r}, not {first + i}: the rounds are out of order")
        if record.spent is not None:
            if record.spent < spent:
                raise InputError(f"{at} has spent {record.spent!r}, less than {spent!r} before it")
            spent = record.spent
        out.append(record)
    return out


def check_initial(initial: Any, where: str) -> dict:
    """The metrics before round 0 (run.json's "initial"): finite numbers, with a reward in [0, 1]."""
    if not (isinstance(initial, dict) and CHECKS["metrics"][0](initial) and is_unit(initial.get("reward"))):
        raise InputError(f"{where}: the initial metrics must be finite numbers with a reward in [0, 1], "
                         f"got {initial!r}")
    return initial
