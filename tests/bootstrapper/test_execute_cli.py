"""`plan execute` as a user runs it: killed with SIGKILL and resumed, two at once on one run
directory, and refusing bad input, damaged runs and changed options."""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.bootstrapper.conftest import ENV, SLOW, gaussian_plan
from tests.conftest import ROOT, needs, one_sentence, plan_command, run_cli

needs("matplotlib")


def strip(folder: Path) -> list[dict]:
    """The log without timings, which legitimately differ between runs."""
    lines = (folder / "rounds.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in lines]


def start(plan_file: Path, folder: Path, *args: str) -> subprocess.Popen:
    """`plan execute PLAN --run-dir FOLDER` (slowed down) in the background."""
    return subprocess.Popen(plan_command("execute", str(plan_file), "--run-dir", str(folder), *SLOW, *args), env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_after_next_commit(plan_file: Path, folder: Path, pause: float = 0.0) -> bool:
    """Run until one more round is committed, wait `pause` seconds, SIGKILL; False if it ended first."""
    committed = len(strip(folder)) if (folder / "rounds.jsonl").exists() else 0
    proc, deadline = start(plan_file, folder), time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if (folder / "rounds.jsonl").exists() and len((folder / "rounds.jsonl").read_bytes().splitlines()) > committed:
            break
        time.sleep(0.01)
    time.sleep(pause)
    killed = proc.poll() is None
    if killed:
        proc.send_signal(signal.SIGKILL)
    proc.communicate()
    return killed


@pytest.fixture
def reference(plan_file, tmp_path) -> Path:
    """An uninterrupted run of the slowed-down plan."""
    folder = tmp_path / "reference"
    assert run_cli("execute", str(plan_file), "--run-dir", str(folder), *SLOW).returncode == 0
    return folder


def test_sigkill_at_random_points_then_resume_equals_uninterrupted(plan_file, tmp_path, reference):
    """Killed with SIGKILL three times at random moments, the resumed run ends with the same log
    and final state as an uninterrupted run (bit-identical on the Gaussian task)."""
    killed, rng = tmp_path / "killed", random.Random(0)
    # Kill at a random moment shortly after the run has committed one more round, so the test
    # does not depend on how fast this machine is.
    kills = sum(kill_after_next_commit(plan_file, killed, rng.uniform(0.0, 0.3)) for _ in range(3))
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
    """Cut into the line before the last: not a torn append (the checkpoint holds the last round)."""
    log = folder / "rounds.jsonl"
    data = log.read_bytes()
    log.write_bytes(data[: data.rfind(b"\n", 0, len(data) - 1) - 25])


def damage_corrupt(folder: Path) -> None:
    lines = (folder / "rounds.jsonl").read_text().splitlines(keepends=True)
    lines[2] = "{not json\n"
    (folder / "rounds.jsonl").write_text("".join(lines))


def damage_checkpoint(folder: Path) -> None:
    for p in sorted((folder / "checkpoint").rglob("*"), reverse=True):
        p.rmdir() if p.is_dir() else p.unlink()
    (folder / "checkpoint").rmdir()


def edit_json(path: Path, change) -> None:
    """Rewrite a JSON file with change(data) applied (change edits in place, or returns a replacement)."""
    data = json.loads(path.read_text())
    path.write_text(json.dumps(change(data) or data))


def edit_log(folder: Path, index: int, change) -> None:
    """Edit one line of the round log in place (change edits the record)."""
    records = [json.loads(line) for line in (folder / "rounds.jsonl").read_text().splitlines()]
    change(records[index])
    (folder / "rounds.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


STATE = Path("checkpoint") / "task" / "state.json"
ENGINE = Path("checkpoint") / "engine.json"


@pytest.mark.parametrize("damage, words", [
    (damage_truncate, "truncated"), (damage_corrupt, "corrupted"), (damage_checkpoint, "checkpoint"),
    (lambda f: (f / STATE).write_text((f / STATE).read_text()[:30]), "task/state.json is not valid JSON"),
    (lambda f: edit_json(f / STATE, lambda d: d.update(theta="far", rng=5)), "task/state.json must hold theta"),
    (lambda f: edit_json(f / ENGINE, lambda d: d.update(spent=-1e9)), "spent -1000000000.0"),
    (lambda f: edit_json(f / ENGINE, lambda d: d.update(next_round=d["next_round"] + 1)), "next_round"),
    (lambda f: edit_json(f / ENGINE, lambda d: d.update(rng={"bit_generator": "PCG64"})), "random-number state"),
    (lambda f: edit_json(f / ENGINE, lambda d: "truncated"), "engine state"),
    (lambda f: (f / "run.json").write_text("[]"), "run.json is damaged"),
    (lambda f: edit_json(f / "run.json", lambda d: d.update(seed="3")), "seed"),
    (lambda f: edit_log(f, 1, lambda r: r.update(reward=5)), "line 2: reward must be a number in [0, 1] or null"),
    (lambda f: edit_log(f, 1, lambda r: r["metrics"].update(reward=0.5)), "line 2: metrics"),
    (lambda f: edit_log(f, 1, lambda r: r.update(round=2)), "out of order"),
], ids=["log-truncated", "log-corrupted", "checkpoint-missing", "state-truncated", "state-wrong-types",
        "engine-spent-negative", "engine-next-round-edited", "engine-rng-damaged", "engine-not-an-object",
        "run-json-a-list", "run-json-seed-a-string", "log-reward-5", "log-metrics-disagree",
        "log-out-of-order"])
def test_damaged_run_is_refused_and_left_untouched(plan_file, finished_run, damage, words):
    """A torn or corrupted log line, a missing, truncated or edited checkpoint, a damaged run.json:
    one sentence naming the file, exit 2, nothing changed."""
    damage(finished_run)
    before = snapshot(finished_run)
    result = run_cli("execute", str(plan_file), "--run-dir", str(finished_run), "--no-progress")
    assert one_sentence(result) and words in result.stderr, result.stderr
    assert snapshot(finished_run) == before


@pytest.mark.parametrize("args, words", [
    (["--task", "ddpm"], "made for task 'gaussian'"),
    (["--task", "nosuchtask"], "task"),
    (["-o", "nosuch=1"], "no option 'nosuch'"),
    (["-o", "sigma=-1"], "sigma"),
    (["-o", "sigma=abc"], "sigma"),
    (["--seed", "5"], "seed"),
    (["--replan"], "started without --replan"),
    (["--calibrate"], "started without --calibrate"),
    (["--eval-every", "3"], "started with eval_every 1, not 3"),
])
def test_bad_execute_input_exits_2_with_one_line(plan_file, finished_run, args, words):
    """Wrong task, unknown or bad options, another seed or other result-changing options
    (--replan, --calibrate) for an existing run: exit 2, one line, the run untouched."""
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


# ---- bad input for a new run: nothing written, and the corrected command then works ----------

@pytest.fixture
def plans(tmp_path, plan_file) -> dict[str, str]:
    """Plan files for the table below, by placeholder name."""
    base = gaussian_plan()
    broken = tmp_path / "broken-pilot"
    broken.mkdir()
    (broken / "state.json").write_text('{"theta": 1.5, "rng": {"bit_gen')
    paths = {"plan": plan_file}
    for name, start in (("missing-start", tmp_path / "no-such-pilot"), ("damaged-start", broken)):
        task_config = {"theta0": 3.0, "sigma": 1.0, "kappa": 1.0, "delay": 0.0}
        plan = dataclasses.replace(base, start={"from": "pilot", "checkpoint": str(start),
                                                "task_config": task_config})
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(plan.to_json()))
    paths["huge"] = tmp_path / "huge.json"
    paths["huge"].write_text(plan_file.read_text().replace('"budget": 20000.0', '"budget": 1e+20'))
    return {k: str(v) for k, v in paths.items()}


# name -> (bad arguments, corrected arguments, packages missing for the bad run)
NEW_RUN = {
    "seed-negative": (["{plan}", "--seed", "-1"], ["{plan}", "--seed", "1"], ()),
    "seed-too-large": (["{plan}", "--seed", str(2**32)], ["{plan}"], ()),
    "theta0-1e308": (["{plan}", "-o", "theta0=1e308"], ["{plan}", "-o", "theta0=3"], ()),
    "sigma-1e308": (["{plan}", "-o", "sigma=1e308"], ["{plan}", "-o", "sigma=1.5"], ()),
    "kappa-1e308": (["{plan}", "-o", "kappa=1e308"], ["{plan}", "-o", "kappa=1.5"], ()),
    "start-checkpoint-missing": (["{missing-start}"], ["{plan}"], ()),
    "start-checkpoint-damaged": (["{damaged-start}"], ["{plan}"], ()),
    "plan-budget-1e20": (["{huge}"], ["{plan}"], ()),
    "report-without-matplotlib": (["{plan}"], ["{plan}", "--no-report"], ("matplotlib",)),
    "eval-every-0": (["{plan}", "--eval-every", "0"], ["{plan}", "--eval-every", "1"], ()),
    "eval-every-negative": (["{plan}", "--eval-every", "-2"], ["{plan}", "--eval-every", "2"], ()),
    "eval-every-fraction": (["{plan}", "--eval-every", "1.5"], ["{plan}", "--eval-every", "2"], ()),
}


@pytest.mark.parametrize("name", NEW_RUN)
def test_bad_input_writes_nothing_and_the_corrected_command_works(plans, tmp_path, name):
    """Bad seed, options the task cannot evaluate, a missing or damaged start checkpoint, an
    unplannable budget, a missing package: one sentence, exit 2, no run directory (nor a
    half-made one beside it); the corrected command then runs."""
    bad, fixed, missing = NEW_RUN[name]
    parent = tmp_path / "runs"
    args = lambda a: [x.format(**plans) for x in a] + ["--run-dir", str(parent / "run"), "--no-progress"]
    refused = run_cli("execute", *args(bad), missing=missing)
    assert one_sentence(refused) and refused.stdout == "", refused.stderr
    assert not parent.exists()
    done = run_cli("execute", *args(fixed), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rounds_done"] == len(strip(parent / "run")) >= 1
    assert sorted(p.name for p in parent.iterdir()) == ["run"]


def test_without_torch_the_ddpm_task_is_one_sentence_naming_the_install(tmp_path):
    """`plan execute --task ddpm` on a planner-only install: which package and how to install it."""
    plan = tmp_path / "ddpm.json"
    made = run_cli("--budget", "420", "--cg", "0.17", "--ct", "0.04", "--cr", "40", "--model",
                   str(ROOT / "benchmarks" / "ddpm_prior.json"), "--task", "ddpm", "--out", str(plan))
    assert made.returncode == 0, made.stderr
    refused = run_cli("execute", str(plan), "--run-dir", str(tmp_path / "run"), missing=("torch",))
    assert one_sentence(refused) and "torch" in refused.stderr and "spendwise[ddpm]" in refused.stderr
    assert "./install.sh all" in refused.stderr and not (tmp_path / "run").exists()


# ---- one process per run directory ---------------------------------------------------------

@pytest.mark.parametrize("resume", [False, True], ids=["new-run", "resume"])
def test_two_processes_on_one_run_directory_one_runs_the_other_is_refused(plan_file, tmp_path, reference, resume):
    """Two `plan execute` started at once on one run directory (new, or a killed run to resume):
    exactly one runs to the end, the other is refused in one sentence naming the directory, and
    the log is the uninterrupted run's: every round once, in order, within the budget."""
    folder = tmp_path / "run"
    if resume:
        assert kill_after_next_commit(plan_file, folder), "the run finished too fast to be killed"
    procs = [start(plan_file, folder, "--json") for _ in range(2)]
    results = [(p, *p.communicate(timeout=120)) for p in procs]
    assert sorted(p.returncode for p in procs) == [0, 2]
    (_, _, refused), = [(p, out, err) for p, out, err in results if p.returncode == 2]
    assert len(refused.splitlines()) == 1 and f"{folder} is in use by another process" in refused
    (_, out, _), = [(p, out, err) for p, out, err in results if p.returncode == 0]
    log = strip(folder)
    assert log == strip(reference) and [r["round"] for r in log] == list(range(len(log)))
    assert json.loads(out)["spent"] == log[-1]["spent"] <= json.loads(out)["budget"]


@contextlib.contextmanager
def read_only(folder: Path):
    """Make folder read-only for this user: a read-only bind mount for root (whom permissions do not
    stop), file modes otherwise; skips the test where neither is possible."""
    if os.geteuid() == 0:
        mounted = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True).returncode == 0
        if not mounted or subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)]).returncode:
            if mounted:
                subprocess.run(["umount", str(folder)])
            pytest.skip("root here cannot make a read-only bind mount")
        try:
            yield
        finally:
            subprocess.run(["umount", str(folder)], check=True)
    else:
        modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}
        for p in modes:
            p.chmod(modes[p] & ~0o222)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)


