"""Engine overhead: the share of a run's wall time spent outside the task (selection, ledger,
log lines, fsync'ed checkpoints), on the Gaussian task with a deliberately slow generate.

    python3 benchmarks/engine_overhead.py [--quick] [--delay 2e-4] [--repeats 5]

Target: < 3 % of round time. Runs on the real disk, fsync included.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import save, table  # noqa: E402
from bootstrapper.engine import execute  # noqa: E402
from bootstrapper.rundir import RunDir  # noqa: E402
from bootstrapper.tasks.gaussian import GaussianConfig, GaussianTask  # noqa: E402
from planner.costs import CostModel  # noqa: E402
from planner.models import GaussianModel  # noqa: E402
from planner.plan import recommend  # noqa: E402
from planner.problem import Problem  # noqa: E402
from planner.runconfig import RunConfig  # noqa: E402


class TimedTask(GaussianTask):
    """The Gaussian task, counting the seconds spent inside its own methods."""

    def __init__(self, config):
        super().__init__(config)
        self.seconds = 0.0

    def _timed(self, method, *args):
        started = time.perf_counter()
        try:
            return method(*args)
        finally:
            self.seconds += time.perf_counter() - started

    def generate(self, state, n):
        return self._timed(super().generate, state, n)

    def reward(self, state, batch):
        return self._timed(super().reward, state, batch)

    def train(self, state, kept):
        return self._timed(super().train, state, kept)

    def evaluate(self, state):
        return self._timed(super().evaluate, state)


def measure(budget: float, delay: float) -> dict:
    """One run: wall time, time inside the task, rounds."""
    plan = recommend(Problem(GaussianModel(), CostModel(1.0, 3.0, 20.0), budget), task="gaussian")
    task = TimedTask(GaussianConfig(delay=delay))
    with tempfile.TemporaryDirectory() as folder:
        RunDir(folder).prepare(plan.to_json(), RunConfig.for_task(task, seed=0))
        started = time.perf_counter()
        history = execute(plan, task, folder, seed=0)
        wall = time.perf_counter() - started
    return {"wall": wall, "task": task.seconds, "rounds": len(history), "overhead": (wall - task.seconds) / wall,
            "ms_per_round": 1000 * (wall - task.seconds) / len(history)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small budget, 2 repeats (seconds)")
    parser.add_argument("--delay", type=float, default=2e-3, help="seconds per generated sample (default 2e-3)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, help="results folder (default benchmarks/results)")
    args = parser.parse_args()
    budget, repeats = (2e3, 2) if args.quick else (5e4, args.repeats)
    runs = [measure(budget, args.delay) for _ in range(repeats)]
    median = statistics.median(r["overhead"] for r in runs)
    print(table(runs, [("rounds", "d"), ("wall", ".3f"), ("task", ".3f"), ("overhead", ".2%"),
                       ("ms_per_round", ".1f")]))
    per_round = statistics.median(r["ms_per_round"] for r in runs)
    print(f"median engine overhead {median:.2%} of run time (target < 3 %): {per_round:.0f} ms per round, most of it "
          f"fsync; budget {budget:g}, generate {args.delay:g} s/sample, {runs[0]['task'] / runs[0]['rounds']:.2f} s "
          "of task work per round")
    path = save("engine_overhead_quick" if args.quick else "engine_overhead",
                {"budget": budget, "delay": args.delay, "runs": runs, "median_overhead": median,
         "median_ms_per_round": per_round}, args.out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
