"""`accelerate launch --num_processes 2 -m bootstrapper execute ...` on 2 CPU processes (gloo): the
same rounds as one process, a ledger counted once, a log written once, bad input reported once,
and a worker killed mid-run loses no committed round."""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bootstrapper import distributed as dist
from tests.bootstrapper.conftest import command
from tests.bootstrapper.tasks.helpers import build_tiny_model, tiny_unet
from tests.conftest import ROOT, needs

needs("accelerate")
needs("diffusers")
psutil = needs("psutil")

DDPM = ["-o", "eval_images=16", "-o", "gen_batch=8", "-o", "train_batch=8", "-o", "num_threads=1", "-o", "s=5"]
LLM = ["-o", "max_new_tokens=6", "-o", "eval_per_level=4", "-o", "gen_batch=4", "-o", "micro_batch=4",
       "-o", "device=cpu"]
QUIET = ["--no-progress", "--no-report", "--json", "--seed", "1"]
BUDGET = 100.0


# ---- shard -----------------------------------------------------------------------------------

@pytest.mark.parametrize("n, world", [(10, 3), (1, 2), (0, 2), (7, 7), (128, 4), (5, 1)])
def test_shards_are_contiguous_cover_everything_and_first_ranks_get_the_extra(n: int, world: int) -> None:
    parts = [dist.shard(n, r, world) for r in range(world)]
    assert [p.start for p in parts] == [0] + [p.stop for p in parts[:-1]] and parts[-1].stop == n
    sizes = [p.stop - p.start for p in parts]
    assert sizes == sorted(sizes, reverse=True) and max(sizes) - min(sizes) <= (1 if n % world else 0)


