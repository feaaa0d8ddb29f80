"""The run directory: the config that made a run, its append-only round log, its checkpoint.

    plan.json        the plan being run (as `plan --out` wrote it)
    run.json         task name and config, seed, engine options, calibrated costs
    rounds.jsonl     one JSON object per committed round, appended, never rewritten
    checkpoint/      the state after the last committed round (task state + engine.json)
    report.png       the measured and predicted reward gap per round
    .lock            flock'ed by the one process running the run (bootstrapper/lock.py)

A new run directory is built beside its final place (plan.json, run.json, .lock, locked) and renamed
into place, so a crash or a full disk never leaves a half-made one. A round is committed by (1)
writing its checkpoint into a temporary folder, fsync, rename over the previous one, then (2)
appending its log line (every byte written, then fsync). A kill between the two leaves a checkpoint
one round ahead of the log: resume appends the line saved inside the checkpoint, so no finished
round is lost. A failed commit (full disk) removes what it half wrote; recover() then finishes or undoes
an interrupted commit and cuts a torn last log line the checkpoint holds whole; anything else is refused.
"""
from __future__ import annotations

import errno
import glob
import json
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from bootstrapper.engine_state import digest, read_engine_state
from bootstrapper.lock import LOCK_FILE, RunLock, not_writable
from planner.jsonio import atomic_write_json, fsync_dir, read_json, read_jsonl
from planner.rounds import ENGINE_KEYS, RoundRecord, read_rounds
from planner.runconfig import RunConfig
from planner.validate import InputError

CHECKPOINT = "checkpoint"


