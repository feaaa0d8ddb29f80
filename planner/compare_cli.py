"""`plan compare`: the best schedule of every strategy at one budget, side by side."""
from __future__ import annotations

import argparse
import json

from planner.cli import add_output_arguments, add_problem_arguments, check_output_arguments, problem_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_problem_arguments(parser)
    add_output_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from planner.jsonio import atomic_write_json
    from planner.plan import compare
    from planner.report import compare_report

    problem = problem_from_args(args)
    check_output_arguments(args)
    plans = compare(problem, trials=args.trials, seed=args.seed, certifier=args.certifier, task=args.task)
    if args.plot:
        from planner.plot import plot_plans

        plot_plans(plans, args.plot)
    if args.out:  # last, so that a failure above leaves no plan file behind
        atomic_write_json(args.out, [p.to_json() for p in plans])
    print(json.dumps([p.to_json() for p in plans]) if args.json else compare_report(plans))
    return 0
