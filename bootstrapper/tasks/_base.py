"""The Task protocol: all the engine knows about a model, its data and its reward.

A task is one small class: generate samples from the current model, score them in [0, 1],
train on the kept ones, evaluate on held-out data, and save/load its whole state. The engine
owns selection, the budget ledger and the run directory, so a new task touches no engine code.
"""
from __future__ import annotations

import abc
import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from planner.jsonio import from_dict
from planner.validate import InputError, require


class TaskError(InputError):
    """Bad task input (missing checkpoint, wrong image size, bad option): one sentence, exit 2."""


@dataclasses.dataclass(frozen=True)
class TaskConfig:
    """Base of every task's frozen config; every field has a default and is saved in the run."""

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    def require(self, ok: bool, field: str, rule: str) -> None:
        """For __post_init__: a TaskError "task option <field> must be <rule>, got <value>" unless ok
        (the field is an -o option of plan execute)."""
        require(ok, f"task option {field}", rule, getattr(self, field), TaskError)


class Task(abc.ABC):
    """One bootstrapping problem. State is opaque to the engine (model, optimizer, RNG)."""

    name: ClassVar[str]
    Config: ClassVar[type[TaskConfig]] = TaskConfig

    def __init__(self, config: TaskConfig | None = None):
        self.config = config if config is not None else self.Config()

    @classmethod
    def from_json(cls, data: dict) -> "Task":
        """Rebuild the task from the config saved in a run directory (unknown keys refused)."""
        return cls(from_dict(cls.Config, data, f"{cls.name} task config"))

    @abc.abstractmethod
    def init_state(self, seed: int) -> Any:
        """The starting state (model, optimizer, the task's own RNG), deterministic in seed."""

    @abc.abstractmethod
    def generate(self, state: Any, n: int) -> Any:
        """n new samples from the current model; advances the state's RNG."""

    @abc.abstractmethod
    def reward(self, state: Any, batch: Any) -> np.ndarray:
        """Reward of each sample, float array of shape (len(batch),) with values in [0, 1]."""

    @abc.abstractmethod
    def train(self, state: Any, kept: Any) -> Any:
        """One pass of training on the kept samples; returns the new state."""

    def train_steps(self, kept: int) -> int | None:
        """Optimizer steps that `train` runs on `kept` samples (None: the task does not say). Logged with
        every round, so that a reward model on a step clock can be fitted to the run."""
        return None

    @abc.abstractmethod
    def evaluate(self, state: Any) -> dict[str, float]:
        """Held-out metrics; "reward" (mean reward in [0, 1], what the planner predicts) is required."""

    @abc.abstractmethod
    def save(self, state: Any, folder: Path) -> None:
        """Write the whole state (weights, optimizer, RNG) into folder, which exists and is empty."""

    @abc.abstractmethod
    def load(self, folder: Path) -> Any:
        """Read a state written by save; the task then behaves exactly as it did before saving."""

    # Batches are numpy arrays by default; tasks holding other containers override these.
    def take(self, batch: Any, index: np.ndarray) -> Any:
        """The samples of batch at the integer positions index, in that order."""
        return batch[index]

    def concat(self, batches: list[Any]) -> Any:
        """One batch holding the given batches one after another."""
        return np.concatenate(batches)

    def size(self, batch: Any) -> int:
        """Number of samples in batch."""
        return len(batch)
