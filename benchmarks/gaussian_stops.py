"""Does `plan tune` stop early only when stopping is right? The Gaussian task from a vague start
(rewards alone, the way a new user runs it), many seeds, at a budget of 2e4 (c_g 1, c_t 3,
c_round 20), with the generator's sigma 1.5 (the starting model wrong) and 1 (the default task).

    python3 benchmarks/gaussian_stops.py [--seeds 200] [--quick]

For each run: the share of the budget spent and the final gap r* - r over the oracle plan's mean
gap (the plan made with the true model, run on the same seeds). A run that leaves more than 10 %
of its budget unspent with a final gap above twice the oracle's mean is a wrong stop. Writes
results/gaussian_stops.json.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS, save, scratch, table  # noqa: E402
from bootstrapper.engine import execute  # noqa: E402
from bootstrapper.rundir import RunDir  # noqa: E402
from bootstrapper.tasks.gaussian import GaussianConfig, GaussianTask  # noqa: E402
from bootstrapper.tune import tune  # noqa: E402
from planner.costs import CostModel  # noqa: E402
from planner.models import GaussianModel  # noqa: E402
from planner.plan import recommend  # noqa: E402
from planner.problem import Problem  # noqa: E402
from planner.runconfig import RunConfig  # noqa: E402

BUDGET, COSTS = 2e4, CostModel(1.0, 3.0, 20.0)
WRONG_STOP = (0.10, 2.0)  # unspent share above this, with a final gap above this multiple of the oracle's mean


class RewardsOnly(GaussianTask):
    """The Gaussian task reporting its held-out reward but not theta, as a real task would."""

    def evaluate(self, state) -> dict[str, float]:
        return {"reward": super().evaluate(state)["reward"]}


def study(sigma: float, seeds: int, work: Path) -> dict:
    """The oracle plan's gaps and every tuned run's share spent and gap, on seeds 0..seeds-1."""
    truth = GaussianModel(3.0, sigma, 1.0)
    task = RewardsOnly(GaussianConfig(sigma=sigma))
    oracle = recommend(Problem(truth, COSTS, BUDGET), task="gaussian")
    oracle_gaps, spent, gaps = [], [], []
    for seed in range(seeds):
        folder = work / f"oracle-{sigma}-{seed}"
        RunDir(folder).prepare(oracle.to_json(), RunConfig.for_task(task, seed))
        oracle_gaps.append(truth.r_star - execute(oracle, task, folder, seed)[-1].reward)
        history = tune(task, Problem(truth, COSTS, BUDGET), work / f"tuned-{sigma}-{seed}", seed).history
        spent.append(history[-1].spent / BUDGET)
        gaps.append(truth.r_star - history[-1].reward)
    mean = float(np.mean(oracle_gaps))
    ratio = np.array(gaps) / mean
    unspent = 1 - np.array(spent)
    wrong = (unspent > WRONG_STOP[0]) & (ratio > WRONG_STOP[1])
    return {"sigma": sigma, "seeds": seeds, "oracle_mean_gap": mean, "spent": spent, "gap_over_oracle": ratio.tolist(),
            "early": int(np.sum(unspent > WRONG_STOP[0])), "wrong_stops": int(wrong.sum()),
            "median_spent": float(np.median(spent)), "median_ratio": float(np.median(ratio)),
            "worst_ratio_of_early": float(ratio[unspent > WRONG_STOP[0]].max()) if np.any(unspent > WRONG_STOP[0])
            else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="4 seeds (seconds): checks the outputs")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    seeds = 4 if args.quick else args.seeds
    with scratch() as work:
        rows = [study(sigma, seeds, work) for sigma in (1.5, 1.0)]
    print(table(rows, [("sigma", "g"), ("seeds", "d"), ("early", "d"), ("wrong_stops", "d"),
                       ("median_spent", ".3f"), ("median_ratio", ".3f")]))
    print(f"wrote {save('gaussian_stops' + ('_quick' if args.quick else ''), {'rows': rows}, args.out)}")


if __name__ == "__main__":
    main()