class RunDir:
    """One run's folder; every write is atomic or an fsync'ed append. Used as a context manager
    (or with release()), it holds the run's lock from open()/create() on."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._lock: RunLock | None = None

    def __enter__(self) -> "RunDir":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        """Let another process run this run directory."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    @property
    def log_path(self) -> Path:
        return self.path / "rounds.jsonl"

    @property
    def checkpoint(self) -> Path:
        return self.path / CHECKPOINT

    def open(self, plan: dict, run: RunConfig) -> bool:
        """Before anything is computed: lock an existing run and check that it is this plan with
        these options and can be written (True), or check that a new run can be made here (False)."""
        if not self.check_place():
            return False
        self._lock = RunLock(self.path)
        self._check_same(plan, run)
        try:  # a resume that could not commit its first round must fail now, not after computing it
            tempfile.TemporaryFile(dir=self.path).close()
            if self.log_path.exists():
                os.close(os.open(self.log_path, os.O_WRONLY | os.O_APPEND))
        except OSError as e:
            raise not_writable(self.path, e) from None
        return True

    def create(self, plan: dict, run: RunConfig) -> None:
        """Make the run directory, locked: built beside its place, then renamed into it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._remove_stale_asides()
        aside = self.path.parent / f".{self.path.name}.{secrets.token_hex(4)}.new"
        aside.mkdir()
        lock = None
        try:
            lock = RunLock(aside)
            atomic_write_json(aside / "plan.json", plan)
            atomic_write_json(aside / "run.json", run.to_json())
            os.rename(aside, self.path)  # replaces nothing but an empty folder
        except BaseException as e:
            if lock is not None:
                lock.release()
            shutil.rmtree(aside, ignore_errors=True)
            if isinstance(e, OSError) and e.errno in (errno.EEXIST, errno.ENOTEMPTY):
                RunLock(self.path).release()  # refused if the process that made it meanwhile still runs it
                raise InputError(f"{self.path} was made by another process meanwhile; run the same command "
                                 "again to resume it") from None
            raise
        fsync_dir(self.path.parent)
        self._lock = lock

    def _remove_stale_asides(self) -> None:
        """Remove the folders a create() killed midway left beside the run: those whose lock (taken right
        after the folder was made) no process holds any more."""
        for aside in self.path.parent.glob(f".{glob.escape(self.path.name)}.*.new"):
            if not (aside / LOCK_FILE).is_file():
                continue  # being made this instant, or not ours
            try:
                lock = RunLock(aside)
            except (InputError, OSError):
                continue  # another process is making it now, or it is not ours to remove
            lock.release()
            shutil.rmtree(aside, ignore_errors=True)

    def prepare(self, plan: dict, run: RunConfig | dict) -> bool:
        """open(), then create() a new run at once; True if resuming. run: a RunConfig, or its JSON
        object (read strictly, as run.json is)."""
        run = run if isinstance(run, RunConfig) else RunConfig.from_dict(run)
        resuming = self.open(plan, run)
        if not resuming:
            self.create(plan, run)
        return resuming

    def check_place(self) -> bool:
        """Before any work, touching nothing: True if a run is here to resume, False if a new one can be
        made here; InputError if neither (a file, a foreign folder, a folder under a file...)."""
        if not (self.path / "run.json").exists():
            self._check_creatable()
            return False
        if not (self.path / "plan.json").is_file():  # e.g. a folder of one's own logs for `plan fit`
            raise InputError(f"{self.path} holds a run.json but no plan.json: it is not a spendwise run directory; "
                             "refusing to write into it")
        return True

    def _check_creatable(self) -> None:
        if self.path.exists() and not (self.path.is_dir() and not any(self.path.iterdir())):
            raise InputError(f"{self.path} exists and is not a spendwise run directory; refusing to write into it")
        folder = self.path.parent
        while not folder.exists():
            folder = folder.parent
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            raise InputError(f"cannot make the run directory {self.path}: {folder} is not a writable folder")

    def _check_same(self, plan: dict, run: RunConfig) -> None:
        old_plan = read_json(self.path / "plan.json", "the run's plan file")
        old_run = self.run_config()
        if _text(old_plan) != _text(plan):  # as JSON: a tuple in plan is a list in the file
            raise InputError(f"{self.path} belongs to a different plan; use a new --run-dir")
        key = old_run.difference(run)
        if key is not None:
            old, new = getattr(old_run, key), getattr(run, key)
            if isinstance(new, bool):
                raise InputError(f"{self.path} was started {'with' if old else 'without'} --{key}; resume it the "
                                 "same way, or use a new --run-dir")
            raise InputError(f"{self.path} was started with {key} {json.dumps(old)}, not {json.dumps(new)}; "
                             "use a new --run-dir")

    def run_config(self) -> RunConfig:
        """run.json, read back strictly (planner/runconfig.py)."""
        return RunConfig.read(self.path / "run.json")

    def update_run_config(self, run: RunConfig) -> None:
        atomic_write_json(self.path / "run.json", run.to_json())

    def rounds(self) -> list[RoundRecord]:
        """The committed rounds, in order; a torn, corrupted or out-of-order line is refused."""
        if not self.log_path.exists():
            return []
        return read_rounds(read_jsonl(self.log_path, "the round log"), f"the round log {self.log_path}", ENGINE_KEYS)

    def recover_checkpoint(self, committed: int) -> tuple[dict, Path] | None:
        """The engine state and task-state folder after round committed-1 (None if committed == 0),
        after repairing the one legitimate crash window: a checkpoint one round ahead of the log gets
        the log line it holds appended (the only write of a resume before its first round)."""
        if committed == 0 and not self.checkpoint.exists():
            return None
        engine_file = self.checkpoint / "engine.json"
        if not engine_file.exists():
            raise InputError(f"the checkpoint of round {committed - 1} is missing from {self.path}; "
                             "the run cannot resume")
        engine = read_engine_state(engine_file)
        log = self.rounds()
        if engine["next_round"] == committed + 1:
            read_rounds(log + [engine["record"]], f"{engine_file} (after the log)", ENGINE_KEYS)
            self.append(engine["record"])
        elif engine["next_round"] != committed or _text(engine["record"].to_json()) != _text(log[-1].to_json()):
            raise InputError(f"the checkpoint {engine_file} is for round {engine['next_round'] - 1}, but the "
                             f"log's last round is {committed - 1}; the run cannot resume")
        return engine, self.checkpoint / "task"

    def commit(self, record: RoundRecord, engine: dict, save_task_state: Callable[[Path], None]) -> None:
        """Make a finished round durable: checkpoint (atomic rename), then its log line. If the disk
        fails first, nothing of the round stays and it is one sentence; if it fails after the rename,
        the round is in the checkpoint and the next start appends its line."""
        tmp = self.path / f".{CHECKPOINT}.tmp"
        old = self.path / f".{CHECKPOINT}.old"
        for stale in (tmp, old):
            shutil.rmtree(stale, ignore_errors=True)
        try:
            (tmp / "task").mkdir(parents=True)
            save_task_state(tmp / "task")
            # No atomic write needed inside tmp: the folder is published whole by the rename below.
            state = {**engine, "record": record.to_json(), "rng_sha256": digest(engine["rng"])}
            (tmp / "engine.json").write_text(json.dumps(state))
            _fsync_tree(tmp)
        except BaseException as e:
            shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(e, OSError):
                raise self._not_committed(record.round, e, kept=False) from None
            raise
        if self.checkpoint.exists():
            os.rename(self.checkpoint, old)  # from here on tmp is whole: recover() promotes it
        os.rename(tmp, self.checkpoint)
        fsync_dir(self.path)
        try:
            self.append(record)
        except OSError as e:
            raise self._not_committed(record.round, e, kept=True) from None
        shutil.rmtree(old, ignore_errors=True)

    def _not_committed(self, round_: int, error: OSError, kept: bool) -> InputError:
        """The sentence for a round whose commit the disk refused (ENOSPC, EIO...)."""
        when = " after its checkpoint was saved" if kept else ""
        return InputError(f"round {round_} could not be written to the run directory {self.path} "
                          f"({error.strerror or error}){when}; the rounds before it are kept: free space and run "
                          "the same command again to resume")

    def recover(self) -> list[str]:
        """Finish or undo a commit that a kill or a full disk interrupted, before the run is read:
        a checkpoint moved aside is replaced by the new one (whole: it was moved aside only after the
        new one was written) or put back; a half-written new checkpoint and a leftover old one are
        removed; a torn last log line that is the start of the checkpoint's own round is cut (that
        round's line is then appended from the checkpoint). Returns one sentence per repair."""
        tmp, old = self.path / f".{CHECKPOINT}.tmp", self.path / f".{CHECKPOINT}.old"
        notes = []
        if not self.checkpoint.exists() and old.exists():
            os.rename(tmp if tmp.exists() else old, self.checkpoint)
            notes.append(f"finished the checkpoint swap that was interrupted in {self.path}")
        for stale in (tmp, old):
            if stale.exists():
                shutil.rmtree(stale)
                notes.append(f"removed {stale.name}, left by an interrupted commit in {self.path}")
        torn = self._torn_tail()
        if torn is not None:
            os.truncate(self.log_path, torn)
            notes.append(f"cut the torn last line of {self.log_path}, left by an interrupted write; its round is "
                         "restored from the checkpoint")
        if notes:
            fsync_dir(self.path)
        return notes

    def _torn_tail(self) -> int | None:
        """The log's length without its last line, if that line is torn (no newline) and is the start of
        the checkpoint's round record as the commit writes it, i.e. an interrupted append and not an edit."""
        if not self.log_path.is_file():
            return None
        data = self.log_path.read_bytes()
        cut = data.rfind(b"\n") + 1
        engine_file = self.checkpoint / "engine.json"
        if cut == len(data) or not engine_file.is_file():
            return None
        try:
            record = json.loads(engine_file.read_text())["record"]
        except (ValueError, TypeError, KeyError, RecursionError):
            return None  # a damaged checkpoint is refused with its own sentence
        whole = (_text(record) + "\n").encode() if isinstance(record, dict) else b""
        return cut if whole.startswith(data[cut:]) else None

    def append(self, record: RoundRecord) -> None:
        """Append one log line, then fsync; a write that fails partway (a full disk) is cut off
        again, so the log never keeps a torn line."""
        line = memoryview((_text(record.to_json()) + "\n").encode())
        fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            try:
                while line:
                    written = os.write(fd, line)
                    if written <= 0:
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.log_path))
                    line = line[written:]
                os.fsync(fd)
            except BaseException:
                os.ftruncate(fd, size)
                raise
        finally:
            os.close(fd)


def _text(obj: dict) -> str:
    """An object as the run directory's files hold it (compared as text: NaN equals NaN there)."""
    return json.dumps(obj, sort_keys=True)


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
