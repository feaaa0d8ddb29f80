"""What installed packages contribute, found through entry-point groups (importlib.metadata):

    spendwise.commands   plan subcommands: a module with HELP, add_arguments(parser), run(args)
    spendwise.tasks      Task classes, by task name
    spendwise.priors     a task's prior reward-model file (a path), by task name
    spendwise.models     RewardModel classes, by their `kind`
    spendwise.solvers    Solver classes, by solver name

spendwise registers its own in pyproject.toml ([project.entry-points]); another package adds
its own entries the same way, and nothing here changes. The planner reads these groups and
loads only the entry asked for, so it never needs to know which package supplies it.
"""
from __future__ import annotations

import functools
import importlib
import os
import sys

from planner.validate import InputError

TYPE_CHECKING = False  # typing and importlib.metadata for type checkers only: `plan --help` starts without them
if TYPE_CHECKING:
    from importlib import metadata
    from pathlib import Path
    from typing import Any

COMMANDS, TASKS, PRIORS, MODELS, SOLVERS = (f"spendwise.{g}" for g in ("commands", "tasks", "priors", "models",
                                                                       "solvers"))


@functools.lru_cache(maxsize=4)
def _installed(path: tuple[str, ...]) -> "metadata.EntryPoints":
    """Every installed entry point: one read of every package's metadata (tens of ms), per sys.path."""
    from importlib import metadata

    return metadata.entry_points()


def entries(group: str) -> "dict[str, metadata.EntryPoint]":
    """The entry points of a group by name (read again when sys.path changes: a package added counts)."""
    return {ep.name: ep for ep in _installed(tuple(sys.path)).select(group=group)}


def names(group: str) -> list[str]:
    """The sorted names registered in a group."""
    return sorted(entries(group))


def load(group: str, name: str, what: str) -> Any:
    """The object registered as name, or an InputError naming `what` and every known name."""
    found = entries(group)
    if name not in found:
        raise InputError(f"unknown {what} {name!r}; known {what}s: {', '.join(sorted(found)) or 'none'}")
    return found[name].load()


def prior_path(task: str) -> Path | None:
    """The prior model file a task's package ships for it, if it registered one."""
    from pathlib import Path

    found = entries(PRIORS)
    return Path(found[task].load()) if task in found else None


def declared(group: str) -> dict[str, str]:
    """name -> object reference ("module" or "module:attr") of every entry point of group, read straight
    from the entry_points.txt of each package on sys.path (the first of a name wins, as sys.path orders
    them): a cheap read for listings such as `plan --help`, which importlib.metadata would slow by ~70 ms."""
    found: dict[str, str] = {}
    for folder in sys.path:
        try:
            with os.scandir(folder or ".") as listing:
                infos = sorted(e.path for e in listing if e.name.endswith((".dist-info", ".egg-info")))
        except OSError:
            continue
        for info in infos:
            try:
                with open(os.path.join(info, "entry_points.txt")) as f:
                    lines = f.read().splitlines()
            except OSError:
                continue
            section = None
            for line in map(str.strip, lines):
                if line.startswith("[") and line.endswith("]"):
                    section = line[1:-1].strip()
                elif section == group and "=" in line and not line.startswith(("#", ";")):
                    name, _, value = line.partition("=")
                    found.setdefault(name.strip(), value.strip())
    return found


def resolve(reference: str) -> Any:
    """The object an entry point's reference names ("module" or "module:attr")."""
    module, _, attr = reference.partition(":")
    found = importlib.import_module(module.strip())
    for part in filter(None, attr.strip().split(".")):
        found = getattr(found, part)
    return found
