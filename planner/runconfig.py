"""run.json: what a run computes with (task, task options, seed, engine options), checked on
every resume, and what was measured before its round 0 (the starting model's metrics, the
calibration and the plan re-solved for it). One frozen dataclass, written by to_json and read
back strictly by from_dict (read: from a file), for the CLI, plan tune, plan fit and the studies alike.
It lives in planner/ because `plan fit` reads the run.json beside a round log:

    RunDir(folder).prepare(plan.to_json(), RunConfig.for_task(task, seed=0))
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, ClassVar

from planner.jsonio import as_stored, from_dict, read_json
from planner.rounds import check_initial
from planner.validate import InputError, check_every, check_seed

FORMAT = 1


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """A run's options and its measurements before round 0; a bad value is an InputError naming it."""

    task: str
    seed: int
    task_config: dict | None = None  # the task's Config as JSON (None: not recorded, see for_task)
    calibrate: bool = False
    replan: bool = False
    eval_every: int = 1  # held-out evaluation after every eval_every-th round and the last
    initial: dict | None = None  # the starting model's held-out metrics ("reward" in [0, 1], ...)
    calibration: dict | None = None  # measured seconds per generated / trained sample (--calibrate)
    calibrated_plan: dict | None = None  # the plan re-solved for them
    format: int = FORMAT

    # what a resume must give the same: these change what the run computes
    RESULT: ClassVar[tuple[str, ...]] = ("task", "task_config", "seed", "calibrate", "replan", "eval_every")

    def __post_init__(self) -> None:
        if self.format != FORMAT:
            raise InputError(f"run config format {self.format!r}; this spendwise reads format {FORMAT}")
        if not isinstance(self.task, str) or not self.task:
            raise InputError(f"task must be a task name, got {self.task!r}")
        check_seed("seed", self.seed)
        for name in ("calibrate", "replan"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(f"{name} must be true or false, got {getattr(self, name)!r}")
        check_every("eval_every", self.eval_every)
        for name in ("task_config", "initial", "calibration", "calibrated_plan"):
            if not isinstance(getattr(self, name), (dict, type(None))):
                raise InputError(f"{name} must be a JSON object, got {json.dumps(getattr(self, name))}")
            if getattr(self, name) is not None:  # as run.json holds it, so a resume compares equal
                object.__setattr__(self, name, as_stored(getattr(self, name)))
        if self.initial is not None:
            check_initial(self.initial, "the run's starting metrics")

    @classmethod
    def for_task(cls, task: Any, seed: int, **options: Any) -> "RunConfig":
        """The config of a run of `task` (a bootstrapper Task) with this seed and engine options."""
        return cls(task.name, seed, task.config.to_json(), **options)

    @classmethod
    def from_dict(cls, data: Any, what: str = "run config") -> "RunConfig":
        """Read run.json's object strictly: unknown keys, wrong types and bad values are refused."""
        return from_dict(cls, data, what)

    @classmethod
    def read(cls, path: str | os.PathLike) -> "RunConfig":
        """A run.json file, read strictly; a damaged one is one sentence naming it."""
        try:
            return cls.from_dict(read_json(path, "the run's config"))
        except InputError as e:
            raise InputError(f"the run's config {path} is damaged: {e}") from None

    @staticmethod
    def initial_in(path: str | os.PathLike) -> dict | None:
        """The starting metrics a run.json records (checked), or None. A file holding only them
        ({"initial": {...}}, e.g. written for the log of one's own loop) is accepted: they are all
        `plan fit` reads."""
        data = read_json(path, "run config")
        if isinstance(data, dict) and set(data) == {"initial"}:
            return check_initial(data["initial"], f"run config {path}")
        return RunConfig.read(path).initial

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    def difference(self, other: "RunConfig") -> str | None:
        """The first option that differs from other's (a resume would compute another run), or None."""
        return next((key for key in self.RESULT if getattr(self, key) != getattr(other, key)), None)
