"""`plan fit LOG.jsonl`: fit a reward model to a run's rounds, with 95 % intervals; `--from trl|verl`
reads TRL's trainer_state.json or verl's file-logger log instead (planner/external_logs.py)."""
from __future__ import annotations

import argparse

TYPE_CHECKING = False  # what the command needs is imported when it runs: `plan --help` stays fast
if TYPE_CHECKING:
    from pathlib import Path

    from planner.rounds import RoundRecord

HELP = "fit a reward model to a run's rounds.jsonl (or TRL / verl logs), with 95 % intervals"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("log", nargs="+", help="rounds.jsonl of one or more runs (their transitions are pooled); "
                        "run.json beside each supplies the reward before round 0")
    parser.add_argument("--from", dest="source", choices=("rounds", "trl", "verl"), default="rounds",
                        help="what the logs are: spendwise rounds.jsonl (default), TRL / transformers "
                        "trainer_state.json files (or folders holding one), or verl file-logger JSON lines")
    parser.add_argument("--reward-key", help="the logged metric that is the reward in [0, 1] (trl default: "
                        "eval_reward, else reward; verl default: its val-core/.../reward/mean@ metric)")
    parser.add_argument("--samples-per-step", type=int, nargs="+", metavar="N",
                        help="samples one optimizer step trains, one value for every log or one per log (trl default: "
                        "the state's train_batch_size; verl: required, data.train_batch_size x rollout.n)")
    parser.add_argument("--task", help="the task a --prior-out prior is for, with --from trl|verl (no run.json there)")
    parser.add_argument("--kind", default="auto",
                        help="model kind to fit (gaussian, surrogate, step-clock or another registered one); auto "
                        "(default) fits every kind the log supports and keeps the one that best predicts rounds "
                        "it was not fitted to, with a table of their scores")
    parser.add_argument("--fit-gamma", action="store_true", help="profile the surrogate's noise exponent "
                        "gamma over 0.25..3 instead of fixing it at 1")
    parser.add_argument("--out", metavar="MODEL.json", help="write the fitted model file (for plan --model)")
    parser.add_argument("--prior-out", metavar="PRIOR.json",
                        help="also write a prior file for `plan tune --prior`: the kind (of --kind, or chosen on "
                        "held-out rounds) fitted to these runs' rewards and steps, with their rounds, which the tuned "
                        "run pools with its own in every refit")
    parser.add_argument("--json", action="store_true", help="print the fit (model, intervals, rmse, r2) as JSON")


def initial_metrics(log: Path) -> dict | None:
    """The starting model's metrics recorded in the run.json beside a round log, if any (checked)."""
    from planner.runconfig import RunConfig

    path = log.parent / "run.json"
    return RunConfig.initial_in(path) if path.exists() else None


def logged_task(logs: list[str]) -> str:
    """The one task the runs beside these logs ran (their run.json names it): a prior is for one task."""
    from pathlib import Path

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
    from pathlib import Path

    from planner.jsonio import read_jsonl
    from planner.rounds import read_rounds
    from planner.validate import InputError

    records = read_rounds(read_jsonl(path, "round log"), f"round log {path}")
    if not records:
        raise InputError(f"round log {path} is empty: there is nothing to fit")
    has_theta = records and all("theta" in r.metrics for r in records)
    if has_theta and kind != "surrogate" and "theta" not in (initial_metrics(Path(path)) or {}):
        raise InputError(f"round log {path} reports theta every round, but no run.json beside it gives theta "
                         "before round 0; copy the run's run.json next to it, or pass --kind surrogate")
    return records


