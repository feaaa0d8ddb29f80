"""`plan best --storage URL --study NAME`: the best plan found so far by every worker of a
shared Optuna study (start workers with `plan ... --trials K --storage URL --study NAME`)."""
from __future__ import annotations

import argparse

from planner.validate import InputError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

HELP = "the best plan found so far in a shared Optuna study (--storage, --study)"  # one line in `plan --help`


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--storage", required=True, help="Optuna storage URL, e.g. sqlite:///search.db")
    parser.add_argument("--study", required=True, help="study name within the storage")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    parser.add_argument("--out", metavar="PLAN.json", help="write the plan (atomically) for plan execute")
    parser.add_argument("--certifier", choices=("kkt", "cvxpy"), default="kkt")


def check_arguments(args: argparse.Namespace) -> None:
    """Before opening the storage: the packages, the --out path, and a SQLite file that exists
    (Optuna would create an empty database in its place)."""
    import stat

    from planner._imports import need
    from planner.jsonio import KINDS, check_output_path

    need("plan best", "search", "optuna")
    if args.certifier == "cvxpy":
        need("--certifier cvxpy", "search", "cvxpy")
    if args.out:
        check_output_path(args.out, "--out")
    from planner.solvers.search import sqlite_path

    path = sqlite_path(args.storage)
    if path is not None and not (path.is_file() and _holds_studies(path)):
        what = (f"the database file {path} holds no Optuna study" if path.is_file()
                else f"{path} is {KINDS.get(stat.S_IFMT(path.stat().st_mode), 'not a file')}, not a database file"
                if path.exists() else f"there is no database file {path}")
        raise InputError(f"--storage {args.storage}: {what} (plan best reads a study that `plan --trials K "
                         "--storage ...` made, and writes nothing into it)")


def _holds_studies(path: Path) -> bool:
    """Whether a SQLite file holds Optuna's tables, read without writing (Optuna would create them)."""
    import contextlib
    import sqlite3
    from urllib.parse import quote

    try:
        with contextlib.closing(sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error:
        return False
    return {"studies", "trials", "version_info"} <= tables


def run(args: argparse.Namespace) -> int:
    check_arguments(args)
    import optuna

    from planner.jsonio import atomic_write_json, dumps
    from planner.limits import check_plan
    from planner.plan import Plan, SolverResult
    from planner.problem import Problem
    from planner.report import recommend_report
    from planner.schedules import family
    from planner.solvers import free_form
    from planner.solvers.search import best_schedule, damaged_hint

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.load_study(study_name=args.study, storage=args.storage)
    except KeyError:  # the storage opened; the study is not in it
        names = ", ".join(repr(name) for name in sorted(optuna.get_all_study_names(storage=args.storage)))
        raise InputError(f"there is no study {args.study!r} in {args.storage} (its studies: {names or 'none'})") \
            from None
    except Exception as e:  # bad URL, unreachable or damaged database
        reason = (str(e).strip().splitlines() or [""])[0]
        raise InputError(f"cannot load study {args.study!r} from {args.storage!r} "
                         f"({type(e).__name__}: {reason}){damaged_hint(args.storage)}") from None
    absent = [key for key in ("problem", "family") if key not in study.user_attrs]
    if absent:
        raise InputError(f"study {args.study!r} was not made by spendwise "
                         f"(it records no {' and no '.join(absent)})")
    problem = Problem.from_json(study.user_attrs["problem"])
    try:
        schedule = best_schedule(study, family(study.user_attrs["family"]).name)
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, InputError):
            raise
        raise InputError(f"study {args.study!r} holds a trial spendwise did not write "
                         f"({type(e).__name__}: {e})") from None
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
