"""`plan execute --log-with` and `plan tune --log-with`: every committed round in TensorBoard, MLflow
and W&B (read back with each one's own reader) once, at step = its round, also after SIGKILL or a
crash and a resume; a missing package or a damaged trackers' state is one sentence before any round."""
from __future__ import annotations

import json
import signal
import struct
import subprocess
import time
from pathlib import Path

import pytest

from bootstrapper.cli import session as session_module
from planner.cli import main
from planner.plan import Plan
from planner.trackers import round_values
from tests.bootstrapper.conftest import ENV, SLOW, Crash, command, crash_at
from tests.conftest import needs, one_sentence, plan_command, run_cli

needs("accelerate")
needs("tensorboard")

QUIET = ["--no-report", "--no-progress", "--seed", "3"]


def rounds(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "rounds.jsonl").read_text().splitlines()]


def expected(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """Each tag's (step, value) series the run's rounds.jsonl should have produced."""
    plan = Plan.from_json(json.loads((folder / "plan.json").read_text()))
    series: dict[str, list[tuple[int, float]]] = {}
    for record in rounds(folder):
        for tag, value in round_values(record, plan).items():
            series.setdefault(tag, []).append((record["round"], value))
    return series


def assert_series(shown: dict[str, list[tuple[int, float]]], folder: Path, rel: float = 1e-12) -> None:
    """The tracker shows exactly the series of the run's log: each round once, at its step."""
    wanted = expected(folder)
    assert set(shown) == set(wanted) and {"reward/measured", "metrics/theta", "budget/share_spent"} <= set(shown)
    for tag, points in wanted.items():
        assert [s for s, _ in shown[tag]] == [s for s, _ in points], tag
        assert [v for _, v in shown[tag]] == pytest.approx([v for _, v in points], rel=rel), tag


def tensorboard_series(folder: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder / "trackers" / "spendwise"))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def state(folder: Path) -> dict:
    return json.loads((folder / "trackers" / "state.json").read_text())


def kill_after_commits(plan_file: Path, folder: Path, commits: int, *args: str) -> bool:
    """Start `plan execute`, SIGKILL it once `commits` rounds are in the log; False if it ended first."""
    proc = subprocess.Popen(plan_command("execute", str(plan_file), "--run-dir", str(folder), *SLOW, *args), env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        log = folder / "rounds.jsonl"
        if log.exists() and len(log.read_bytes().splitlines()) >= commits:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.communicate()
    return proc.returncode == -signal.SIGKILL


def test_tensorboard_shows_every_round_once_at_its_step_after_sigkill_and_resume(plan_file, tmp_path):
    """Killed with SIGKILL after 3 commits, its trackers' state then set back one round (as a kill between
    TensorBoard's write and the state's leaves it), resumed to the end: TensorBoard's reader sees every
    round of rounds.jsonl once, and the hyperparameters once."""
    folder = tmp_path / "run"
    assert kill_after_commits(plan_file, folder, 3, "--log-with", "tensorboard")
    logged, steps = state(folder)["tensorboard"]["logged"], [s for s, _ in tensorboard_series(folder)["samples/kept"]]
    assert logged >= 1 and steps == list(range(len(steps))) and len(steps) in (logged, logged + 1)  # killed there
    (folder / "trackers" / "state.json").write_text(json.dumps({"tensorboard": {"logged": logged - 1}}))
    done = run_cli("execute", str(plan_file), "--run-dir", str(folder), *SLOW, "--log-with", "tensorboard")
    assert done.returncode == 0, done.stderr
    assert len(rounds(folder)) > 3 and state(folder) == {"tensorboard": {"logged": len(rounds(folder))}}
    assert_series(tensorboard_series(folder), folder, rel=1e-6)  # TensorBoard keeps float32
    import yaml  # accelerate's dependency, as it writes hparams.yml

    [hparams] = (folder / "trackers" / "spendwise").glob("*/hparams.yml")
    config = yaml.safe_load(hparams.read_text())
    assert config["seed"] == 3 and config["task"] == "gaussian" and config["plan/costs/ct"] == 3.0
    initial = json.loads((folder / "run.json").read_text())["initial"]["reward"]
    assert config["task_config/delay"] == 4e-4 and config["initial/reward"] == initial


def crash_then_resume(plan_file: Path, folder: Path, monkeypatch, *args: str) -> None:
    """`plan execute` in this process, crashed by its progress hooks right after round 2 is committed
    (before the trackers see it), then run again to the end."""
    with monkeypatch.context() as patched:
        patched.setattr(session_module, "tqdm_progress", lambda: crash_at(2, "done"))
        with pytest.raises(Crash):
            main(["execute", str(plan_file), "--run-dir", str(folder), "--no-report", "--seed", "3", *args])
    assert len(rounds(folder)) == 3
    assert main(["execute", str(plan_file), "--run-dir", str(folder), *QUIET, *args]) == 0


def test_mlflow_file_store_shows_every_round_once_after_a_crash_and_resume(plan_file, tmp_path, monkeypatch):
    mlflow = needs("mlflow")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", (tmp_path / "mlruns").as_uri())
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # mlflow 3 wants opting in to a file: store
    folder = tmp_path / "run"
    crash_then_resume(plan_file, folder, monkeypatch, "--log-with", "mlflow")
    client = mlflow.MlflowClient()
    [experiment] = [e for e in client.search_experiments() if e.name == "spendwise"]
    [run] = client.search_runs([experiment.experiment_id])
    assert run.info.run_id == state(folder)["mlflow"]["run_id"] and run.info.status == "FINISHED"
    shown = {tag: sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, tag))
             for tag in run.data.metrics}
    assert_series(shown, folder)
    assert run.data.params["seed"] == "3" and run.data.params["plan/model/kind"] == "gaussian"


