"""The registries (planner/registry.py): what spendwise registers itself, and what another package
adds by entry point alone: a reward model that keeps the model contract (planner/testing.py), plans,
writes a plan file, is read back, runs under `plan execute`, drives the Advisor and is refitted by
its own fit; a `plan` subcommand."""
from __future__ import annotations

import json

import pytest

from bootstrapper.engine import execute
from bootstrapper.rundir import RunDir
from bootstrapper.tasks.gaussian import GaussianTask
from planner import Advisor, registry
from planner.costs import CostModel
from planner.models import load_model, model_from_json
from planner.plan import Plan, recommend
from planner.problem import Problem
from planner.replan import replan
from planner.runconfig import RunConfig
from planner.testing import RewardModelContract
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
    assert set(models) == {"gaussian", "surrogate", "step-clock"}
    assert all(ep.load().kind == kind for kind, ep in models.items())
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


class TestTheInstalledModelKindKeepsTheContract(RewardModelContract):
    @pytest.fixture
    def model(self):
        return TinyModel(0.8, 0.4, 0.5, 2.0)


def test_a_model_kind_installed_by_entry_point_is_refitted_by_its_own_fit_and_replans(tmp_path, monkeypatch):
    """A plan made with the installed kind, executed by the engine on the Gaussian task (rewards that
    change round to round) and driving the Advisor on a loop whose rewards follow another model of
    that kind: every refit is the kind's own (method "tiny", a "tiny" model). The Advisor's refit
    recovers the loop's model exactly (its rewards have no noise) and its replans adopt it."""
    install_entry_points(tmp_path / "site", monkeypatch, PLUGIN)
    task = GaussianTask()
    initial = task.evaluate(task.init_state(0))
    plan = recommend(Problem(TinyModel(), CostModel(1.0, 1.0, 5.0), 5000.0, max_rounds=10), task="gaussian")
    RunDir(tmp_path / "run").prepare(plan.to_json(), RunConfig.for_task(task, 0, replan=True, initial=initial))
    history = execute(plan, task, tmp_path / "run", 0, lambda p, h, ledger: replan(p, h, ledger.spent, initial))
    assert len({r.reward for r in history}) == len(history) > 5
    refits = [r.replan for r in history if r.replan and r.replan["refit"]]
    assert refits and all(note["fit"]["method"] == "tiny" == note["fit"]["model"]["kind"] for note in refits)

    truth = TinyModel(0.8, 0.4, 0.5, 2.0)
    advisor, gap = Advisor(budget=1500, cost_per_round=5, model=TinyModel(), max_rounds=12, initial_reward=0.4), 0.4
    while (n := advisor.next_round()) is not None:
        gap = truth.a * gap + truth.b / n
        advisor.record(kept=n, generated=2 * n, reward=truth.r_star - gap)
    refits = [r.replan for r in advisor.history if r.replan and r.replan["refit"]]
    assert refits and any("base" in note for note in refits)
    fitted = model_from_json(refits[-1]["fit"]["model"])
    assert isinstance(fitted, TinyModel) and (fitted.r_star, fitted.a, fitted.b) == pytest.approx((0.8, 0.5, 2.0))


def test_a_command_registered_by_another_package_is_a_plan_subcommand(tmp_path, monkeypatch):
    assert run_cli("hello").returncode == 2  # not installed yet: an unknown command
    install_entry_points(tmp_path / "site", monkeypatch, PLUGIN)
    assert f"plan hello      {HELP}" in run_cli("--help").stdout
    said = run_cli("hello", "--name", "you")
    assert (said.returncode, said.stdout) == (0, "hello you\n")
