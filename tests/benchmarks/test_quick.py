"""Every study's --quick run finishes and writes well-formed results (which strategy wins is not
asserted: a short run cannot show it; the full runs in benchmarks/results do)."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from tests.benchmarks.helpers import bench
from tests.bootstrapper.tasks.helpers import build_tiny_model, tiny_unet
from tests.conftest import ROOT, needs

STRATEGIES = {"constant", "linear", "exponential 2^t", "planner (tuned)"}  # with --bases 2


def result(out: Path, name: str) -> dict:
    """The JSON a study wrote, after checking its PNG exists and is not empty."""
    assert (out / f"{name}.png").stat().st_size > 1000
    data = json.loads((out / f"{name}.json").read_text())
    assert data["command"].startswith("python3 ") and data["machine"]["cpus"] >= 1
    return data


def test_planner_speed_quick(tmp_path):
    """`benchmarks/planner_speed.py --quick` exits 0, prints a table and writes every documented field."""
    out = tmp_path / "speed.json"
    proc = bench("planner_speed.py", "--quick", "--runs", "1", "--schedules", "2000", "--out", str(out), timeout=300)
    assert "plan --help" in proc.stdout and "schedules/s" in proc.stdout
    result = json.loads(out.read_text())
    assert set(result["cold_start"]) == {"python -c pass (interpreter alone)", "plan --help",
                                         "plan --budget 1e6 --cg 1 --ct 3"}
    for figure in result["cold_start"].values():
        assert figure["runs"] == 1 and 0 < figure["min_s"] <= figure["median_s"] < 60
    speed = result["throughput"]
    assert speed["schedules"] == 2000 and speed["rounds"] == 20 and speed["schedules_per_s"] > 0
    assert {t["target"] for t in result["targets"].values()} == {"< 0.3", "> 100000"}
    assert all(isinstance(t["met"], bool) for t in result["targets"].values())


def test_gaussian_study_quick(tmp_path):
    """Study 1: every strategy at both budgets, predicted and measured gaps with standard errors."""
    needs("matplotlib")
    proc = bench("gaussian_strategies.py", "--quick", "--out", str(tmp_path))
    data = result(tmp_path, "gaussian_strategies_quick")
    assert "planner (grid search)" in proc.stdout
    budgets = {r["budget"] for r in data["rows"]}
    assert len(budgets) == 2 and len(data["rows"]) == 6 * len(budgets)
    for row in data["rows"]:
        assert row["measured_gap"] >= 0 and row["se"] > 0
        assert row["predicted_gap"] is None or row["predicted_gap"] > 0


def test_gaussian_tune_quick(tmp_path):
    """`plan tune` against the oracle: every tuned row (vague prior, with theta, the earlier runs'
    prior) on the same seeds, the prior fitted to seeds no tuned run uses and recorded with its fit."""
    bench("gaussian_tune.py", "--quick", "--prior-seeds", "1", "--out", str(tmp_path))
    data = json.loads((tmp_path / "gaussian_tune_quick.json").read_text())
    assert [r["strategy"] for r in data["rows"]] == ["oracle", "tuned, rewards alone", "tuned, with theta",
                                                      "tuned, rewards alone, earlier runs' prior"]
    assert all(len(g) == 8 for g in data["gaps"].values()) and data["rows"][0]["ratio_to_oracle"] == 1.0
    assert all(r["mean_gap"] > 0 and r["ratio_se"] >= 0 for r in data["rows"])
    assert "seeds 1000000-1000000" in data["prior"]["describe"] and data["prior"]["fit"]["estimates"]["b"]["low"] > 0
    assert set(data["prior"]["schedules"]) == {"constant", "linear", "exponential 1.5^t", "exponential 2^t",
                                               "exponential 3^t"}


def test_engine_overhead_quick(tmp_path):
    """The overhead benchmark times a whole run and the task inside it, for each repeat: the task's
    seconds are part of the run's, every run does several rounds (its share is not asserted)."""
    bench("engine_overhead.py", "--quick", "--out", str(tmp_path))
    data = json.loads((tmp_path / "engine_overhead_quick.json").read_text())
    assert data["runs"] and all(r["wall"] > r["task"] > 0 and r["rounds"] >= 2 for r in data["runs"])
    overheads = [r["overhead"] for r in data["runs"]]
    assert min(overheads) <= data["median_overhead"] <= max(overheads)


def test_ddpm_bootstrap_quick(tmp_path):
    """The DDPM benchmark through `plan` and `plan execute` on the shipped checkpoint: a round
    runs within the budget and the PSNR before and after it is reported."""
    for module in ("diffusers", "matplotlib"):
        needs(module)
    proc = bench("ddpm_bootstrap.py", "--quick", "--out", str(tmp_path))
    data = result(tmp_path, "ddpm_bootstrap_quick")
    assert "wall time" in proc.stdout
    assert data["rounds"] and data["summary"]["spent"] <= data["budget_seconds"]
    assert data["initial_psnr"] == pytest.approx(27.7, abs=0.5)  # the shipped checkpoint at s = 10
    for r in data["rounds"]:
        assert 0 < r["kept"] <= r["generated"] and 10 < r["metrics"]["psnr"] < 100


@pytest.fixture(scope="module")
def unet_folder(tmp_path_factory) -> Path:
    needs("diffusers")
    folder = tmp_path_factory.mktemp("unet")
    tiny_unet().save_pretrained(folder)
    return folder


