"""Other systems' training logs as spendwise round records, for `plan fit --from trl|verl`.

* TRL / transformers: a `trainer_state.json` (written with every checkpoint, or by
  `trainer.state.save_to_json`). Every `log_history` entry holding the reward key (default the first of
  `eval_reward`, `reward` found: an evaluation's reward, or the one GRPO / RLOO log as they generate)
  is a reading of the model; the samples trained between two readings, steps x samples per step
  (default the state's `train_batch_size`), are a round. The first reading is the start.
* verl: the JSON-lines file of its file logger (`trainer.logger=['console','file']`: lines
  {"step": s, "data": {...}}). Each step is a round of --samples-per-step samples
  (data.train_batch_size x actor_rollout_ref.rollout.n, which verl does not log). `critic/score/mean`
  is the round's generation reward (its samples, scored before its update); a held-out
  `val-core/.../reward/mean@...` (or the --reward-key given) logged at the step is its reward. The
  step's `timing_s/gen` and `timing_s/update_actor` seconds per sample calibrate c_g and c_t, and
  `timing_s/testing` per evaluated step c_round.
Rewards must lie in [0, 1], as the reward models assume.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from planner.jsonio import read_json, read_jsonl
from planner.validate import InputError, is_number, is_unit, is_whole, shown

TRL_KEYS = ("eval_reward", "reward")
VERL_SCORE = "critic/score/mean"


@dataclasses.dataclass(frozen=True)
class ExternalLog:
    """One run read from another system: its rounds (spendwise records), its start, its seconds per unit."""

    records: list[dict]
    initial: dict | None
    calibration: dict[str, float] | None = None  # cg, ct, cr in seconds, where the log times them


def _reading(value, key: str, where: str) -> float:
    if not is_number(value):
        raise InputError(f"{where}: {key} is {value!r}, not a number")
    if not is_unit(value):
        raise InputError(f"{where}: {key} = {value:g} is outside [0, 1]; the fit needs rewards in [0, 1] "
                         "(rescale the reward, or pick another with --reward-key)")
    return float(value)


def _seconds(data: dict, part: str, where: str) -> float:
    """A verl timing_s/<part> reading (0 when not logged): seconds, a number >= 0."""
    value = data.get(f"timing_s/{part}", 0.0)
    if not (is_number(value) and value >= 0):
        raise InputError(f"{where}: timing_s/{part} is {shown(value)}, not a number of seconds")
    return float(value)


def read_trl(path: str, reward_key: str | None, samples_per_step: int | None) -> ExternalLog:
    """A TRL / transformers trainer_state.json (or the folder holding one) as rounds between reward readings."""
    file = Path(path) / "trainer_state.json" if Path(path).is_dir() else Path(path)
    state = read_json(file, "TRL trainer state")
    if not isinstance(state, dict) or not isinstance(state.get("log_history"), list):
        raise InputError(f"{file} is not a TRL / transformers trainer_state.json (it has no log_history list)")
    history = state["log_history"]
    for i, entry in enumerate(history):  # transformers writes every entry with its global step
        if not (isinstance(entry, dict) and isinstance(entry.get("step"), int) and is_whole(entry["step"])):
            raise InputError(f"{file} log_history entry {i} is not an object with a whole-number step, "
                             "as transformers writes every entry")
    key = reward_key or next((k for k in TRL_KEYS if any(k in e for e in history)), None)
    readings = [(e["step"], _reading(e[key], key, f"{file} step {e['step']}")) for e in history if key and key in e]
    if not readings:
        raise InputError(f"{file} logs no reward ({reward_key or ' or '.join(TRL_KEYS)}); name the metric that is "
                         "one with --reward-key")
    per_step = samples_per_step or state.get("train_batch_size")
    if not isinstance(per_step, int) or per_step < 1:
        raise InputError(f"{file} records no train_batch_size; give --samples-per-step")
    records, (last, start) = [], readings[0]
    for step, reward in readings[1:]:
        if step > last:  # a second reading at the same step (train log and evaluation) adds no round
            n = (step - last) * per_step
            records.append({"round": len(records), "kept": n, "generated": n, "reward": reward})
            last = step
    return ExternalLog(records, {"reward": start})


def read_verl(path: str, reward_key: str | None, samples_per_step: int | None) -> ExternalLog:
    """A verl file-logger JSON-lines log as one round per step."""
    if samples_per_step is None:
        raise InputError("--from verl needs --samples-per-step (data.train_batch_size x actor_rollout_ref.rollout.n), "
                         "which verl does not log")
    lines = read_jsonl(path, "verl log")
    if not lines or not all(isinstance(x, dict) and isinstance(x.get("data"), dict) and "step" in x for x in lines):
        raise InputError(f"{path} is not a verl file-logger log (lines of {{\"step\": s, \"data\": {{...}}}})")
    for i, line in enumerate(lines, 1):
        if not (isinstance(line["step"], int) and is_whole(line["step"])):
            raise InputError(f"verl log {path} line {i}: step is {shown(line['step'])}, not a whole number")
    steps = [(x["step"], x["data"]) for x in lines if VERL_SCORE in x["data"]]
    if not steps:
        raise InputError(f"{path} logs no {VERL_SCORE}: there is no reward to fit")
    held = lambda data: reward_key if reward_key else next(
        (k for k in sorted(data) if k.startswith("val-core/") and "/reward/mean@" in k), None)
    records, seconds = [], {"gen": 0.0, "update_actor": 0.0, "testing": 0.0, "tests": 0}
    for step, data in steps:
        key = held(data)
        reward = _reading(data[key], key, f"{path} step {step}") if key in data else None
        records.append({"round": len(records), "kept": samples_per_step, "generated": samples_per_step,
                        "reward": reward,
                        "generation_reward": _reading(data[VERL_SCORE], VERL_SCORE, f"{path} step {step}")})
        for part in ("gen", "update_actor", "testing"):
            seconds[part] += _seconds(data, part, f"{path} step {step}")
        seconds["tests"] += "timing_s/testing" in data
    first = lines[0]["data"] if lines[0]["step"] == 0 else {}  # verl validates before training, at step 0
    key = held(first) if first else None
    start = {"reward": _reading(first[key], key, f"{path} step 0")} if key in first else None
    samples = samples_per_step * len(records)
    calibration = {"cg": seconds["gen"] / samples, "ct": seconds["update_actor"] / samples,
                   "cr": seconds["testing"] / seconds["tests"] if seconds["tests"] else 0.0}
    return ExternalLog(records, start, calibration)
