"""Micro-benchmark of the planner: CLI cold start and Gaussian schedules evaluated per second.

Targets: `plan --help` starts in < 0.3 s and in at most 3x the CPU time of `python -c pass`
(it reads no package metadata and imports no numpy), and the exact Gaussian model with its
costs scores > 1e5 schedules per second. Cold starts are medians over several fresh
interpreters (subprocesses), in wall time and in CPU time (user + system, which a busy shared
machine disturbs less); the interpreter's own start-up (`python -c pass`) is measured beside them.
With --wheel the commands are those of a fresh venv holding a wheel built from this checkout (no
dependencies: `plan --help` needs none), as a user installs it; else this interpreter's `plan`.

    python benchmarks/planner_speed.py --wheel    # full run, writes benchmarks/results/planner_speed.json
    python benchmarks/planner_speed.py --quick    # a few seconds, fewer repeats and schedules
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "benchmarks" / "results" / "planner_speed.json"
TARGETS = {"plan --help cold start (s)": ("<", 0.3), "Gaussian schedules per second": (">", 1e5)}
RATIO = "plan --help CPU / python -c pass CPU"  # the target of a wheel install (--wheel): at most 3
HELP_COMMANDS = (["--help"], ["fit", "--help"], ["execute", "--help"])  # the ratio is the largest of these


def plan_command() -> list[str]:
    """The installed `plan` console script next to this interpreter, else `python -m planner.cli`."""
    script = Path(sys.executable).with_name("plan")
    return [str(script)] if script.exists() else [sys.executable, "-m", "planner.cli"]


def wheel_install(folder: Path) -> Path:
    """A fresh venv in folder holding spendwise from a wheel built from this checkout, without its
    dependencies (`plan --help` needs none); returns the venv's bin folder."""
    quiet = {"check": True, "capture_output": True}
    source = folder / "source"  # built from a copy: setuptools would leave a build/ folder in the checkout
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in ("planner", "bootstrapper"):
        shutil.copytree(REPO / name, source / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w",
                    str(folder / "dist"), str(source)], **quiet)
    subprocess.run([sys.executable, "-m", "venv", str(folder / "venv")], **quiet)
    bin_folder = folder / "venv" / "bin"
    wheel = next((folder / "dist").glob("spendwise-*.whl"))
    subprocess.run([str(bin_folder / "python"), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)], **quiet)
    return bin_folder


