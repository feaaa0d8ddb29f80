"""A task's prior: the model kind that best predicts held-out runs (planner/selection.py), fitted to
every measured round of a strategy study's hand-picked runs (constant, linear, exponential; every
seed), written as the prior file `plan --task NAME` plans from when no --model is given.

    python3 benchmarks/fit_task_prior.py benchmarks/results/ddpm_study_360.json \
        benchmarks/results/ddpm_study.json --out bootstrapper/assets/priors/ddpm.json
    python3 benchmarks/fit_task_prior.py benchmarks/results/llm_study_2026-11-26.json \
        --out bootstrapper/assets/priors/llm.json

The runs of different shapes pooled together vary n_t from round to round, which is what lets
the fit tell the contraction a from the noise b. A study's curves record each round's spend and
held-out metrics; the kept count of a round is its planned n (the hand-picked plans spend their
whole budget, so no round of theirs was trimmed; a run shorter than its plan is refused). The
tuned runs are left out: in the studies the priors name they started from a pilot's checkpoint,
not from the shipped model, and a tuned run's rounds follow its replans, not a plan in the file.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bootstrapper.tasks import get_task  # noqa: E402
from planner.jsonio import atomic_write_json, read_json  # noqa: E402
from planner.observations import Observations  # noqa: E402
from planner.priors import fit_prior  # noqa: E402
from planner.rounds import RoundRecord  # noqa: E402
from planner.validate import InputError  # noqa: E402


def reward_of(point) -> float:
    """A curve point's held-out reward: [spent, reward] in older studies, {spent, metrics...} now."""
    return float(point[1] if isinstance(point, list) else point["reward"])


def study_runs(study: dict) -> list[Observations]:
    """Each hand-picked run of the study as the fit's observations: kept as logged in its curve (older
    studies log none: the planned n), each round's optimizer steps as the study's task runs them for
    that many samples (the studies predate logging them)."""
    task = get_task(study["task"]).from_json(study["task_config"])
    runs = []
    for label, schedule in study["plans"].items():
        for curve in study["curves"][label]:
            if len(curve) != len(schedule):
                raise InputError(f"a {label} run has {len(curve)} rounds, its plan {len(schedule)}: a round was cut")
            kept = [point.get("kept", n) if isinstance(point, dict) else n for n, point in zip(schedule, curve)]
            records = [RoundRecord(round=t, n=n, kept=k, generated=k, reward=reward_of(point),
                                   steps=task.train_steps(k))
                       for t, (n, k, point) in enumerate(zip(schedule, kept, curve))]
            runs.append(Observations.from_log(records, study["initial"]))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("study", type=Path, nargs="+",
                        help="results/<task>_study.json files of benchmarks/task_strategies.py (one task, one start)")
    parser.add_argument("--out", type=Path, required=True, help="the prior file to write")
    args = parser.parse_args()
    studies = [read_json(path, "study results") for path in args.study]
    first = studies[0]
    for key in ("task", "task_config", "initial"):
        if any(study[key] != first[key] for study in studies):
            raise InputError(f"the studies differ in {key}: a prior is for one task started from one model")
    runs = [run for study in studies for run in study_runs(study)]
    shapes = list(dict.fromkeys(name for study in studies for name in study["plans"]))  # every study's, in order
    source = {"what": f"{len(runs)} runs of {', '.join(shapes)} schedules from the shipped model, "
                      f"{', '.join(study['machine']['when'][:10] for study in studies)}",
              "study": [path.name for path in args.study], "command": [study["command"] for study in studies],
              "measured": [study["machine"]["when"] for study in studies], "task_config": first["task_config"],
              "initial": first["initial"], "schedules": [study["plans"] for study in studies],
              "kept": "as each study logs it (the 360 s DDPM and the LLM studies: the planned n)"}
    prior = fit_prior(first["task"], runs, source)
    atomic_write_json(args.out, prior.to_json())
    estimates = ", ".join(f"{k} {v['value']:.4g} [{v['low']:.3g}, {v['high']:.3g}]"
                          for k, v in prior.fit["estimates"].items() if v["low"] is not None)
    selection = prior.fit["selection"]
    for kind in selection["scores"]:
        said = kind["skipped"] or f"held-out error {kind['error']:.4g} (rank correlation {kind['rank']})"
        print(f"  {kind['kind']}: {said}")
    print(f"  {selection['verdict']} ({selection['method']})")
    print(f"{first['task']}: {prior.source['rounds']} rounds of {len(runs)} runs; {estimates}; one-round rmse "
          f"{prior.fit['rmse']:.3g}, R^2 {prior.fit['r2']:.3f}\nwrote {args.out}")


if __name__ == "__main__":
    try:
        main()
    except InputError as e:
        sys.exit(f"fit_task_prior: {e}")
