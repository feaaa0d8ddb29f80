"""Timing helpers of the task speed benchmarks (llm_speed.py, speed_ddpm.py): variants taking turns,
medians of within-repetition ratios, the task code of an older commit, checkpoint bytes and seconds."""
from __future__ import annotations

import math
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]


def interleaved(variants: dict[str, Callable[[], Any]], reps: int) -> tuple[dict[str, dict[str, list[float]]], dict]:
    """Wall and CPU seconds of each variant per repetition (variants take turns in rotated order, so
    other jobs on the machine slow each alike), and each one's last result."""
    seconds: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": []} for name in variants}
    results: dict[str, Any] = {}
    names = list(variants)
    for rep in range(reps):
        for name in names[rep % len(names):] + names[:rep % len(names)]:
            wall, cpu = time.perf_counter(), time.process_time()
            results[name] = variants[name]()
            seconds[name]["wall"].append(time.perf_counter() - wall)
            seconds[name]["cpu"].append(time.process_time() - cpu)
            print(f"  rep {rep} {name:<7} {seconds[name]['cpu'][-1]:8.2f} s CPU "
                  f"{seconds[name]['wall'][-1]:8.2f} s wall", flush=True)
    return seconds, results


def summary(seconds: dict[str, dict[str, list[float]]], per: float, unit: str) -> dict:
    """Per variant: median CPU and wall seconds per unit, and the within-repetition ratios of its CPU
    and wall seconds to the first variant's (each repetition's, their median and standard error)."""
    first = next(iter(seconds))
    out = {}
    for name, s in seconds.items():
        out[name] = {f"cpu_s_per_{unit}": statistics.median(s["cpu"]) / per,
                     f"wall_s_per_{unit}": statistics.median(s["wall"]) / per, **s}
        for clock in ("cpu", "wall"):
            ratios = [b / a for a, b in zip(seconds[first][clock], s[clock])]
            out[name][f"{clock}_ratios_to_{first}"] = ratios
            out[name][f"{clock}_ratio_to_{first}"] = statistics.median(ratios)
            se = statistics.stdev(ratios) / math.sqrt(len(ratios)) if len(ratios) > 1 else None
            out[name][f"{clock}_ratio_se"] = se
    return out


def baseline_module(revision: str, path: str, name: str) -> types.ModuleType:
    """The module at path as it was at the git revision, importable as name (its imports are today's)."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{revision}:{path}"], capture_output=True, text=True,
                            check=True).stdout
    module = types.ModuleType(name)
    module.__file__ = f"{revision}:{path}"
    sys.modules[name] = module
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


def folder_bytes(folder: Path) -> int:
    """Bytes of all files under folder."""
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def checkpoints(tasks: dict[str, tuple[Any, Any]], reps: int) -> dict:
    """Bytes, save and load seconds of each (task, state), on the real disk (a fresh folder each time)."""
    with tempfile.TemporaryDirectory() as scratch:
        def saver(name: str) -> Callable[[], Path]:
            def run() -> Path:
                folder = Path(tempfile.mkdtemp(dir=scratch))
                tasks[name][0].save(tasks[name][1], folder)
                return folder
            return run
        saved, folders = interleaved({name: saver(name) for name in tasks}, reps)
        loaded, _ = interleaved({name: (lambda n=name: tasks[n][0].load(folders[n])) for name in tasks}, reps)
        return {name: {"bytes": folder_bytes(folders[name]), "save_wall_s": statistics.median(saved[name]["wall"]),
                       "load_wall_s": statistics.median(loaded[name]["wall"])} for name in tasks}
