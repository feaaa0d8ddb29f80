"""planner/trackers.py: what a round logs, the hyperparameters, the refusals, and the Advisor's rounds
in TensorBoard read back with tensorboard's own reader, also after a crash and a restored state_dict."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from planner import Advisor
from planner._imports import MissingPackage
from planner.trackers import TRACKERS, RoundLogger, hyperparameters, parse_log_with, round_values
from planner.validate import InputError
from tests.bootstrapper.conftest import gaussian_plan
from tests.conftest import fill, needs
from tests.planner.helpers import GaussianLoop

needs("accelerate")
needs("tensorboard")

RECORD = {"round": 2, "n": 4, "kept": 4, "generated": 10, "trimmed": False, "cost": 22.0, "spent": 50.0,
          "reward": 0.5, "generation_reward": 0.4, "generation_reward_se": 0.1, "predicted_reward": 0.55,
          "metrics": {"reward": 0.5, "theta": 1.25}, "seconds": {"generate": 0.5, "train": 0.25, "evaluate": 0.125}}


def test_a_round_logs_counts_spending_rewards_metrics_and_seconds():
    plan = gaussian_plan(200.0)
    assert round_values(RECORD, plan) == {
        "samples/kept": 4.0, "samples/generated": 10.0, "samples/acceptance": 0.4, "budget/spent": 50.0,
        "budget/share_spent": 0.25, "reward/measured": 0.5, "reward/predicted": 0.55, "reward/generation": 0.4,
        "metrics/theta": 1.25, "seconds/generate": 0.5, "seconds/train": 0.25, "seconds/evaluate": 0.125}


def test_a_round_not_evaluated_logs_no_reward_and_an_advisor_record_takes_the_plans_prediction():
    plan = gaussian_plan(200.0)
    unevaluated = {**RECORD, "reward": None, "metrics": {}, "generated": 0, "generation_reward": None}
    assert not {"reward/measured", "metrics/theta", "samples/acceptance", "reward/generation"} & set(
        round_values(unevaluated, plan))
    advisor_record = {k: v for k, v in RECORD.items() if k != "predicted_reward"} | {"seconds": None}
    values = round_values(advisor_record, plan)
    assert values["reward/predicted"] == pytest.approx(float(plan.outcome.trajectory[3]))
    assert not any(k.startswith("seconds/") for k in values)


def test_hyperparameters_are_flat_scalars_naming_the_plan_costs_and_options():
    plan = gaussian_plan(2e3)
    params = hyperparameters(plan, seed=3, task_config={"theta0": 3.0, "delay": 0.0}, nothing=None)
    assert all(isinstance(v, (bool, int, float, str)) for v in params.values())
    assert params["plan/costs/cg"] == 1.0 and params["plan/model/kind"] == "gaussian"
    assert params["plan/n"] == ",".join(map(str, plan.schedule.n))
    assert params["seed"] == 3 and params["task_config/theta0"] == 3.0 and "nothing" not in params


@pytest.mark.parametrize("value, words", [("nope", "unknown tracker 'nope'"), ("tensorboard,", "unknown tracker ''")])
def test_an_unknown_tracker_is_one_sentence(value, words):
    with pytest.raises(InputError, match=words):
        parse_log_with(value)


@pytest.mark.parametrize("name, install", [("mlflow", 'pip install "spendwise[mlflow]"'),
                                           ("tensorboard",
                                            './install.sh all (or pip install "spendwise[tensorboard]")')])
def test_a_tracker_whose_package_is_missing_names_what_to_install(monkeypatch, name, install):
    """Hidden, the tracker is refused by name; "all" leaves it out, and with no tracker left it asks
    for TensorBoard's install (which trackers a machine has beside it does not decide the outcome)."""
    for hidden in (name, *(other for other in TRACKERS if other != "tensorboard")):
        monkeypatch.setitem(sys.modules, hidden, None)  # import finds nothing, as on a machine without it
    with pytest.raises(MissingPackage) as refused:
        parse_log_with(name)
    assert str(refused.value).endswith(f"install it with {install}") and f"--log-with {name}" in str(refused.value)
    if name == "tensorboard":  # no tracker installed at all
        with pytest.raises(MissingPackage, match="--log-with tensorboard"):
            parse_log_with("all")
    else:
        assert parse_log_with("all") == ("tensorboard",)


def test_all_is_every_tracker_installed_and_names_are_checked_once():
    installed = parse_log_with("all")
    assert "tensorboard" in installed and set(installed) <= set(TRACKERS)
    assert parse_log_with(["tensorboard", "tensorboard"]) == ("tensorboard",) and parse_log_with(None) == ()


def test_the_advisor_needs_a_folder_for_its_trackers_and_a_known_name():
    with pytest.raises(InputError, match="log_dir"):
        Advisor(budget=1e3, log_with="tensorboard")
    with pytest.raises(InputError, match="unknown tracker"):
        Advisor(budget=1e3, log_with="tensorbored", log_dir="x")


# ---- the Advisor in TensorBoard ----------------------------------------------------------------

def scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar series TensorBoard shows for the run in folder, as (step, value), read by its own reader."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder / "spendwise"))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def expected(advisor: Advisor) -> dict[str, list[tuple[int, float]]]:
    series: dict[str, list[tuple[int, float]]] = {}
    for record in advisor.history:
        for tag, value in round_values(record, advisor.plan).items():
            series.setdefault(tag, []).append((record["round"], value))
    return series


def assert_shows(folder: Path, advisor: Advisor) -> None:
    shown, wanted = scalars(folder), expected(advisor)
    assert set(shown) == set(wanted) and "reward/measured" in shown and "reward/predicted" in shown
    for tag, points in wanted.items():
        assert [s for s, _ in shown[tag]] == [s for s, _ in points], tag  # each round once, at its step
        assert [v for _, v in shown[tag]] == pytest.approx([v for _, v in points], rel=1e-6), tag  # float32


def play(advisor: Advisor, loop: GaussianLoop, rounds: int | None = None) -> list[dict]:
    """Run `rounds` rounds of the loop (None: to the end); the state_dict saved after each round."""
    saved = []
    while (rounds is None or len(saved) < rounds) and (n := advisor.next_round()) is not None:
        kept, generated = loop.generate_and_filter(n, advisor.generation_cap)
        loop.finetune(kept)
        advisor.record(kept=len(kept), generated=generated, reward=loop.evaluate())
        saved.append(json.loads(json.dumps(advisor.state_dict())))
    return saved


SETTINGS = {"budget": 3e3, "cost_per_round": 20.0, "max_rounds": 10}


def test_advisor_rounds_reach_tensorboard_at_their_steps_and_a_restored_state_continues_the_run(tmp_path):
    """A loop crashes after recording round 3 but before saving its checkpoint; a new Advisor loads the
    checkpoint of round 2 and the loop redoes round 3 with other samples: TensorBoard shows each round
    once, with the values of the run that went on."""
    first = Advisor(**SETTINGS, log_with="tensorboard", log_dir=tmp_path)
    checkpoints = play(first, GaussianLoop(0), rounds=4)
    assert len(scalars(tmp_path)["samples/kept"]) == 4  # logged as recorded, before any close
    time.sleep(1.0)  # TensorBoard reads event files in name order, and a name starts with the second it was made
    second = Advisor(**SETTINGS, log_with="tensorboard", log_dir=tmp_path)
    second.load_state_dict(checkpoints[2])
    play(second, GaussianLoop(1))
    assert len(second.history) > 4 and second.history[3] != first.history[3]
    assert_shows(tmp_path, second)
    assert json.loads((tmp_path / "state.json").read_text()) == {"tensorboard": {"logged": len(second.history)}}
    assert len(list(tmp_path.glob("spendwise/*/hparams.yml"))) == 1  # the hyperparameters once per tracker run


def test_a_new_advisor_in_the_same_folder_starts_a_new_tracker_run(tmp_path):
    play(Advisor(**SETTINGS, log_with="tensorboard", log_dir=tmp_path), GaussianLoop(0))
    time.sleep(1.0)  # see above
    again = Advisor(**SETTINGS, log_with="tensorboard", log_dir=tmp_path)
    play(again, GaussianLoop(5))
    assert_shows(tmp_path, again)


def test_a_tracker_not_asked_for_this_time_keeps_its_place_for_a_later_resume(tmp_path):
    (tmp_path / "state.json").write_text(json.dumps({"mlflow": {"logged": 2, "run_id": "abc"}}))
    plan = gaussian_plan(200.0)
    logger = RoundLogger(("tensorboard",), tmp_path, lambda: plan, lambda: hyperparameters(plan))
    logger.log([{**RECORD, "round": 0}, {**RECORD, "round": 1}])
    logger.close()
    assert json.loads((tmp_path / "state.json").read_text()) == {"mlflow": {"logged": 2, "run_id": "abc"},
                                                                 "tensorboard": {"logged": 2}}
    assert [step for step, _ in scalars(tmp_path)["samples/kept"]] == [0, 1]


def test_a_tracker_failing_on_a_full_disk_is_one_sentence_and_logging_goes_on_without_it(small_disk, capfd):
    """TensorBoard's writer thread fails on a full disk: no traceback from its thread, one sentence, no
    exception into the run, and the next log() and close() do nothing."""
    plan = gaussian_plan(2e3)
    logger = RoundLogger(("tensorboard",), small_disk / "trackers", lambda: plan, lambda: {"seed": 0})
    rounds = [{**RECORD, "round": t, "metrics": {f"m{i}": float(i) for i in range(40)}} for t in range(60)]
    logger.log(rounds[:2])
    fill(small_disk, 0)
    try:
        logger.log(rounds[:30])
        logger.log(rounds)
        logger.close()
    finally:
        (small_disk / "filler").unlink()
    err = capfd.readouterr().err
    assert "Traceback" not in err and len(err.splitlines()) == 1 and "stopped logging (OSError" in err, err
