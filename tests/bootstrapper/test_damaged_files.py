"""Every file `plan execute` reads, damaged at random (truncated, a value of another type, huge or
non-finite numbers, nesting 100,000 deep, a key missing or added): the resume either loads cleanly or
refuses in one sentence (InputError) leaving the run untouched, never another exception."""
from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from bootstrapper.cli.session import Session
from bootstrapper.engine import execute
from bootstrapper.rundir import RunDir
from bootstrapper.tasks.gaussian import GaussianTask
from planner.jsonio import read_json
from planner.runconfig import RunConfig
from planner.trackers import RoundLogger
from planner.validate import InputError
from tests.bootstrapper.conftest import gaussian_plan
from tests.damage import DEEP, damage

SEED = 3
DAMAGES = 200  # per file: seeded, so every run of the test tries the same ones
FILES = {"plan": "plan.json", "the run's plan": "run/plan.json", "run.json": "run/run.json",
         "rounds.jsonl": "run/rounds.jsonl", "engine.json": "run/checkpoint/engine.json",
         "task state": "run/checkpoint/task/state.json", "tracker state": "run/trackers/state.json"}


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished 10-round Gaussian run, its plan file beside it, and a trackers' state file."""
    folder = tmp_path_factory.mktemp("finished")
    plan = gaussian_plan(2e3)
    (folder / "plan.json").write_text(json.dumps(plan.to_json()))
    RunDir(folder / "run").prepare(plan.to_json(), RunConfig.for_task(GaussianTask(), seed=SEED))
    execute(plan, GaussianTask(), folder / "run", seed=SEED)
    (folder / "run" / "trackers").mkdir()
    (folder / "run" / "trackers" / "state.json").write_text(json.dumps({"tensorboard": {"logged": 10}}))
    return folder


def damage_file(path: Path, rng: random.Random) -> None:
    """Damage a JSON file, or one line of a JSON-lines log."""
    if path.suffix != ".jsonl":
        path.write_text(damage(path.read_text(), rng))
        return
    lines = path.read_text().splitlines()
    i = rng.randrange(len(lines))
    lines[i] = damage(lines[i], rng)
    path.write_text("\n".join(lines) + "\n")


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def resume(folder: Path) -> None:
    """What `plan execute PLAN --run-dir RUN` does with the run, in-process, without progress bars."""
    session = Session.open(read_json(folder / "plan.json", "plan file"), None, str(folder / "run"), SEED, [], None)
    try:
        session.run(progress=False)
    finally:
        session.close()


@pytest.mark.parametrize("name", FILES)
def test_a_damaged_file_loads_cleanly_or_is_one_sentence_and_changes_nothing(finished, tmp_path, name):
    rng = random.Random(name)
    refused = 0
    for i in range(DAMAGES):
        folder = tmp_path / str(i)
        shutil.copytree(finished, folder)
        damage_file(folder / FILES[name], rng)
        before = snapshot(folder)
        try:
            if name == "tracker state":
                RoundLogger(("tensorboard",), folder / "run" / "trackers", lambda: None, dict).read_state()
            else:
                resume(folder)
        except InputError as e:
            refused += 1
            assert "\n" not in str(e), str(e)
            assert snapshot(folder) == before, f"damage {i} refused ({e}) but the run changed"
        shutil.rmtree(folder)
    assert refused >= DAMAGES // 3  # most damages matter


def edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def another_stream(engine: dict) -> None:
    """A valid PCG64 state, but not the one saved: numpy would accept it and run another stream."""
    engine["rng"]["state"]["state"] ^= 1


def plan_edit(change):
    return lambda folder: edit(folder / "plan.json", change)


@pytest.mark.parametrize("damage, words", [
    (lambda f: edit(f / "run/checkpoint/task/state.json", lambda d: d.update(theta=float("nan"))), "theta"),
    (lambda f: edit(f / "run/checkpoint/engine.json", another_stream), "random-number state was changed"),
    (lambda f: edit(f / "run/checkpoint/engine.json", lambda d: d["rng"].update(has_uint32=2)), "random-number"),
    (lambda f: edit(f / "run/checkpoint/engine.json", lambda d: d["rng"]["state"].update(inc=10**400)), "digits"),
    (lambda f: (f / "run/run.json").write_text("[" * DEEP + "]" * DEEP), "nested too deeply"),
], ids=["theta-nan", "rng-another-stream", "rng-has-uint32", "rng-huge-int", "run-json-deep"])
def test_a_damaged_run_is_one_sentence_exit_2_and_untouched(finished, tmp_path, damage, words):
    from tests.conftest import one_sentence, run_cli

    folder = tmp_path / "copy"
    shutil.copytree(finished, folder)
    damage(folder)
    before = snapshot(folder)
    result = run_cli("execute", str(folder / "plan.json"), "--run-dir", str(folder / "run"), "--seed", str(SEED),
                     "--no-progress", "--no-report")
    assert one_sentence(result) and words in result.stderr, result.stderr
    assert snapshot(folder) == before


@pytest.mark.parametrize("args, words", [
    (["execute", "{plan}", "--run-dir", "{new}", "--no-progress", "--no-report"], "start"),
    (["execute", "{plan}", "--run-dir", "{new}", "--no-progress", "--no-report"], "schedule n"),
    (["tune", "--task", "gaussian", "--budget", "1e3", "--run-dir", "{new}", "-o", "delay=1e308"], "delay"),
], ids=["plan-start-x", "plan-n-1e20", "tune-delay-1e308"])
def test_a_bad_plan_or_option_is_one_sentence_and_leaves_nothing(finished, tmp_path, args, words):
    from tests.conftest import one_sentence, run_cli

    plan = tmp_path / "plan.json"
    data = json.loads((finished / "plan.json").read_text())
    if words == "start":
        data["start"] = "x"
    else:
        data["schedule"][0]["n"] = 1e20
    plan.write_text(json.dumps(data))
    result = run_cli(*[a.format(plan=plan, new=tmp_path / "new") for a in args])
    assert one_sentence(result) and words in result.stderr, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]

