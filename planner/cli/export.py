"""`plan export PLAN.json --format F`: a plan as the config keys and command lines of OpenRLHF, verl,
NeMo-RL or TRL, or as plain YAML, one entry per round (planner/export.py; docs/integrations.md)."""
from __future__ import annotations

import argparse

HELP = "a plan as OpenRLHF / verl / NeMo-RL / TRL config keys and commands, one entry per round"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from planner.export import FORMATS  # light: the planner's own modules, no torch

    parser.add_argument("plan", metavar="PLAN.json", help="a plan file written by `plan --out`")
    parser.add_argument("--format", required=True, help=f"one of {', '.join(FORMATS)}")
    parser.add_argument("--train-batch", type=int, help="kept samples per optimizer step (default: the plan's batch)")
    parser.add_argument("--out", metavar="FILE.yaml", help="write the export here (atomically) instead of printing it")
    parser.add_argument("--json", action="store_true", help="JSON instead of YAML")


def run(args: argparse.Namespace) -> int:
    import json

    from planner.export import export, to_yaml
    from planner.jsonio import atomic_write_text, check_output_path
    from planner.plan import read_plan

    if args.out:
        check_output_path(args.out, "--out")
    plan, _ = read_plan(args.plan)
    exported = export(plan, args.format, plan.problem.batch if args.train_batch is None else args.train_batch)
    text = json.dumps(exported, indent=2) + "\n" if args.json else to_yaml(exported)
    if args.out:
        atomic_write_text(args.out, text)
        print(f"{args.format} export of {len(exported['rounds'])} rounds written to {args.out}")
    else:
        print(text, end="")
    return 0
