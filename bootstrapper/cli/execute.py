"""`plan execute PLAN.json --task NAME --run-dir DIR`: run a plan round by round, resumable.

Run it again with the same arguments after a kill (Ctrl-C, kill -9, a crash) and it resumes at
the first round that was not committed, with every RNG restored. `accelerate launch -m
bootstrapper execute ...` runs the same command on several processes (bootstrapper/__main__.py).
"""
from __future__ import annotations

import argparse
import sys

from planner.validate import InputError

HELP = "run a plan on a task round by round within the budget (resumable)"  # one line in `plan --help`


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("plan", help="plan file written by `plan --out`")
    parser.add_argument("--task", help="task to run (default: the task recorded in the plan)")
    parser.add_argument("--run-dir", required=True, help="run directory; created, or resumed if it exists")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random stream (default 0)")
    parser.add_argument("-o", "--option", action="append", default=[], metavar="KEY=VALUE",
                        help="task option, e.g. -o s=20 (see the task's Config); repeatable")
    parser.add_argument("--model-path", help="local model folder for the ddpm / llm tasks (never a hub id)")
    parser.add_argument("--calibrate", action="store_true",
                        help="measure seconds per generated / trained sample, use them as c_g / c_t (the budget "
                             "is then seconds), and re-solve the schedule for them before round 0")
    parser.add_argument("--replan", action="store_true",
                        help="after each round, refit the reward model on all rounds so far and re-solve the "
                             "schedule for the budget left (each replan is logged)")
    parser.add_argument("--eval-every", type=int, default=1, metavar="K",
                        help="held-out evaluation after every K-th round and the last (default 1); the other "
                             "rounds log only their free generation reward (the mean score of what they generated)")
    add_log_with(parser)
    parser.add_argument("--json", action="store_true", help="print the final summary as one JSON object")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--no-report", action="store_true", help="do not draw report.png")


def add_log_with(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log-with", metavar="TRACKER", default="",
                        help="also log every round to tensorboard, mlflow or wandb (comma-separated, or all: every "
                             "one installed) through accelerate's trackers; files in the run directory's trackers/")


def run(args: argparse.Namespace) -> int:
    """Run or resume; under `accelerate launch` only the main process reports (and reports bad input)."""
    from bootstrapper import distributed as dist

    try:
        return _run(args, dist.is_main())
    except InputError:
        if dist.is_main():
            raise  # one sentence on stderr, exit status 2 (planner.cli.main)
        return 2  # the same error on another process: the main process has said it


def _run(args: argparse.Namespace, main: bool) -> int:
    from bootstrapper.cli.session import Session
    from planner._imports import need
    from planner.jsonio import dumps
    from planner.trackers import parse_log_with

    if not args.no_report:
        need("drawing report.png (or pass --no-report)", "plot", "matplotlib")
    log_with = parse_log_with(args.log_with)
    from planner.plan import read_plan

    _, plan_json = read_plan(args.plan)  # checked here to name the file in any complaint
    session = Session.open(plan_json, args.task, args.run_dir, args.seed, args.option, args.model_path,
                           args.calibrate, args.replan, args.eval_every, log_with)
    try:
        history = session.run(progress=not args.no_progress)
        summary = session.summary(history)
        if not main:
            return 0
        if args.json:
            print(dumps(summary, "the summary"))
        else:
            print(f"rounds done {summary['rounds_done']} of {summary['rounds_planned']}, "
                  f"spent {summary['spent']:,.1f} of {summary['budget']:,.1f}"
                  f"{' (last round trimmed at the budget)' if summary['trimmed'] else ''}")
            print(f"final reward {summary['final_reward']:.6g} measured, {summary['predicted_reward']:.6g} predicted "
                  f"(started at {summary['initial_reward']:.6g}); run directory {args.run_dir}")
        sys.stdout.flush()  # the summary is out before the report is drawn
        if not args.no_report and history:
            session.draw_report(history)
    finally:
        session.close()
    return 0
