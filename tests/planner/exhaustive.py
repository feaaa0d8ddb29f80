"""Independent references for small problems: the models' expectations written out again from
docs/theory.md, every whole-batch exponential schedule enumerated, and a local search over schedules
of any shape. No planner code is used here on purpose (the tests compare the planner against it)."""
from __future__ import annotations

import dataclasses
import math

BOX = 50.0  # enumerate log n0 in [-BOX, ...] and log base in [0, BOX]: every cell reaches inside


@dataclasses.dataclass(frozen=True)
class Small:
    """A problem as plain numbers: model kind and parameters, costs, budget, batch, rounds."""

    kind: str  # "gaussian" (theta0, sigma, kappa) or "surrogate" (r_star, g0, a, b, gamma)
    params: tuple[float, ...]
    cg: float
    ct: float
    c_round: float
    selection: str  # "proportional" or "fixed"
    ratio: float
    budget: float
    batch: int
    max_rounds: int

    def start(self) -> float:
        """The state before round 0: the variance of theta (Gaussian) or the gap (surrogate)."""
        return 0.0 if self.kind == "gaussian" else self.params[1]

    def step(self, t: int, state: float, n: float) -> tuple[float, float]:
        """Expected cost of round t keeping n from `state`, and the state after it."""
        if self.kind == "gaussian":
            theta0, sigma, kappa = self.params
            s2, rho = sigma**2 + kappa**2, kappa**2 / (sigma**2 + kappa**2)
            m = theta0 * rho**t
            inverse = (math.sqrt(s2 / (s2 - state)) * math.exp(m * m / (2 * (s2 - state))) / math.sqrt(rho)
                       if state < s2 else math.inf)
            after = rho * rho * state + rho * sigma**2 / n
        else:
            r_star, _, a, b, gamma = self.params
            inverse = 1.0 / (r_star - state) if state < r_star else math.inf
            after = a * state + b * n**-gamma
        per_generated = inverse if self.selection == "proportional" else self.ratio
        return self.cg * per_generated * n + self.ct * n + self.c_round, after

    def gap(self, t: int, state: float) -> float:
        """Expected r* - reward after t rounds."""
        if self.kind == "gaussian":
            theta0, sigma, kappa = self.params
            s2, rho = sigma**2 + kappa**2, kappa**2 / (sigma**2 + kappa**2)
            m = theta0 * rho**t
            return math.sqrt(rho) * (1 - math.sqrt(s2 / (s2 + state)) * math.exp(-m * m / (2 * (s2 + state))))
        return state

    def evaluate(self, n) -> tuple[float, float]:
        """(expected cost, expected final gap) of a schedule."""
        state, cost = self.start(), 0.0
        for t, k in enumerate(n):
            c, state = self.step(t, state, float(k))
            cost += c
        return cost, self.gap(len(n), state)


def _clip(poly: list, a: float, b: float, c: float) -> list:
    """The part of a convex polygon where a x + b y <= c (Sutherland-Hodgman)."""
    out = []
    for i, p in enumerate(poly):
        q = poly[(i + 1) % len(poly)]
        fp, fq = a * p[0] + b * p[1] - c, a * q[0] + b * q[1] - c
        if fp <= 0:
            out.append(p)
        if fp * fq < 0:
            s = fp / (fp - fq)
            out.append((p[0] + s * (q[0] - p[0]), p[1] + s * (q[1] - p[1])))
    return out


def _area(poly: list) -> float:
    return 0.5 * abs(sum(p[0] * q[1] - q[0] * p[1] for p, q in zip(poly, poly[1:] + poly[:1])))


def best_exponential(p: Small) -> tuple[float, tuple[int, ...], int]:
    """Smallest gap over every affordable schedule n_t = batch * max(1, floor(n0 u^t / batch)),
    u >= 1, T <= max_rounds: a depth-first walk over the cells of the lines log(n0/batch) + t log u =
    log k (one cell per schedule). Returns (gap, schedule, number of schedules visited)."""
    most = int(p.budget / (p.batch * (p.ct + p.cg)))  # no round keeps more batches than the budget buys
    top = math.log(most + 2)
    root = [(-BOX, 0.0), (top, 0.0), (top, BOX), (-BOX, BOX)]  # (log n0/batch, log u)
    best, visited = (math.inf, ()), 0
    stack = [(root, p.start(), 0.0, ())]
    while stack:
        poly, state, cost, prefix = stack.pop()
        t = len(prefix)
        if t:
            visited += 1
            best = min(best, (p.gap(t, state), prefix))
        if t == p.max_rounds:
            continue
        z = [x + t * y for x, y in poly]
        for k in range(max(1, int(math.exp(min(min(z), top)))), int(math.exp(min(max(z), top))) + 1):
            cell = _clip(poly, 1.0, t, math.log(k + 1))  # floor(n0 u^t / batch) <= k, and >= k unless k = 1
            cell = _clip(cell, -1.0, -t, -math.log(k)) if k > 1 else cell
            if len(cell) < 3 or _area(cell) < 1e-13:
                continue
            c, after = p.step(t, state, float(k * p.batch))
            if cost + c <= p.budget:
                stack.append((cell, after, cost + c, prefix + (k * p.batch,)))
    return best[0], best[1], visited


def best_any_shape(p: Small, start: list[tuple[int, ...]]) -> tuple[float, tuple[int, ...]]:
    """A local search over whole-batch schedules of any shape and T <= max_rounds, from each start
    and from greedy fills: add a batch where it buys the most gap per cost, move a batch between
    rounds, drop or add a round, until no move helps."""
    b = p.batch
    starts = [tuple(s) for s in start]
    for T in range(1, p.max_rounds + 1):  # greedy fill from one batch per round
        n = [b] * T
        if p.evaluate(n)[0] > p.budget:
            break
        while True:
            cost, gap = p.evaluate(n)
            options = []
            for t in range(T):
                m = n.copy()
                m[t] += b
                c, g = p.evaluate(m)
                if c <= p.budget and g < gap:
                    options.append(((gap - g) / max(c - cost, 1e-12), m))
            if not options:
                break
            n = max(options, key=lambda o: o[0])[1]
        starts.append(tuple(n))
    best = (math.inf, ())
    for s in starts:
        best = min(best, _descend(p, list(s)))
    return best


def _descend(p: Small, n: list[int]) -> tuple[float, tuple[int, ...]]:
    """Steepest descent from n over single moves (one batch added, removed or moved; a round added
    or dropped) that keep the cost within the budget."""
    b = p.batch
    current = p.evaluate(n)[1]
    while True:
        moves = []
        T = len(n)
        for i in range(T):
            for d in (b, -b):
                if n[i] + d >= b:
                    m = n.copy()
                    m[i] += d
                    moves.append(m)
            for j in range(T):
                if i != j and n[j] > b:
                    m = n.copy()
                    m[i] += b
                    m[j] -= b
                    moves.append(m)
        if T > 1:
            moves += [n[:i] + n[i + 1:] for i in range(T)]
        if T < p.max_rounds:
            moves += [n[:i] + [b] + n[i:] for i in range(T + 1)]
        scored = [(g, m) for m in moves for c, g in [p.evaluate(m)] if c <= p.budget]
        if not scored:
            return current, tuple(n)
        g, m = min(scored, key=lambda s: s[0])
        if g >= current * (1 - 1e-12):
            return current, tuple(n)
        current, n = g, m
