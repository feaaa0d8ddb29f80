"""Plots for `plan --plot`: samples per round of each strategy, and predicted gap vs budget."""
from __future__ import annotations

import dataclasses
import io
import os
from typing import Any

import numpy as np

from planner.jsonio import atomic_write_bytes
from planner.plan import Plan, compare


def two_panels(height: float) -> tuple[Any, Any, Any]:
    """A matplotlib figure 11 inches wide with two panels side by side, drawn off screen: (fig, left, right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, height))
    return fig, left, right


def write_png(fig: Any, path: str | os.PathLike, dpi: int) -> None:
    """Lay the figure out, write it to path as a PNG (atomically) and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=dpi)
    plt.close(fig)
    atomic_write_bytes(path, png.getvalue())


def plot_plans(plans: list[Plan], path: str | os.PathLike, budgets: int = 10) -> None:
    """Write a PNG: left, n_t per round of each plan; right, each strategy's gap over budgets."""
    problem = plans[0].problem
    fig, left, right = two_panels(4.2)
    for p in plans:
        left.plot(range(p.schedule.rounds), p.schedule.n, marker="o", ms=3, label=p.schedule.strategy)
    left.set(yscale="log", xlabel="round t", ylabel="kept samples n_t", title="schedules at the full budget")
    left.legend()
    smallest = float(problem.costs.total(problem.model, np.array([float(problem.batch)]))) * 4
    sweep = np.geomspace(min(smallest, problem.budget), problem.budget, budgets)
    gaps = np.array([[p.gap for p in compare(dataclasses.replace(problem, budget=float(b)))] for b in sweep])
    for i, p in enumerate(plans):
        right.plot(sweep, gaps[:, i], marker="o", ms=3, label=p.schedule.strategy)
    right.set(xscale="log", yscale="log", xlabel="budget (cost units)", ylabel="predicted gap r* - r",
              title="predicted remaining gap vs budget")
    right.legend()
    write_png(fig, path, dpi=110)
