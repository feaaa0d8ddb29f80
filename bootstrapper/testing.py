"""The contract every Task keeps, shipped as a pytest suite that a task of any package runs (as
optuna.testing.pytest_samplers does for samplers): subclass TaskContract and give it the task.

    import pytest
    from bootstrapper.testing import TaskContract

    class TestMyTask(TaskContract):
        @pytest.fixture
        def task(self):
            return MyTask(MyTask.Config(lr=1e-3))

The checks: determinism in the seed, rewards in [0, 1], batch handling (take, concat, size), an
evaluation reward in range, exact save/load, the Config's JSON round trip, and two real engine
rounds that resume after a crash exactly as if never interrupted. Needs pytest (the dev extra).
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from bootstrapper.engine import Progress, execute
from bootstrapper.rundir import RunDir
from bootstrapper.tasks import Task
from planner.costs import CostModel
from planner.models import GaussianModel
from planner.plan import Plan
from planner.problem import Problem
from planner.rounds import RoundRecord
from planner.runconfig import RunConfig
from planner.schedules import Schedule
from planner.solvers import free_form


class Crash(Exception):
    """Raised by a progress hook to stop a run as a crash would."""


class TaskContract:
    """The contract's tests; a subclass overrides the `task` fixture."""

    @pytest.fixture
    def task(self) -> Task:
        raise NotImplementedError("override the task fixture: return the task to check")

    def test_generation_is_deterministic_in_the_seed_and_rewards_are_in_range(self, task: Task) -> None:
        """Same seed, same samples (same rewards); rewards are floats in [0, 1], one per sample."""
        a, b = task.init_state(5), task.init_state(5)
        ra, rb = task.reward(a, task.generate(a, 6)), task.reward(b, task.generate(b, 6))
        assert ra.shape == (6,) and np.all((ra >= 0) & (ra <= 1))
        np.testing.assert_array_equal(ra, rb)

    def test_take_concat_and_size_agree(self, task: Task) -> None:
        """Selection works on the task's batches: take picks, concat joins, size counts."""
        state = task.init_state(0)
        batch = task.generate(state, 5)
        picked = task.take(batch, np.array([0, 3]))
        assert task.size(batch) == 5 and task.size(picked) == 2
        assert task.size(task.concat([picked, batch])) == 7
        np.testing.assert_array_equal(task.reward(state, picked), task.reward(state, batch)[[0, 3]])

    def test_evaluate_reports_a_reward_in_range(self, task: Task) -> None:
        metrics = task.evaluate(task.init_state(0))
        assert 0 <= metrics["reward"] <= 1 and all(isinstance(v, float) for v in metrics.values())

    def test_save_load_continues_identically(self, task: Task, tmp_path: Path) -> None:
        """After save + load the task generates, trains and evaluates exactly as without the detour."""
        state = task.init_state(1)
        state = task.train(state, task.generate(state, 4))
        task.save(state, tmp_path)
        loaded = task.load(tmp_path)
        first, second = task.generate(state, 4), task.generate(loaded, 4)
        np.testing.assert_array_equal(task.reward(state, first), task.reward(loaded, second))
        assert task.evaluate(task.train(state, first)) == task.evaluate(task.train(loaded, second))

    def test_config_round_trips_through_json(self, task: Task) -> None:
        again = type(task).from_json(json.loads(json.dumps(task.config.to_json())))
        assert again.config == task.config

    def test_two_engine_rounds_resume_exactly_after_a_crash(self, task: Task, tmp_path: Path) -> None:
        """Two small proportional-selection rounds through the real engine; a crash after round 0's
        commit, then a resume, gives the same log as an uninterrupted run."""
        problem = Problem(GaussianModel(), CostModel(1.0, 1.0), 40.0, max_rounds=2)
        plan = Plan(problem, Schedule("free", (3, 4)), "contract", free_form(problem), task=task.name)

        def crash(record: RoundRecord) -> None:
            if record.round == 0:
                raise Crash

        logs = []
        for name, progress in (("plain", None), ("crashed", Progress(round_done=crash))):
            folder = tmp_path / name
            RunDir(folder).prepare(plan.to_json(), RunConfig.for_task(task, seed=2))
            if progress:
                with pytest.raises(Crash):
                    execute(plan, task, folder, seed=2, progress=progress)
            history = execute(plan, task, folder, seed=2)
            logs.append([dataclasses.replace(r, seconds=None) for r in history])
        assert logs[0] == logs[1] and len(logs[0]) >= 1
        assert logs[0][-1].spent <= 40.0
