"""Reward models by kind (the entry-point group spendwise.models, planner/registry.py: a model of
another package is a frozen dataclass with a `kind`, registered there), and loading them from
model files."""
from __future__ import annotations

from planner import registry
from planner.jsonio import from_dict, read_json
from planner.models._base import RewardModel, gap, predict
from planner.models.gaussian import GaussianModel
from planner.models.surrogate import SurrogateModel
from planner.validate import InputError

# Used when the user gives no model file: the paper's Gaussian warm-up with a start far from
# the optimum (theta0 = 3 sigma), where the schedule's shape changes the result by factors.
DEFAULT_MODEL = GaussianModel(theta0=3.0, sigma=1.0, kappa=1.0)


def model_from_json(data: object) -> RewardModel:
    """Build a model from its JSON object; unknown kinds, keys and bad values are refused."""
    if not isinstance(data, dict):
        raise InputError(f"a model must be a JSON object, not {type(data).__name__}")
    kind = data.get("kind")
    if not isinstance(kind, str):
        raise InputError(f"a model needs a kind (known: {', '.join(registry.names(registry.MODELS))}), got {kind!r}")
    fields = {k: v for k, v in data.items() if k not in ("kind", "selection")}  # selection: how plan fit chose it
    return from_dict(registry.load(registry.MODELS, kind, "model kind"), fields, f"{kind} model")


def load_model(path: str) -> RewardModel:
    """Read a model file (JSON); any problem becomes one InputError sentence naming the file."""
    data = read_json(path, "model file")
    try:
        return model_from_json(data)
    except InputError as e:
        raise InputError(f"model file {path}: {e}") from None


__all__ = ["DEFAULT_MODEL", "GaussianModel", "RewardModel", "SurrogateModel", "gap",
           "load_model", "model_from_json", "predict"]
