"""Sizing: for a schedule shape and a number of rounds, the best whole-batch schedule the budget affords.

A shape s_t and a size x give the schedule n_t(x) = round_down(x s_t) (whole batches, at least one);
as x grows the schedules form a chain, each one batch more than the last somewhere. For a fixed
shape the expected reward grows with the samples, so the best schedule of the chain is the last
one the budget affords, and sizing finds it exactly: first the x that would spend the budget if
rounds could keep fractions of a sample (under proportional selection the cost of a round depends
on the model at that round: a fixed-point iteration), then probes a few batches either side of it
and a bisection between chain members that ends at two neighbours, the last affordable member and
the first that is not. Where a noisier model scores higher (a start so far from the optimum that
the bias dominates) the first member, one batch per round, is kept if it is better.
Everything is vectorised: shapes (..., T_max) with a per-row round count.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from planner.problem import Problem
from planner.schedules import round_down

SLACK = 1e-12  # relative tolerance on "cost <= budget"
DENSE_ROUNDS = 48  # every round count up to this is searched at once; beyond it, a ladder refined around the best
BISECTIONS = 24  # a row still bracketing more than 2^-24 of log x keeps its last affordable member


@dataclasses.dataclass(frozen=True)
class Sized:
    """Best integer schedules for each row; rounds beyond a row's T are padding (n = 0)."""

    n0: np.ndarray  # (...,) size x of the schedule kept (n = round_down(x * shape)); nan where infeasible
    n: np.ndarray  # (..., T_max) kept per round, whole batches, 0 beyond the row's T
    cost: np.ndarray  # (...,) expected cost, <= budget where feasible
    gap: np.ndarray  # (...,) expected r_star - final reward; inf where infeasible


def spend(k: np.ndarray, shape: np.ndarray, spendable: np.ndarray, batch: int) -> np.ndarray:
    """Per row, the x >= 0 at which sum_t k_t max(batch, x s_t) = spendable (0 where one batch per
    round already costs more). The sum is piecewise linear in x with a knee where x s_t reaches a
    batch; past the j-th knee (in increasing order) those j rounds grow with x. Exact, vectorised.
    k: (R, T) cost per kept sample (0 for padding rounds), shape: (R, T) > 0, spendable: (R,)."""
    order = np.argsort(-shape, axis=-1)  # knees batch / s_t in increasing order (s_t = 0: never)
    shape, k = np.take_along_axis(shape, order, axis=-1), np.take_along_axis(k, order, axis=-1)
    rows = np.arange(len(shape))
    with np.errstate(divide="ignore", invalid="ignore"):
        knees = batch / shape
        slope = np.cumsum(k * shape, axis=-1)
        flat = batch * (k.sum(axis=-1, keepdims=True) - np.cumsum(k, axis=-1))
        j = np.maximum((flat + knees * slope <= spendable[:, None]).sum(axis=-1) - 1, 0)
        x = np.maximum((spendable - flat[rows, j]) / slope[rows, j], knees[rows, j])
        return np.where(flat[:, 0] + knees[:, 0] * slope[:, 0] <= spendable, np.nan_to_num(x), 0.0)


def _continuous(problem: Problem, shape: np.ndarray, mask: np.ndarray, spendable: np.ndarray,
                iterations: int = 30) -> np.ndarray:
    """The size x that would spend the budget if rounds could keep fractions of a sample above one
    batch: sum_t k_t max(batch, x s_t) = spendable, k_t = c_t + c_g E[1/acceptance_t] per kept sample.
    Under proportional selection k_t depends on the schedule: a fixed-point iteration, to 0.1 %
    (it only seeds the exact search)."""
    cm, batch = problem.costs, problem.batch
    k = np.full(shape.shape, cm.per_kept())
    x = np.zeros(len(shape))
    for _ in range(iterations if cm.selection == "proportional" else 1):
        new = spend(np.where(mask, k, 0.0), shape, spendable, batch)
        if np.allclose(new, x, rtol=1e-3, atol=0.0):
            break
        x = new
        k = cm.per_kept(problem.model.inverse_acceptance(np.maximum(x[:, None] * shape, batch)))
    return new