def read_runs(args: argparse.Namespace) -> tuple[list, str | None, list[dict]]:
    """Every log as fit observations, the task a prior is for (with --prior-out), and the seconds
    per unit each external log times (verl)."""
    from pathlib import Path

    from planner.external_logs import read_trl, read_verl
    from planner.fit import Observations
    from planner.rounds import read_rounds
    from planner.validate import InputError, is_whole, shown

    per_step = args.samples_per_step or [None]
    if len(per_step) not in (1, len(args.log)) or any(n is not None and not is_whole(n, 1) for n in per_step):
        raise InputError(f"--samples-per-step takes one whole number from 1 to 2^53, or one per log ({len(args.log)}), "
                         f"got {' '.join(map(shown, per_step))}")
    if args.source == "rounds":
        if args.reward_key or args.samples_per_step or args.task:
            raise InputError("--reward-key, --samples-per-step and --task go with --from trl or --from verl")
        task = logged_task(args.log) if args.prior_out else None
        return [Observations.from_log(read_log(path, args.kind), initial_metrics(Path(path))) for path in args.log], \
            task, []
    if args.prior_out and not args.task:
        raise InputError(f"--prior-out with --from {args.source} needs --task NAME (the task the prior is for)")
    reader = read_trl if args.source == "trl" else read_verl
    per_step = per_step * len(args.log) if len(per_step) == 1 else per_step
    logs = [reader(path, args.reward_key, n) for path, n in zip(args.log, per_step)]
    runs = [Observations.from_log(read_rounds(log.records, f"{args.source} log {path}"), log.initial)
            for path, log in zip(args.log, logs)]
    return runs, args.task if args.prior_out else None, [log.calibration for log in logs if log.calibration]


def run(args: argparse.Namespace) -> int:
    import json
    import math

    from planner.fit import Observations, fit
    from planner.jsonio import atomic_write_json, check_output_path, dumps
    from planner.priors import fit_prior
    from planner.selection import select

    for path, flag in ((args.out, "--out"), (args.prior_out, "--prior-out")):
        if path:
            check_output_path(path, flag)
    runs, task, calibrations = read_runs(args)
    pooled = Observations.pool(runs)
    selection = select(pooled) if args.kind == "auto" else None
    result = selection.chosen.fit if selection else fit(pooled, args.kind, None if args.fit_gamma else 1.0)
    seconds = {k: sum(c[k] for c in calibrations) / len(calibrations) for k in ("cg", "ct", "cr")} \
        if calibrations else None
    text = dumps({**result.to_json(), **({"seconds": seconds} if seconds else {}),
                  **({"selection": selection.to_json()} if selection else {})}, "the fit")
    prior = fit_prior(task, runs, {"what": f"{len(runs)} earlier run(s): {', '.join(args.log)}"},
                      None if args.kind == "auto" else [args.kind]) if task else None
    if args.out:  # the model, and how it was chosen (plan --model reads the model and ignores the rest)
        atomic_write_json(args.out, {**result.model.to_json(), **({"selection": selection.to_json()} if selection
                                                                   else {})})
    if prior:
        atomic_write_json(args.prior_out, prior.to_json())
    if args.json:
        print(text)
        return 0
    if selection:
        print(selection.table())
    print(f"{result.method} model fitted to {len(pooled.n)} transitions "
          f"from {len(runs)} run(s): {json.dumps(result.model.to_json())}")
    print(f"  {'parameter':<10} {'estimate':>11} {'95 % interval':>27}")
    for e in result.estimates:
        interval = "" if math.isnan(e.low) else f"[{e.low:.4g}, {e.high:.4g}]"
        print(f"  {e.name:<10} {e.value:>11.4g} {interval:>27}")
    print(f"one-round-ahead error: rmse {result.rmse:.3g}, R^2 {result.r2:.3f}")
    if seconds:
        print(f"seconds from the logs' timings: --cg {seconds['cg']:.4g} (per generated sample) "
              f"--ct {seconds['ct']:.4g} (per trained sample) --cr {seconds['cr']:.4g} (per evaluated round)")
    if args.out:
        print(f"model written to {args.out}")
    if prior:
        print(f"prior for `plan tune --task {task} --prior {args.prior_out}` written: {prior.describe()}")
    return 0
