"""What drives the DDPM task's reward: hand-picked schedules on new seeds, the train batch, and a
no-selection control, all at the committed 720 s study's measured costs (results/ddpm_study.json).

    python3 benchmarks/ddpm_dynamics.py                  # every run, resumable (~13 min each)
    python3 benchmarks/ddpm_dynamics.py --only 2^t,1.5^t # some experiments first
    python3 benchmarks/ddpm_dynamics.py --report         # results of the runs finished so far

Experiments (the schedules are the study's, so rounds keep the same samples as there):
* 2^t and 1.5^t on seeds 3-5 (2^t also 6-7): the hand-picked rows the tuned plan is compared with on new seeds.
* tuned on seeds 3-5: `plan tune` from the shipped prior (the step clock fitted to the 360 s and 720 s
  studies), refitted with the run's own rounds after each one. Run at commit 95bc0e9, where every
  step-clock refit was adopted and plans stayed exponential.
* tuned 2: the same, with any-shape plans (the polish), the replan rules of reward-only fits applied to
  the step clock, and the kind chosen round by round (planner/prequential.py).
* 2^t at train batch 8 and 16 (seed 0; batch 32 is the study's seed 0): do optimizer steps or
  samples drive the reward? A round of n kept samples runs ceil(n / train_batch) Adam steps.
* 2^t keeping every generated sample (fixed ratio 1, seeds 3-5): what the reward filter buys.
The ledger prices rounds by the study's cost model, so every run of one schedule costs the same
whatever its train batch. Writes results/ddpm_dynamics.json.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS, save, table  # noqa: E402
from benchmarks.task_strategies import finished_rounds, run_hand  # noqa: E402
from bootstrapper.tasks import make_task  # noqa: E402
from bootstrapper.tune import tune  # noqa: E402
from planner.costs import CostModel  # noqa: E402
from planner.jsonio import read_json  # noqa: E402
from planner.models import SurrogateModel  # noqa: E402
from planner.plan import Plan  # noqa: E402
from planner.priors import load_prior  # noqa: E402
from planner.problem import Problem  # noqa: E402
from planner.registry import prior_path  # noqa: E402
from planner.rounds import RoundRecord  # noqa: E402
from planner.schedules import Schedule  # noqa: E402
from planner.solvers import free_form  # noqa: E402
from planner.validate import InputError  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Experiment:
    """One schedule of the study run under some task options and selection, on some seeds."""

    name: str
    strategy: str  # the study's row whose schedule is run
    seeds: tuple[int, ...]
    options: tuple[str, ...] = ()  # task options beyond the study's, KEY=VALUE
    unfiltered: bool = False  # keep every generated sample (fixed ratio 1) instead of proportional selection
    tuned: bool = False  # plan tune from the task's shipped prior instead of the study's schedule


EXPERIMENTS = {e.name: e for e in (
    Experiment("2^t", "exponential 2^t", (3, 4, 5, 6, 7)),
    Experiment("1.5^t", "exponential 1.5^t", (3, 4, 5)),
    Experiment("tuned", "", (3, 4, 5), tuned=True),
    Experiment("tuned 2", "", (3, 4, 5, 6, 7), tuned=True),
    Experiment("2^t unfiltered", "exponential 2^t", (3, 4, 5), unfiltered=True),
    Experiment("2^t batch 8", "exponential 2^t", (0,), ("train_batch=8",)),
    Experiment("2^t batch 16", "exponential 2^t", (0,), ("train_batch=16",)),
)}
# The order runs are made in: a study cut short has the comparisons the results need first.
RUN_ORDER = (("2^t", 3), ("1.5^t", 3), ("2^t unfiltered", 3), ("2^t batch 8", 0), ("2^t batch 16", 0),
             ("tuned", 3), ("tuned", 4), ("2^t", 4), ("1.5^t", 4), ("tuned", 5), ("2^t", 5), ("1.5^t", 5),
             ("2^t unfiltered", 4), ("2^t unfiltered", 5), ("tuned 2", 3), ("tuned 2", 4), ("tuned 2", 5),
             ("tuned 2", 6), ("2^t", 6), ("tuned 2", 7), ("2^t", 7))
# The model the committed study sized its schedules with (the surrogate prior it names): the engine sizes
# each round's generation chunks by its acceptance, so the hand-picked runs here use it as the study did.
STUDY_MODEL = SurrogateModel(0.8348843333398859, 0.6042178927156, 0.3569019623577513, 15.964622376159143, 1.0)


def study_plan(study: dict, exp: Experiment, task) -> Plan:
    """The study's schedule for exp's row, under the study's costs and budget (fixed ratio 1 if unfiltered)."""
    costs = CostModel(**study["costs"])
    if exp.unfiltered:
        costs = dataclasses.replace(costs, selection="fixed", ratio=1.0)
    problem = Problem(STUDY_MODEL, costs, float(study["budget"]), 8, 12)
    n = study["plans"][exp.strategy]
    base = float(exp.strategy.split()[-1].rstrip("^t")) if exp.strategy.startswith("exponential") else None
    schedule = Schedule.from_array("exponential" if base else exp.strategy, np.array(n), float(n[0]), base)
    return Plan(problem, schedule, "hand-picked", free_form(problem), task=task.name)


