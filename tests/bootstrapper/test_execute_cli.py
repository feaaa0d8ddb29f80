"""`plan execute` as a user runs it: killed with SIGKILL and resumed, and refusing bad runs."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

SLOW = ["-o", "delay=4e-4", "--no-report", "--no-progress", "--seed", "3"]


def strip(folder: Path) -> list[dict]:
    """The log without timings, which legitimately differ between runs."""
    lines = (folder / "rounds.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in lines]


def test_sigkill_at_random_points_then_resume_equals_uninterrupted(plan_file, tmp_path):
    """Killed with SIGKILL three times at random moments, the resumed run ends with the same log
    and final state as an uninterrupted run (bit-identical on the Gaussian task)."""
    reference = tmp_path / "reference"
    assert run_cli("execute", str(plan_file), "--run-dir", str(reference), *SLOW).returncode == 0
    killed, rng = tmp_path / "killed", random.Random(0)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    kills = 0
    for _ in range(3):
        # Kill at a random moment shortly after the run has committed one more round, so the
        # test does not depend on how fast this machine is.
        committed = len(strip(killed)) if (killed / "rounds.jsonl").exists() else 0
        proc = subprocess.Popen([sys.executable, "-m", "planner.cli", "execute", str(plan_file), "--run-dir",
                                 str(killed), *SLOW], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            if (killed / "rounds.jsonl").exists() and len((killed / "rounds.jsonl").read_bytes().splitlines()) > committed:
                break
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.3))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    assert kills >= 2, "the run finished too fast to be killed; raise the delay"
    done = run_cli("execute", str(plan_file), "--run-dir", str(killed), *SLOW, "--json")
    assert done.returncode == 0, done.stderr
    assert strip(killed) == strip(reference)
    state = Path("checkpoint") / "task" / "state.json"
    assert (killed / state).read_text() == (reference / state).read_text()
    assert json.loads(done.stdout)["rounds_done"] == len(strip(reference))


@pytest.fixture
def finished_run(plan_file, tmp_path) -> Path:
    folder = tmp_path / "run"
    assert run_cli("execute", str(plan_file), "--run-dir", str(folder), "--no-progress", "--no-report").returncode == 0
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def damage_truncate(folder: Path) -> None:
    log = folder / "rounds.jsonl"
    log.write_bytes(log.read_bytes()[:-25])


def damage_corrupt(folder: Path) -> None:
    lines = (folder / "rounds.jsonl").read_text().splitlines(keepends=True)
    lines[2] = "{not json\n"
    (folder / "rounds.jsonl").write_text("".join(lines))


def damage_checkpoint(folder: Path) -> None:
    for p in sorted((folder / "checkpoint").rglob("*"), reverse=True):
        p.rmdir() if p.is_dir() else p.unlink()
    (folder / "checkpoint").rmdir()


@pytest.mark.parametrize("damage, words", [(damage_truncate, "truncated"), (damage_corrupt, "corrupted"),
                                           (damage_checkpoint, "checkpoint")])
def test_damaged_run_is_refused_and_left_untouched(plan_file, finished_run, damage, words):
    """A torn or corrupted log line or a missing checkpoint: one sentence, exit 2, nothing changed."""
    damage(finished_run)
    before = snapshot(finished_run)
    result = run_cli("execute", str(plan_file), "--run-dir", str(finished_run), "--no-progress")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and words in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(finished_run) == before


@pytest.mark.parametrize("args, words", [
    (["--task", "ddpm"], "made for task 'gaussian'"),
    (["--task", "nosuchtask"], "task"),
    (["-o", "nosuch=1"], "no option 'nosuch'"),
    (["-o", "sigma=-1"], "sigma"),
    (["-o", "sigma=abc"], "sigma"),
    (["--seed", "5"], "seed"),
])
def test_bad_execute_input_exits_2_with_one_line(plan_file, finished_run, args, words):
    """Wrong task, unknown or bad options, another seed for an existing run: exit 2, one line."""
    before = snapshot(finished_run)
    result = run_cli("execute", str(plan_file), "--run-dir", str(finished_run), "--no-progress", *args)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and words in result.stderr
    assert snapshot(finished_run) == before


def test_run_dir_of_another_plan_or_foreign_folder_is_refused(tmp_path, finished_run):
    """A run directory made by a different plan, or a folder that is not a run, is never written."""
    other = tmp_path / "other.json"
    assert run_cli("--budget", "3e4", "--task", "gaussian", "--out", str(other)).returncode == 0
    result = run_cli("execute", str(other), "--run-dir", str(finished_run), "--no-progress")
    assert result.returncode == 2 and "different plan" in result.stderr
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    result = run_cli("execute", str(other), "--run-dir", str(foreign), "--no-progress")
    assert result.returncode == 2 and "not a spendwise run" in result.stderr
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]


def test_execute_writes_the_run_contract(plan_file, tmp_path):
    """plan.json, run.json, rounds.jsonl with the contract keys, a checkpoint, report.png, --json summary."""
    folder = tmp_path / "run"
    result = run_cli("execute", str(plan_file), "--run-dir", str(folder), "--json", "--no-progress")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert {"rounds_done", "spent", "budget", "final_reward", "predicted_reward"} <= set(summary)
    assert summary["spent"] <= summary["budget"]
    assert json.loads((folder / "plan.json").read_text()) == json.loads(plan_file.read_text())
    assert json.loads((folder / "run.json").read_text())["task"] == "gaussian"
    for record in strip(folder):
        assert {"round", "n", "generated", "spent", "reward", "predicted_reward"} <= set(record)
    assert (folder / "checkpoint" / "engine.json").exists()
    assert (folder / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert abs(summary["final_reward"] - summary["predicted_reward"]) < 0.05


def test_calibrate_records_measured_costs_and_resolves_the_plan(tmp_path):
    """--calibrate stores seconds per sample in run.json and runs a plan re-solved for them,
    reading the budget as seconds (here 1.5 s of generating at >= 1e-4 s per sample)."""
    plan_file, folder = tmp_path / "plan.json", tmp_path / "run"
    made = run_cli("--budget", "1.5", "--cg", "1e-4", "--ct", "1e-6", "--task", "gaussian", "--out", str(plan_file))
    assert made.returncode == 0, made.stderr
    result = run_cli("execute", str(plan_file), "--run-dir", str(folder), "--calibrate", "-o", "delay=1e-4",
                     "--no-progress", "--no-report", "--json")
    assert result.returncode == 0, result.stderr
    run = json.loads((folder / "run.json").read_text())
    assert run["calibration"]["cg"] >= 1e-4
    calibrated = run["calibrated_plan"]
    assert calibrated["costs"]["cg"] == run["calibration"]["cg"]
    assert json.loads(result.stdout)["spent"] <= calibrated["budget"]
