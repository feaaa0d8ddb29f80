"""Several processes search one Optuna study on a shared SQLite storage; `plan best` reads it."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.conftest import ROOT, needs, run_cli

optuna = needs("optuna")
PROBLEM = ["--budget", "1e5", "--cg", "1", "--ct", "3"]


def worker(storage: str, seed: int, trials: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "planner.cli", *PROBLEM, "--trials", str(trials),
                             "--seed", str(seed), "--storage", storage, "--study", "shared", "--json"],
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_two_workers_share_one_study_and_match_a_single_process(tmp_path):
    """Two workers x 12 trials: 24 completed trials whose stored results re-evaluate exactly, and
    the best is no worse than one process running 24 trials (and no worse than the closed form)."""
    from planner.cli import main  # noqa: F401  (the CLI must import cleanly for the workers)
    from planner.costs import CostModel
    from planner.models import DEFAULT_MODEL
    from planner.problem import Problem
    from planner.schedules import FAMILIES
    from planner.sizing import size

    storage = f"sqlite:///{tmp_path / 'search.db'}"
    procs = [worker(storage, seed, 12) for seed in (1, 2)]
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read().decode()
    study = optuna.load_study(study_name="shared", storage=storage)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 24
    problem = Problem(DEFAULT_MODEL, CostModel(1.0, 3.0), 1e5)
    T = problem.max_rounds
    for t in done[:6]:
        shape = FAMILIES["exponential"].shape(np.array(t.params["base"]), np.arange(T, dtype=float))
        sized = size(problem, np.broadcast_to(shape, (T, T)), np.arange(1, T + 1))
        assert np.log(np.min(sized.gap)) == pytest.approx(t.value, rel=1e-9)
    best = json.loads(run_cli("best", "--storage", storage, "--study", "shared", "--json").stdout)
    single = json.loads(run_cli(*PROBLEM, "--trials", "24", "--seed", "1", "--json").stdout)
    single_optuna = next(s for s in single["solvers"] if s["solver"] == "optuna")
    closed = next(s for s in single["solvers"] if s["solver"] == "closed-form")
    assert best["trials"] == 24
    assert best["gap"] <= single_optuna["gap"] * 1.01
    assert best["gap"] <= closed["gap"] * (1 + 1e-9)


def test_a_killed_worker_loses_no_completed_trial(tmp_path):
    """SIGKILL one worker mid-search: its completed trials stay, the other finishes, plan best works."""
    storage = f"sqlite:///{tmp_path / 'search.db'}"
    victim, survivor = worker(storage, 1, 400), worker(storage, 2, 10)
    assert survivor.wait(timeout=300) == 0, survivor.stderr.read().decode()
    time.sleep(1.0)
    before = [t.number for t in optuna.load_study(study_name="shared", storage=storage).trials
              if t.state == optuna.trial.TrialState.COMPLETE]
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    after = [t.number for t in optuna.load_study(study_name="shared", storage=storage).trials
             if t.state == optuna.trial.TrialState.COMPLETE]
    assert set(before) <= set(after) and len(after) >= 10
    result = run_cli("best", "--storage", storage, "--study", "shared", "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["trials"] == len(after)


def test_joining_a_study_with_another_problem_is_refused(tmp_path):
    storage = f"sqlite:///{tmp_path / 'search.db'}"
    assert run_cli(*PROBLEM, "--trials", "2", "--storage", storage, "--study", "s").returncode == 0
    other = run_cli("--budget", "2e5", "--trials", "2", "--storage", storage, "--study", "s")
    assert other.returncode == 2 and "different problem" in other.stderr
    missing = run_cli("best", "--storage", storage, "--study", "nope")
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1


def test_a_shared_study_opens_in_optuna_dashboard_with_readable_trial_attributes(tmp_path):
    """`plan --storage`: optuna-dashboard's own API (its WSGI app, no server) serves the study with each
    trial's base, n0, T and predicted gap (the value is the log of that gap)."""
    dashboard = needs("optuna_dashboard")
    from wsgiref.util import setup_testing_defaults

    storage = f"sqlite:///{tmp_path / 'search.db'}"
    assert run_cli(*PROBLEM, "--trials", "6", "--storage", storage, "--study", "shown").returncode == 0
    app = dashboard.wsgi(storage)

    def get(path: str) -> dict:
        environ = {"PATH_INFO": path}
        setup_testing_defaults(environ)
        status = []
        body = b"".join(app(environ, lambda code, headers, exc_info=None: status.append(code)))
        assert status == ["200 OK"], (path, status)
        return json.loads(body)

    [summary] = get("/api/studies")["study_summaries"]
    detail = get(f"/api/studies/{summary['study_id']}")
    assert {"T", "n0", "predicted_gap"} <= {a["key"] for a in detail["union_user_attrs"]}
    complete = [t for t in detail["trials"] if t["state"] == "Complete"]
    assert len(complete) == 6
    for trial in complete:
        attrs = {a["key"]: json.loads(a["value"]) for a in trial["user_attrs"]}
        assert [p["name"] for p in trial["params"]] == ["base"]
        assert attrs["T"] == len(attrs["n"]) and attrs["n0"] > 0
        assert np.log(attrs["predicted_gap"]) == pytest.approx(trial["values"][0])


