"""A task's prior: the surrogate fitted to every measured round of a strategy study's hand-picked
runs (constant, linear, exponential; every seed), written as the prior file `plan --task NAME`
plans from when no --model is given.

    python3 benchmarks/fit_task_prior.py benchmarks/results/ddpm_study_360.json \
        --out bootstrapper/assets/priors/ddpm.json
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

from planner.fit import Observations  # noqa: E402
from planner.jsonio import atomic_write_json, read_json  # noqa: E402
from planner.priors import fit_prior  # noqa: E402
from planner.rounds import RoundRecord  # noqa: E402
from planner.validate import InputError  # noqa: E402


def reward_of(point) -> float:
    """A curve point's held-out reward: [spent, reward] in older studies, {spent, metrics...} now."""
    return float(point[1] if isinstance(point, list) else point["reward"])


def study_runs(study: dict) -> list[Observations]:
    """Each hand-picked run of the study as the fit's observations (kept = the planned n)."""
    runs = []
    for label, schedule in study["plans"].items():
        for curve in study["curves"][label]:
            if len(curve) != len(schedule):
                raise InputError(f"a {label} run has {len(curve)} rounds, its plan {len(schedule)}: a round was cut")
            records = [RoundRecord(round=t, n=n, kept=n, generated=n, reward=reward_of(point))
                       for t, (n, point) in enumerate(zip(schedule, curve))]
            runs.append(Observations.from_log(records, study["initial"]))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("study", type=Path, help="a results/<task>_study.json of benchmarks/task_strategies.py")
    parser.add_argument("--out", type=Path, required=True, help="the prior file to write")
    args = parser.parse_args()
    study = read_json(args.study, "study results")
    runs = study_runs(study)
    source = {"what": f"{len(runs)} runs of {', '.join(study['plans'])} schedules from the shipped model, "
                      f"{study['machine']['when'][:10]}",
              "study": args.study.name, "command": study["command"],
              "measured": study["machine"]["when"], "task_config": study["task_config"],
              "initial": study["initial"], "schedules": study["plans"],
              "kept": "each round's planned n (the study logs spend and reward per round)"}
    prior = fit_prior(study["task"], runs, source)
    atomic_write_json(args.out, prior.to_json())
    estimates = ", ".join(f"{k} {v['value']:.4g} [{v['low']:.3g}, {v['high']:.3g}]"
                          for k, v in prior.fit["estimates"].items() if v["low"] is not None)
    print(f"{study['task']}: {prior.source['rounds']} rounds of {len(runs)} runs; {estimates}; one-round rmse "
          f"{prior.fit['rmse']:.3g}, R^2 {prior.fit['r2']:.3f}\nwrote {args.out}")


if __name__ == "__main__":
    try:
        main()
    except InputError as e:
        sys.exit(f"fit_task_prior: {e}")
