"""`plan tune --task NAME --budget B --run-dir DIR`: run the whole budget, tuning the plan as it goes.

The run starts from the plan of the task's prior (or of --prior, your own prior file from
`plan fit --prior-out`, or of --model, or a vague model from the starting reward), and after
every round refits the model on the prior's measured rounds and the run's own, and re-solves
the rest of the budget once the fit is identified. Resumable like `plan execute`: run the
same command again after a kill.
"""
from __future__ import annotations

import argparse

HELP = "run a task on the whole budget, refitting the model and replanning the rest as rounds come in"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bootstrapper.cli.execute import add_log_with
    from planner.cli.flags import add_problem_arguments

    add_problem_arguments(parser)
    g = parser.add_argument_group("tuning")
    g.add_argument("--task", required=True, help="task to run")
    g.add_argument("--run-dir", required=True, help="run directory; created, or resumed if it exists")
    g.add_argument("--seed", type=int, default=0, help="seed of every random stream (default 0)")
    g.add_argument("-o", "--option", action="append", default=[], metavar="KEY=VALUE", help="task option; repeatable")
    g.add_argument("--model-path", help="local model folder for the ddpm / llm tasks")
    g.add_argument("--prior", metavar="PRIOR.json", help="start from this prior file (`plan fit --prior-out` of your "
                   "earlier runs of the task) instead of the task's shipped one; its rounds are pooled in every refit")
    g.add_argument("--eval-every", type=int, default=1, metavar="K",
                   help="held-out evaluation after every K-th round and the last (default 1); other rounds are "
                        "read by their generation reward")
    g.add_argument("--trials", type=int, default=0, help="also refine the starting base with this many Optuna trials")
    g.add_argument("--json", action="store_true", help="print the run's summary as one JSON object")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_log_with(g)


def run(args: argparse.Namespace) -> int:
    import json

    from bootstrapper.cli.session import tqdm_progress
    from bootstrapper.engine import Progress
    from bootstrapper.tasks import make_task
    from bootstrapper.tune import tune
    from planner._imports import need
    from planner.cli.flags import problem_from_args
    from planner.jsonio import dumps
    from planner.priors import load_prior
    from planner.registry import prior_path
    from planner.trackers import parse_log_with
    from planner.validate import InputError, check_every, check_seed, check_trials

    problem, source = problem_from_args(args)
    check_seed("--seed", args.seed)
    check_every("--eval-every", args.eval_every)
    check_trials("--trials", args.trials)
    if args.trials:
        need("--trials", "search", "optuna")
    if args.prior and args.model:
        raise InputError("pass --prior or --model, not both: a prior file holds the model to start from")
    log_with = parse_log_with(args.log_with)
    task = make_task(args.task, args.option, args.model_path)
    shipped = None if args.model or args.model_path else prior_path(args.task)  # a prior is of the shipped model
    prior = load_prior(args.prior or shipped, args.task) if args.prior or shipped else None
    model = prior.model if prior else problem.model if args.model else None
    if args.prior:
        source = f"{prior.describe()} in {args.prior}"
    if model is None:
        source = "a vague surrogate of the starting reward (no --model, and no prior for this model)"
    progress = Progress() if args.no_progress else tqdm_progress()
    tuned = tune(task, problem, args.run_dir, args.seed, model, prior.evidence() if prior else None, args.trials,
                 args.eval_every, log_with, progress)
    history = tuned.history
    summary = {"run_dir": args.run_dir, "task": task.name, "seed": args.seed, "budget": problem.budget,
               "spent": history[-1].spent if history else 0.0, "rounds": len(history),
               "schedule": tuned.schedule, "planned": list(tuned.plan.schedule.n),
               "replans": sum(1 for r in history if r.replan and r.replan.get("refit") and "base" in r.replan),
               "final_reward": history[-1].reward if history else None,
               "predicted_reward": tuned.plan.predicted_reward, "model_source": source,
               "ended_because": (history[-1].replan or {}).get("reason") if history else None}
    text = dumps(summary, "the run's summary")
    if args.json:
        print(text)
        return 0
    print(f"tuned run in {args.run_dir} (starting plan from {source})")
    print(f"planned {summary['planned']}; ran {summary['schedule']} ({summary['replans']} replans)")
    print(f"spent {summary['spent']:,.1f} of {problem.budget:,.1f}; final reward {summary['final_reward']} "
          f"(the starting plan predicted {tuned.plan.predicted_reward:.6g})")
    if summary["ended_because"] and not history[-1].schedule:
        print(f"the run ended there: {summary['ended_because']}")
    last_fit = next((r.replan["fit"] for r in reversed(history) if "fit" in (r.replan or {})), None)
    if last_fit:
        print(f"last refit: {last_fit['method']} model {json.dumps(last_fit['model'])}")
    return 0
