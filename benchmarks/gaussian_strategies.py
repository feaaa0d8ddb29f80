"""Study 1 — the Gaussian task: constant / linear / exponential (closed form) / planner
(grid search) / plan tune from a wrong model with theta observed / free-form schedules at equal budgets,
predicted exactly and measured over many seeded runs of the real engine.

    python3 benchmarks/gaussian_strategies.py [--quick] [--seeds 200] [--budgets 1e4 1e5 1e6]
    python3 benchmarks/gaussian_strategies.py --replot benchmarks/results/gaussian_strategies.json

Writes results/gaussian_strategies.json and .png, and prints a table of the remaining gap
r* - r (mean over seeds, with its standard error).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS, figure, save, save_figure, scratch, table  # noqa: E402
from bootstrapper.engine import execute  # noqa: E402
from bootstrapper.rundir import RunDir  # noqa: E402
from bootstrapper.tasks.gaussian import GaussianConfig, GaussianTask  # noqa: E402
from bootstrapper.tune import tune  # noqa: E402
from planner.costs import CostModel  # noqa: E402
from planner.jsonio import read_json  # noqa: E402
from planner.models import GaussianModel  # noqa: E402
from planner.plan import compare  # noqa: E402
from planner.problem import Problem  # noqa: E402
from planner.runconfig import RunConfig  # noqa: E402
from planner.solvers import make_solver  # noqa: E402

TRUTH = GaussianModel(3.0, 1.0, 1.0)
TUNED = "plan tune (θ observed, wrong model)"
COSTS = CostModel(1.0, 3.0, 20.0)


def plans(budget: float) -> dict:
    """Every strategy's plan for this budget under the true model."""
    problem = Problem(TRUTH, COSTS, budget)
    by_strategy = {p.schedule.strategy: p for p in compare(problem, task="gaussian")}
    closed = make_solver("closed-form").solve(problem)
    out = {"constant": by_strategy["constant"], "linear": by_strategy["linear"],
           "exponential (closed form)": dataclasses.replace(by_strategy["exponential"], schedule=closed),
           "planner (grid search)": by_strategy["exponential"], "free-form": by_strategy["free"]}
    return out


def simulate(plan, seeds: int, folder: Path, name: str) -> np.ndarray:
    """Final gap of `seeds` runs of the plan on the real engine, in folder/NAME-SEED."""
    task, gaps = GaussianTask(), []
    for seed in range(seeds):
        run = folder / f"{name}-{seed}"  # not id(plan): a freed plan's id is reused by the next one
        with RunDir(run) as run_dir:  # locked: a second study on the same folder is refused
            run_dir.prepare(plan.to_json(), RunConfig.for_task(task, seed))
            gaps.append(TRUTH.r_star - execute(plan, task, run, seed)[-1].reward)
    return np.array(gaps)


def tuned_gaps(budget: float, seeds: int, folder: Path) -> tuple[np.ndarray, list[int]]:
    """plan tune from a wrong model (sigma 2, kappa 0.7: the planner is told nothing right), refitting
    from theta after every round; the gaps and the number of rounds each run made."""
    task, wrong, gaps, rounds = GaussianTask(GaussianConfig()), GaussianModel(3.0, 2.0, 0.7), [], []
    for seed in range(seeds):
        tuned = tune(task, Problem(wrong, COSTS, budget), folder / f"t{budget}-{seed}", seed, wrong)
        gaps.append(TRUTH.r_star - tuned.history[-1].reward)
        rounds.append(len(tuned.history))
    return np.array(gaps), rounds


def plot(rows: list[dict], path: Path) -> None:
    """Left: the measured final gap by budget; right: each strategy's gap over the best one's at the
    same budget, both on log axes with error bars (2 SE; the ratio's SE treats the two as independent,
    which overstates it, since the strategies ran on the same seeds). Strategies are drawn side by side
    around each budget, so lines that coincide stay distinguishable."""
    fig, (ax, rel) = figure(1, 2, figsize=(12, 4.8))
    best = {b: min(r["measured_gap"] for r in rows if r["budget"] == b) for b in {r["budget"] for r in rows}}
    best_se = {b: next(r["se"] for r in rows if r["budget"] == b and r["measured_gap"] == g) for b, g in best.items()}
    for k, name in enumerate(dict.fromkeys(r["strategy"] for r in rows)):
        mine = [r for r in rows if r["strategy"] == name]
        budgets, gaps, se = ([r[key] for r in mine] for key in ("budget", "measured_gap", "se"))
        x = [b * 1.06 ** (k - 2.5) for b in budgets]  # side by side, so strategies with equal gaps stay visible
        style = {"marker": "osD^vP"[k % 6], "capsize": 3, "label": name}
        ax.errorbar(x, gaps, yerr=[2 * s for s in se], **style)
        ratio = [g / best[b] for g, b in zip(gaps, budgets)]
        ratio_se = [q * np.hypot(s / g, best_se[b] / best[b]) for q, s, g, b in zip(ratio, se, gaps, budgets)]
        rel.errorbar(x, ratio, yerr=[2 * s for s in ratio_se], **style)
    ax.set(xscale="log", yscale="log", xlabel="budget (cost units)", ylabel="final gap r* - r (mean ± 2 SE)",
           title="Gaussian task: remaining gap by strategy")
    rel.set(xscale="log", yscale="log", xlabel="budget (cost units)",
            ylabel="gap / the best strategy's gap (± 2 SE)", title="Relative to the best at each budget")
    rel.axhline(1.0, color="grey", lw=0.8)
    ax.legend(fontsize=8)
    save_figure(fig, path)


def replot(path: Path) -> None:
    """Draw the figure again from a study's results file (no run)."""
    plot(read_json(path, "the study's results")["rows"], path.with_suffix(".png"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 budgets, 6 seeds (seconds)")
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--budgets", type=float, nargs="+", default=[1e4, 1e5, 1e6])
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    parser.add_argument("--replot", type=Path, metavar="RESULTS_JSON", help="only redraw the figure of a results file")
    args = parser.parse_args()
    if args.replot:
        return replot(args.replot)
    budgets, seeds = ([1e4, 1e5], 6) if args.quick else (args.budgets, args.seeds)
    rows = []
    with scratch() as folder:
        for budget in budgets:
            for name, plan in plans(budget).items():
                gaps = simulate(plan, seeds, folder, f"{budget:g}-{name.split()[0]}")
                rows.append({"budget": budget, "strategy": name, "rounds": plan.schedule.rounds,
                             "param": plan.schedule.param, "predicted_gap": plan.gap,
                             "measured_gap": float(gaps.mean()), "se": float(gaps.std(ddof=1) / np.sqrt(seeds))})
            gaps, rounds = tuned_gaps(budget, seeds, folder)
            rows.append({"budget": budget, "strategy": TUNED,
                         "rounds": float(np.median(rounds)), "param": None, "predicted_gap": None,
                         "measured_gap": float(gaps.mean()), "se": float(gaps.std(ddof=1) / np.sqrt(seeds))})
    print(table(rows, [("budget", "g"), ("strategy", ""), ("param", ".4g"), ("predicted_gap", ".3e"),
                       ("measured_gap", ".3e"), ("se", ".1e")]))
    name = "gaussian_strategies_quick" if args.quick else "gaussian_strategies"
    args.out.mkdir(parents=True, exist_ok=True)
    plot(rows, args.out / f"{name}.png")
    result = {"seeds": seeds, "costs": COSTS.to_json(), "model": TRUTH.to_json(), "rows": rows}
    print(f"wrote {save(name, result, args.out)}")


if __name__ == "__main__":
    main()
