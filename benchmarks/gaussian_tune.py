"""`plan tune` against the oracle plan on the Gaussian task, from rewards alone or with theta.

    python3 benchmarks/gaussian_tune.py --seeds 400          # ~15 min here
    python3 benchmarks/gaussian_tune.py --quick               # 8 seeds: checks the outputs

The oracle plan knows the true model (theta0 3, sigma 1, kappa 1; c_g 1, c_t 3, c_r 20, budget
1e4). The tuned runs know nothing of it: they start from the vague prior of the starting reward
(`plan tune` on a task without a prior) and refit after every round, either on the rewards alone
(as on a real task: the surrogate) or with the task's theta (the exact Gaussian fit). A third
tuned row starts as `plan tune` does on a task that ships a prior (ddpm, llm): from a surrogate
fitted to the rewards of earlier runs of the task, pooled with the run's own rounds in every refit.
Those earlier runs are the hand-picked shapes (constant, linear, 1.5^t, 2^t, 3^t) on seeds no
tuned run uses, --prior-rounds rounds each (5 or 8 do not pin down the noise term b: their
shapes have no round of a few samples, where the noise shows). Every strategy runs the same seeds;
the ratio of mean final gaps is reported with its standard error (delta method over the paired
per-seed gaps). Writes results/gaussian_tune.json.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS, save, scratch, table  # noqa: E402
from benchmarks.task_strategies import hand_picked  # noqa: E402
from bootstrapper.engine import execute  # noqa: E402
from bootstrapper.rundir import RunDir  # noqa: E402
from bootstrapper.tasks.gaussian import GaussianConfig, GaussianTask  # noqa: E402
from bootstrapper.tune import tune, vague_model  # noqa: E402
from planner.costs import CostModel  # noqa: E402
from planner.fit import Observations  # noqa: E402
from planner.models import GaussianModel  # noqa: E402
from planner.plan import recommend  # noqa: E402
from planner.priors import TaskPrior, fit_prior  # noqa: E402
from planner.problem import Problem  # noqa: E402
from planner.runconfig import RunConfig  # noqa: E402

TRUTH = GaussianModel(3.0, 1.0, 1.0)
COSTS = CostModel(1.0, 3.0, 20.0)
PRIOR_SEED0 = 1_000_000  # the earlier runs' seeds start here, past any tuned run's
WITH_PRIOR = "tuned, rewards alone, earlier runs' prior"


class RewardsOnly(GaussianTask):
    """The Gaussian task reporting its held-out reward but not theta, as a real task would."""

    def evaluate(self, state) -> dict[str, float]:
        return {"reward": super().evaluate(state)["reward"]}


def ratio(gaps: np.ndarray, oracle: np.ndarray) -> tuple[float, float | None]:
    """mean(gaps) / mean(oracle) and its standard error by the delta method, paired by seed: the SE of
    the mean of (gap - ratio * oracle) / mean(oracle), a standard deviation and so never negative
    (None for one seed, where no SE exists)."""
    r = float(gaps.mean() / oracle.mean())
    if len(gaps) < 2:
        return r, None
    return r, float(((gaps - r * oracle) / oracle.mean()).std(ddof=1) / np.sqrt(len(gaps)))


def earlier_runs_prior(task: RewardsOnly, problem: Problem, seeds: int, rounds: int, work: Path) -> TaskPrior:
    """The surrogate fitted to the rewards of the hand-picked shapes run on `seeds` seeds from
    PRIOR_SEED0, each shape with `rounds` rounds sized by the vague model (a user's earlier runs)."""
    initial = task.evaluate(task.init_state(PRIOR_SEED0))
    vague = dataclasses.replace(problem, model=vague_model(initial["reward"]))
    plans = hand_picked(vague, vague, rounds, [1.5, 2.0, 3.0], task.name)
    runs = []
    for seed in range(PRIOR_SEED0, PRIOR_SEED0 + seeds):
        start = task.evaluate(task.init_state(seed))  # the reward before round 0, the same for every shape
        for label, plan in plans.items():
            folder = work / f"earlier-{label.split()[-1]}-{seed}"
            RunDir(folder).prepare(plan.to_json(), RunConfig.for_task(task, seed))
            runs.append(Observations.from_log(execute(plan, task, folder, seed), start))
    source = {"what": f"{len(runs)} earlier runs ({', '.join(plans)}; {rounds} rounds) on seeds {PRIOR_SEED0}-"
                      f"{PRIOR_SEED0 + seeds - 1}, rewards alone",
              "schedules": {k: list(p.schedule.n) for k, p in plans.items()}}
    return fit_prior(task.name, runs, source)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=400)
    parser.add_argument("--budget", type=float, default=1e4)
    parser.add_argument("--prior-seeds", type=int, default=3, help="seeds of the earlier runs the prior is fitted to")
    parser.add_argument("--prior-rounds", type=int, default=11, help="rounds of each earlier hand-picked run")
    parser.add_argument("--quick", action="store_true", help="8 seeds")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    seeds = 8 if args.quick else args.seeds
    if not 1 <= seeds <= PRIOR_SEED0 or args.prior_seeds < 1 or args.prior_rounds < 2:
        sys.exit("gaussian_tune: --seeds must be in 1..1e6, --prior-seeds >= 1 and --prior-rounds >= 2")
    config = GaussianConfig(TRUTH.theta0, TRUTH.sigma, TRUTH.kappa)
    tasks = {"tuned, rewards alone": RewardsOnly(config), "tuned, with theta": GaussianTask(config)}
    problem = Problem(TRUTH, COSTS, args.budget)
    oracle = recommend(problem, task="gaussian")
    gaps: dict[str, list[float]] = {"oracle": [], **{k: [] for k in tasks}, WITH_PRIOR: []}
    schedules: dict[str, list] = {k: [] for k in gaps if k != "oracle"}
    with scratch() as work:
        prior = earlier_runs_prior(tasks["tuned, rewards alone"], problem, args.prior_seeds, args.prior_rounds, work)
        start = recommend(dataclasses.replace(problem, model=prior.model), task="gaussian")
        print(f"prior: {prior.describe()}; its plan {list(start.schedule.n)}")
        for seed in range(seeds):
            folder = work / f"oracle-{seed}"
            RunDir(folder).prepare(oracle.to_json(), RunConfig.for_task(tasks["tuned, with theta"], seed))
            history = execute(oracle, tasks["tuned, with theta"], folder, seed)
            gaps["oracle"].append(TRUTH.r_star - history[-1].reward)
            runs = [(label, task, None, None) for label, task in tasks.items()]
            runs.append((WITH_PRIOR, tasks["tuned, rewards alone"], prior.model, prior.evidence()))
            for i, (label, task, model, evidence) in enumerate(runs):
                tuned = tune(task, problem, work / f"tuned{i}-{seed}", seed, model, evidence)
                gaps[label].append(TRUTH.r_star - tuned.history[-1].reward)
                schedules[label].append(tuned.schedule)
    base = np.array(gaps["oracle"])
    rows = []
    for label, values in gaps.items():
        v = np.array(values)
        r, se = ratio(v, base)
        rows.append({"strategy": label, "mean_gap": float(v.mean()),
                     "se": float(v.std(ddof=1) / np.sqrt(seeds)) if seeds > 1 else None,
                     "ratio_to_oracle": r, "ratio_se": se})
    print(table(rows, [("strategy", ""), ("mean_gap", ".4e"), ("se", ".1e"), ("ratio_to_oracle", ".3f"),
                       ("ratio_se", ".3f")]))
    result = {"truth": TRUTH.to_json(), "costs": COSTS.to_json(), "budget": args.budget, "seeds": seeds,
              "oracle_schedule": list(oracle.schedule.n), "prior": {"describe": prior.describe(), "fit": prior.fit,
                                                                    "schedules": prior.source["schedules"]},
              "rows": rows, "gaps": gaps, **({"se_note": "one seed: no standard errors"} if seeds < 2 else {}),
              "example_schedules": {k: v[:5] for k, v in schedules.items()}}
    print(f"wrote {save('gaussian_tune' + ('_quick' if args.quick else ''), result, args.out)}")


if __name__ == "__main__":
    main()
