"""The Gaussian warm-up as a real task: generator N(theta, sigma^2), reward exp(-x^2/(2 kappa^2)),
training = the MLE of the mean of the kept samples. Its expected result is known exactly
(planner.models.GaussianModel), so it checks the engine end to end."""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from bootstrapper.tasks._base import Task, TaskConfig, TaskError
from planner.jsonio import read_json
from planner.validate import check_rng_state, is_number

MAX_DELAY = 60.0  # seconds per generated sample: a stand-in generator slower than this is a typo


@dataclasses.dataclass(frozen=True)
class GaussianConfig(TaskConfig):
    """The true parameters of the generator and reward (the planner may not know them)."""

    theta0: float = 3.0
    sigma: float = 1.0
    kappa: float = 1.0
    delay: float = 0.0  # seconds per generated sample, to stand in for an expensive generator

    def __post_init__(self) -> None:
        self.require(is_number(self.theta0), "theta0", "a finite number")
        for name in ("sigma", "kappa"):
            self.require(is_number(getattr(self, name)) and getattr(self, name) > 0, name, "a finite number > 0")
        self.require(is_number(self.delay) and 0 <= self.delay <= MAX_DELAY, "delay", f"a number from 0 to {MAX_DELAY}")


@dataclasses.dataclass
class GaussianState:
    """The generator's mean and the task's own random stream."""

    theta: float
    rng: np.random.Generator


class GaussianTask(Task):
    """Exact toy task; samples are floats in a numpy array."""

    name = "gaussian"
    Config = GaussianConfig

    def init_state(self, seed: int) -> GaussianState:
        return GaussianState(self.config.theta0, np.random.Generator(np.random.PCG64([seed, 1])))

    def generate(self, state: GaussianState, n: int) -> np.ndarray:
        if self.config.delay:
            time.sleep(self.config.delay * n)
        return state.rng.normal(state.theta, self.config.sigma, n)

    def reward(self, state: GaussianState, batch: np.ndarray) -> np.ndarray:
        return np.exp(-np.square(batch) / (2 * self.config.kappa**2))

    def train_steps(self, kept: int) -> int:
        """The MLE update is one step (none when nothing was kept)."""
        return int(kept > 0)

    def train(self, state: GaussianState, kept: np.ndarray) -> GaussianState:
        return GaussianState(float(np.mean(kept)), state.rng)

    def evaluate(self, state: GaussianState) -> dict[str, float]:
        c = self.config
        s2 = c.sigma**2 + c.kappa**2
        reward = c.kappa / np.sqrt(s2) * np.exp(-state.theta**2 / (2 * s2))
        return {"reward": float(reward), "theta": state.theta}

    def save(self, state: GaussianState, folder: Path) -> None:
        (folder / "state.json").write_text(json.dumps({"theta": state.theta, "rng": state.rng.bit_generator.state}))

    def load(self, folder: Path) -> GaussianState:
        """The state save wrote, checked: theta a finite number, the RNG state a PCG64 state."""
        where = folder / "state.json"
        data = read_json(where, "the gaussian task state")
        if not (isinstance(data, dict) and set(data) == {"theta", "rng"} and is_number(data["theta"])):
            raise TaskError(f"the gaussian task state {where} must hold theta (a finite number) and rng")
        rng = np.random.Generator(np.random.PCG64())
        rng.bit_generator.state = check_rng_state(data["rng"], f"the gaussian task state {where}")
        return GaussianState(float(data["theta"]), rng)