def test_resuming_in_a_read_only_folder_fails_before_computing_a_round(plan_file, tmp_path, reference):
    """A killed run whose folder has become read-only: refused in one sentence before any round is
    computed (not at the commit, after the work); writable again, it resumes to the reference."""
    folder = tmp_path / "run"
    assert kill_after_next_commit(plan_file, folder), "the run finished too fast to be killed"
    before = snapshot(folder)
    with read_only(folder):
        refused = run_cli("execute", str(plan_file), "--run-dir", str(folder), *SLOW)
    assert one_sentence(refused) and "not writable" in refused.stderr and str(folder) in refused.stderr
    assert snapshot(folder) == before
    assert run_cli("execute", str(plan_file), "--run-dir", str(folder), *SLOW).returncode == 0
    assert strip(folder) == strip(reference)


def test_eval_every_logs_held_out_rewards_on_every_kth_and_the_last_round(plan_file, tmp_path):
    """--eval-every 4: rounds 3, 7, ... and the last carry the held-out reward, the others null with
    their generation reward; the summary's final reward is the last round's evaluation."""
    folder = tmp_path / "run"
    result = run_cli("execute", str(plan_file), "--run-dir", str(folder), "--eval-every", "4", "--json",
                     "--no-progress", "--no-report")
    assert result.returncode == 0, result.stderr
    log = strip(folder)
    evaluated = [r["round"] for r in log if r["reward"] is not None]
    assert evaluated == sorted({t for t in range(len(log)) if t % 4 == 3} | {len(log) - 1})
    assert all(r["generation_reward"] is not None for r in log)
    assert json.loads(result.stdout)["final_reward"] == log[-1]["reward"]
    assert json.loads((folder / "run.json").read_text())["eval_every"] == 4


def test_a_full_disk_is_one_sentence_and_the_same_command_then_runs_and_repairs(small_disk, reference):
    """On a full disk `plan execute` stops in one sentence leaving no run directory; with space back the
    same command runs to the reference's log; a torn last line is then repaired, and said so."""
    from tests.conftest import fill

    plan, folder = small_disk / "plan.json", small_disk / "run"
    shutil.copy(reference / "plan.json", plan)
    args = ("execute", str(plan), "--run-dir", str(folder), *SLOW)
    fill(small_disk, 1)
    try:
        full = run_cli(*args)
    finally:
        (small_disk / "filler").unlink()
    assert one_sentence(full) and "No space left on device" in full.stderr, full.stderr
    assert sorted(p.name for p in small_disk.iterdir()) == ["plan.json"]
    assert run_cli(*args).returncode == 0 and strip(folder) == strip(reference)
    log = folder / "rounds.jsonl"
    whole = log.read_bytes()
    log.write_bytes(whole[:-25])
    repaired = run_cli(*args)
    assert repaired.returncode == 0 and "cut the torn last line" in repaired.stderr and log.read_bytes() == whole
    shutil.rmtree(folder)
    plan.unlink()
