"""`plan` (or `plan recommend`): the best schedule for a budget (of any shape, or exponential with
--shape exponential), with the best of every other shape beside it, the certificate, and the plan
file `plan execute` runs."""
from __future__ import annotations

import argparse

from planner.cli.flags import (
    add_output_arguments,
    add_plan_arguments,
    add_problem_arguments,
    check_arguments,
    problem_from_args,
)

HELP = "the best schedule for a budget, of any shape or exponential (the default command)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_problem_arguments(parser)
    add_plan_arguments(parser)
    add_output_arguments(parser)
    parser.add_argument("--shape", choices=("any", "exponential"), default="any",
                        help="recommend the best schedule of any shape (default), or the paper's exponential family")


def run(args: argparse.Namespace) -> int:
    from planner.jsonio import atomic_write_json, dumps
    from planner.limits import check_plan
    from planner.models import DEFAULT_MODEL
    from planner.plan import alternatives, best_of_family, compare, recommend
    from planner.report import recommend_report

    problem, source = problem_from_args(args)
    check_arguments(args)
    plan = recommend(problem, trials=args.trials, seed=args.seed, storage=args.storage, study=args.study,
                     certifier=args.certifier, task=args.task, shape=args.shape)
    check_plan(plan)
    text = dumps({**plan.to_json(), "model_source": source}, "the plan")
    others = alternatives(plan) if plan.shapes else [best_of_family(plan, name) for name in ("constant", "linear")]
    if args.plot:
        from planner.plot import plot_plans

        plot_plans(compare(problem), args.plot)
    if args.out:  # last, so that a failure above leaves no plan file behind
        atomic_write_json(args.out, plan.to_json())
    if args.json:
        print(text)
    else:
        if problem.model != DEFAULT_MODEL:  # the report itself names the default
            print(f"planned with {source}")
        print(recommend_report(plan, others))
        if args.out:
            print(f"plan written to {args.out}")
    return 0
