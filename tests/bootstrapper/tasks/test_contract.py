"""The contract every Task passes, whatever it learns: determinism in the seed, rewards in
[0, 1], batch handling, exact save/load, JSON config, and two real engine rounds that resume
after a crash exactly as if never interrupted. A new task adds one factory below."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bootstrapper.engine import Progress, execute
from bootstrapper.rundir import RunDir
from bootstrapper.tasks import Task, get_task
from planner.costs import CostModel
from planner.models import GaussianModel
from planner.plan import Plan
from planner.problem import Problem
from planner.schedules import Schedule
from planner.solvers import free_form


def gaussian(tmp: Path) -> Task:
    return get_task("gaussian")()


def ddpm(tmp: Path) -> Task:
    pytest.importorskip("diffusers")
    from tests.bootstrapper.tasks.test_ddpm import make_task, tiny_unet

    tiny_unet().save_pretrained(tmp / "unet")
    return make_task(str(tmp / "unet"))


def llm(tmp: Path) -> Task:
    pytest.importorskip("transformers")
    from bootstrapper.tasks.llm import LLMConfig, LLMTask
    from tests.bootstrapper.tasks.test_llm import build_tiny_model

    build_tiny_model(tmp / "llm")
    return LLMTask(LLMConfig(model_path=str(tmp / "llm"), max_new_tokens=6, eval_per_level=4, gen_batch=4,
                             micro_batch=4, device="cpu"))


FACTORIES = {"gaussian": gaussian, "ddpm": ddpm, "llm": llm}


@pytest.fixture(params=list(FACTORIES), scope="module")
def task(request, tmp_path_factory) -> Task:
    import torch

    torch.set_num_threads(1)  # tiny models run fastest on one thread
    return FACTORIES[request.param](tmp_path_factory.mktemp(request.param))


def test_generation_is_deterministic_in_the_seed_and_rewards_are_in_range(task):
    """Same seed, same samples (same rewards); rewards are floats in [0, 1], one per sample."""
    a, b = task.init_state(5), task.init_state(5)
    ra, rb = task.reward(a, task.generate(a, 6)), task.reward(b, task.generate(b, 6))
    assert ra.shape == (6,) and np.all((ra >= 0) & (ra <= 1))
    np.testing.assert_array_equal(ra, rb)


def test_take_concat_and_size_agree(task):
    """Selection works on any task's batches: take picks, concat joins, size counts."""
    state = task.init_state(0)
    batch = task.generate(state, 5)
    picked = task.take(batch, np.array([0, 3]))
    assert task.size(batch) == 5 and task.size(picked) == 2
    assert task.size(task.concat([picked, batch])) == 7
    np.testing.assert_array_equal(task.reward(state, picked), task.reward(state, batch)[[0, 3]])


def test_evaluate_reports_a_reward_in_range(task):
    metrics = task.evaluate(task.init_state(0))
    assert 0 <= metrics["reward"] <= 1 and all(isinstance(v, float) for v in metrics.values())


def test_save_load_continues_identically(task, tmp_path):
    """After save + load the task generates, trains and evaluates exactly as without the detour."""
    state = task.init_state(1)
    state = task.train(state, task.generate(state, 4))
    task.save(state, tmp_path)
    loaded = task.load(tmp_path)
    first, second = task.generate(state, 4), task.generate(loaded, 4)
    np.testing.assert_array_equal(task.reward(state, first), task.reward(loaded, second))
    assert task.evaluate(task.train(state, first)) == task.evaluate(task.train(loaded, second))


def test_config_round_trips_through_json(task):
    again = type(task).from_json(json.loads(json.dumps(task.config.to_json())))
    assert again.config == task.config


class Crash(Exception):
    pass


def test_two_engine_rounds_resume_exactly_after_a_crash(task, tmp_path):
    """Two small proportional-selection rounds through the real engine; a crash after round 0's
    commit, then a resume, gives the same log as an uninterrupted run."""
    problem = Problem(GaussianModel(), CostModel(1.0, 1.0), 40.0, max_rounds=2)
    plan = Plan(problem, Schedule("free", (3, 4)), "contract", free_form(problem), task=task.name)

    def crash(record):
        if record["round"] == 0:
            raise Crash

    logs = []
    for name, progress in (("plain", None), ("crashed", Progress(round_done=crash))):
        folder = tmp_path / name
        RunDir(folder).prepare(plan.to_json(), {"task": task.name})
        if progress:
            with pytest.raises(Crash):
                execute(plan, task, folder, seed=2, progress=progress)
        history = execute(plan, task, folder, seed=2)
        logs.append([{k: v for k, v in r.items() if k != "seconds"} for r in history])
    assert logs[0] == logs[1] and len(logs[0]) >= 1
    assert logs[0][-1]["spent"] <= 40.0
