"""Tasks by name. A new task is one module plus one line here, or an entry point in the
group ``spendwise.tasks`` of any installed package; no engine code changes."""
from __future__ import annotations

import importlib
from importlib import metadata
from pathlib import Path

from bootstrapper.tasks._base import Task, TaskConfig, TaskError

# name -> "module:Class", imported only when the task is used (torch stays unloaded otherwise).
BUILTIN = {
    "gaussian": "bootstrapper.tasks.gaussian:GaussianTask",
    "ddpm": "bootstrapper.tasks.ddpm:DDPMTask",
    "llm": "bootstrapper.tasks.llm:LLMTask",
}


def available() -> list[str]:
    """Names of every task: the built-in ones and those registered as entry points."""
    return sorted(set(BUILTIN) | {ep.name for ep in metadata.entry_points(group="spendwise.tasks")})


PRIORS = Path(__file__).resolve().parent.parent / "assets" / "priors"  # <task>.json, by benchmarks/fit_task_prior.py


def prior_path(name: str) -> Path | None:
    """The prior reward model file shipped for a built-in task's checkpoint, if there is one
    (found without importing the task, so planning stays free of torch)."""
    path = PRIORS / f"{name}.json"
    return path if name in BUILTIN and path.is_file() else None


def get_task(name: str) -> type[Task]:
    """The Task class called name, or a TaskError listing the known names."""
    if name in BUILTIN:
        module, cls = BUILTIN[name].split(":")
        return getattr(importlib.import_module(module), cls)
    for ep in metadata.entry_points(group="spendwise.tasks"):
        if ep.name == name:
            return ep.load()
    raise TaskError(f"unknown task {name!r}; known tasks: {', '.join(available())}")


__all__ = ["Task", "TaskConfig", "TaskError", "available", "get_task", "prior_path"]
