"""The `plan` command: recommend a schedule (default), or run one of the subcommands.

The built-in subcommands are known here by module name, so `plan --help` and `plan COMMAND` start
without reading any package's metadata; another package's subcommands are whatever it registers in
the entry-point group spendwise.commands (planner/registry.py), read only for a name not built in
and for the listing of `plan --help`. A command is a module with HELP, add_arguments(parser) and
run(args) -> int, imported only when used, so nothing here needs numpy, torch or optuna. Bad input
is one sentence on stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings

from planner.cli.flags import Parser
from planner.validate import InputError

DEFAULT = "recommend"
BUILTIN = {  # the commands spendwise ships (pyproject.toml registers the same modules)
    "recommend": "planner.cli.recommend", "compare": "planner.cli.compare", "fit": "planner.cli.fit",
    "best": "planner.cli.best", "execute": "bootstrapper.cli.execute", "tune": "bootstrapper.cli.tune",
    "export": "planner.cli.export",
}


def build_parser(command: str, module) -> Parser:
    """The argparse parser of one command; the default one's help lists every command."""
    if command == DEFAULT:
        listing = "\n".join(f"  plan {name:<10} {help_line}" for name, help_line in sorted(listed().items()))
        parser = Parser(prog="plan", description="Plan how many synthetic samples to keep in each round of "
                        "iterative bootstrapping under a compute budget.", epilog=f"commands:\n{listing}\n"
                        "  (plan COMMAND --help for each)", formatter_class=argparse.RawDescriptionHelpFormatter)
    else:
        parser = Parser(prog=f"plan {command}", description=module.HELP)
    module.add_arguments(parser)
    return parser


def listed() -> dict[str, str]:
    """Every command but the default, built-in or another package's, with its one-line help (the
    other packages' read from their entry_points.txt files, registry.declared: no importlib.metadata)."""
    from planner import registry

    modules = {name: path for name, path in BUILTIN.items() if name != DEFAULT}
    for name, path in registry.declared(registry.COMMANDS).items():
        if name != DEFAULT:
            modules.setdefault(name, path)
    return {name: registry.resolve(path).HELP for name, path in modules.items()}


def command_module(name: str):
    """The module of a command: a built-in by its known name, else the one another package registered
    (only then is the entry-point metadata read); None for an unknown name."""
    if name in BUILTIN:
        return importlib.import_module(BUILTIN[name])
    from planner import registry

    found = registry.entries(registry.COMMANDS)
    return found[name].load() if name in found else None


def one_line(message: str) -> str:
    """A message as one line: a newline or carriage return (in a path) is shown escaped."""
    return message.replace("\r", "\\r").replace("\n", "\\n")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv.pop(0) if argv and not argv[0].startswith("-") else DEFAULT
    module = command_module(command)
    if module is None:
        from planner import registry

        known = sorted(set(BUILTIN) | set(registry.names(registry.COMMANDS)))
        print(f"plan: unknown command {command!r}; commands: {', '.join(known)} (see plan --help)", file=sys.stderr)
        return 2
    args = build_parser(command, module).parse_args(argv)
    # Overflow to inf or NaN is caught where it matters (limits, strict JSON); numpy's warnings about
    # it would only add lines of noise to the one sentence.
    warnings.filterwarnings("ignore", r"(overflow|invalid value|divide by zero|underflow) encountered",
                            RuntimeWarning)
    from planner._imports import try_import

    try:
        with try_import(f"plan {command}"):  # an optional package the command did not check for up front
            return module.run(args)
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