def cold_start(argv: list[str], runs: int, installed: bool = False) -> dict:
    """Wall and CPU (user + system) time of `argv` in a fresh process: medians, minima and every run
    (one warm-up run first). installed: argv is a wheel install's, run away from this checkout."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if not installed:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    times, cpu = [], []
    for i in range(runs + 1):
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, env=env, cwd=tempfile.gettempdir() if installed else REPO)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.decode()[-300:]}")
        if i:  # the first run only warms the file cache
            times.append(elapsed)
            cpu.append(after.ru_utime - used.ru_utime + after.ru_stime - used.ru_stime)
    return {"median_s": statistics.median(times), "min_s": min(times), "cpu_median_s": statistics.median(cpu),
            "cpu_min_s": min(cpu), "runs": runs, "times_s": times, "cpu_s": cpu}


def throughput(schedules: int, rounds: int, repeats: int) -> dict:
    """Gaussian schedules scored per second: final reward (model.trajectory) plus expected cost
    under proportional selection (the costs call evaluates E[1/acceptance] per round)."""
    import numpy as np

    from planner.costs import CostModel
    from planner.models import GaussianModel

    model, costs = GaussianModel(3.0, 1.0, 1.0), CostModel(1.0, 3.0)
    rng = np.random.default_rng(0)
    n = np.round(rng.uniform(1, 50, (schedules, 1)) * rng.uniform(1.0, 2.5, (schedules, 1)) ** np.arange(rounds))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        reward = model.trajectory(n)[..., -1]
        cost = costs.total(model, n)
        times.append(time.perf_counter() - start)
    assert reward.shape == cost.shape == (schedules,) and np.all(np.isfinite(reward))
    best = min(times)
    return {"schedules": schedules, "rounds": rounds, "repeats": repeats, "best_s": best,
            "median_s": statistics.median(times), "schedules_per_s": schedules / best,
            "median_schedules_per_s": schedules / statistics.median(times)}


def meets(value: float, target: tuple[str, float]) -> bool:
    op, bound = target
    return {"<": value < bound, "<=": value <= bound, ">": value > bound}[op]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 runs per cold start and 20k schedules (a few seconds)")
    parser.add_argument("--runs", type=int, help="subprocess runs per cold-start figure (default 7, quick 3)")
    parser.add_argument("--schedules", type=int, help="schedules per throughput batch (default 100000, quick 20000)")
    parser.add_argument("--rounds", type=int, default=20, help="rounds per schedule (default 20)")
    parser.add_argument("--wheel", action="store_true", help="time the commands of a fresh wheel install "
                        "(a venv in a temporary folder; about 20 s more)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"JSON result file (default {DEFAULT_OUT.relative_to(REPO)})")
    args = parser.parse_args(argv)
    runs = args.runs or (3 if args.quick else 7)
    schedules = args.schedules or (20_000 if args.quick else 100_000)
    if runs < 1 or schedules < 1 or args.rounds < 1:
        parser.error("--runs, --schedules and --rounds must be >= 1")

    with tempfile.TemporaryDirectory() as folder:
        python, plan = sys.executable, plan_command()
        if args.wheel:
            bin_folder = wheel_install(Path(folder))
            python, plan = str(bin_folder / "python"), [str(bin_folder / "plan")]
        cold = {"python -c pass (interpreter alone)": cold_start([python, "-c", "pass"], runs, args.wheel)}
        for words in HELP_COMMANDS if args.wheel else HELP_COMMANDS[:1]:
            cold[" ".join(["plan", *words])] = cold_start(plan + words, runs, args.wheel)
        if not args.wheel:  # the wheel is installed without numpy
            budget = ["--budget", "1e6", "--cg", "1", "--ct", "3"]
            cold["plan " + " ".join(budget)] = cold_start(plan + budget, runs)
    speed = throughput(schedules, args.rounds, 3 if args.quick else 5)
    measured = {"plan --help cold start (s)": cold["plan --help"]["median_s"],
                "Gaussian schedules per second": speed["schedules_per_s"]}
    targets = dict(TARGETS)
    if args.wheel:
        base_cpu = cold["python -c pass (interpreter alone)"]["cpu_median_s"]
        helps = [cold[" ".join(["plan", *words])]["cpu_median_s"] for words in HELP_COMMANDS]
        measured[RATIO], targets[RATIO] = max(helps) / base_cpu, ("<=", 3.0)
    result = {
        "benchmark": "planner_speed",
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "quick": args.quick,
        "plan_command": plan,
        "wheel_install": args.wheel,
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
                    "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None},
        "cold_start": cold,
        "throughput": speed,
        "targets": {name: {"target": f"{op} {bound:g}", "measured": measured[name],
                           "met": meets(measured[name], (op, bound))} for name, (op, bound) in targets.items()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, args.out)

    print(f"planner speed ({'quick' if args.quick else 'full'}; {runs} runs per cold start, "
          f"load average {result['machine']['load_average']})")
    print(f"{'measurement':<44} {'median':>10} {'min':>10} {'CPU median':>11}")
    for name, c in cold.items():
        print(f"{'cold start: ' + name:<44} {c['median_s']:>9.3f}s {c['min_s']:>9.3f}s {c['cpu_median_s']:>10.3f}s")
    print(f"{f'Gaussian schedules/s ({schedules} x {args.rounds} rounds)':<44} "
          f"{speed['median_schedules_per_s']:>10.3g} {speed['schedules_per_s']:>10.3g} (best)")
    print()
    for name, t in result["targets"].items():
        print(f"target {name} {t['target']}: measured {t['measured']:.4g} -> {'met' if t['met'] else 'NOT met'}")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
