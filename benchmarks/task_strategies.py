"""Studies 2 and 3 — a real task (ddpm: MNIST denoising; llm: word problems with SmolLM2):
constant, linear and exponential schedules with the bases a user would hand-pick (1.5^t, 2^t,
3^t), and the planner's auto-tuned run (`plan tune`: the task prior's plan, refitted and replanned
after every round), all at the same total compute, several seeds.

    python3 benchmarks/task_strategies.py --task ddpm --budget 720 --seeds 3 --rounds 5 \
        -o eval_images=32 -o num_threads=1                       # ~13 min per seed and strategy
    python3 benchmarks/task_strategies.py --task llm --budget 600 --seeds 3 --rounds 3 --bases 2 \
        --batch 2 -o eval_per_level=32 -o num_threads=1 --strategies tuned   # the tuned rows first
    python3 benchmarks/task_strategies.py --task ddpm --quick --model-path TINY_UNET_FOLDER

The budget is in seconds of this machine: c_g and c_t are measured once (seconds per generated
and per trained sample) and the per-round cost is the measured evaluation time; the measurement
is kept in the study folder, so a killed study resumes (rerun the same command: finished runs are
read back, an unfinished one continues from its last round) at the same costs. Runs go seed by
seed, the tuned run first; `--report` (same command) writes the results of the runs finished so
far without running any. Writes results/<task>_study.json and .png.
The hand-picked schedules are sized to spend the budget by the model `plan --task` uses (the
task's prior for its shipped model, else a vague one from the starting reward); a shape that model
deems unaffordable is sized by the vague one (the ledger trims a last round the money cannot pay).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS, save, table  # noqa: E402
from benchmarks.study_plot import plot  # noqa: E402
from bootstrapper.calibrate import measure  # noqa: E402
from bootstrapper.engine import execute  # noqa: E402
from bootstrapper.rundir import RunDir  # noqa: E402
from bootstrapper.tasks import make_task  # noqa: E402
from bootstrapper.tune import tune, vague_model  # noqa: E402
from planner.costs import CostModel  # noqa: E402
from planner.jsonio import as_stored, atomic_write_json, read_json  # noqa: E402
from planner.plan import Plan  # noqa: E402
from planner.priors import load_prior  # noqa: E402
from planner.problem import Problem  # noqa: E402
from planner.registry import prior_path  # noqa: E402
from planner.rounds import RoundRecord  # noqa: E402
from planner.runconfig import RunConfig  # noqa: E402
from planner.schedules import FAMILIES, Schedule  # noqa: E402
from planner.sizing import size  # noqa: E402
from planner.solvers import free_form  # noqa: E402
from planner.validate import InputError  # noqa: E402

TUNED = "planner (tuned)"


def hand_plan(problem: Problem, family: str, param: float, rounds: int, task: str) -> Plan:
    """A hand-picked shape with `rounds` rounds, sized (by the problem's model) to spend the budget."""
    shape = FAMILIES[family].shape(np.array(param), np.arange(rounds, dtype=float))
    sized = size(problem, shape[None, :], np.array([rounds]))
    schedule = Schedule.from_array(family, sized.n[0], float(sized.n0[0]), None if family == "constant" else param)
    return Plan(problem, schedule, "hand-picked", free_form(problem), task=task)


def shapes(bases: list[float]) -> dict[str, tuple[str, str, float]]:
    """The hand-picked strategies: label in the results -> (name in run folders and --strategies,
    schedule family, its parameter)."""
    return {"constant": ("constant", "constant", 0.0), "linear": ("linear", "linear", 1.0),
            **{f"exponential {b:g}^t": (f"{b:g}^t", "exponential", b) for b in bases}}


def strategy_names(bases: list[float]) -> dict[str, str]:
    """Every strategy's label -> its name in run folders and --strategies, the tuned run first (a study
    cut short still compares it)."""
    return {TUNED: "tuned", **{label: name for label, (name, _, _) in shapes(bases).items()}}


def hand_picked(problem: Problem, fallback: Problem, rounds: int, bases: list[float], task: str) -> dict[str, Plan]:
    """Constant, linear and one exponential per base, each with `rounds` rounds, sized by the problem's
    model, or by the fallback's where that model deems the shape unaffordable (e.g. the DDPM prior
    predicts that 3^t's first rounds, a few samples each, would ruin the model)."""
    plans = {}
    for label, (_, family, param) in shapes(bases).items():
        try:
            plans[label] = hand_plan(problem, family, param, rounds, task)
        except InputError:
            plans[label] = hand_plan(fallback, family, param, rounds, task)
    return plans


def calibrated(task, folder: Path, settings: dict, samples: int) -> dict:
    """The study's measured costs and starting metrics: measured once and kept in the folder, so a
    resumed study runs at the same costs; a folder made with other settings is refused."""
    path = folder / "calibration.json"
    settings = as_stored(settings)  # as the file holds them
    if path.exists():
        saved = read_json(path, "the study's calibration")
        if saved["settings"] != settings:
            raise InputError(f"{folder} holds a study made with other settings ({saved['settings']}); "
                             "pass the same ones, another --out, or delete that folder")
        return saved
    start = task.init_state(0)
    probe = measure(task, start, samples)
    initial, eval_seconds = timed(lambda: task.evaluate(start))
    if initial["reward"] <= 0:
        raise InputError(f"the starting model scores 0 on {task.name}'s held-out set, so proportional selection "
                         "would keep nothing; start from a model that solves some of it")
    saved = {"settings": settings, "initial": {k: float(v) for k, v in initial.items()},
             "costs": CostModel(probe["cg"], probe["ct"], eval_seconds).to_json()}
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, saved)
    return saved


