"""A run's trackers (planner/trackers.py) wired to its run directory and the engine's progress
hooks: shared by `plan execute` and plan tune."""
from __future__ import annotations

import dataclasses
from typing import Callable

from bootstrapper import distributed as dist
from bootstrapper.engine import Progress
from bootstrapper.rundir import RunDir
from planner.plan import Plan
from planner.rounds import RoundRecord
from planner.runconfig import RunConfig
from planner.trackers import RoundLogger, hyperparameters


def tracker_logger(log_with: tuple[str, ...], run_dir: RunDir, plan: Callable[[], Plan],
                   run_config: Callable[[], RunConfig]) -> RoundLogger:
    """The trackers of a run directory (RUN_DIR/trackers), with the plan and run.json's options
    (task, task config, seed, calibration...) as hyperparameters."""
    def config() -> dict:
        options = {k: v for k, v in run_config().to_json().items() if k not in ("format", "calibrated_plan")}
        return hyperparameters(plan(), **options)

    return RoundLogger(log_with, run_dir.path / "trackers", plan, config, run_name=run_dir.path.resolve().name)


def with_trackers(logger: RoundLogger | None, run_dir: RunDir, progress: Progress,
                  run: Callable[[Progress], list[RoundRecord]]) -> list[RoundRecord]:
    """run(progress) with each committed round also logged to the trackers on the main process, then
    any round a killed run committed but did not log; the tracker runs are finished at the end."""
    if logger is None:
        return run(progress)
    shown = progress.round_done

    def done(record: RoundRecord) -> None:
        shown(record)
        if dist.is_main():
            logger.log(run_dir.rounds())

    try:
        history = run(dataclasses.replace(progress, round_done=done))
        if dist.is_main():
            logger.log(history)
        return history
    finally:
        if dist.is_main():
            logger.close()
