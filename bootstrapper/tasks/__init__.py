"""Tasks by name: the entry-point group ``spendwise.tasks`` (planner/registry.py). A new task is
one module and one entry point, in spendwise's pyproject.toml or any installed package's; no
engine code changes. Its Config fields are the `-o KEY=VALUE` options of `plan execute`."""
from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

from bootstrapper.tasks._base import Task, TaskConfig, TaskError
from planner import registry
from planner._imports import try_import
from planner.validate import InputError, parse_value

# The shipped tasks' priors (reward models fitted to earlier runs; benchmarks/fit_task_prior.py
# writes them), registered in the group spendwise.priors so that planning finds them without the task.
PRIORS = Path(__file__).resolve().parent.parent / "assets" / "priors"
DDPM_PRIOR, LLM_PRIOR = PRIORS / "ddpm.json", PRIORS / "llm.json"
EXTRA_OF_TASK = {"ddpm": "ddpm", "llm": "llm"}  # the spendwise extra that installs a built-in task's packages


def available() -> list[str]:
    """Names of every registered task."""
    return registry.names(registry.TASKS)


def get_task(name: str) -> type[Task]:
    """The Task class called name, or a TaskError listing the known names; a package the task
    needs and cannot find is one sentence naming the extra that installs it."""
    with try_import(f"the {name} task", EXTRA_OF_TASK.get(name)):
        try:
            return registry.load(registry.TASKS, name, "task")
        except InputError as e:
            raise TaskError(str(e)) from None


def task_config(cls: type[Task], options: list[str], model_path: str | None) -> TaskConfig:
    """The task's Config from -o KEY=VALUE options (types from the Config's fields) and --model-path."""
    hints = typing.get_type_hints(cls.Config)
    names = [f.name for f in dataclasses.fields(cls.Config)]
    values = {}
    for item in options + ([f"model_path={model_path}"] if model_path else []):
        key, sep, text = item.partition("=")
        if not sep or key not in names:
            raise InputError(f"task {cls.name} has no option {key!r}; options: {', '.join(names)}")
        values[key] = parse_value(text, hints[key], f"option {key}")
    return cls.Config(**values)


def make_task(name: str, options: list[str], model_path: str | None = None) -> Task:
    """The task called name, configured by -o KEY=VALUE options and --model-path."""
    cls = get_task(name)
    return cls(task_config(cls, options, model_path))


__all__ = ["Task", "TaskConfig", "TaskError", "available", "get_task", "make_task", "task_config"]
