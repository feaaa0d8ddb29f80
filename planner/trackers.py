"""Round metrics in TensorBoard, MLflow and W&B, through accelerate's tracker API.

A run's rounds (records in the engine's rounds.jsonl format, which the Advisor keeps too) become
one tracker run whose step is the round number; the plan and the run's options are its
hyperparameters. FOLDER/state.json records, per tracker, how many rounds it holds and its run
id, so a resumed run continues the same tracker run and logs only the rounds it has not logged.

    FOLDER/spendwise/events.out.tfevents.*   TensorBoard (hyperparameters in a dated subfolder)
    FOLDER/wandb/offline-run-*-ID/           W&B: offline unless WANDB_MODE says otherwise
    MLflow                                   experiment "spendwise" at mlflow's tracking URI
    FOLDER/state.json                        rounds logged and run ids, per tracker

accelerate is imported only when the first tracker starts, so `plan` stays fast without it.
"""
from __future__ import annotations

import importlib.util
import math
import os
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from planner._imports import need, try_import
from planner.jsonio import atomic_write_json, read_json
from planner.plan import Plan
from planner.rounds import RoundRecord, as_record
from planner.validate import InputError

TRACKERS = ("tensorboard", "mlflow", "wandb")  # each the name of its Python package and of its spendwise extra
PROJECT = "spendwise"  # TensorBoard subfolder, MLflow experiment, W&B project
STATE = "state.json"
PLAN_FIELDS = ("strategy", "base", "n0", "rounds", "budget", "predicted_reward", "r_star", "gap", "solver",
               "model", "costs", "batch", "max_rounds")
RUN_ID = {"mlflow": lambda tracker: tracker.active_run.info.run_id, "wandb": lambda tracker: tracker.run.id}

Scalar = bool | int | float | str


def parse_log_with(value: str | Sequence[str] | None, flag: str = "--log-with",
                   folder: str | os.PathLike | None = "") -> tuple[str, ...]:
    """The trackers asked for: a name, comma-separated names or a list; "all" is every one installed.
    Refused in one sentence, before any work, when unknown, when its package is not installed or
    when there is no folder for their files."""
    if not value:
        return ()
    if folder is None:
        raise InputError(f"{flag} needs a folder for the trackers' files (log_dir)")
    names = [n.strip() for n in value.split(",")] if isinstance(value, str) else list(value)
    for name in names:
        if name != "all" and name not in TRACKERS:
            raise InputError(f"{flag}: unknown tracker {name!r}; choose from {', '.join(TRACKERS)} or all")
    if "all" in names:
        names = [n for n in TRACKERS if importlib.util.find_spec(n) is not None] or ["tensorboard"]
    chosen = tuple(dict.fromkeys(names))
    for name in chosen:
        need(f"{flag} {name}", name, "torch", "accelerate", name)
    return chosen


def round_values(record: RoundRecord | Mapping[str, Any], plan: Plan) -> dict[str, float]:
    """What one round logs: sample counts, spending, rewards (measured, predicted, of the generated
    samples), every task metric, seconds per phase; a value the round does not have is left out. A
    round that records no prediction (an Advisor's before they did) shows the plan's."""
    r, trajectory = as_record(record), plan.outcome.trajectory
    predicted = r.predicted_reward
    if predicted is None and r.round + 1 < len(trajectory):
        predicted = float(trajectory[r.round + 1])
    values = {
        "samples/kept": r.kept, "samples/generated": r.generated,
        "samples/acceptance": r.kept / r.generated if r.generated else None,
        "budget/spent": r.spent, "budget/share_spent": None if r.spent is None else r.spent / plan.problem.budget,
        "reward/measured": r.reward, "reward/predicted": predicted, "reward/generation": r.generation_reward,
        **{f"metrics/{k}": v for k, v in r.metrics.items() if k != "reward"},
        **{f"seconds/{k}": v for k, v in (r.seconds or {}).items()},
    }
    return {k: float(v) for k, v in values.items() if v is not None}


def hyperparameters(plan: Plan, **options: Any) -> dict[str, Scalar]:
    """The plan's main fields, its kept sizes and the run's options, flattened to scalars as the
    trackers require ("plan/costs/cg", "task_config/s"); a list becomes comma-separated text."""
    fields = plan.to_json()
    picked = {k: fields[k] for k in PLAN_FIELDS if k in fields}
    return _flat({"plan": {**picked, "n": list(plan.schedule.n)}, **options})


def _flat(values: Mapping[str, Any], prefix: str = "") -> dict[str, Scalar]:
    out: dict[str, Scalar] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{prefix}{key}/"))
        elif isinstance(value, (list, tuple)):
            out[f"{prefix}{key}"] = ",".join(map(str, value))
        elif value is not None and not (isinstance(value, float) and not math.isfinite(value)):
            out[f"{prefix}{key}"] = value
    return out


