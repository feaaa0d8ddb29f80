"""Cost calibration: measured seconds per generated and per trained sample become c_g and c_t."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from bootstrapper.tasks import Task


def measure(task: Task, state: Any, samples: int = 32) -> dict[str, float]:
    """Time generate and train on a throwaway copy of the state (the run's state is untouched).

    Returns seconds per generated sample, per trained sample, and the seconds spent measuring."""
    with tempfile.TemporaryDirectory() as folder:
        task.save(state, Path(folder))
        probe = task.load(Path(folder))
    started = time.perf_counter()
    batch = task.generate(probe, samples)
    generated = time.perf_counter()
    task.train(probe, batch)
    trained = time.perf_counter()
    return {"cg": (generated - started) / samples, "ct": (trained - generated) / samples,
            "seconds": trained - started, "samples": samples}