def tuned_run(study: dict, task, folder: Path, seed: int) -> list:
    """plan tune from the task's shipped prior (refitted with the run's own rounds after each one) at the
    study's costs and budget, in whole batches of 8 and at most 12 rounds as the study's tuned runs."""
    prior = load_prior(prior_path("ddpm"), "ddpm")
    problem = Problem(prior.model, CostModel(**study["costs"]), float(study["budget"]), 8, 12)
    return tune(task, problem, folder, seed, prior.model, prior.evidence()).history


def steps(history: list[RoundRecord], train_batch: int) -> list[int]:
    """Cumulative optimizer steps after each round: a round of n kept samples is ceil(n / train_batch)."""
    return np.cumsum([math.ceil(r.kept / train_batch) for r in history]).tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="run only these experiments (comma-separated names)")
    parser.add_argument("--report", action="store_true", help="run nothing: summarize the finished runs")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    chosen = list(EXPERIMENTS) if args.only is None else args.only.split(",")
    unknown = sorted(set(chosen) - set(EXPERIMENTS))
    if unknown:
        raise InputError(f"unknown experiments {unknown}; known: {', '.join(EXPERIMENTS)}")
    study = read_json(RESULTS / "ddpm_study.json", "the committed 720 s DDPM study")
    base_options = [f"{k}={v}" for k, v in study["task_config"].items() if v is not None and k != "device"]
    folder = args.out / "ddpm_dynamics_runs"
    rows, curves = [], {}
    for name, seed in RUN_ORDER:  # runs of experiments not chosen are read back if finished: the results hold all
        exp = EXPERIMENTS[name]
        task = make_task("ddpm", base_options + list(exp.options))
        run_folder = folder / f"{exp.name.replace(' ', '_')}-{seed}"
        read_back = args.report or name not in chosen
        if read_back:
            history = finished_rounds(run_folder, float(study["budget"]), CostModel(**study["costs"]))
        elif exp.tuned:
            history = tuned_run(study, task, run_folder, seed)
        else:
            history = run_hand(study_plan(study, exp, task), task, run_folder, seed)
        if not read_back:
            print(f"{exp.name} seed {seed}: kept {[r.kept for r in history]}, final {history[-1].reward:.4f}",
                  flush=True)
        if history:
            curves.setdefault(exp.name, {})[seed] = [
                {"kept": r.kept, "generated": r.generated, "spent": r.spent, "steps": k,
                 "reward": r.reward} for r, k in zip(history, steps(history, task.config.train_batch))]
    for name, runs in curves.items():
        finals = np.array([run[-1]["reward"] for run in runs.values()])
        se = float(finals.std(ddof=1) / np.sqrt(len(finals))) if len(finals) > 1 else None
        rows.append({"experiment": name, "seeds": sorted(runs), "final_reward": float(finals.mean()), "se": se,
                     "steps": float(np.mean([run[-1]["steps"] for run in runs.values()])),
                     "spent": float(np.mean([run[-1]["spent"] for run in runs.values()]))})
    if not rows:
        raise InputError(f"no run in {folder} has finished yet")
    print(table(rows, [("experiment", ""), ("final_reward", ".4f"), ("se", ".4f"), ("steps", ".1f"),
                       ("spent", ".0f")]))
    result = {"costs": study["costs"], "budget": study["budget"], "rows": rows, "curves": curves}
    print(f"wrote {save('ddpm_dynamics', result, args.out)}")


if __name__ == "__main__":
    try:
        main()
    except InputError as e:
        print(f"ddpm_dynamics: {e}", file=sys.stderr)
        sys.exit(2)
