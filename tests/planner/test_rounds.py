"""planner/rounds.py: the round record round-trips through JSON, is read strictly, and logs written
before a field existed load through the one reader, with that field's default."""
from __future__ import annotations

import json

import pytest

from planner.rounds import ENGINE_KEYS, RoundRecord, read_rounds
from planner.validate import InputError

FULL = {"round": 1, "n": 8, "kept": 8, "generated": 20, "trimmed": False, "cost": 30.0, "spent": 55.0,
        "reward": 0.5, "metrics": {"reward": 0.5, "theta": 1.5}, "generation_reward": 0.4,
        "generation_reward_se": 0.02, "predicted_reward": 0.52, "seconds": {"generate": 1.0, "train": 2.0},
        "schedule": [16, 32], "replan": {"refit": False, "reason": "too few rounds"}, "steps": 3}


def test_a_record_round_trips_through_json_with_its_types():
    record = RoundRecord.from_json(json.loads(json.dumps(FULL)))
    assert RoundRecord.from_json(record.to_json()) == record and record.to_json() == FULL
    assert (record.steps, record.schedule, record.kept) == (3, (16, 32), 8)
    assert record["kept"] == 8 and dict(record) == FULL  # readable by key, as its JSON object


def test_an_engine_line_written_before_steps_loads_with_the_defaults():
    """A line of an older engine (no steps) and an older Advisor's entry (no trimmed, no predicted reward)."""
    old_engine = {k: v for k, v in FULL.items() if k not in ("steps", "replan")}
    old_advisor = {k: v for k, v in FULL.items() if k not in ("steps", "trimmed", "predicted_reward")}
    engine, advisor = read_rounds([old_engine], "log", ENGINE_KEYS, first=1)[0], RoundRecord.from_json(old_advisor)
    assert engine.steps is None and engine.replan is None and "replan" not in engine.to_json()
    assert advisor.trimmed is False and advisor.predicted_reward is None and advisor.steps is None


@pytest.mark.parametrize("change, said", [
    (lambda r: r.update(colour="red"), "unknown key(s) colour"),
    (lambda r: r.pop("kept"), "lacks kept"),
    (lambda r: r.update(steps=-1), "steps must be a whole number >= 0 or null, got -1"),
    (lambda r: r.update(reward=float("nan"), metrics={}), "NaN"),
    (lambda r: r.update(generated=2), "fewer generated than kept"),
    (lambda r: r.update(schedule=[1, "2"]), "schedule must be a list of whole numbers"),
])
def test_a_bad_record_is_one_sentence_naming_where(change, said):
    data = json.loads(json.dumps(FULL))
    change(data)
    with pytest.raises(InputError, match="the log line 1") as error:
        read_rounds([data], "the log", first=1)
    assert said in str(error.value)


def test_rounds_must_follow_each_other_and_never_spend_less():
    second = {**FULL, "round": 2, "spent": 40.0}
    with pytest.raises(InputError, match="line 1 is round 1, not 0"):
        read_rounds([FULL], "the log")
    with pytest.raises(InputError, match="has spent 40.0, less than 55.0 before it"):
        read_rounds([FULL, second], "the log", first=1)
