"""Polish: a local search over whole-batch schedules of any shape, from the best of every family.

An exponential schedule cannot pair a tiny first round with large later ones (where the first
round's acceptance is tiny, say), and no family fits every model. The polish searches shapes
directly: the log of the best schedule's shape is moved by +-step along a few hat functions over
the rounds (every round when T is small), a round is dropped or added at either end, and every
candidate shape is sized to the budget exactly (planner.sizing: its best affordable whole-batch
schedule); the step halves when no move helps. Last, single batches are added where the budget
left over allows, or moved between rounds, while that lowers the gap.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from planner.problem import Problem
from planner.sizing import SLACK, size

KNOTS = 24  # hat functions over the rounds: every round of a schedule up to this long
STEPS = (1.0, 0.5, 0.25, 0.12, 0.06, 0.03, 0.015)  # log-shape moves, coarse to fine
MAX_MOVES = 40  # sizings in all: a bound on the time the polish takes (5-20 ms each at T = 40) ...
MOVE_ROUNDS = 4000  # ... and on the rounds of a candidate summed over the moves: fewer moves past T = 100
PAIRS_UP_TO = 24  # batches are moved between every pair of rounds only in schedules this short
EXCHANGES = 16  # single-batch moves at most ...
EXCHANGE_UP_TO = 64  # ... in schedules this short (in longer ones a batch is nothing)


def _hats(rounds: int) -> np.ndarray:
    """(K, T) piecewise-linear hat functions with knots spread over the T rounds (K = min(T, KNOTS))."""
    knots = np.unique(np.round(np.linspace(0, rounds - 1, min(rounds, KNOTS))))
    t = np.arange(rounds)
    return np.stack([np.interp(t, knots, np.eye(len(knots))[k]) for k in range(len(knots))])


def _candidates(problem: Problem, n: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Shapes around the schedule n: (rows, T+1) padded with 1, and each row's round count."""
    T = len(n)
    log = np.log(n)
    hats = _hats(T)
    moved = np.concatenate([log + step * hats, log - step * hats])
    rows = [np.pad(m, (0, 1), constant_values=0.0) for m in moved]
    counts = [T] * len(rows)
    if T > 1:  # drop the first or the last round
        rows += [np.pad(log[1:], (0, 2)), np.pad(log[:-1], (0, 2))]
        counts += [T - 1, T - 1]
    if T < problem.max_rounds:  # repeat the first or the last round
        rows += [np.concatenate([log[:1], log]), np.concatenate([log, log[-1:]])]
        counts += [T + 1, T + 1]
    shapes = np.exp(np.array(rows))
    return shapes / shapes[:, :1], np.array(counts)


def _outcome(problem: Problem, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected cost and final gap of the schedule(s) n."""
    out = problem.outcome(n)
    return out.cost, out.gap


def _exchange(problem: Problem, n: np.ndarray, gap: float) -> tuple[np.ndarray, float]:
    """Add a batch to a round, or move one from a round to another (short schedules only), while a
    move stays affordable and lowers the gap."""
    b, T, limit = problem.batch, len(n), problem.budget * (1 + SLACK)
    eye = np.eye(T) * b
    for _ in range(EXCHANGES if T <= EXCHANGE_UP_TO else 0):
        moves = [n + eye]
        if T <= PAIRS_UP_TO:
            moves.append((n + eye[:, None, :] - eye[None, :, :]).reshape(-1, T))
        m = np.concatenate(moves)
        m = m[(m >= b).all(axis=-1)]
        cost, gaps = _outcome(problem, m)
        gaps = np.where(cost <= limit, gaps, np.inf)
        i = int(np.argmin(gaps))
        if not gaps[i] < gap * (1 - 1e-12):
            break
        n, gap = m[i], float(gaps[i])
    return n, gap


def polish(problem: Problem, starts: Sequence[np.ndarray]) -> tuple[np.ndarray, float]:
    """The best whole-batch schedule the search finds from the affordable starts, and its gap."""
    scored = [(float(g), np.asarray(s, dtype=float)) for s in starts
              for c, g in [_outcome(problem, np.asarray(s, dtype=float))] if c <= problem.budget * (1 + SLACK)]
    gap, n = min(scored, key=lambda s: s[0])
    moves, most = 0, min(MAX_MOVES, MOVE_ROUNDS // len(n))
    for step in STEPS:
        while moves < most:
            moves += 1
            shapes, counts = _candidates(problem, n, step)
            sized = size(problem, shapes, counts, only_best=True)
            i = int(np.argmin(sized.gap))
            if not sized.gap[i] < gap * (1 - 1e-12):
                break
            n, gap = sized.n[i, : counts[i]], float(sized.gap[i])
    return _exchange(problem, n, gap)
