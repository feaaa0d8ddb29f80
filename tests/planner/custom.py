"""What another package would register: a reward model kind and a `plan` subcommand that
spendwise does not ship (tests/planner/test_registry.py installs them by entry point)."""
from __future__ import annotations

import argparse
import dataclasses
from typing import ClassVar

from planner.fit import Fit, Observations, fit_surrogate
from planner.models import SurrogateModel

HELP = "say hello (a command another package contributes)"


@dataclasses.dataclass(frozen=True)
class TinyModel(SurrogateModel):
    """The surrogate's recursion under a kind of its own, with defaults: g_{t+1} = a g_t + b / n_t."""

    r_star: float = 0.9
    g0: float = 0.5
    a: float = 0.6
    b: float = 0.5
    kind: ClassVar[str] = "tiny"

    @classmethod
    def fit(cls, obs: Observations) -> Fit:
        """This kind's own refit, which replanning a plan made with it calls: the surrogate's fit with
        gamma 1, as a model of this kind."""
        fitted = fit_surrogate(obs, 1.0)
        m = fitted.model
        return dataclasses.replace(fitted, model=cls(m.r_star, m.g0, m.a, m.b), method="tiny")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", default="world")


def run(args: argparse.Namespace) -> int:
    print(f"hello {args.name}")
    return 0
