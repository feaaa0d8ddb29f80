"""`plan tune --task NAME --budget B --pilot 0.1 --out plan.json`: pilot rounds, fit, plan the rest."""
from __future__ import annotations

import argparse
import json

HELP = "run cheap pilot rounds on a task, fit the model, plan the rest of the budget"  # one line in `plan --help`


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bootstrapper.cli import add_log_with
    from planner.cli import add_problem_arguments

    add_problem_arguments(parser)
    g = parser.add_argument_group("tuning")
    g.add_argument("--task", required=True, help="task to run the pilots on")
    g.add_argument("--pilot", type=float, default=0.1, help="share of the budget the pilots may spend (default 0.1)")
    g.add_argument("--pilot-rounds", type=int, default=6, help="rounds per pilot run (default 6)")
    g.add_argument("--run-dir", required=True, help="folder for the pilot runs (resumable like plan execute)")
    g.add_argument("--out", required=True, metavar="PLAN.json", help="where to write the tuned plan")
    g.add_argument("--seed", type=int, default=0, help="seed of every random stream (default 0)")
    g.add_argument("-o", "--option", action="append", default=[], metavar="KEY=VALUE", help="task option; repeatable")
    g.add_argument("--model-path", help="local model folder for the ddpm / llm tasks")
    g.add_argument("--trials", type=int, default=0, help="also refine the base with this many Optuna trials")
    g.add_argument("--json", action="store_true", help="print the tuned plan as JSON")
    add_log_with(g)


def run(args: argparse.Namespace) -> int:
    from bootstrapper.tasks import make_task
    from bootstrapper.tune import tune
    from planner._imports import need
    from planner.cli import problem_from_args
    from planner.jsonio import InputError, atomic_write_json, check_output_path, check_seed, dumps
    from planner.registry import prior_path
    from planner.report import recommend_report
    from planner.trackers import parse_log_with

    if args.pilot_rounds < 3:
        raise InputError(f"--pilot-rounds must be at least 3 for the fit, got {args.pilot_rounds}")
    problem, _ = problem_from_args(args)
    check_seed("--seed", args.seed)
    check_output_path(args.out, "--out")
    if args.trials < 0:
        raise InputError(f"--trials must be >= 0, got {args.trials}")
    if args.trials:
        need("--trials", "search", "optuna")
    log_with = parse_log_with(args.log_with)
    task = make_task(args.task, args.option, args.model_path)
    prior = problem.model if args.model or prior_path(args.task) else None  # else a vague one from round 0
    tuned = tune(task, problem, args.pilot, args.run_dir, args.seed, args.pilot_rounds, prior, args.trials,
                 log_with)
    text = dumps(tuned.plan.to_json(), "the tuned plan")
    atomic_write_json(args.out, tuned.plan.to_json())
    if args.json:
        print(text)
        return 0
    start = tuned.plan.start
    print(f"pilots spent {tuned.pilot_spent:,.1f} of {problem.budget:,.1f} ({100 * tuned.pilot_spent / problem.budget:.1f} %)"
          f" in {args.run_dir}; fitted {tuned.fit['method']} model {json.dumps(tuned.fit['model'])}")
    print(f"the main run starts from the {start['from']} (predicted final reward: "
          + ", ".join(f"{k} {v:.6g}" for k, v in start["predicted"].items()) + ")\n")
    print(recommend_report(tuned.plan))
    print(f"\nplan written to {args.out}; run it with: plan execute {args.out} --run-dir RUN --replan")
    return 0
