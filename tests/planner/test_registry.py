"""The registries (planner/registry.py): what spendwise registers itself, and what another package
adds by entry point alone: a reward model that plans, writes a plan file, is read back, runs under
`plan execute` and drives the Advisor; a `plan` subcommand."""
from __future__ import annotations

import json

import pytest

from planner import Advisor, registry
from planner.models import load_model
from planner.plan import Plan
from planner.validate import InputError
from tests.conftest import install_entry_points, run_cli
from tests.planner.custom import HELP, TinyModel

PLUGIN = """[spendwise.models]
tiny = tests.planner.custom:TinyModel

[spendwise.commands]
hello = tests.planner.custom
"""


def test_spendwise_registers_its_own_tasks_priors_models_solvers_and_commands():
    assert {"gaussian", "ddpm", "llm"} <= set(registry.names(registry.TASKS))
    assert registry.prior_path("ddpm").is_file() and registry.prior_path("gaussian") is None
    models = registry.entries(registry.MODELS)
    assert set(models) == {"gaussian", "surrogate"} and all(ep.load().kind == kind for kind, ep in models.items())
    assert {"closed-form", "grid", "optuna"} <= set(registry.names(registry.SOLVERS))
    assert {"recommend", "compare", "execute", "fit", "best", "tune"} <= set(registry.names(registry.COMMANDS))
    with pytest.raises(InputError, match="unknown solver 'annealing'; known solvers: closed-form, grid"):
        registry.load(registry.SOLVERS, "annealing", "solver")


def test_a_reward_model_registered_by_another_package_plans_executes_and_drives_the_advisor(tmp_path, monkeypatch):
    model_file = tmp_path / "tiny.json"
    model_file.write_text(json.dumps(TinyModel().to_json()))
    with pytest.raises(InputError, match="unknown model kind 'tiny'"):
        load_model(str(model_file))  # not installed yet
    install_entry_points(tmp_path / "site", monkeypatch, PLUGIN)
    assert load_model(str(model_file)) == TinyModel()

    plan_file = tmp_path / "plan.json"
    made = run_cli("--budget", "600", "--cr", "5", "--model", str(model_file), "--task", "gaussian",
                   "--max-rounds", "4", "--out", str(plan_file))
    assert made.returncode == 0, made.stderr
    plan = Plan.from_json(json.loads(plan_file.read_text()))
    assert plan.problem.model == TinyModel() and plan.schedule.rounds >= 2
    done = run_cli("execute", str(plan_file), "--run-dir", str(tmp_path / "run"), "--no-progress", "--no-report",
                   "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rounds_done"] >= 2

    advisor = Advisor(budget=600, cost_per_round=5, model=TinyModel(), max_rounds=4)
    assert advisor.plan.problem.model == TinyModel()
    while (n := advisor.next_round()) is not None:
        advisor.record(kept=n, generated=2 * n, reward=0.5)
    assert len(advisor.history) >= 2 and not advisor.summary()["overspent"]
    restored = Advisor()
    restored.load_state_dict(advisor.state_dict())
    assert restored.plan.problem.model == TinyModel() and restored.history == advisor.history


def test_a_command_registered_by_another_package_is_a_plan_subcommand(tmp_path, monkeypatch):
    assert run_cli("hello").returncode == 2  # not installed yet: an unknown command
    install_entry_points(tmp_path / "site", monkeypatch, PLUGIN)
    assert f"plan hello      {HELP}" in run_cli("--help").stdout
    said = run_cli("hello", "--name", "you")
    assert (said.returncode, said.stdout) == (0, "hello you\n")
