"""`plan compare`: the best schedule of every strategy at one budget, side by side."""
from __future__ import annotations

import argparse

from planner.cli.flags import (
    add_output_arguments,
    add_plan_arguments,
    add_problem_arguments,
    check_arguments,
    problem_from_args,
)

# one line in `plan --help`
HELP = "the best constant / linear / polynomial / exponential / free-form schedules side by side"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_problem_arguments(parser)
    add_plan_arguments(parser)
    add_output_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from planner.jsonio import atomic_write_json, dumps
    from planner.limits import check_plan
    from planner.plan import compare
    from planner.report import compare_report

    problem, _ = problem_from_args(args)
    check_arguments(args)
    plans = compare(problem, trials=args.trials, seed=args.seed, certifier=args.certifier, task=args.task)
    for plan in plans:
        check_plan(plan)
    text = dumps([p.to_json() for p in plans], "the plans")
    if args.plot:
        from planner.plot import plot_plans

        plot_plans(plans, args.plot)
    if args.out:  # last, so that a failure above leaves no plan file behind
        atomic_write_json(args.out, [p.to_json() for p in plans])
    print(text if args.json else compare_report(plans))
    return 0