def timed(call):
    """call()'s result and its seconds."""
    started = time.perf_counter()
    out = call()
    return out, time.perf_counter() - started


def run_hand(plan: Plan, task, folder: Path, seed: int) -> list[RoundRecord]:
    """Run (or resume, or read back) one hand-picked run. A run started earlier resumes with the plan
    it stored: the same schedule re-solved by a later version of the planner can differ in the last digit
    of its certificate, and a run directory refuses any other plan than its own."""
    with RunDir(folder) as run_dir:  # locked: a second study on the same folder is refused
        stored = folder / "plan.json"
        data = read_json(stored, "the run's plan file") if stored.is_file() else plan.to_json()
        own = Plan.from_json(data)
        if own.schedule.n != plan.schedule.n:
            raise InputError(f"{folder} holds a run of another schedule; remove it or use another --out")
        run_dir.prepare(data, RunConfig.for_task(task, seed))
        return execute(own, task, folder, seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", required=True, choices=("ddpm", "llm", "gaussian"))
    parser.add_argument("--budget", type=float, help="seconds of compute per strategy and seed")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the hand-picked schedules")
    parser.add_argument("--bases", default="1.5,2,3", help="hand-picked exponential bases (comma-separated)")
    parser.add_argument("--batch", type=int, default=8, help="kept samples per round are multiples of this")
    parser.add_argument("--quick", action="store_true", help="tiny budget, 1 seed, 3 rounds: checks the outputs")
    parser.add_argument("-o", "--option", action="append", default=[], metavar="KEY=VALUE", help="task option")
    parser.add_argument("--model-path", help="local model folder (default: the task's shipped model)")
    parser.add_argument("--strategies", help="run only these (comma-separated: tuned, constant, linear, 2^t, ...); "
                        "e.g. tuned rows for more seeds first. Default: all")
    parser.add_argument("--report", action="store_true",
                        help="run nothing: write the results of the runs finished so far (a study cut short)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    seeds, rounds = (1, 3) if args.quick else (args.seeds, args.rounds)
    bases = [float(b) for b in args.bases.split(",")]
    names = strategy_names(bases)
    known = list(names.values())
    chosen = set(known) if args.strategies is None else set(args.strategies.split(","))
    if chosen - set(known):  # before anything is measured or written
        raise InputError(f"unknown strategies {sorted(chosen - set(known))}; known: {', '.join(known)}")
    task = make_task(args.task, args.option, args.model_path)
    name = f"{args.task}_study" + ("_quick" if args.quick else "")
    folder = args.out / f"{name}_runs"
    settings = {"task": args.task, "task_config": task.config.to_json(), "budget": args.budget, "batch": args.batch,
                "rounds": rounds, "bases": bases}
    if args.report and not (folder / "calibration.json").exists():
        raise InputError(f"there is no study in {folder} to report")
    cal = calibrated(task, folder, settings, 8 if args.quick else 32)
    initial, costs = cal["initial"], CostModel(**cal["costs"])
    # quick: about 16 rounds of two batches
    budget = args.budget or (16 * (costs.c_round + 2 * args.batch * (2 * costs.cg + costs.ct)) if args.quick
                             else 200 * costs.c_round)
    shipped = prior_path(args.task) if args.model_path is None else None  # a prior is for the shipped model only
    prior = load_prior(shipped, args.task) if shipped else None
    model = prior.model if prior else vague_model(initial["reward"])
    problem = Problem(model, costs, budget, args.batch, max(rounds, 12))
    vague = dataclasses.replace(problem, model=vague_model(initial["reward"]))
    plans = hand_picked(problem, vague, rounds, bases, task.name)
    curves: dict[str, dict[int, list]] = {label: {} for label in names}
    for seed in range(seeds):
        for label, name_ in names.items():
            run_folder = folder / f"{name_}-{seed}"
            if args.report:
                history = finished_rounds(run_folder, budget, costs)
                if history is None:
                    continue
            elif name_ not in chosen:
                continue
            elif label == TUNED:
                history = tune(task, problem, run_folder, seed, prior.model if prior else None,
                               prior.evidence() if prior else None).history
                print(f"seed {seed}: tuned schedule {[r.kept for r in history]}", flush=True)
            else:
                history = run_hand(plans[label], task, run_folder, seed)
            curves[label][seed] = points(history)
    by_seed = {label: runs for label, runs in curves.items() if runs}
    curves = {label: list(runs.values()) for label, runs in by_seed.items()}
    if not curves:
        raise InputError(f"no run in {folder} has finished yet")
    rows = [summarize(label, runs, initial) for label, runs in curves.items()]
    print(f"{args.task}: initial {initial}; c_g {costs.cg:.3g} s, c_t {costs.ct:.3g} s, "
          f"per round {costs.c_round:.3g} s; budget {budget:.0f} s per run")
    print(table([{**r, **r["metrics"]} for r in rows],
                [("strategy", ""), ("rounds", ".1f"), ("spent", ".0f"), ("final_reward", ".4f"), ("se", ".4f")]
                + [(k, ".4f") for k in sorted(rows[0]["metrics"]) if k.startswith("acc_")]))
    plot(curves, rows, initial, args.out / f"{name}.png", args.task, costs)
    result = {"task": args.task, "task_config": task.config.to_json(), "initial": initial, "costs": costs.to_json(),
              "budget": budget, "seeds": seeds, "rows": rows, "regret": regret(by_seed),
              "prior": prior.describe() if prior else "vague (from the starting reward)",
              "plans": {k: list(p.schedule.n) for k, p in plans.items()}, "curves": curves}
    print(f"wrote {save(name, result, args.out)}")


def finished_rounds(folder: Path, budget: float, costs: CostModel) -> list[RoundRecord] | None:
    """A run's rounds if it has finished (nothing left planned, its last round trimmed, or not one
    more sample affordable), else None."""
    rounds = RunDir(folder).rounds() if folder.is_dir() else []
    if not rounds:
        return None
    last = rounds[-1]
    done = not last.schedule or last.trimmed or budget - last.spent < costs.price(1, 1, 1)
    return rounds if done else None


def points(history: list[RoundRecord]) -> list[dict]:
    """A run's curve: spend and held-out metrics after each evaluated round."""
    return [{"spent": r.spent, "kept": r.kept, **r.metrics} for r in history if r.reward is not None]


def summarize(label: str, runs: list[list[dict]], initial: dict) -> dict:
    """One strategy's row: mean rounds and spend, and each final metric's mean and standard error over
    seeds (a run that did no round ends where it started)."""
    finals = [run[-1] if run else initial for run in runs]
    values = {k: np.array([f[k] for f in finals]) for k in initial if not k.startswith("se_")}
    se = {k: float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else None for k, v in values.items()}
    return {"strategy": label, "seeds": len(runs), "rounds": float(np.mean([len(r) for r in runs])),
            "final_reward": float(values["reward"].mean()), "se": se["reward"],
            "spent": float(np.mean([r[-1]["spent"] for r in runs if r])) if any(runs) else 0.0,
            "metrics": {k: float(v.mean()) for k, v in values.items()}, "metrics_se": se}


def regret(curves: dict[str, dict[int, list[dict]]]) -> dict | None:
    """The tuned run's final reward minus the best and the median hand-picked strategy's, paired by
    seed (the same seed's runs share their random streams) over the seeds every strategy finished:
    mean and SE over those seeds."""
    seeds = sorted(set.intersection(*(set(runs) for runs in curves.values()))) if curves else []
    if TUNED not in curves or len(curves) < 2 or not seeds:
        return None
    final = {k: np.array([runs[s][-1]["reward"] for s in seeds]) for k, runs in curves.items()}
    hand = {k: v for k, v in final.items() if k != TUNED}
    means = {k: v.mean() for k, v in hand.items()}
    best = max(means, key=means.get)
    median = sorted(means, key=means.get)[len(means) // 2]
    out = {"seeds": seeds, "best": best, "median": median}
    for what, label in (("vs_best", best), ("vs_median", median)):
        d = final[TUNED] - hand[label]
        n = len(seeds)
        out[what] = {"mean": float(d.mean()), "se": float(d.std(ddof=1) / np.sqrt(n)) if n > 1 else None}
    return out


if __name__ == "__main__":
    try:
        main()
    except InputError as e:  # e.g. a model that solves nothing: no round can keep a sample
        print(f"task_strategies: {e}", file=sys.stderr)
        sys.exit(2)
