"""The Advisor's inputs, checked: the reward model it is given, a round's metrics and seconds."""
from __future__ import annotations

import os
from collections.abc import Mapping

from planner import registry
from planner.models import DEFAULT_MODEL, RewardModel, load_model
from planner.validate import InputError, check_number, is_number, require

MAX_SECONDS = 1e9  # most seconds one phase of a round can take (31.7 years)


def reward_model(model: RewardModel | str | os.PathLike | None) -> RewardModel:
    """The reward model: the default, a model object, or one read from a model file."""
    if model is None:
        return DEFAULT_MODEL
    if isinstance(model, (str, os.PathLike)):
        return load_model(os.fspath(model))
    kinds = registry.names(registry.MODELS)
    if getattr(model, "kind", None) in kinds and isinstance(model, registry.load(registry.MODELS, model.kind, "")):
        return model  # registered, so that a plan made with it can be read back (state_dict, plan files)
    raise InputError(f"model must be a reward model of a registered kind ({', '.join(kinds)}; others register in the "
                     f"entry-point group {registry.MODELS}) or a model file path, got {model!r}")


def checked_metrics(metrics: Mapping[str, float] | None, reward: float, what: str) -> dict[str, float]:
    """Extra metrics (e.g. "theta") as floats, with "reward" set to the reward given."""
    if metrics is None:
        return {"reward": reward}
    if not isinstance(metrics, Mapping) or not all(isinstance(k, str) for k in metrics):
        raise InputError(f"{what} must be a dict of name -> number, got {metrics!r}")
    out = {k: check_number(f"{what}[{k!r}]", v) for k, v in metrics.items()}
    if out.setdefault("reward", reward) != reward:
        raise InputError(f"{what}['reward'] = {out['reward']!r} differs from the reward given, {reward!r}")
    return out


def checked_seconds(name: str, value: object) -> float:
    """A round's measured seconds: from 0 to MAX_SECONDS (past that a typo, and the ledger would overflow)."""
    require(is_number(value) and 0 <= value <= MAX_SECONDS, name, f"a number of seconds from 0 to {MAX_SECONDS:g}",
            value)
    return float(value)
