"""The run directory: the config that made a run, its append-only round log, its checkpoint.

    plan.json        the plan being run (as `plan --out` wrote it)
    run.json         task name and config, seed, engine options, calibrated costs
    rounds.jsonl     one JSON object per committed round, appended, never rewritten
    checkpoint/      the state after the last committed round (task state + engine.json)
    report.png       measured vs predicted reward per round

A round is committed by (1) writing its checkpoint into a temporary folder, fsync, rename over
the previous one, then (2) appending its log line with one write + fsync. A kill between the
two leaves a checkpoint one round ahead of the log: resume appends the line saved inside the
checkpoint, so no finished round is lost. Anything else inconsistent is refused, untouched.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Callable

from planner.jsonio import InputError, atomic_write_json, fsync_dir, read_json, read_jsonl

CHECKPOINT = "checkpoint"


class RunDir:
    """One run's folder; every write is atomic or an fsync'ed append."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    @property
    def log_path(self) -> Path:
        return self.path / "rounds.jsonl"

    @property
    def checkpoint(self) -> Path:
        return self.path / CHECKPOINT

    def prepare(self, plan: dict, run: dict) -> bool:
        """Create the run, or check that an existing one is this plan and task; True if resuming."""
        if (self.path / "run.json").exists():
            self._check_same(plan, run)
            return True
        if self.path.exists() and any(p for p in self.path.iterdir() if not p.name.startswith(".")):
            raise InputError(f"{self.path} exists and is not a spendwise run directory; refusing to write into it")
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.path / "plan.json", plan)
        atomic_write_json(self.path / "run.json", run)  # written last: it marks the run as created
        return False

    def _check_same(self, plan: dict, run: dict) -> None:
        old_plan = read_json(self.path / "plan.json", "the run's plan file")
        old_run = read_json(self.path / "run.json", "the run's config")
        if old_plan != plan:
            raise InputError(f"{self.path} belongs to a different plan; use a new --run-dir")
        for key in ("task", "task_config", "seed"):
            if old_run.get(key) != run.get(key):
                raise InputError(f"{self.path} was started with {key} {json.dumps(old_run.get(key))}, "
                                 f"not {json.dumps(run.get(key))}; use a new --run-dir")

    def run_config(self) -> dict:
        return read_json(self.path / "run.json", "the run's config")

    def update_run_config(self, run: dict) -> None:
        atomic_write_json(self.path / "run.json", run)

    def rounds(self) -> list[dict]:
        """The committed rounds, in order; a torn, corrupted or out-of-order line is refused."""
        if not self.log_path.exists():
            return []
        records = read_jsonl(self.log_path, "the round log")
        for i, record in enumerate(records):
            if record.get("round") != i:
                raise InputError(f"{self.log_path} line {i + 1} is not round {i}; the run was left untouched")
        return records

    def load_checkpoint(self, committed: int) -> tuple[dict, Path] | None:
        """The engine state and task-state folder after round committed-1 (None if committed == 0).

        Repairs the one legitimate crash window: a checkpoint one round ahead of the log."""
        if committed == 0 and not self.checkpoint.exists():
            return None
        engine_file = self.checkpoint / "engine.json"
        if not engine_file.exists():
            raise InputError(f"the checkpoint of round {committed - 1} is missing from {self.path}; "
                             "the run cannot resume")
        engine = read_json(engine_file, "the checkpoint's engine state")
        if engine.get("next_round") == committed + 1:
            self.append(engine["record"])
        elif engine.get("next_round") != committed:
            raise InputError(f"the checkpoint in {self.path} is for round {engine.get('next_round', 0) - 1}, "
                             f"but the log has {committed} rounds; the run cannot resume")
        return engine, self.checkpoint / "task"

    def commit(self, record: dict, engine: dict, save_task_state: Callable[[Path], None]) -> None:
        """Make a finished round durable: checkpoint (atomic rename), then its log line."""
        tmp = self.path / f".{CHECKPOINT}.tmp"
        old = self.path / f".{CHECKPOINT}.old"
        for stale in (tmp, old):
            shutil.rmtree(stale, ignore_errors=True)
        (tmp / "task").mkdir(parents=True)
        save_task_state(tmp / "task")
        # No atomic write needed inside tmp: the folder is published whole by the rename below.
        (tmp / "engine.json").write_text(json.dumps({**engine, "record": record}))
        _fsync_tree(tmp)
        if self.checkpoint.exists():
            os.rename(self.checkpoint, old)
        os.rename(tmp, self.checkpoint)
        fsync_dir(self.path)
        self.append(record)
        shutil.rmtree(old, ignore_errors=True)

    def recover_checkpoint_swap(self) -> None:
        """Finish a commit killed between its two renames (checkpoint moved aside, new not yet in place)."""
        tmp, old = self.path / f".{CHECKPOINT}.tmp", self.path / f".{CHECKPOINT}.old"
        if not self.checkpoint.exists():
            if tmp.exists() and (tmp / "engine.json").exists():
                os.rename(tmp, self.checkpoint)
            elif old.exists():
                os.rename(old, self.checkpoint)
            fsync_dir(self.path)

    def append(self, record: dict) -> None:
        """Append one log line with a single write, then fsync."""
        line = (json.dumps(record, sort_keys=True) + "\n").encode()
        fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_tree(folder: Path) -> None:
    """fsync every file and folder below folder, so a rename publishes complete contents."""
    for root, _, files in os.walk(folder):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(root)
