"""Optional packages: a missing one is one sentence naming what to install, never a traceback.

Like optuna's `try_import`: a command calls `need()` for what it will use before doing any work
(the package is found, not imported, so this costs microseconds), and `try_import()` turns a
ModuleNotFoundError raised inside its block, or an ImportError naming a missing optional package,
into the same sentence.
"""
from __future__ import annotations

import contextlib
import importlib.util
import re

from planner.validate import InputError

TYPE_CHECKING = False  # typing is imported for type checkers only: `plan --help` starts without it
if TYPE_CHECKING:
    from typing import Iterator

EXTRAS = {"optuna": "search", "cvxpy": "search", "matplotlib": "plot", "diffusers": "ddpm", "mlxtend": "ddpm",
          "sklearn": "ddpm", "transformers": "llm", "gguf": "llm", "accelerate": "llm", "torch": "all",
          "safetensors": "all", "tensorboard": "tensorboard", "mlflow": "mlflow", "wandb": "wandb",
          "trl": "trl", "datasets": "trl"}
NOT_IN_ALL = ("mlflow", "wandb", "trl")  # extras that ./install.sh all does not install
OURS = ("planner", "bootstrapper", "benchmarks")  # a missing module of ours is a bug, not an install step


class MissingPackage(InputError):
    """An optional package a command needs is not installed (exit status 2, one sentence)."""


def missing(module: str, purpose: str, extra: str | None = None) -> MissingPackage:
    """The sentence for `purpose` needing `module`, with the install command that brings it."""
    top = module.split(".")[0]
    extra = extra or EXTRAS.get(top, "all")
    pip = f"pip install \"spendwise[{extra}]\""
    how = pip if extra in NOT_IN_ALL else f"./install.sh all (or {pip})"
    return MissingPackage(f"{purpose} needs the Python package {top}, which is not installed; install it with {how}")


def need(purpose: str, extra: str, *modules: str) -> None:
    """Refuse unless every module (top-level names) can be imported; imports none of them."""
    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise missing(module, purpose, extra)


@contextlib.contextmanager
def try_import(purpose: str, extra: str | None = None) -> Iterator[None]:
    """Turn a ModuleNotFoundError of a third-party package inside the block into MissingPackage, and
    an ImportError a library raises for an optional package it needs (transformers: "Please install
    torch and gguf>=0.10.0") when a package it names is not installed."""
    try:
        yield
    except ModuleNotFoundError as e:
        if not e.name or e.name.split(".")[0] in OURS:
            raise
        raise missing(e.name, purpose, extra) from None
    except ImportError as e:
        absent = [name for name in re.findall(r"[A-Za-z_][\w.]*", str(e))
                  if name in EXTRAS and importlib.util.find_spec(name) is None]
        if not absent:
            raise
        raise missing(absent[0], purpose, extra) from None