def test_a_worker_killed_while_creating_the_study_leaves_no_study_or_a_whole_one(tmp_path):
    """SIGKILL the first worker at moments spread over the ~1-2 s it takes to make the database (from
    when its side file appears): each time, a later worker and `plan best` work."""
    for attempt, delay in enumerate(np.linspace(0.0, 2.0, 6)):
        db = tmp_path / f"search{attempt}.db"
        storage = f"sqlite:///{db}"
        victim, deadline = worker(storage, 1, 3), time.monotonic() + 60
        while victim.poll() is None and not any(tmp_path.glob(f".{db.name}.*")) and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(delay)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        later = worker(storage, 2, 3)
        assert later.wait(timeout=300) == 0, later.stderr.read().decode()
        best = run_cli("best", "--storage", storage, "--study", "shared", "--json")
        assert best.returncode == 0 and json.loads(best.stdout)["trials"] >= 3, best.stderr


def test_plan_best_writes_nothing_into_a_file_without_a_study_and_names_a_foreign_or_damaged_one(tmp_path):
    """An empty file stays empty; a study with no family, or with two studies of one name (left by a
    worker of an older version killed while creating the schema), is one sentence."""
    from tests.conftest import one_sentence

    empty = tmp_path / "empty.db"
    empty.touch()
    result = run_cli("best", "--storage", f"sqlite:///{empty}", "--study", "s")
    assert one_sentence(result) and "holds no Optuna study" in result.stderr and empty.stat().st_size == 0
    foreign = f"sqlite:///{tmp_path / 'foreign.db'}"
    optuna.create_study(storage=foreign, study_name="s").set_user_attr("problem", {})
    result = run_cli("best", "--storage", foreign, "--study", "s")
    assert one_sentence(result) and "records no family" in result.stderr, result.stderr
    damaged = tmp_path / "damaged.db"
    assert run_cli(*PROBLEM, "--trials", "2", "--storage", f"sqlite:///{damaged}", "--study", "s").returncode == 0
    with contextlib.closing(sqlite3.connect(damaged)) as db:
        db.execute("DROP INDEX ix_studies_study_name")
        db.execute("INSERT INTO studies VALUES (2, 's')")
        db.execute("INSERT INTO study_directions VALUES (2, 'MINIMIZE', 2, 0)")
        db.commit()
    for args in (["best"], [*PROBLEM, "--trials", "2"]):
        result = run_cli(*args, "--storage", f"sqlite:///{damaged}", "--study", "s")
        assert one_sentence(result) and "move it away" in result.stderr, result.stderr
