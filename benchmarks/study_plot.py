"""The strategy study's figure: reward vs compute for every run, then each strategy's final metrics
as mean ± SE over seeds on axes fitted to the values (not from zero), so a 0.3 dB spread shows."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.common import figure, save_figure
from planner.costs import CostModel


def plot(curves: dict, rows: list[dict], initial: dict, path: Path, task: str, costs: CostModel) -> None:
    """Left: held-out reward vs compute, one line per run. Then one panel per final metric (reward,
    and PSNR or the accuracy of each problem level where the task reports them): mean ± SE by strategy."""
    metrics = ["reward"] + [k for k in sorted(rows[0]["metrics"]) if k == "psnr" or k.startswith("acc_")]
    fig, axes = figure(1, 1 + len(metrics), figsize=(5 + 3.6 * len(metrics), 4))
    left = axes[0]
    for i, (label, runs) in enumerate(curves.items()):
        for j, run in enumerate(runs):
            left.plot([0] + [p["spent"] for p in run], [initial["reward"]] + [p["reward"] for p in run],
                      marker=".", color=f"C{i}", alpha=0.8, label=label if j == 0 else None)
    left.set(xlabel="compute spent (s)", ylabel="held-out reward")
    left.set_title(f"{task}: reward vs compute\nc_g {costs.cg:.3g} s, c_t {costs.ct:.3g} s per sample, "
                   f"{costs.c_round:.3g} s per round", fontsize=9)
    left.legend(fontsize=7)
    where = np.arange(len(rows))
    for ax, metric in zip(axes[1:], metrics):
        mean = [r["metrics"][metric] for r in rows]
        se = [r["metrics_se"][metric] or 0.0 for r in rows]
        ax.errorbar(where, mean, yerr=se, fmt="o", capsize=4)
        ax.set_xticks(where, [r["strategy"] for r in rows], rotation=25, fontsize=7, ha="right")
        ax.set(ylabel=f"final {metric} (mean ± SE over seeds)", title=f"final {metric}, same compute")
        ax.grid(axis="y", alpha=0.3)
    save_figure(fig, path)