def test_task_study_quick_on_a_tiny_unet(tmp_path, unet_folder):
    """Study 2's plumbing on a tiny UNet: the strategies, final rewards in [0, 1], each run within its
    budget, the tuned run's regret against the hand-picked ones; with --report, the study reads its
    finished runs back (same costs, same rows) and runs nothing."""
    command = ["task_strategies.py", "--task", "ddpm", "--quick", "--bases", "2", "--model-path", str(unet_folder),
               "-o", "s=2", "-o", "reward_lo=35", "-o", "reward_hi=55", "-o", "eval_images=16", "-o", "gen_batch=16",
               "-o", "num_threads=1", "--out", str(tmp_path)]
    proc = bench(*command)
    data = result(tmp_path, "ddpm_study_quick")
    assert "final_reward" in proc.stdout
    assert {r["strategy"] for r in data["rows"]} == STRATEGIES
    for row in data["rows"]:
        assert 0 <= row["final_reward"] <= 1 and math.isfinite(row["spent"])
        assert row["spent"] <= data["budget"] * (1 + 1e-9)
        assert set(row["metrics_se"]) == set(row["metrics"]) >= {"reward", "psnr"}
    assert data["costs"]["cg"] > 0 and data["costs"]["ct"] > 0
    assert set(data["curves"]) == STRATEGIES
    assert all(len(runs) == data["seeds"] == 1 for runs in data["curves"].values())
    assert all({"spent", "reward", "psnr"} <= set(point) for runs in data["curves"].values() for point in runs[0])
    tuned = next(r for r in data["rows"] if r["strategy"] == "planner (tuned)")["final_reward"]
    hand = {r["strategy"]: r["final_reward"] for r in data["rows"] if r["strategy"] != "planner (tuned)"}
    assert data["regret"]["best"] == max(hand, key=hand.get)
    assert data["regret"]["vs_best"]["mean"] == pytest.approx(tuned - max(hand.values()))
    (tmp_path / "ddpm_study_quick.json").unlink()
    bench(*command, "--report")  # runs nothing: reads the finished runs back
    assert json.loads((tmp_path / "ddpm_study_quick.json").read_text())["rows"] == data["rows"]


def test_task_study_on_a_model_that_scores_nothing_says_so(tmp_path):
    """Study 3's plumbing up to the first evaluation on a tiny random Llama (it solves no problem,
    so no strategy can keep a sample): one sentence, exit 2, nothing written. The LLM study itself
    needs the shipped SmolLM2 and hours of this machine."""
    needs("transformers")
    model = build_tiny_model(tmp_path / "tiny")
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "task_strategies.py"), "--task", "llm", "--quick",
                           "--model-path", str(model), "-o", "max_new_tokens=6", "-o", "eval_per_level=6",
                           "-o", "gen_batch=8", "-o", "device=cpu", "-o", "num_threads=1", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2 and "scores 0" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "llm_study_quick.json").exists()


def test_task_study_refuses_an_unknown_strategy_before_measuring_anything(tmp_path):
    """--strategies names a strategy the study has not: one sentence naming the known ones, exit 2,
    nothing measured or written."""
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "task_strategies.py"), "--task", "gaussian",
                           "--quick", "--bases", "2", "--strategies", "tuned,4^t", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("task_strategies: unknown strategies ['4^t']")
    assert "tuned, constant, linear, 2^t" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_task_study_runs_only_the_strategies_named(tmp_path):
    """--strategies constant: the constant run and nothing else, not even the tuned run that goes
    first in each seed."""
    needs("matplotlib")  # the study draws its figure
    bench("task_strategies.py", "--task", "gaussian", "--quick", "--bases", "2", "--strategies", "constant",
          "--out", str(tmp_path))
    runs = tmp_path / "gaussian_study_quick_runs"
    assert sorted(p.name for p in runs.iterdir()) == ["calibration.json", "constant-0"]
    rows = json.loads((tmp_path / "gaussian_study_quick.json").read_text())["rows"]
    assert [r["strategy"] for r in rows] == ["constant"]


def test_the_step_clock_ranks_the_ddpm_strategies_it_has_not_seen(tmp_path):
    """Each committed 720-s DDPM strategy held out: the stale step clock orders at least 80 % of the
    pairs that differ by more than 2 SE with a mean error of at most 0.006; the surrogate does not."""
    bench("ddpm_models.py", "--out", str(tmp_path))
    scores = {row["kind"]: row for row in json.loads((tmp_path / "ddpm_models.json").read_text())["scores"]}
    stale = scores["step-clock, stale"]
    assert stale["share_right"] >= 0.8 and stale["mae"] <= 0.006
    assert scores["surrogate"]["mae"] > 0.006


def test_gaussian_stops_quick(tmp_path):
    """Both settings, every seed's share spent and gap over the oracle's, the wrong stops counted."""
    bench("gaussian_stops.py", "--quick", "--out", str(tmp_path))
    rows = json.loads((tmp_path / "gaussian_stops_quick.json").read_text())["rows"]
    assert [r["sigma"] for r in rows] == [1.5, 1.0] and all(len(r["spent"]) == r["seeds"] == 4 for r in rows)
    assert all(0 < s <= 1 + 1e-9 for r in rows for s in r["spent"]) and all(r["oracle_mean_gap"] > 0 for r in rows)
