"""report.png: the measured and predicted reward gap per round, and spending against the budget."""
from __future__ import annotations

import os

from planner.plot import two_panels, write_png
from planner.rounds import RoundRecord


def plot_run(history: list[RoundRecord], budget: float, initial: tuple[float, float], r_star: float,
             path: str | os.PathLike) -> None:
    """Write a PNG of the reward gap to the plan's r* per round (measured and predicted, log axis) and
    of cumulative spending.

    initial: (measured, predicted) reward before round 0. A measured reward at or above r* has no gap
    to draw on a log axis: the figure says so instead."""
    rounds = [-1] + [r.round for r in history]
    fig, left, right = two_panels(4)
    gap = lambda values: [float("nan") if v is None or v >= r_star else r_star - v for v in values]
    measured = [initial[0]] + [r.reward for r in history]
    left.plot(rounds, gap(measured), "o-", label="measured")
    predicted = [initial[1]] + [r.predicted_reward for r in history]
    left.plot(rounds, gap(predicted), "s--", label="predicted by the plan")
    above = [t for t, v in zip(rounds, measured) if v is not None and v >= r_star]
    if above:
        left.text(0.02, 0.02, f"measured reward at or above the plan's r* after round(s) {above}",
                  transform=left.transAxes, fontsize=8)
    left.set(xlabel="round (-1 = before training)", ylabel=f"gap r* - reward (r* = {r_star:.4g})", yscale="log",
             title="remaining reward gap per round")
    left.legend()
    right.bar([r.round for r in history], [r.cost for r in history], label="round cost")
    right.plot([r.round for r in history], [r.spent for r in history], "k.-", label="spent (cumulative)")
    right.axhline(budget, color="r", ls=":", label="budget")
    right.set(xlabel="round", ylabel="cost units", yscale="log", title="spending")
    right.legend()
    write_png(fig, path, dpi=100)