def test_one_process_needs_neither_accelerate_nor_torch_distributed() -> None:
    """Without a launcher every helper is the identity and accelerate is never imported."""
    code = ("import sys; from bootstrapper import distributed as d; import numpy as np\n"
            "assert (d.rank(), d.world_size(), d.is_main()) == (0, 1, True) and d.shard(5) == slice(0, 5)\n"
            "x = np.arange(3); assert d.gather(x) is x and d.broadcast(x) is x and d.on_main(lambda: 4) == 4\n"
            "d.all_reduce_mean_grads([], 0.5)\n"
            "assert 'accelerate' not in sys.modules and 'torch' not in sys.modules")
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    done = subprocess.run([sys.executable, "-c", code], env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr


# ---- launching -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    """No inherited launcher variables, no user accelerate config (HF_HOME), a short collective timeout."""
    clean = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_PORT")}
    return {**clean, "PYTHONPATH": str(ROOT), "HF_HOME": str(tmp_path_factory.mktemp("hf")), "OMP_NUM_THREADS": "1",
            dist.TIMEOUT_ENV: "60", "TOKENIZERS_PARALLELISM": "false"}


def run(env: dict, processes: int, *args: str, timeout: float = 240) -> dict:
    """Run to the end; the summary the main process printed."""
    done = subprocess.run(command(processes, *args), env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, done.stdout  # only the main process reports
    return json.loads(lines[0])


def log(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "rounds.jsonl").read_text().splitlines()]


def untimed(folder: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in log(folder)]


def write_plan(folder: Path, task: str, budget: float = BUDGET) -> Path:
    """Two proportional-selection rounds (8 then 40 kept) of a surrogate model that expects ~85 % acceptance."""
    from planner.costs import CostModel
    from planner.models import SurrogateModel
    from planner.plan import Plan
    from planner.problem import Problem
    from planner.schedules import Schedule
    from planner.solvers import free_form

    problem = Problem(SurrogateModel(r_star=0.95, g0=0.1, a=0.5, b=0.3), CostModel(1.0, 1.0, 2.0), budget, max_rounds=2)
    plan = Plan(problem, Schedule("free", (8, 40)), "test", free_form(problem), task=task)
    path = folder / f"plan-{task}.json"
    path.write_text(json.dumps(plan.to_json()))
    return path


def check_ledger(records: list[dict], summary: dict, budget: float = BUDGET) -> None:
    """Each round charged once for what it generated and kept (c_g = c_t = 1, 2 per round), spending
    cumulative and within the budget."""
    assert summary["spent"] == pytest.approx(sum(r["cost"] for r in records)) == records[-1]["spent"]
    assert summary["spent"] <= budget
    for r in records:
        assert r["cost"] == pytest.approx(r["generated"] + r["kept"] + 2.0)


# ---- DDPM ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ddpm(tmp_path_factory, env) -> dict:
    """The tiny UNet, a plan, and one uninterrupted run each on 1 (in this process: the same code
    as `plan execute`, without paying for another interpreter) and on 2 processes."""
    import torch

    from bootstrapper.cli.execute import add_arguments
    from bootstrapper.cli.execute import run as execute

    folder = tmp_path_factory.mktemp("ddpm")
    tiny_unet().save_pretrained(folder / "unet")
    args = [str(write_plan(folder, "ddpm")), *DDPM, "-o", f"model_path={folder / 'unet'}", *QUIET]
    runs = {n: folder / f"p{n}" for n in (1, 2)}
    summaries = {2: run(env, 2, *args, "--run-dir", str(runs[2]))}
    parser, threads = argparse.ArgumentParser(), torch.get_num_threads()
    add_arguments(parser)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert execute(parser.parse_args([*args, "--run-dir", str(runs[1])])) == 0
    torch.set_num_threads(threads)  # num_threads=1 is process-wide
    summaries[1] = json.loads(out.getvalue())
    return {"args": args, "folder": folder, "runs": runs, "summaries": summaries}


def test_ddpm_on_two_processes_matches_one_process_and_counts_once(ddpm) -> None:
    """Same selection, same counts and spending, rewards equal to float noise; the ledger is the
    global one, not doubled, and the log has one line per round, written by the main process alone."""
    one, two = (log(ddpm["runs"][n]) for n in (1, 2))
    assert ddpm["summaries"][1]["processes"] == 1 and ddpm["summaries"][2]["processes"] == 2
    assert len(two) == len(one) == 2 and [r["round"] for r in two] == [0, 1]
    for a, b in zip(one, two):
        for key in ("n", "kept", "generated", "trimmed", "cost", "spent", "schedule"):
            assert a[key] == b[key], key
        assert b["reward"] == pytest.approx(a["reward"], abs=1e-3)
        assert b["metrics"]["psnr"] == pytest.approx(a["metrics"]["psnr"], abs=1e-2)
    check_ledger(two, ddpm["summaries"][2])
    assert ddpm["summaries"][2]["final_reward"] == pytest.approx(ddpm["summaries"][1]["final_reward"], abs=1e-3)
    made = sorted(p.name for p in ddpm["runs"][2].iterdir())
    # nothing half-written, no stray files
    assert made == [".lock", "checkpoint", "plan.json", "rounds.jsonl", "run.json"]


def test_killing_a_worker_after_a_commit_loses_no_round_and_resume_ends_as_uninterrupted(ddpm, env) -> None:
    """SIGKILL the rank-1 worker right after round 0 is committed: the launcher stops the other one;
    the same command resumes at round 1 and the log ends equal to the uninterrupted 2-process run's."""
    folder = ddpm["folder"] / "killed"
    args = [*ddpm["args"], "--run-dir", str(folder)]
    launcher = subprocess.Popen(command(2, *args), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
    try:
        worker, deadline = None, time.monotonic() + 120
        while launcher.poll() is None and time.monotonic() < deadline:
            if worker is None:
                worker = next((p for p in psutil.Process(launcher.pid).children(recursive=True)
                               if _environ(p).get("RANK") == "1"), None)
            if worker is not None and (folder / "rounds.jsonl").exists():
                break
            time.sleep(0.01)
        assert worker is not None and launcher.poll() is None, "the run ended before round 0 was committed"
        worker.send_signal(signal.SIGKILL)
        assert launcher.wait(timeout=90) != 0
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
    assert len(log(folder)) == 1, "the kill was meant to land during round 1"
    summary = run(env, 2, *args)
    assert untimed(folder) == untimed(ddpm["runs"][2])
    assert summary["spent"] == ddpm["summaries"][2]["spent"] and summary["rounds_done"] == 2


def _environ(process) -> dict:
    try:
        return process.environ()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return {}


def test_bad_input_is_one_sentence_from_the_main_process(env, tmp_path) -> None:
    """A run directory that is not a spendwise run (found by the main process alone): every process
    stops, the sentence is said once. The Gaussian task, so that the workers start fast."""
    from tests.bootstrapper.conftest import gaussian_plan

    (tmp_path / "plan.json").write_text(json.dumps(gaussian_plan().to_json()))
    (tmp_path / "notes.txt").write_text("mine")
    done = subprocess.run(command(2, str(tmp_path / "plan.json"), "--run-dir", str(tmp_path)), env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    sentence = "is not a spendwise run directory; refusing to write into it"
    assert done.stderr.count(sentence) == 1, done.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "plan.json"]


# ---- LLM -------------------------------------------------------------------------------------

LLM_SCRIPT = """
import json, sys
import torch
from bootstrapper import distributed as dist
from bootstrapper.cli.session import Session
from bootstrapper.tasks.llm import LLMConfig, LLMTask
from tests.bootstrapper.tasks.helpers import gold_samples

def train_pass(model):  # 6 sampled answers, then one training pass on 12 known-good ones (grad_accum 2)
    task = LLMTask(LLMConfig(model_path=model, max_new_tokens=6, eval_per_level=4, gen_batch=4, micro_batch=4,
                             grad_accum=2, lr=3e-3, device="cpu"))
    state = task.init_state(0)
    batch = task.generate(state, 6)
    state = task.train(state, gold_samples(12))
    return batch, state, task.evaluate(state)


if __name__ == "__main__":
    plan, model, out = sys.argv[1:4]
    # 1. the engine on the task (a random model earns no reward: sharded generation and the ledger)
    session = Session.open(json.load(open(plan)), None, out + "/run", 1, sys.argv[4:], model)
    summary = session.summary(session.run(progress=False))
    # 2. one data-parallel training pass, compared by the test with one process
    batch, state, metrics = train_pass(model)
    if dist.is_main():
        torch.save(state.model.state_dict(), out + "/weights.pt")
        result = {"summary": summary, "questions": [s["question"] for s in batch], "answers": len(batch),
                  "metrics": metrics, "processes": dist.world_size()}
        json.dump(result, open(out + "/result.json", "w"))
"""


def test_llm_generates_and_trains_on_two_processes_like_one(tmp_path, env) -> None:
    """A tiny random Llama on 2 processes: the engine's rounds are charged once and logged once, and
    a data-parallel training pass (token-weighted gradients, grad_accum 2) ends at the weights one
    process reaches. Sampled answers differ from one process's (each rank its own stream): not compared."""
    needs("transformers")
    import torch

    build_tiny_model(tmp_path / "llm")
    (tmp_path / "llm_script.py").write_text(LLM_SCRIPT)
    plan, out = write_plan(tmp_path, "llm", budget=40.0), tmp_path / "p2"
    out.mkdir()
    done = subprocess.run(command(2, str(plan), str(tmp_path / "llm"), str(out), *LLM[1::2],
                                  target=(str(tmp_path / "llm_script.py"),)),
                          env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    two = json.loads((out / "result.json").read_text())
    sys.path.insert(0, str(tmp_path))
    try:  # the same pass on one process: this one
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        batch, state, _ = __import__("llm_script").train_pass(str(tmp_path / "llm"))
    finally:
        torch.set_num_threads(threads)
        sys.path.remove(str(tmp_path))
        sys.modules.pop("llm_script", None)
    assert two["processes"] == 2 and two["answers"] == 6 and two["questions"] == [s["question"] for s in batch]
    records = log(out / "run")
    check_ledger(records, two["summary"], budget=40.0)
    assert [r["round"] for r in records] == list(range(len(records))) and records
    weights = torch.load(out / "weights.pt", weights_only=True)
    for name, w in state.model.state_dict().items():
        torch.testing.assert_close(weights[name], w, rtol=1e-4, atol=1e-5, msg=name)
    from safetensors.torch import load_file

    start = load_file(tmp_path / "llm" / "model.safetensors")
    assert max(float((weights[k] - v).abs().max()) for k, v in start.items()) > 1e-3  # training moved them
