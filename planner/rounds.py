"""The round record (a rounds.jsonl line, an Advisor history entry), checked as it is read back:
a damaged or hand-edited log is one sentence naming the line, not a traceback or a wrong fit."""
from __future__ import annotations

from typing import Any, Callable

from planner.validate import InputError, is_number, is_unit, is_whole

ENGINE_KEYS = ("round", "n", "kept", "generated", "trimmed", "cost", "spent", "reward", "metrics", "schedule")
FIT_KEYS = ("round", "kept", "generated", "reward")


def _seconds(value: Any) -> bool:
    return value is None or (isinstance(value, dict) and {"generate", "train"} <= set(value)
                             and all(is_number(v) and v >= 0 for v in value.values()))


# key -> (test of its value, what the value must be)
CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "round": (is_whole, "a whole number"),
    "n": (lambda v: v is None or is_whole(v), "a whole number >= 0"),
    "kept": (is_whole, "a whole number from 0 to 2^53"),
    "generated": (is_whole, "a whole number from 0 to 2^53"),
    "trimmed": (lambda v: isinstance(v, bool), "true or false"),
    "cost": (lambda v: is_number(v) and v >= 0, "a finite number >= 0"),
    "spent": (lambda v: is_number(v) and v >= 0, "a finite number >= 0"),
    # null: a round the engine did not evaluate (execute(eval_every=K))
    "reward": (lambda v: v is None or is_unit(v), "a number in [0, 1] or null"),
    "generation_reward": (lambda v: v is None or is_unit(v), "a number in [0, 1] or null"),
    "metrics": (lambda v: isinstance(v, dict) and all(is_number(x) for x in v.values()), "an object of finite numbers"),
    "schedule": (lambda v: isinstance(v, list) and all(is_whole(x) for x in v), "a list of whole numbers"),
    "seconds": (_seconds, "null or an object of seconds >= 0 with generate and train"),
}


def check_rounds(records: list[Any], where: str, required: tuple[str, ...], item: str = "line",
                 first: int = 0) -> list[dict]:
    """Refuse records that lack a required key, hold a value of the wrong type or range, are not
    rounds first, first + 1, ..., keep more than they generated, or spend less than the round before."""
    spent = 0.0
    for i, record in enumerate(records):
        at = f"{where} {item} {i + 1}"
        if not isinstance(record, dict):
            raise InputError(f"{at} is not a JSON object")
        absent = [key for key in required if key not in record]
        if absent:
            raise InputError(f"{at} lacks {', '.join(absent)}")
        for key, (ok, must) in CHECKS.items():
            if key in record and not ok(record[key]):
                raise InputError(f"{at}: {key} must be {must}, got {record[key]!r}")
        if record.get("round", first + i) != first + i:
            raise InputError(f"{at} is round {record['round']!r}, not {first + i}: the rounds are out of order")
        if "reward" in record and record.get("metrics", {}).get("reward", record["reward"]) != record["reward"]:
            raise InputError(f"{at}: metrics reward {record['metrics']['reward']!r} is not its reward "
                             f"{record['reward']!r}")
        if "kept" in record and "generated" in record and record["generated"] < record["kept"]:
            raise InputError(f"{at} kept {record['kept']} of only {record['generated']} generated")
        if "spent" in record:
            if record["spent"] < spent:
                raise InputError(f"{at} has spent {record['spent']!r}, less than {spent!r} before it")
            spent = record["spent"]
    return records


def check_initial(initial: Any, where: str) -> dict:
    """The metrics before round 0 (run.json's "initial"): finite numbers, with a reward in [0, 1]."""
    if not (isinstance(initial, dict) and CHECKS["metrics"][0](initial) and is_unit(initial.get("reward"))):
        raise InputError(f"{where}: the initial metrics must be finite numbers with a reward in [0, 1], "
                         f"got {initial!r}")
    return initial
