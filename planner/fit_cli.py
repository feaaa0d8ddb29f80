"""`plan fit LOG.jsonl`: fit a reward model to a run's rounds, with 95 % intervals."""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from planner.rounds import RoundRecord, read_rounds

HELP = "fit a reward model to a run's rounds.jsonl, with 95 % intervals"  # one line in `plan --help`


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("log", nargs="+", help="rounds.jsonl of one or more runs (their transitions are pooled); "
                        "run.json beside each supplies the reward before round 0")
    parser.add_argument("--kind", choices=("auto", "gaussian", "surrogate"), default="auto",
                        help="model to fit; auto = gaussian when the log reports theta, else surrogate")
    parser.add_argument("--fit-gamma", action="store_true", help="profile the surrogate's noise exponent "
                        "gamma over 0.25..3 instead of fixing it at 1")
    parser.add_argument("--out", metavar="MODEL.json", help="write the fitted model file (for plan --model)")
    parser.add_argument("--prior-out", metavar="PRIOR.json",
                        help="also write a prior file for `plan tune --prior`: the surrogate fitted to these runs' "
                        "rewards, with their rounds, which the tuned run pools with its own in every refit")
    parser.add_argument("--json", action="store_true", help="print the fit (model, intervals, rmse, r2) as JSON")


def initial_metrics(log: Path) -> dict | None:
    """The starting model's metrics recorded in the run.json beside a round log, if any (checked)."""
    from planner.runconfig import RunConfig

    path = log.parent / "run.json"
    return RunConfig.initial_in(path) if path.exists() else None


def logged_task(logs: list[str]) -> str:
    """The one task the runs beside these logs ran (their run.json names it): a prior is for one task."""
    from planner.runconfig import RunConfig
    from planner.validate import InputError

    tasks = set()
    for log in logs:
        path = Path(log).parent / "run.json"
        if not path.exists():
            raise InputError(f"--prior-out needs the run.json beside {log}, which names the task the run was of")
        tasks.add(RunConfig.read(path).task)
    if len(tasks) > 1:
        raise InputError(f"--prior-out: the runs are of tasks {', '.join(sorted(tasks))}; a prior is for one task")
    return tasks.pop()


def read_log(path: str, kind: str) -> list[RoundRecord]:
    """A round log, checked: rounds in order, counts whole, rewards in [0, 1], and theta usable."""
    from planner.jsonio import read_jsonl
    from planner.validate import InputError

    records = read_rounds(read_jsonl(path, "round log"), f"round log {path}")
    has_theta = records and all("theta" in r.metrics for r in records)
    if has_theta and kind != "surrogate" and "theta" not in (initial_metrics(Path(path)) or {}):
        raise InputError(f"round log {path} reports theta every round, but no run.json beside it gives theta "
                         "before round 0; copy the run's run.json next to it, or pass --kind surrogate")
    return records


def run(args: argparse.Namespace) -> int:
    from planner.fit import Observations, fit
    from planner.jsonio import atomic_write_json, check_output_path, dumps
    from planner.priors import fit_prior

    for path, flag in ((args.out, "--out"), (args.prior_out, "--prior-out")):
        if path:
            check_output_path(path, flag)
    task = logged_task(args.log) if args.prior_out else None
    runs = [Observations.from_log(read_log(path, args.kind), initial_metrics(Path(path))) for path in args.log]
    result = fit(Observations.pool(runs), args.kind, None if args.fit_gamma else 1.0)
    text = dumps(result.to_json(), "the fit")
    prior = fit_prior(task, runs, {"what": f"{len(runs)} earlier run(s): {', '.join(args.log)}"}) if task else None
    if args.out:
        atomic_write_json(args.out, result.model.to_json())
    if prior:
        atomic_write_json(args.prior_out, prior.to_json())
    if args.json:
        print(text)
        return 0
    print(f"{result.method} model fitted to {len(Observations.pool(runs).n)} transitions "
          f"from {len(runs)} run(s): {json.dumps(result.model.to_json())}")
    print(f"  {'parameter':<10} {'estimate':>11} {'95 % interval':>27}")
    for e in result.estimates:
        interval = "" if math.isnan(e.low) else f"[{e.low:.4g}, {e.high:.4g}]"
        print(f"  {e.name:<10} {e.value:>11.4g} {interval:>27}")
    print(f"one-round-ahead error: rmse {result.rmse:.3g}, R^2 {result.r2:.3f}")
    if args.out:
        print(f"model written to {args.out}")
    if prior:
        print(f"prior for `plan tune --task {task} --prior {args.prior_out}` written: {prior.describe()}")
    return 0
