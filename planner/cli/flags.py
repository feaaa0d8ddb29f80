"""The flags the `plan` commands share: the planning problem (--budget, --cg, --ct, --c-round,
--model, ...), what the plan is for and how it is searched (--task, --seed, --trials, ...), where it
goes (--json, --out, --plot), their checks, and the argparse parser that reports a usage error as one
line with exit status 2."""
from __future__ import annotations

import argparse

from planner import registry
from planner.validate import InputError


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def number(text: str) -> float:
    """A float flag value; NaN and inf pass here and are refused with the flag's name later."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def add_problem_arguments(parser: argparse.ArgumentParser, budget_required: bool = True) -> None:
    """The flags that define a planning problem, shared by every command that plans."""
    g = parser.add_argument_group("problem")
    g.add_argument("--budget", type=number, required=budget_required, help="total compute budget (cost units)")
    g.add_argument("--cg", type=number, default=1.0, help="cost per generated sample (default 1)")
    g.add_argument("--ct", type=number, default=3.0, help="cost per trained (kept) sample (default 3)")
    g.add_argument("--c-round", "--cr", type=number, default=0.0,
                   help="fixed cost per round: reload, eval, checkpoint (default 0; --cr is its old name)")
    g.add_argument("--model", metavar="FILE.json", help="reward model file (default: Gaussian theta0=3, sigma=kappa=1)")
    g.add_argument("--selection", choices=("proportional", "fixed"), default="proportional",
                   help="keep each sample with probability R (proportional), or k generated per kept (fixed)")
    g.add_argument("--ratio", type=number, help="k, generated per kept sample, for --selection fixed")
    g.add_argument("--batch", type=int, default=1, help="kept samples per round are whole multiples of this")
    g.add_argument("--max-rounds", type=int, default=40, help="most rounds considered (default 40)")


def model_from_args(args: argparse.Namespace):
    """The reward model to plan with and a line saying which: --model, else the prior shipped for
    --task (fitted to that task's measured rounds), else the paper's Gaussian warm-up."""
    from planner.models import DEFAULT_MODEL, load_model

    if args.model:
        return load_model(args.model), f"the model in {args.model}"
    task = getattr(args, "task", None)
    if task is not None:
        from planner.priors import load_prior

        path = registry.prior_path(task)
        if path is not None:
            prior = load_prior(path, task)
            return prior.model, f"{prior.describe()}; pass --model FILE.json for yours"
    return DEFAULT_MODEL, "the paper's Gaussian warm-up (theta0 = 3, sigma = kappa = 1); pass --model FILE.json"


def problem_from_args(args: argparse.Namespace):
    """Build and validate the Problem named by the flags, and say which model it holds (see
    model_from_args); InputError on any bad value."""
    from planner.costs import CostModel
    from planner.limits import check_scale
    from planner.problem import Problem
    from planner.validate import check_positive

    check_positive("--budget", args.budget)
    for flag in ("cg", "ct", "c_round"):  # c_g = 0: generation already paid for, or free
        check_positive(f"--{flag.replace('_', '-')}", getattr(args, flag), allow_zero=True)
    if args.cg == 0 and args.ct == 0:
        raise InputError("--cg and --ct cannot both be 0: samples would cost nothing, so there is nothing to budget")
    if args.selection == "fixed" and args.ratio is None:
        raise InputError("--selection fixed needs --ratio K (samples generated per kept sample)")
    model, source = model_from_args(args)
    costs = CostModel(args.cg, args.ct, args.c_round, args.selection, 1.0 if args.ratio is None else args.ratio)
    check_scale(args.budget, costs)
    return Problem(model, costs, args.budget, args.batch, args.max_rounds), source


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the plan goes: --json, --out, --plot."""
    g = parser.add_argument_group("output")
    g.add_argument("--json", action="store_true", help="print machine-readable JSON instead of tables")
    g.add_argument("--out", metavar="PLAN.json", help="write the plan here (atomically); `plan execute` reads it")
    g.add_argument("--plot", metavar="FILE.png", help="plot n_t per round and predicted gap vs budget")


def add_plan_arguments(parser: argparse.ArgumentParser) -> None:
    """What the plan is for and how it is searched: --task, --seed, --trials, --storage, --study, --certifier."""
    g = parser.add_argument_group("plan")
    g.add_argument("--task", help="the task the plan is for (recorded in the plan file)")
    g.add_argument("--seed", type=int, default=0, help="seed for the Optuna search (default 0)")
    g.add_argument("--trials", type=int, default=0, help="also run an Optuna search with this many trials")
    g.add_argument("--storage", help="Optuna storage URL (sqlite:///file.db, postgresql://...) to share a search")
    g.add_argument("--study", help="Optuna study name within --storage")
    g.add_argument("--certifier", choices=("kkt", "cvxpy"), default="kkt",
                   help="solve the free-form program by water-filling (fast) or with cvxpy (a check)")


def check_arguments(args: argparse.Namespace) -> None:
    """Everything about the plan and output flags that can be wrong, checked before any work."""
    from planner._imports import need
    from planner.jsonio import check_output_path
    from planner.validate import check_seed, check_trials

    check_trials("--trials", args.trials)
    check_seed("--seed", args.seed)
    for flag in ("out", "plot"):
        if getattr(args, flag) is not None:
            check_output_path(getattr(args, flag), f"--{flag}")
    if (args.storage or args.study) and args.trials == 0:
        raise InputError("--storage and --study need --trials N (the trials this process runs)")
    if args.trials:
        need("--trials", "search", "optuna")
    if args.plot:
        need("--plot", "plot", "matplotlib")
    if args.certifier == "cvxpy":
        need("--certifier cvxpy", "search", "cvxpy")
    if args.task is not None and args.task not in registry.names(registry.TASKS):
        raise InputError(f"unknown task {args.task!r}; known tasks: {', '.join(registry.names(registry.TASKS))}")
