"""Studies 2 and 3 — a real task (ddpm: MNIST denoising; llm: word problems with SmolLM2):
constant, linear and exponential schedules picked by hand as in the paper, and the planner's
auto-tuned plan (`plan tune`, its pilots taking --pilot of the budget), all at the same total compute, several seeds.

    python3 benchmarks/task_strategies.py --task ddpm --budget 360 --seeds 3 --rounds 4 --pilot 0.3 \
        -o eval_images=32 -o num_threads=1                                      # 86 min here
    python3 benchmarks/task_strategies.py --task llm --budget 600 --seeds 3 --rounds 3 --pilot 0.5 --batch 2 \
        -o eval_per_level=32 -o num_threads=2                                   # 1 h 42 min here
    python3 benchmarks/task_strategies.py --task ddpm --quick --model-path TINY_UNET_FOLDER

The budget is in seconds of this machine: c_g and c_t are measured (seconds per generated and
per trained sample) and the per-round cost is the measured evaluation time. Writes
results/<task>_study.json and .png (reward vs compute; final reward with error bars over seeds;
final accuracy per level where the task reports one, as the llm task does).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS, figure, save, save_figure, table  # noqa: E402
from bootstrapper.calibrate import measure  # noqa: E402
from bootstrapper.tasks import task_config  # noqa: E402
from bootstrapper.engine import execute  # noqa: E402
from bootstrapper.rundir import RunDir  # noqa: E402
from bootstrapper.tasks import get_task  # noqa: E402
from bootstrapper.tune import prior_model, tune  # noqa: E402
from planner.costs import CostModel  # noqa: E402
from planner.jsonio import InputError  # noqa: E402
from planner.plan import Plan  # noqa: E402
from planner.problem import Problem  # noqa: E402
from planner.schedules import FAMILIES, Schedule  # noqa: E402
from planner.sizing import size  # noqa: E402
from planner.solvers import free_form  # noqa: E402

HAND_PICKED = {"constant": ("constant", 0.0), "linear": ("linear", 1.0)}


def hand_plan(problem: Problem, family: str, param: float, rounds: int, task: str) -> Plan:
    """A hand-picked shape with `rounds` rounds, sized (by the prior) to spend the budget."""
    shape = FAMILIES[family].shape(np.array(param), np.arange(rounds, dtype=float))
    sized = size(problem, shape[None, :], np.array([rounds]))
    schedule = Schedule.from_array(family, sized.n[0], float(sized.n0[0]), None if family == "constant" else param)
    return Plan(problem, schedule, "hand-picked", free_form(problem), task=task)


def run(plan: Plan, task, folder: Path, seed: int) -> list[dict]:
    with RunDir(folder) as run_dir:  # locked: a second study on the same folder is refused
        run_dir.prepare(plan.to_json(), {"task": task.name, "seed": seed})
        return execute(plan, task, folder, seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", required=True, choices=("ddpm", "llm", "gaussian"))
    parser.add_argument("--budget", type=float, help="seconds of compute per strategy and seed")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the hand-picked schedules")
    parser.add_argument("--base", type=float, default=2.0, help="hand-picked exponential base (paper: 2 for LLM)")
    parser.add_argument("--batch", type=int, default=8, help="kept samples per round are multiples of this")
    parser.add_argument("--pilot", type=float, default=0.1, help="share of the budget for plan tune's pilots")
    parser.add_argument("--quick", action="store_true", help="tiny budget, 1 seed, 3 rounds, 40 %% pilots: checks the outputs")
    parser.add_argument("-o", "--option", action="append", default=[], metavar="KEY=VALUE", help="task option")
    parser.add_argument("--model-path", help="local model folder (default: the task's shipped model)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    seeds, rounds = (1, 3) if args.quick else (args.seeds, args.rounds)
    task_cls = get_task(args.task)
    task = task_cls(task_config(task_cls, args.option, args.model_path))
    start = task.init_state(0)
    probe = measure(task, start, samples=8 if args.quick else 32)
    t0 = time.perf_counter()
    initial = task.evaluate(start)
    eval_seconds = time.perf_counter() - t0
    if initial["reward"] <= 0:
        raise InputError(f"the starting model scores 0 on {args.task}'s held-out set, so proportional selection "
                         "would keep nothing; start from a model that solves some of it")
    costs = CostModel(probe["cg"], probe["ct"], eval_seconds)
    # quick: about 16 rounds of two batches, so each quick pilot (20 %) affords its 3 rounds
    budget = args.budget or (16 * (eval_seconds + 2 * args.batch * (2 * costs.cg + costs.ct)) if args.quick
                             else 200 * eval_seconds)
    pilot = 0.4 if args.quick else args.pilot
    problem = Problem(prior_model(initial["reward"]), costs, budget, args.batch, max(rounds, 12))
    plans = {name: hand_plan(problem, family, param, rounds, task.name) for name, (family, param) in HAND_PICKED.items()}
    plans[f"exponential {args.base:g}^t"] = hand_plan(problem, "exponential", args.base, rounds, task.name)
    name = f"{args.task}_study" + ("_quick" if args.quick else "")
    folder = args.out / f"{name}_runs"
    shutil.rmtree(folder, ignore_errors=True)  # run directories refuse another plan: start clean
    curves, failures = {}, {}
    for seed in range(seeds):
        strategies = dict(plans)
        try:
            tuned = tune(task, problem, pilot, folder / f"tune-{seed}", seed)
            strategies["planner (tuned)"] = tuned.plan
        except InputError as e:  # e.g. pilots that kept nothing: reported, not hidden
            failures[f"planner (tuned), seed {seed}"] = str(e)
        for label, plan in strategies.items():
            history = run(plan, task, folder / f"{label.split()[0]}-{seed}", seed)
            spent0 = tuned.pilot_spent if label == "planner (tuned)" else 0.0
            curves.setdefault(label, []).append([{"spent": spent0 + r["spent"], **r["metrics"]} for r in history])
    rows = [summarize(label, runs, initial) for label, runs in curves.items()]
    print(f"{args.task}: initial {initial}; c_g {costs.cg:.3g} s, c_t {costs.ct:.3g} s, per round {costs.c_round:.3g} s; "
          f"budget {budget:.0f} s per run")
    print(table([{**r, **r["metrics"]} for r in rows],
                [("strategy", ""), ("rounds", ".1f"), ("spent", ".0f"), ("final_reward", ".4f"), ("se", ".4f")]
                + [(k, ".4f") for k in accuracies(rows)]))
    for what, why in failures.items():
        print(f"{what} failed: {why}")
    plot(curves, rows, initial["reward"], args.out / f"{name}.png", args.task)
    result = {"task": args.task, "task_config": task.config.to_json(), "initial": initial, "costs": costs.to_json(),
              "budget": budget, "pilot_share": pilot, "seeds": seeds, "rows": rows, "failures": failures,
              "plans": {k: list(p.schedule.n) for k, p in plans.items()},
              "curves": curves}
    print(f"wrote {save(name, result, args.out)}")


def summarize(label: str, runs: list[list[dict]], initial: dict) -> dict:
    """One strategy's row: mean rounds and spend, and each final metric's mean and standard error over
    seeds (a run that did no round ends where it started)."""
    finals = [run[-1] if run else initial for run in runs]
    values = {k: np.array([f[k] for f in finals]) for k in initial if not k.startswith("se_")}
    se = {k: float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else None for k, v in values.items()}
    return {"strategy": label, "rounds": float(np.mean([len(r) for r in runs])),
            "final_reward": float(values["reward"].mean()), "se": se["reward"],
            "spent": float(np.mean([r[-1]["spent"] for r in runs if r])) if any(runs) else 0.0,
            "metrics": {k: float(v.mean()) for k, v in values.items()}, "metrics_se": se}


def accuracies(rows: list[dict]) -> list[str]:
    """The per-level accuracy metrics the task reports (llm: acc_base, acc_p1; none for ddpm)."""
    return sorted(k for k in rows[0]["metrics"] if k.startswith("acc_")) if rows else []


def plot(curves: dict, rows: list[dict], initial: float, path: Path, task: str) -> None:
    """Reward vs compute per run; final reward by strategy; and, where the task reports accuracies per
    level (llm: acc_base, acc_p1), the final accuracy of each level by strategy. Error bars: SE over seeds."""
    levels = accuracies(rows)
    fig, axes = figure(1, 3 if levels else 2, figsize=(16 if levels else 11, 4))
    left, right = axes[0], axes[1]
    for label, runs in curves.items():
        for i, run in enumerate(runs):
            left.plot([0] + [p["spent"] for p in run], [initial] + [p["reward"] for p in run], marker=".",
                      color=f"C{list(curves).index(label)}", alpha=0.8, label=label if i == 0 else None)
    left.set(xlabel="compute spent (s)", ylabel="held-out reward", title=f"{task}: reward vs compute")
    left.legend(fontsize=7)
    right.bar(range(len(rows)), [r["final_reward"] for r in rows], yerr=[r["se"] or 0 for r in rows], capsize=4)
    right.axhline(initial, color="k", ls=":", label="before bootstrapping")
    right.set_xticks(range(len(rows)), [r["strategy"] for r in rows], rotation=20, fontsize=7)
    right.set(ylabel="final held-out reward (mean ± SE)", title="same compute, by strategy")
    right.legend(fontsize=7)
    if levels:
        width = 0.8 / len(levels)
        for j, level in enumerate(levels):
            axes[2].bar(np.arange(len(rows)) + j * width, [r["metrics"][level] for r in rows], width, capsize=3,
                        yerr=[r["metrics_se"][level] or 0 for r in rows], label=level.removeprefix("acc_"))
        axes[2].set_xticks(np.arange(len(rows)) + 0.4 - width / 2, [r["strategy"] for r in rows], rotation=20, fontsize=7)
        axes[2].set(ylabel="final held-out accuracy (mean ± SE)", title="accuracy by level")
        axes[2].legend(fontsize=7, title="level")
    save_figure(fig, path)


if __name__ == "__main__":
    try:
        main()
    except InputError as e:  # e.g. a model that solves nothing: no round can keep a sample
        print(f"task_strategies: {e}", file=sys.stderr)
        sys.exit(2)