def test_a_tracker_that_cannot_start_is_one_sentence_before_round_0_and_the_fixed_command_resumes(
        plan_file, tmp_path, monkeypatch, capsys):
    needs("mlflow")
    folder = tmp_path / "run"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "bogus://nowhere")
    assert main(["execute", str(plan_file), "--run-dir", str(folder), *QUIET, "--log-with", "mlflow"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("plan: the trackers (mlflow) could not start (") and "bogus" in line
    assert not (folder / "rounds.jsonl").exists()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", (tmp_path / "mlruns").as_uri())
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    assert main(["execute", str(plan_file), "--run-dir", str(folder), *QUIET, "--log-with", "mlflow"]) == 0
    assert state(folder)["mlflow"]["logged"] == len(rounds(folder)) > 3


BLOCK = 32768  # the .wandb file is a LevelDB-style log: 32 KiB blocks of records with 7-byte headers


def wandb_records(path: Path):
    """The protobuf records of an offline W&B run file, read with wandb's own message definitions."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    position, pieces = 7, b""
    while position + 7 <= len(data):
        room = BLOCK - position % BLOCK
        _, length, kind = struct.unpack("<IHB", data[position:position + 7])
        if room < 7 or (kind == 0 and length == 0):  # block padding
            position += room
            continue
        if position + 7 + length > len(data):  # a record still being written
            return
        pieces = (b"" if kind in (1, 2) else pieces) + data[position + 7:position + 7 + length]
        position += 7 + length
        if kind in (1, 4):  # a whole record, or the last piece of one
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pieces)
            yield record


def test_wandb_is_offline_by_default_and_a_resumed_run_keeps_its_id_and_steps(plan_file, tmp_path, monkeypatch):
    needs("wandb")
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    for name in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    folder = tmp_path / "run"
    crash_then_resume(plan_file, folder, monkeypatch, "--log-with", "wandb")
    run_id = state(folder)["wandb"]["run_id"]
    files = sorted((folder / "trackers" / "wandb").glob(f"offline-run-*-{run_id}*/run-{run_id}.wandb"))
    # the first run and its resumption, one W&B run id (a resumption in the same second gets "-1")
    assert len(files) == 2
    deadline = time.monotonic() + 60  # wandb-core, a process of its own, may still be writing after finish()
    while not all(any(r.WhichOneof("record_type") == "exit" for r in wandb_records(f)) for f in files):
        assert time.monotonic() < deadline, "a W&B run file never got its exit record"
        time.sleep(0.1)
    shown: dict[str, list[tuple[int, float]]] = {}
    for path in files:
        for record in wandb_records(path):
            if record.WhichOneof("record_type") == "history":
                for item in record.history.item:
                    key = item.key or "/".join(item.nested_key)  # "budget/spent" is stored as ["budget", "spent"]
                    if not key.startswith("_"):
                        shown.setdefault(key, []).append((record.history.step.num, json.loads(item.value_json)))
    assert_series(shown, folder)


@pytest.mark.parametrize("tracker, missing, install", [
    ("mlflow", "mlflow", 'pip install "spendwise[mlflow]"'),
    ("wandb", "wandb", 'pip install "spendwise[wandb]"'),
    ("all", "tensorboard", ""),
    ("tensorboard", "accelerate", './install.sh all (or pip install "spendwise[tensorboard]")'),
])
def test_a_tracker_package_missing_is_one_sentence_before_anything_is_written(plan_file, tmp_path, tracker,
                                                                              missing, install):
    """Without its package `--log-with` is refused in one sentence naming the install; `all` then means the
    trackers that are installed, and without any of them it names tensorboard."""
    folder = tmp_path / "run"
    hidden = ("tensorboard", "mlflow", "wandb") if tracker == "all" else (missing,)
    refused = run_cli("execute", str(plan_file), "--run-dir", str(folder), *QUIET, "--log-with", tracker,
                      missing=hidden)
    assert one_sentence(refused) and f"needs the Python package {missing}," in refused.stderr
    assert install in refused.stderr and not folder.exists()
    tune = run_cli("tune", "--task", "gaussian", "--budget", "2e3", "--run-dir", str(tmp_path / "tuned"),
                   "--log-with", tracker, missing=hidden)
    assert one_sentence(tune) and not (tmp_path / "tuned").exists()


def test_an_unknown_tracker_or_a_damaged_trackers_state_is_refused_before_any_round(plan_file, tmp_path):
    folder = tmp_path / "run"
    unknown = run_cli("execute", str(plan_file), "--run-dir", str(folder), *QUIET, "--log-with", "tensorbored")
    assert one_sentence(unknown) and "unknown tracker 'tensorbored'" in unknown.stderr and not folder.exists()
    assert kill_after_commits(plan_file, folder, 2)  # a run killed after 2 rounds, without trackers
    (folder / "trackers").mkdir()
    (folder / "trackers" / "state.json").write_text('{"tensorboard": {"logged": -1}}')
    log = (folder / "rounds.jsonl").read_bytes()
    damaged = run_cli("execute", str(plan_file), "--run-dir", str(folder), *SLOW, "--log-with", "tensorboard")
    assert one_sentence(damaged) and "state.json is damaged" in damaged.stderr
    assert (folder / "rounds.jsonl").read_bytes() == log


def test_trackers_asked_for_when_a_finished_run_is_run_again_get_all_its_rounds(plan_file, tmp_path):
    folder = tmp_path / "run"
    assert main(["execute", str(plan_file), "--run-dir", str(folder), *QUIET]) == 0
    log = (folder / "rounds.jsonl").read_bytes()
    assert main(["execute", str(plan_file), "--run-dir", str(folder), *QUIET, "--log-with", "tensorboard"]) == 0
    assert (folder / "rounds.jsonl").read_bytes() == log  # no round run again
    assert_series(tensorboard_series(folder), folder, rel=1e-6)


def test_tune_logs_its_rounds_to_the_trackers(tmp_path):
    folder = tmp_path / "tuned"
    assert main(["tune", "--task", "gaussian", "--budget", "2e3", "--run-dir", str(folder), "--log-with",
                 "tensorboard", "--json", "--no-progress"]) == 0
    assert len(rounds(folder)) >= 3
    assert_series(tensorboard_series(folder), folder, rel=1e-6)


def test_under_a_launcher_only_the_main_process_logs(plan_file, tmp_path):
    """`accelerate launch` on 2 CPU processes: one TensorBoard event file, every round once."""
    for module in ("diffusers", "psutil"):  # skip where the launcher tests (test_distributed.py) are skipped
        needs(module)
    from bootstrapper.distributed import TIMEOUT_ENV

    env = {k: v for k, v in ENV.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_PORT")}
    env |= {"HF_HOME": str(tmp_path / "hf"), "OMP_NUM_THREADS": "1", TIMEOUT_ENV: "60"}
    folder = tmp_path / "run"
    done = subprocess.run(command(2, str(plan_file), "--run-dir", str(folder), *QUIET, "--json", "--log-with",
                                  "tensorboard"), env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.splitlines()[-1])["processes"] == 2
    assert len(list((folder / "trackers" / "spendwise").glob("events.out.tfevents.*"))) == 1
    assert_series(tensorboard_series(folder), folder, rel=1e-6)
