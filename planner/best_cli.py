"""`plan best --storage URL --study NAME`: the best plan found so far by every worker of a
shared Optuna study (start workers with `plan ... --trials K --storage URL --study NAME`)."""
from __future__ import annotations

import argparse
import os

from planner.validate import InputError

HELP = "the best plan found so far in a shared Optuna study (--storage, --study)"  # one line in `plan --help`

SQLITE = "sqlite:///"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--storage", required=True, help="Optuna storage URL, e.g. sqlite:///search.db")
    parser.add_argument("--study", required=True, help="study name within the storage")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    parser.add_argument("--out", metavar="PLAN.json", help="write the plan (atomically) for plan execute")
    parser.add_argument("--certifier", choices=("kkt", "cvxpy"), default="kkt")


def check_arguments(args: argparse.Namespace) -> None:
    """Before opening the storage: the packages, the --out path, and a SQLite file that exists
    (Optuna would create an empty database in its place)."""
    from planner._imports import need
    from planner.jsonio import check_output_path

    need("plan best", "search", "optuna")
    if args.certifier == "cvxpy":
        need("--certifier cvxpy", "search", "cvxpy")
    if args.out:
        check_output_path(args.out, "--out")
    if args.storage.startswith(SQLITE) and not os.path.isfile(args.storage[len(SQLITE):]):
        raise InputError(f"--storage {args.storage}: there is no database file {args.storage[len(SQLITE):]} "
                         "(plan best reads a study that `plan --trials K --storage ...` made)")


def run(args: argparse.Namespace) -> int:
    check_arguments(args)
    import optuna

    from planner.jsonio import atomic_write_json, dumps
    from planner.limits import check_plan
    from planner.plan import Plan, SolverResult
    from planner.problem import Problem
    from planner.report import recommend_report
    from planner.solvers import free_form
    from planner.solvers.search import best_schedule

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.load_study(study_name=args.study, storage=args.storage)
    except Exception as e:  # unknown study, bad URL, unreachable database
        reason = (str(e).strip().splitlines() or [""])[0]
        raise InputError(f"cannot load study {args.study!r} from {args.storage!r} "
                         f"({type(e).__name__}: {reason})") from None
    if "problem" not in study.user_attrs:
        raise InputError(f"study {args.study!r} was not made by spendwise (it records no problem)")
    problem = Problem.from_json(study.user_attrs["problem"])
    schedule = best_schedule(study, study.user_attrs["family"])
    plan = Plan(problem, schedule, "optuna", free_form(problem, args.certifier), (SolverResult("optuna", schedule),))
    check_plan(plan)
    done = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    text = dumps({**plan.to_json(), "trials": done}, "the plan")
    if args.out:
        atomic_write_json(args.out, plan.to_json())
    if args.json:
        print(text)
    else:
        print(f"best of {done} completed trials in study {args.study!r}\n")
        print(recommend_report(plan))
    return 0