class RoundLogger:
    """Logs a run's rounds to the trackers, each round once, at step = its round number.

    `keep` is for a run that went back (an Advisor restored from an older state_dict): the tracker
    runs keep only their first `keep` rounds and log the later ones again (TensorBoard hides the
    old points; MLflow and W&B keep them); keep=0 starts new tracker runs. None keeps all."""

    def __init__(self, log_with: tuple[str, ...], folder: str | os.PathLike, plan: Callable[[], Plan],
                 config: Callable[[], dict[str, Scalar]], keep: int | None = None, run_name: str | None = None) -> None:
        """run_name names the MLflow and W&B runs (default: the folder's name)."""
        self.log_with, self.folder = log_with, Path(folder)
        self.run_name = run_name or self.folder.resolve().name
        self._plan, self._config, self.keep = plan, config, keep
        self._accelerator: Any = None
        self._state: dict[str, dict] = {}
        self._failed = False  # a tracker failed mid-run: nothing more is logged by this process

    def read_state(self) -> dict[str, dict]:
        """FOLDER/state.json, checked: tracker name -> {"logged": rounds, "run_id": id (MLflow, W&B)}."""
        path = self.folder / STATE
        if not path.exists():
            return {}
        state = read_json(path, "the trackers' state")
        entry_ok = lambda e: (isinstance(e, dict) and type(e.get("logged")) is int and e["logged"] >= 0
                              and isinstance(e.get("run_id", ""), str))
        if not isinstance(state, dict) or not all(k in TRACKERS and entry_ok(e) for k, e in state.items()):
            raise InputError(f"the trackers' state {path} is damaged; move it away to start new tracker runs")
        return state

    def start(self) -> None:
        """Start (or continue) the tracker runs; a tracker that cannot start is one sentence. Idempotent."""
        if self._accelerator is not None:
            return
        state = self.read_state()  # trackers not asked for this time keep their entries, for a later resume
        for entry in state.values():
            if self.keep is not None:
                entry["logged"] = min(entry["logged"], self.keep)
            if self.keep == 0:
                entry.pop("run_id", None)
        for name in self.log_with:
            state.setdefault(name, {"logged": 0})
        self._state, self.keep = state, None
        self.folder.mkdir(parents=True, exist_ok=True)
        init_kwargs = {
            "tensorboard": {"purge_step": self._state.get("tensorboard", {}).get("logged", 0)},
            "mlflow": {"run_id": self._state.get("mlflow", {}).get("run_id"), "run_name": self.run_name},
            "wandb": {"id": self._state.get("wandb", {}).get("run_id"), "resume": "allow", "name": self.run_name,
                      "dir": str(self.folder), "mode": os.environ.get("WANDB_MODE", "offline")},
        }
        with try_import("--log-with", "tensorboard"):
            from accelerate import Accelerator

        _quiet_writer_threads()

        try:
            accelerator = Accelerator(log_with=list(self.log_with), project_dir=self.folder)
            accelerator.init_trackers(PROJECT, init_kwargs={k: v for k, v in init_kwargs.items() if k in self.log_with})
            for tracker in accelerator.trackers:
                entry = self._state[tracker.name]
                if tracker.name in RUN_ID:
                    entry["run_id"] = RUN_ID[tracker.name](tracker)
                if entry["logged"] == 0:
                    tracker.store_init_configuration(self._config())
        except InputError:
            raise
        except Exception as e:
            reason = (str(e).strip().splitlines() or [""])[0][:300]
            raise InputError(f"the trackers ({', '.join(self.log_with)}) could not start ({type(e).__name__}: "
                             f"{reason})") from None
        self._accelerator = accelerator
        self._save()

    def log(self, rounds: Sequence[RoundRecord | Mapping[str, Any]]) -> None:
        """Log every round of `rounds` (the run so far, in order; RoundRecords or their JSON objects) that
        a tracker has not logged yet. A tracker that fails here (a full disk) is one sentence on stderr
        and logs nothing more; the run goes on."""
        if self._failed:
            return
        self.start()
        plan = self._plan()
        try:
            for tracker in self._accelerator.trackers:  # none off the main process: accelerate starts them there only
                entry = self._state[tracker.name]
                for record in rounds[entry["logged"]:]:
                    record = as_record(record)
                    tracker.log(round_values(record, plan), step=record.round)
                    entry["logged"] = record.round + 1
            self._save()
        except Exception as e:
            self._give_up(e)

    def _give_up(self, error: Exception) -> None:
        """Stop logging for this process after a tracker failed, saying so in one sentence."""
        self._failed, self._accelerator = True, None
        reason = (str(error).strip().splitlines() or [""])[0][:200]
        print(f"spendwise: the trackers ({', '.join(self.log_with)}) stopped logging ({type(error).__name__}: "
              f"{reason}); the run goes on, and running it again logs the rounds they missed", file=sys.stderr)

    def _save(self) -> None:
        if self._accelerator.is_main_process:
            atomic_write_json(self.folder / STATE, self._state)

    def rewind(self, rounds: int) -> None:
        """Finish the tracker runs; the next log() continues them after their first `rounds` rounds."""
        self.close()
        self.keep = rounds

    def close(self) -> None:
        """Finish the tracker runs (each tracker's finish(); not accelerate's end_training(), which would also
        tear down the caller's process group). A later log() continues them."""
        if self._accelerator is not None:
            try:
                for tracker in self._accelerator.trackers:
                    tracker.finish()
            except Exception as e:
                self._give_up(e)
            self._accelerator = None


def _quiet_writer_threads() -> None:
    """TensorBoard's writer thread raises a failed write (a full disk) in its thread, which prints a
    traceback, and again in the caller's next log() or close(), which makes it one sentence: silence the first."""
    previous = threading.excepthook
    if getattr(previous, "spendwise", False):
        return

    def hook(args: threading.ExceptHookArgs) -> None:
        if not type(args.thread).__module__.startswith("tensorboard."):
            previous(args)

    hook.spendwise = True  # type: ignore[attr-defined]
    threading.excepthook = hook
