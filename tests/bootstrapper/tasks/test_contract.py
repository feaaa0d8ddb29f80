"""The shipped task contract (bootstrapper/testing.py) on every built-in task, and on a task
outside the repository, as its own package would run it. A new built-in task adds one factory below."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bootstrapper.tasks import Task, get_task
from bootstrapper.testing import TaskContract
from tests.bootstrapper.tasks.helpers import build_tiny_model, tiny_ddpm_task, tiny_unet
from tests.conftest import ROOT, needs


def gaussian(tmp: Path) -> Task:
    return get_task("gaussian")()


def ddpm(tmp: Path) -> Task:
    needs("diffusers")
    needs("torch").set_num_threads(1)  # tiny models run fastest on one thread
    tiny_unet().save_pretrained(tmp / "unet")
    return tiny_ddpm_task(str(tmp / "unet"))


def llm(tmp: Path) -> Task:
    needs("transformers")
    needs("torch").set_num_threads(1)
    from bootstrapper.tasks.llm import LLMConfig, LLMTask

    build_tiny_model(tmp / "llm")
    return LLMTask(LLMConfig(model_path=str(tmp / "llm"), max_new_tokens=6, eval_per_level=4, gen_batch=4,
                             micro_batch=4, device="cpu"))


FACTORIES = {"gaussian": gaussian, "ddpm": ddpm, "llm": llm}


class TestBuiltinTasks(TaskContract):
    @pytest.fixture(params=list(FACTORIES), scope="class")
    def task(self, request, tmp_path_factory) -> Task:
        return FACTORIES[request.param](tmp_path_factory.mktemp(request.param))




OUTSIDE_TASK = '''
import pickle

import numpy as np
import pytest

from bootstrapper.tasks import Task
from bootstrapper.testing import TaskContract


class DiceTask(Task):
    """Samples are die faces 0..5, reward face / 5; training raises the bias toward high faces."""

    name = "dice"

    def init_state(self, seed):
        return {"rng": np.random.default_rng(seed), "bias": 0.0}

    def generate(self, state, n):
        p = np.exp(state["bias"] * np.arange(6))
        return state["rng"].choice(6, size=n, p=p / p.sum())

    def reward(self, state, batch):
        return batch / 5.0

    def train(self, state, kept):
        return {**state, "bias": state["bias"] + 0.01 * float(np.sum(kept))}

    def evaluate(self, state):
        p = np.exp(state["bias"] * np.arange(6))
        return {"reward": float(p @ np.arange(6) / p.sum() / 5)}

    def save(self, state, folder):
        (folder / "dice.pickle").write_bytes(pickle.dumps(state))

    def load(self, folder):
        return pickle.loads((folder / "dice.pickle").read_bytes())


class LoadedDiceTask(DiceTask):
    """Breaks the contract: rewards up to 2."""

    def reward(self, state, batch):
        return batch / 2.5


class TestDice(TaskContract):
    @pytest.fixture
    def task(self):
        return DiceTask()


class TestLoadedDice(TaskContract):
    @pytest.fixture
    def task(self):
        return LoadedDiceTask()
'''


def test_a_task_outside_the_repository_runs_the_shipped_contract(tmp_path):
    """A package of its own (a folder outside the repository) imports the contract and runs it with
    pytest: the task that keeps it passes every check, the one whose rewards leave [0, 1] fails."""
    assert not tmp_path.is_relative_to(ROOT)
    (tmp_path / "test_dice.py").write_text(OUTSIDE_TASK)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", "test_dice.py"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    passed = {line.split("::")[1] + "::" + line.split("::")[2] for line in run.stdout.splitlines()
              if line.startswith("PASSED")}
    failed = {line.split("::")[1] + "::" + line.split("::")[2].split(" ")[0] for line in run.stdout.splitlines()
              if line.startswith("FAILED")}
    checks = [name for name in dir(TaskContract) if name.startswith("test_")]
    assert passed >= {f"TestDice::{name}" for name in checks}, run.stdout
    assert "TestLoadedDice::test_generation_is_deterministic_in_the_seed_and_rewards_are_in_range" in failed
