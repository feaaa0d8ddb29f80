"""Which reward model ranks the DDPM task's schedules right: each 720 s strategy held out in turn,
every model kind fitted to the 360 s study and the other five 720 s strategies, and asked for the
held-out strategy's final reward on the schedules its runs actually ran.

    python3 benchmarks/ddpm_models.py            # about a minute; writes results/ddpm_models.json

Scores (per kind): among the pairs of strategies whose measured finals differ by more than 2
combined SE, the share ordered right; Spearman's rank correlation of predicted and measured finals;
the mean absolute error of the predicted finals. The step clock reads each round's optimizer steps
as ceil(kept / train_batch) (the studies predate logging them); the 360 s study's tuned runs started
from a pilot's checkpoint, not the shipped model, and are left out.
"""
from __future__ import annotations

import argparse
import dataclasses
import itertools
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS, save, table  # noqa: E402
from planner.fit import Observations, fit  # noqa: E402
from planner.jsonio import read_json  # noqa: E402
from planner.models.stepclock import StepClockModel  # noqa: E402
from planner.models.stepclock_fit import Runs, fit_runs  # noqa: E402

TUNED = "planner (tuned)"


def runs_of(study: dict) -> list[tuple[str, list[int], list[float]]]:
    """(strategy, kept per round, held-out reward before round 0 and after each round) of every run
    that started from the shipped model (older studies log no kept count: the plan's n is it)."""
    out = []
    for label, curves in study["curves"].items():
        if label == TUNED and isinstance(curves[0][0], list):  # the 360 s study's tuned runs: from a pilot
            continue
        for curve in curves:
            kept = ([point["kept"] for point in curve] if isinstance(curve[0], dict)
                    else study["plans"][label][:len(curve)])
            rewards = [point["reward"] if isinstance(point, dict) else point[1] for point in curve]
            out.append((label, kept, [study["initial"]["reward"], *rewards]))
    return out


def step_clock_runs(runs: list, train_batch: int) -> Runs:
    """The runs as the step clock's fit reads them: optimizer steps per round and the readings."""
    return Runs(tuple(np.array([math.ceil(n / train_batch) for n in kept], dtype=float) for _, kept, _ in runs),
                tuple(np.array(rewards) for _, _, rewards in runs))


def step_clock(stale: bool):
    """Finals of the held-out runs by the step clock (with or without staleness) fitted to the training runs."""
    def predict(train: list, held: list, train_batch: int) -> list[float]:
        model = StepClockModel.from_theta(fit_runs(step_clock_runs(train, train_batch), stale)[0], stale, train_batch)
        return [float(model.trajectory(np.array(kept, dtype=float))[-1]) for _, kept, _ in held]
    return predict


def predict_surrogate(train: list, held: list, train_batch: int) -> list[float]:
    """Finals of the held-out runs by the surrogate fitted to the training runs' transitions."""
    obs = Observations.pool([Observations.from_log(
        [{"round": t, "n": n, "kept": n, "generated": n, "reward": r} for t, (n, r) in enumerate(zip(kept, rw[1:]))],
        {"reward": rw[0]}) for _, kept, rw in train])
    model = fit(obs, "surrogate").model
    out = []
    for _, kept, rewards in held:
        start = dataclasses.replace(model, g0=min(max(model.r_star - rewards[0], 0.0), 0.999 * model.r_star))
        out.append(float(start.trajectory(np.array(kept, dtype=float))[-1]))
    return out


KINDS = {"surrogate": predict_surrogate, "step-clock": step_clock(False), "step-clock, stale": step_clock(True)}


def scores(predicted: dict[str, float], measured: dict[str, tuple[float, float]]) -> dict:
    """Pairs > 2 SE ordered right, Spearman's rank correlation, mean absolute error."""
    from scipy.stats import spearmanr

    labels = list(measured)
    pairs = [(a, b) for a, b in itertools.combinations(labels, 2)
             if abs(measured[a][0] - measured[b][0]) > 2 * math.hypot(measured[a][1], measured[b][1])]
    right = sum((predicted[a] - predicted[b]) * (measured[a][0] - measured[b][0]) > 0 for a, b in pairs)
    rho = spearmanr([predicted[k] for k in labels], [measured[k][0] for k in labels]).statistic
    return {"pairs": len(pairs), "ordered_right": right, "share_right": right / len(pairs) if pairs else None,
            "spearman": float(rho), "mae": float(np.mean([abs(predicted[k] - measured[k][0]) for k in labels]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    args = parser.parse_args()
    short = read_json(RESULTS / "ddpm_study_360.json", "the 360 s DDPM study")
    study = read_json(RESULTS / "ddpm_study.json", "the 720 s DDPM study")
    train_batch = int(study["task_config"]["train_batch"])
    base, runs = runs_of(short), runs_of(study)
    measured = {}
    for label in dict.fromkeys(r[0] for r in runs):
        finals = np.array([rw[-1] for lab, _, rw in runs if lab == label])
        measured[label] = (float(finals.mean()), float(finals.std(ddof=1) / np.sqrt(len(finals))))
    predicted = {kind: {} for kind in KINDS}
    for label in measured:  # leave one strategy out
        train = base + [r for r in runs if r[0] != label]
        held = [r for r in runs if r[0] == label]
        for kind, predict in KINDS.items():
            predicted[kind][label] = float(np.mean(predict(train, held, train_batch)))
    rows = [{"kind": kind, **scores(predicted[kind], measured)} for kind in KINDS]
    print(table([{"strategy": k, "measured": m, "se": s, **{kind: predicted[kind][k] for kind in KINDS}}
                 for k, (m, s) in measured.items()],
                [("strategy", ""), ("measured", ".4f"), ("se", ".4f")] + [(kind, ".4f") for kind in KINDS]))
    print(table(rows, [("kind", ""), ("pairs", "d"), ("ordered_right", "d"), ("spearman", ".2f"), ("mae", ".4f")]))
    print(f"wrote {save('ddpm_models', {'measured': measured, 'predicted': predicted, 'scores': rows}, args.out)}")


if __name__ == "__main__":
    main()