def size(problem: Problem, shape: np.ndarray, rounds: np.ndarray, only_best: bool = False) -> Sized:
    """The best affordable whole-batch schedule n_t = round_down(x * shape_t), t < rounds, per row.

    shape: (..., T_max) positive relative sizes with shape[..., 0] = 1; rounds: (...,) in 1..T_max.
    only_best: search exactly only the rows that may beat the best row (an optimistic gap, the
    continuous schedule a few batches per round larger than the budget allows, says which); the
    others keep one batch per round. For solvers, which want the best row only.
    """
    shape = np.asarray(shape, dtype=float)
    lead, width = shape.shape[:-1], shape.shape[-1]
    rounds = np.broadcast_to(np.asarray(rounds, dtype=int), lead).reshape(-1)
    shape = shape.reshape(-1, width)
    n0, cost, gap = (np.empty(len(rounds)) for _ in range(3))
    n = np.zeros((len(rounds), width))
    # Rows are sized in groups of similar T, each padded only to its longest (64, 128, 256, ...
    # rounds): with 1000 rounds, padding every row to 1000 would multiply the work.
    group = np.maximum(np.ceil(np.log2(np.maximum(rounds, 1))), 6)
    for g in np.unique(group):
        rows = np.nonzero(group == g)[0]
        longest = int(rounds[rows].max())
        n0[rows], n[rows, :longest], cost[rows], gap[rows] = _size_rows(problem, shape[rows, :longest], rounds[rows],
                                                                      only_best)
    return Sized(n0.reshape(lead), n.reshape(lead + (width,)), cost.reshape(lead), gap.reshape(lead))


def _size_rows(problem: Problem, shape: np.ndarray, rounds: np.ndarray, only_best: bool):
    """size() for rows (R, T) and their round counts (R,): (n0, n, cost, gap) as flat arrays."""
    mask = np.arange(shape.shape[-1]) < rounds[:, None]
    batch = problem.batch
    spendable = np.maximum(problem.budget - rounds * problem.costs.c_round, 0.0)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        # a huge base overflows: capped, such rounds are unaffordable anyway
        shape = np.where(mask, np.minimum(shape, 1e300), 1.0)
        chain = _Chain(problem, shape, mask, rounds)
        floor = chain.schedule(np.zeros(len(rounds)))
        floor_cost, floor_gap = chain.outcome(floor)
        floor_ok = floor_cost <= chain.limit
        # Every kept sample costs at least c_t + c_g (acceptance <= 1), which bounds x; the continuous
        # size is close to the end of the chain: rounding loses less than a batch per round above its
        # floor, so a margin of a batch per such round brackets it.
        hi = (spendable / (problem.costs.ct + problem.costs.cg) + batch * rounds) / shape.sum(axis=-1, where=mask)
        hi = hi * (1 + 1e-9) + batch
        guess = np.minimum(np.nan_to_num(_continuous(problem, shape, mask, spendable)), hi)
        above = mask & (guess[:, None] * shape >= batch)
        margin = batch * above.sum(axis=-1) / shape.sum(axis=-1, where=above, initial=1e-300)
        # lo: an affordable size (0 is one batch per round; nan: none known yet, for a model so poor
        # at one batch per round that its acceptance, and so the round's cost, blows up)
        lo, todo = np.where(floor_ok, 0.0, np.nan), np.arange(len(rounds))
        if only_best:
            # the rows in order of their optimistic gap, in chunks growing 4, 8, 16, ...: each chunk
            # searched exactly lowers the best gap known, until no row left can beat it
            optimistic = chain.outcome(np.maximum((guess + 4 * margin)[:, None] * shape, batch))[1]
            order, best, start, chunk = np.argsort(optimistic), np.min(floor_gap[floor_ok], initial=np.inf), 0, 4
            while start < len(order) and optimistic[order[start]] <= best:
                rows = order[start: start + chunk]
                rows = rows[optimistic[rows] <= best]
                chain.last_affordable(rows, lo, hi, guess, margin)
                found = rows[np.isfinite(lo[rows])]
                best = min(best, np.min(chain.outcome(chain.schedule(lo[found], found), found)[1], initial=np.inf))
                start, chunk = start + chunk, 2 * chunk
            todo = np.empty(0, dtype=int)
        chain.last_affordable(todo, lo, hi, guess, margin)
        feasible = np.isfinite(lo)
        top = chain.schedule(np.nan_to_num(lo))
        cost, gap = chain.outcome(top)
    keep_floor = floor_ok & (floor_gap < gap)
    n = np.where(keep_floor[:, None], floor, top)
    cost, gap = np.where(keep_floor, floor_cost, cost), np.where(keep_floor, floor_gap, gap)
    feasible &= cost <= chain.limit
    # the size reported for one batch per round: any x below the first step reproduces it
    x = np.where(keep_floor | (lo == 0), batch / shape.max(axis=-1, where=mask, initial=1.0) * (1 - 1e-9), lo)
    return (np.where(feasible, x, np.nan), np.where(mask & feasible[:, None], n, 0.0), np.where(feasible, cost, np.nan),
            np.where(feasible, gap, np.inf))


