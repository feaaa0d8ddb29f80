"""The `plan` command: recommend a schedule (default), or run one of the subcommands.

Subcommands are whatever the installed packages register in the entry-point group
spendwise.commands (planner/registry.py): a module with HELP, add_arguments(parser) and
run(args) -> int, imported only when used, so `plan --help` and a plain `plan` start fast and
need neither torch nor optuna/cvxpy/matplotlib. Bad input is one sentence on stderr and exit
status 2.
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings

from planner import registry
from planner._imports import try_import
from planner.validate import InputError

HELP = "the best exponential schedule for a budget (the default command)"
DEFAULT = "recommend"


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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_problem_arguments(parser)
    add_plan_arguments(parser)
    add_output_arguments(parser)
    parser.add_argument("--shape", choices=("any", "exponential"), default="any",
                        help="recommend the best schedule of any shape (default), or the paper's exponential family")


def check_arguments(args: argparse.Namespace) -> None:
    """Everything about the plan and output flags that can be wrong, checked before any work."""
    from planner._imports import need
    from planner.jsonio import check_output_path
    from planner.validate import check_seed

    if args.trials < 0:
        raise InputError(f"--trials must be >= 0, got {args.trials}")
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


def one_line(message: str) -> str:
    """A message as one line: a newline or carriage return (in a path) is shown escaped."""
    return message.replace("\r", "\\r").replace("\n", "\\n")


def build_parser(command: str, commands: dict) -> Parser:
    """The argparse parser of one command (commands: name -> its module, see main)."""
    module = commands[command]
    if command == DEFAULT:
        listing = "\n".join(f"  plan {name:<10} {commands[name].HELP}" for name in sorted(commands) if name != DEFAULT)
        parser = Parser(prog="plan", description="Plan how many synthetic samples to keep in each round of "
                        "iterative bootstrapping under a compute budget.", epilog=f"commands:\n{listing}\n"
                        "  (plan COMMAND --help for each)", formatter_class=argparse.RawDescriptionHelpFormatter)
    else:
        parser = Parser(prog=f"plan {command}", description=module.HELP)
    module.add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    found = registry.entries(registry.COMMANDS)
    command = argv.pop(0) if argv and argv[0] in found else DEFAULT
    if argv and not argv[0].startswith("-") and command == DEFAULT:
        print(f"plan: unknown command {argv[0]!r}; commands: {', '.join(sorted(found))} (see plan --help)",
              file=sys.stderr)
        return 2
    # every command's module for the listing of `plan --help`, only this one's otherwise
    commands = {name: ep.load() for name, ep in found.items() if name == command or command == DEFAULT}
    args = build_parser(command, commands).parse_args(argv)
    # Overflow to inf or NaN is caught where it matters (limits, strict JSON); numpy's warnings about
    # it would only add lines of noise to the one sentence.
    warnings.filterwarnings("ignore", r"(overflow|invalid value|divide by zero|underflow) encountered",
                            RuntimeWarning)
    try:
        with try_import(f"plan {command}"):  # an optional package the command did not check for up front
            return commands[command].run(args)
    except InputError as e:
        print(f"plan: {one_line(str(e))}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as e:  # a file that cannot be written or read (permission, read-only, missing folder)
        where = e.filename2 or e.filename
        print(one_line(f"plan: {e.strerror or e}{f': {where}' if where else ''}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("plan: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
