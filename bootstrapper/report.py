"""report.png: measured vs predicted reward per round, and spending against the budget."""
from __future__ import annotations

import os

from planner.plot import two_panels, write_png
from planner.rounds import RoundRecord


def plot_run(history: list[RoundRecord], budget: float, initial: tuple[float, float], path: str | os.PathLike) -> None:
    """Write a PNG of reward per round (measured and predicted) and cumulative spending.

    initial: (measured, predicted) reward before round 0."""
    rounds = [-1] + [r.round for r in history]
    fig, left, right = two_panels(4)
    nan = lambda values: [float("nan") if v is None else v for v in values]  # a round not evaluated / not planned
    left.plot(rounds, nan([initial[0]] + [r.reward for r in history]), "o-", label="measured")
    left.plot(rounds, nan([initial[1]] + [r.predicted_reward for r in history]), "s--", label="predicted by the plan")
    left.set(xlabel="round (-1 = before training)", ylabel="reward", title="reward per round")
    left.legend()
    right.bar([r.round for r in history], [r.cost for r in history], label="round cost")
    right.plot([r.round for r in history], [r.spent for r in history], "k.-", label="spent (cumulative)")
    right.axhline(budget, color="r", ls=":", label="budget")
    right.set(xlabel="round", ylabel="cost units", yscale="log", title="spending")
    right.legend()
    write_png(fig, path, dpi=100)
