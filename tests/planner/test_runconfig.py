"""run.json as one frozen dataclass: written by to_json, read back strictly, and what a resume
must give the same (a different seed or task option is refused before any round)."""
from __future__ import annotations

import re

import pytest

from bootstrapper.rundir import RunDir
from bootstrapper.tasks.gaussian import GaussianConfig, GaussianTask
from planner.costs import CostModel
from planner.models import GaussianModel
from planner.plan import recommend
from planner.problem import Problem
from planner.runconfig import RunConfig
from planner.validate import InputError


def test_round_trips_through_json_and_reads_strictly():
    config = RunConfig.for_task(GaussianTask(GaussianConfig(sigma=1.5)), seed=7, replan=True, eval_every=2,
                                initial={"reward": 0.25, "theta": 3.0})
    assert RunConfig.from_dict(config.to_json()) == config
    assert config.to_json()["task_config"]["sigma"] == 1.5 and config.to_json()["format"] == 1


@pytest.mark.parametrize("change, said", [
    ({"colour": "red"}, "unknown key(s) colour"),
    ({"seed": "3"}, "'seed' must be a whole number"),
    ({"seed": -1}, "seed must be a whole number from 0 to 2^32 - 1, got -1"),
    ({"replan": 1}, "'replan' must be true or false"),
    ({"eval_every": 0}, "eval_every must be a whole number from 1 to 2^53, got 0"),
    ({"task": ""}, "task must be a task name, got ''"),
    ({"task_config": [1]}, "task_config must be a JSON object, got [1]"),
    ({"initial": {"reward": 2.0}}, "reward"),
    ({"format": 2}, "run config format 2; this spendwise reads format 1"),
], ids=["unknown-key", "seed-text", "seed-negative", "replan-number", "eval-every-0", "no-task", "options-list",
        "initial-reward-2", "format-2"])
def test_bad_values_are_refused_naming_them(change, said):
    data = {**RunConfig("gaussian", 0, {}).to_json(), **change}
    with pytest.raises(InputError, match=re.escape(said)):
        RunConfig.from_dict(data)


def test_a_seed_is_always_recorded():
    with pytest.raises(InputError, match="seed"):
        RunConfig.from_dict({"task": "gaussian", "task_config": {}})


def test_a_resume_with_another_seed_or_task_option_is_refused(tmp_path):
    task = GaussianTask()
    plan = recommend(Problem(GaussianModel(), CostModel(1.0, 3.0, 20.0), 2e3), task="gaussian").to_json()
    with RunDir(tmp_path / "run") as run_dir:
        assert not run_dir.prepare(plan, RunConfig.for_task(task, seed=0))
    with RunDir(tmp_path / "run") as run_dir:
        assert run_dir.prepare(plan, RunConfig.for_task(task, seed=0))  # the same run: resumed
    for other, said in ((RunConfig.for_task(task, seed=1), "seed 0, not 1"),
                        (RunConfig.for_task(GaussianTask(GaussianConfig(sigma=2.0)), seed=0), "task_config"),
                        (RunConfig.for_task(task, seed=0, replan=True), "without --replan")):
        with RunDir(tmp_path / "run") as run_dir, pytest.raises(InputError, match=said):
            run_dir.prepare(plan, other)


def test_a_task_config_holding_a_tuple_resumes(tmp_path):
    """A tuple in a task's config (the LLM task's levels) is a list in run.json: the resume is the
    same run, not 'started with task_config ...' (a resumed LLM study was refused so)."""
    plan = recommend(Problem(GaussianModel(), CostModel(1.0, 3.0, 20.0), 2e3), task="gaussian").to_json()
    config = RunConfig("gaussian", 0, {"levels": ("base", "p1")})
    with RunDir(tmp_path / "run") as run_dir:
        assert not run_dir.prepare(plan, config)
    with RunDir(tmp_path / "run") as run_dir:
        assert run_dir.prepare(plan, RunConfig("gaussian", 0, {"levels": ("base", "p1")}))
    assert config == RunConfig.from_dict(config.to_json())
