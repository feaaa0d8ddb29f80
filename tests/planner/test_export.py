"""`plan export`: every format round-trips the plan's per-round counts and costs, uses only keys that
the upstream config files define at the version named in planner.export.UPSTREAM, and bad input is
one sentence with nothing written."""
from __future__ import annotations

import json
import math

import pytest

from planner.export import FORMATS, UPSTREAM, export, keys_used, rounds, to_yaml
from planner.plan import Plan, recommend
from planner.validate import InputError
from tests.conftest import ROOT, needs, one_sentence, run_cli
from tests.planner.helpers import problem

UPSTREAM_KEYS = ROOT / "tests" / "planner" / "upstream"


def upstream_keys(fmt: str) -> tuple[str, set[str]]:
    """The comment lines naming repo@version and the files, and the keys of tests/planner/upstream/FMT.txt."""
    lines = (UPSTREAM_KEYS / f"{fmt}.txt").read_text().splitlines()
    comments = [line for line in lines if line.startswith("#")]
    return " ".join(comments), {line for line in lines if line and line not in comments}


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    return {"proportional": recommend(problem(budget=2e4, c_round=50.0)),
            "fixed": recommend(problem(budget=2e4, selection="fixed", ratio=4.0))}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("selection", ["proportional", "fixed"])
def test_every_format_round_trips_the_plans_counts_and_costs(plans, fmt, selection):
    plan = plans[selection]
    rows = plan.to_json()["schedule"]
    out = export(plan, fmt, train_batch=8)
    assert len(out["rounds"]) == len(rows) > 1
    offset = 0
    for row, entry in zip(rows, out["rounds"]):
        assert entry["kept"] == row["n"] and entry["cost"] == row["cost"]
        assert entry["cumulative_cost"] == row["cumulative_cost"]
        drawn = entry["prompts"] * entry["samples_per_prompt"]
        if selection == "fixed":  # best-of-4: one kept per prompt, exactly 4 generated per kept
            assert (entry["prompts"], entry["samples_per_prompt"]) == (row["n"], 4) and drawn == row["generated"]
        else:  # one sample per prompt, the expected count generated rounded up
            assert entry["samples_per_prompt"] == 1 and 0 <= drawn - row["generated"] < 1
        assert entry["prompt_offset"] == offset and entry["steps"] == math.ceil(row["n"] / 8)
        offset += entry["prompts"]
    assert out["expected_cost"] == pytest.approx(plan.to_json()["expected_cost"], rel=1e-12)


def read_back(fmt: str, entry: dict) -> tuple[int, int, int]:
    """Prompts, samples per prompt and the step count a system runs to, from its own keys."""
    c = entry.get("config", {})
    if fmt == "openrlhf":
        return c["--rollout_batch_size"], c["--best_of_n"], entry["round"] + 1
    if fmt == "verl":
        return c["data.train_batch_size"], c["actor_rollout_ref.rollout.n"], c["trainer.total_training_steps"]
    if fmt == "nemo-rl":
        return c["grpo.num_prompts_per_step"], c["grpo.num_generations_per_prompt"], c["grpo.max_num_steps"]
    if fmt == "trl":
        g = c["grpo"]
        return g["generation_batch_size"] // g["num_generations"], g["num_generations"], g["max_steps"]
    return entry["prompts"], entry["samples_per_prompt"], entry["round"] + 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_system_keys_hold_the_rounds_counts(plans, fmt):
    """Read back from each system's own keys, the counts are the round's."""
    out = export(plans["fixed"], fmt, train_batch=8)
    for t, entry in enumerate(out["rounds"]):
        got = read_back(fmt, entry)
        assert got == (entry["kept"], 4, t + 1)
    if fmt == "openrlhf":  # the round's prompts are its own slice of the prompt file, not iter x N
        second = out["rounds"][1]
        assert second["commands"][0].startswith(f"sed -n '{second['prompt_offset'] + 1},"
                                                f"{second['prompt_offset'] + second['prompts']}p'")
    if fmt == "verl":
        assert all(e["config"]["data.train_batch_size"] % e["config"]["actor_rollout_ref.actor.ppo_mini_batch_size"]
                   == 0 for e in out["rounds"])


@pytest.mark.parametrize("fmt", list(UPSTREAM))
def test_keys_are_the_upstream_files_keys_at_the_named_version(plans, fmt):
    header, keys = upstream_keys(fmt)
    up = UPSTREAM[fmt]
    assert f"{up.repo} at {up.version}" in header and all(f in header for f in up.files)
    assert set(up.keys) <= keys, set(up.keys) - keys
    for plan in plans.values():
        for entry in export(plan, fmt, train_batch=8)["rounds"]:
            assert keys_used(entry) <= set(up.keys)


def test_trl_keys_are_fields_of_the_installed_trl_configs(plans):
    needs("trl")
    import dataclasses

    from trl import GRPOConfig, SFTConfig

    entry = export(plans["fixed"], "trl", train_batch=8)["rounds"][0]
    assert set(entry["config"]["sft"]) <= {f.name for f in dataclasses.fields(SFTConfig)}
    assert set(entry["config"]["grpo"]) <= {f.name for f in dataclasses.fields(GRPOConfig)}


def test_yaml_reads_back_as_the_export(plans):
    yaml = needs("yaml")
    for fmt in FORMATS:
        out = export(plans["proportional"], fmt, train_batch=3)
        assert yaml.safe_load(to_yaml(out)) == out
    assert yaml.safe_load(to_yaml({"tiny": 1e-05, "text": "no", "list": [], "empty": {}})) == \
        {"tiny": 1e-05, "text": "no", "list": [], "empty": {}}


def test_a_ratio_that_is_not_whole_and_a_bad_batch_are_refused():
    plan = recommend(problem(budget=2e4, selection="fixed", ratio=2.5))
    with pytest.raises(InputError, match="whole ratio"):
        rounds(plan, 4)
    with pytest.raises(InputError, match="--train-batch"):
        rounds(recommend(problem(budget=2e4)), 0)


def test_cli_writes_the_export_and_refuses_bad_input_leaving_nothing(tmp_path, plans):
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plans["fixed"].to_json()))
    out = tmp_path / "verl.yaml"
    done = run_cli("export", str(plan_file), "--format", "verl", "--train-batch", "16", "--out", str(out))
    assert done.returncode == 0, done.stderr
    printed = run_cli("export", str(plan_file), "--format", "verl", "--train-batch", "16", "--json")
    assert json.loads(printed.stdout) == export(plans["fixed"], "verl", 16)
    assert out.read_text().startswith("format: verl\n")
    not_a_plan = tmp_path / "log.json"
    not_a_plan.write_text("{}")
    for args in (["--format", "lmflow"], ["--format", "verl", "--train-batch", "0"]):
        bad = run_cli("export", str(plan_file), *args, "--out", str(tmp_path / "x.yaml"))
        assert one_sentence(bad) and not (tmp_path / "x.yaml").exists()
    bad = run_cli("export", str(not_a_plan), "--format", "yaml")
    assert one_sentence(bad) and "plan file" in bad.stderr
