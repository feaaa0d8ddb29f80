"""A checkpoint's engine.json: the engine's state after a committed round (next round, spending, the
RNG, the schedule left and the round's record), read back strictly, its RNG state checksummed."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from planner.jsonio import read_json
from planner.rounds import ENGINE_KEYS, RoundRecord, is_schedule
from planner.validate import InputError, check_rng_state


def read_engine_state(path: Path) -> dict:
    """engine.json, checked: its round record (read into a RoundRecord), the ledger's spending and the RNG
    state agree and are sound."""
    engine = read_json(path, "the checkpoint's engine state")
    damaged = lambda why: InputError(f"the checkpoint's engine state {path} is damaged ({why}); "
                                     "the run cannot resume")
    if not isinstance(engine, dict) or not {"next_round", "spent", "rng", "schedule", "record"} <= set(engine):
        raise damaged("it lacks next_round, spent, rng, schedule or record")
    try:
        record = engine["record"] = RoundRecord.from_json(engine["record"], "its round record", ENGINE_KEYS)
    except InputError as e:
        raise damaged(str(e)) from None
    if engine["next_round"] != record.round + 1:
        raise damaged(f"next_round {engine['next_round']!r} does not follow its round record's round "
                      f"{record.round}")
    if not is_schedule(engine["schedule"]):
        raise damaged(f"its schedule {engine['schedule']!r} is not a list of whole numbers")
    if engine["spent"] != record.spent:
        raise damaged(f"spent {engine['spent']!r} is not its round record's {record.spent!r}")
    try:
        check_rng_state(engine["rng"], "its random-number state")
    except InputError:
        raise damaged("its random-number state is not a PCG64 state") from None
    if engine.get("rng_sha256", digest(engine["rng"])) != digest(engine["rng"]):
        raise damaged("its random-number state was changed after it was written")
    return engine


def digest(rng_state: object) -> str:
    """A checksum of the RNG state saved beside it: an edit that numpy would accept (another valid
    PCG64 state, which would silently change the random stream) is refused."""
    return hashlib.sha256(json.dumps(rng_state, sort_keys=True).encode()).hexdigest()[:16]