class _Chain:
    """The schedules round_down(x * shape) of each row (its T rounds, then padding) as x grows.
    A member starts just below an exact multiple of the batch (round_down's 1e-9 tolerance)."""

    def __init__(self, problem: Problem, shape: np.ndarray, mask: np.ndarray, rounds: np.ndarray):
        self.problem, self.shape, self.mask, self.rounds = problem, shape, mask, rounds
        self.batch, self.limit = problem.batch, problem.budget * (1 + SLACK)

    def _rows(self, rows):
        if rows is None:
            return self.shape, self.mask, self.rounds
        return self.shape[rows], self.mask[rows], self.rounds[rows]

    def schedule(self, x: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        shape, mask, _ = self._rows(rows)
        return np.where(mask, round_down(x[:, None] * shape, self.batch), float(self.batch))

    def outcome(self, n: np.ndarray, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Expected cost of each row's rounds and the gap after them."""
        _, mask, rounds = self._rows(rows)
        out = self.problem.outcome(n)
        gap = np.take_along_axis(out.gaps, rounds[:, None], axis=-1)[:, 0]
        return np.where(mask, out.round_costs, 0.0).sum(axis=-1), gap

    def cost(self, n: np.ndarray, rows: np.ndarray) -> np.ndarray:
        cm = self.problem.costs
        return np.where(self._rows(rows)[1], cm.price(n, cm.generated(self.problem.model, n)), 0.0).sum(axis=-1)

    def step(self, x: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Where the member after round_down(x * shape) starts (some round gains a batch)."""
        shape, mask, _ = self._rows(rows)
        kept = self.schedule(x, rows) / self.batch
        return np.where(mask, (kept + 1 - 0.5e-9) * self.batch / shape, np.inf).min(axis=-1)

    def start(self, n: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The smallest x whose schedule is n (0 for one batch per round)."""
        shape, mask, _ = self._rows(rows)
        kept = n / self.batch
        return np.where(mask & (kept > 1), (kept - 0.5e-9) * self.batch / shape, 0.0).max(axis=-1)

    def last_affordable(self, rows: np.ndarray, lo: np.ndarray, hi: np.ndarray, guess: np.ndarray,
                        margin: np.ndarray) -> None:
        """Move lo (affordable, or nan) and hi (not) of these rows until they are neighbours on the
        chain: probes at guess -+ margin, doubling outwards (downwards while lo is unknown), then
        bisection of log x."""
        probe, margin = guess.copy(), margin.copy()
        for _ in range(6):
            inside = rows[(probe[rows] < hi[rows]) & ~(probe[rows] <= lo[rows])]
            ok = self.cost(self.schedule(probe[inside], inside), inside) <= self.limit
            lo[inside[ok]] = probe[inside[ok]]
            above = inside[~ok][probe[inside[~ok]] > lo[inside[~ok]]]
            hi[above] = probe[above]
            margin *= 2
            probe = np.where(probe <= lo, probe + margin, np.maximum(probe - margin, 0.0))
        rows = rows[np.isfinite(lo[rows])]
        for _ in range(BISECTIONS):
            step = self.step(lo[rows], rows)
            going = step < hi[rows] * (1 - 1e-12)
            rows, step = rows[going], step[going]
            if not len(rows):
                return
            mid = np.sqrt(step * hi[rows])
            kept = self.schedule(mid, rows)
            ok = self.cost(kept, rows) <= self.limit
            lo[rows[ok]] = mid[ok]
            hi[rows[~ok]] = self.start(kept[~ok], rows[~ok])


def size_family(problem: Problem, shape_fn, params: np.ndarray, rounds: np.ndarray | None = None,
                only_best: bool = False) -> Sized:
    """Size every (param, T) pair for T in rounds (default 1..max_rounds): arrays with axes (P, len(rounds))."""
    rounds = np.arange(1, problem.max_rounds + 1) if rounds is None else np.asarray(rounds, dtype=int)
    t = np.arange(int(rounds.max()), dtype=float)
    params = np.asarray(params, dtype=float)
    with np.errstate(over="ignore"):
        shape = shape_fn(params[:, None, None], t[None, None, :]) * np.ones((1, len(rounds), 1))
    return size(problem, shape, np.broadcast_to(rounds[None, :], (len(params), len(rounds))), only_best)


def round_counts(max_rounds: int, dense: int = DENSE_ROUNDS) -> np.ndarray:
    """The round counts searched first: every T up to `dense`, then a geometric ladder to max_rounds
    (sizing all of 1..1000 at once would cost 1000 x 1000 rounds per parameter)."""
    ladder = np.geomspace(dense, max_rounds, dense // 4) if max_rounds > dense else []
    return np.unique(np.concatenate([np.arange(1, min(max_rounds, dense) + 1), np.round(ladder)])).astype(int)


def rounds_around(rounds: np.ndarray, best: int, dense: int = DENSE_ROUNDS) -> np.ndarray:
    """The round counts between best's neighbours in `rounds`: all of them, or `dense` evenly spread."""
    i = int(np.searchsorted(rounds, best))
    low, high = rounds[max(i - 1, 0)], rounds[min(i + 1, len(rounds) - 1)]
    if high - low < dense:
        return np.arange(low, high + 1)
    return np.unique(np.concatenate([np.round(np.linspace(low, high, dense)), [best]])).astype(int)
