"""`plan tune` against the oracle plan on the Gaussian task, from rewards alone or with theta.

    python3 benchmarks/gaussian_tune.py --seeds 400          # ~10 min here
    python3 benchmarks/gaussian_tune.py --quick               # 8 seeds: checks the outputs

The oracle plan knows the true model (theta0 3, sigma 1, kappa 1; c_g 1, c_t 3, c_r 20, budget
1e4). The tuned runs know nothing of it: they start from the vague prior of the starting reward
(`plan tune` on a task without a prior) and refit after every round, either on the rewards alone
(as on a real task: the surrogate) or with the task's theta (the exact Gaussian fit). Every
strategy runs the same seeds; the ratio of mean final gaps is reported with its standard error
(delta method over the paired per-seed gaps). Writes results/gaussian_tune.json.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS, save, table  # noqa: E402
from bootstrapper.engine import execute  # noqa: E402
from bootstrapper.runconfig import RunConfig  # noqa: E402
from bootstrapper.rundir import RunDir  # noqa: E402
from bootstrapper.tasks.gaussian import GaussianConfig, GaussianTask  # noqa: E402
from bootstrapper.tune import tune  # noqa: E402
from planner.costs import CostModel  # noqa: E402
from planner.models import GaussianModel  # noqa: E402
from planner.plan import recommend  # noqa: E402
from planner.problem import Problem  # noqa: E402

TRUTH = GaussianModel(3.0, 1.0, 1.0)
COSTS = CostModel(1.0, 3.0, 20.0)


class RewardsOnly(GaussianTask):
    """The Gaussian task reporting its held-out reward but not theta, as a real task would."""

    def evaluate(self, state) -> dict[str, float]:
        return {"reward": super().evaluate(state)["reward"]}


def ratio(gaps: np.ndarray, oracle: np.ndarray) -> tuple[float, float]:
    """mean(gaps) / mean(oracle) and its standard error (delta method, paired by seed)."""
    m1, m0 = gaps.mean(), oracle.mean()
    cov = np.cov(np.vstack([gaps, oracle])) / len(gaps)
    grad = np.array([1 / m0, -m1 / m0**2])
    return float(m1 / m0), float(np.sqrt(grad @ cov @ grad))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=400)
    parser.add_argument("--budget", type=float, default=1e4)
    parser.add_argument("--quick", action="store_true", help="8 seeds")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    seeds = 8 if args.quick else args.seeds
    config = GaussianConfig(TRUTH.theta0, TRUTH.sigma, TRUTH.kappa)
    tasks = {"tuned, rewards alone": RewardsOnly(config), "tuned, with theta": GaussianTask(config)}
    problem = Problem(TRUTH, COSTS, args.budget)
    oracle = recommend(problem, task="gaussian")
    gaps: dict[str, list[float]] = {"oracle": [], **{k: [] for k in tasks}}
    schedules: dict[str, list] = {k: [] for k in tasks}
    with tempfile.TemporaryDirectory(dir="/dev/shm" if Path("/dev/shm").is_dir() else None) as scratch:
        work = Path(scratch)
        for seed in range(seeds):
            folder = work / f"oracle-{seed}"
            RunDir(folder).prepare(oracle.to_json(), RunConfig.for_task(tasks["tuned, with theta"], seed))
            gaps["oracle"].append(TRUTH.r_star - execute(oracle, tasks["tuned, with theta"], folder, seed)[-1]["reward"])
            for label, task in tasks.items():
                tuned = tune(task, problem, work / f"{label.split()[-1]}-{seed}", seed)
                gaps[label].append(TRUTH.r_star - tuned.history[-1]["reward"])
                schedules[label].append(tuned.schedule)
    base = np.array(gaps["oracle"])
    rows = []
    for label, values in gaps.items():
        v = np.array(values)
        r, se = ratio(v, base)
        rows.append({"strategy": label, "mean_gap": float(v.mean()), "se": float(v.std(ddof=1) / np.sqrt(seeds)),
                     "ratio_to_oracle": r, "ratio_se": se})
    print(table(rows, [("strategy", ""), ("mean_gap", ".4e"), ("se", ".1e"), ("ratio_to_oracle", ".3f"),
                       ("ratio_se", ".3f")]))
    result = {"truth": TRUTH.to_json(), "costs": COSTS.to_json(), "budget": args.budget, "seeds": seeds,
              "oracle_schedule": list(oracle.schedule.n), "rows": rows, "gaps": gaps,
              "example_schedules": {k: v[:5] for k, v in schedules.items()}}
    print(f"wrote {save('gaussian_tune' + ('_quick' if args.quick else ''), result, args.out)}")


if __name__ == "__main__":
    main()
