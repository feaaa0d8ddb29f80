"""The free-form optimum: the best schedule of any shape, estimated, and a bound no schedule beats.

After T rounds both models' state depends on the schedule only through the noise term
V = sum_t w_t n_t^-gamma (model.noise_weights). With a cost k_t per kept sample, choosing n_t
freely to minimise V is convex:
    minimise sum_t w_t n_t^-gamma  s.t.  sum_t k_t n_t <= budget - T c_round,  n_t >= batch,
solved exactly by water-filling: n_t = max(batch, mu (gamma w_t / k_t)^(1/(1+gamma))), with mu
set by the budget (planner.sizing.spend). Two numbers come out of it:
* the estimate: with k_t = c_t + c_g E[1/acceptance_t] of the schedule itself (a fixed point of
  solve, recompute k_t, solve), a continuous schedule that fits the budget; its predicted reward
  is reachable, but under proportional selection it is not the best (early samples also make
  later rounds cheaper, which the fixed point ignores). `--certifier cvxpy` solves the same
  programs with a generic conic solver (checked against the KKT path in the tests).
* the bound: with every k_t replaced by a floor no schedule goes below (E[1/acceptance_t] at the
  least noise the budget allows after t rounds, tightened by iteration), the least V any affordable
  schedule can reach, and then the best reward over the noise terms it can have (far from the
  optimum a noisier Gaussian model scores higher). No schedule of any shape, T <= max_rounds, is
  predicted to reach more; under fixed-ratio selection or c_g = 0 the floor is the cost itself.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from planner.problem import Problem
from planner.schedules import Schedule
from planner.sizing import round_counts, rounds_around, size, spend
from planner.solvers._base import InfeasibleError
from planner.validate import InputError

METHODS = ("kkt", "cvxpy")
CONIC_SOLVERS = ("CLARABEL", "ECOS", "SCS")  # tried first, in this order, by --certifier cvxpy


@dataclasses.dataclass(frozen=True)
class Certificate:
    """The free-form estimate (continuous n_t, any shape) and the bound no schedule beats."""

    method: str
    n: tuple[float, ...]  # the estimate's kept samples per round
    reward: float  # the estimate's predicted final reward, its gap and expected cost
    gap: float
    cost: float
    bound_reward: float | None = None  # None in plan files written before the bound was computed
    bound_gap: float | None = None

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def _weights(problem: Problem, rounds: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Noise weights of each row's T rounds, padded with 0: (R, T_max), gamma, mask."""
    width = int(rounds.max())
    w = np.zeros((len(rounds), width))
    for i, T in enumerate(rounds):
        w[i, :T] = problem.model.noise_weights(int(T))[0]
    return w, problem.model.noise_weights(1)[1], np.arange(width) < rounds[:, None]


def _water_fill(w, gamma, k, spendable, batch, mask) -> np.ndarray:
    """The KKT solution of each row (padding rounds cost nothing and are kept at one batch)."""
    k = np.where(mask, k, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(mask, (gamma * w / k) ** (1 / (1 + gamma)), 1.0)
    return np.maximum(batch, spend(k, share, spendable, batch)[:, None] * share)


def _cvxpy_fill(w, gamma, k, spendable, batch, mask) -> np.ndarray:
    """The same programs, one per row, solved by cvxpy (an independent check of the KKT path)."""
    import cvxpy as cp

    out = np.full(w.shape, float(batch))
    for row in np.ndindex(spendable.shape):
        T = int(mask[row].sum())
        kt, budget = k[row][:T], spendable[row]
        if budget < batch * kt.sum():
            continue
        # Solve for x_t = k_t n_t / budget (the share of the budget spent on round t), with the
        # weights scaled to a maximum of 1: n spans many decades and conic solvers want O(1).
        x = cp.Variable(T)
        coef = w[row][:T] * (kt / budget) ** gamma
        coef = coef / coef.max()
        noise = coef @ (cp.inv_pos(x) if gamma == 1 else cp.power(x, -gamma))
        _solve(cp.Problem(cp.Minimize(noise), [cp.sum(x) <= 1, x >= batch * kt / budget]), T)
        out[row][:T] = np.maximum(x.value * budget / kt, batch)
    return out


def _solve(program, rounds: int) -> None:
    """Solve with the first of cvxpy's installed solvers that finds a solution, the conic ones first.
    Their warnings are silenced: the status says what counts. A solution CLARABEL calls inaccurate is
    kept (it stays within 1e-3 of the exact KKT gap, tests/planner/test_certificate.py), which a
    looser solver's "optimal" need not; one sentence when no solver finds one."""
    import warnings

    import cvxpy as cp

    installed = cp.installed_solvers()
    tried = []
    for solver in [s for s in CONIC_SOLVERS if s in installed] + [s for s in installed if s not in CONIC_SOLVERS]:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                program.solve(solver=solver)
        except (cp.error.SolverError, ValueError, ArithmeticError) as e:
            tried.append(f"{solver}: {type(e).__name__}")
            continue
        if program.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
            return
        tried.append(f"{solver}: {program.status}")
    raise InputError(f"cvxpy found no solution of the {rounds}-round free-form program ({', '.join(tried)}); "
                     "use --certifier kkt, which solves it exactly")


def _estimate(problem: Problem, rounds: np.ndarray, method: str,
              iterations: int = 30) -> tuple[float, tuple[float, ...], float]:
    """The fixed-point free-form schedule of the best T in rounds: (gap, n, cost); gap inf where none
    fits the budget."""
    cm = problem.costs
    w, gamma, mask = _weights(problem, rounds)
    spendable = np.maximum(problem.budget - rounds * cm.c_round, 0.0)
    fill = _water_fill if method == "kkt" else _cvxpy_fill
    k = np.full(w.shape, cm.per_kept())
    n = fill(w, gamma, k, spendable, problem.batch, mask)
    for _ in range(iterations if cm.selection == "proportional" and cm.cg > 0 else 0):
        k_new = cm.per_kept(np.minimum(problem.model.inverse_acceptance(n), 1e12))
        if np.allclose(k_new, k, rtol=1e-10):
            break
        k = k_new
        n = fill(w, gamma, k, spendable, problem.batch, mask)
    out = problem.outcome(n)
    cost = np.where(mask, out.round_costs, 0.0).sum(axis=-1)
    gap = np.take_along_axis(out.gaps, rounds[:, None], axis=-1)[:, 0]
    gap = np.where(cost <= problem.budget * (1 + 1e-6), gap, np.inf)
    i = int(np.argmin(gap))
    return float(gap[i]), tuple(n[i, : rounds[i]]), float(cost[i])


def _bound(problem: Problem, iterations: int = 20) -> float:
    """The least final gap any affordable schedule (whole batches or not, any T <= max_rounds) is
    predicted to reach. Row T-1 is the T-round program; its least noise V_T also floors the
    noise after round T of every longer schedule (their first T rounds cost no more), and so
    floors E[1/acceptance] in round T."""
    cm, Tmax, batch = problem.costs, problem.max_rounds, problem.batch
    rounds = np.arange(1, Tmax + 1)
    w, gamma, mask = _weights(problem, rounds)
    spendable = problem.budget - rounds * cm.c_round
    proportional = cm.selection == "proportional" and cm.cg > 0
    q = (problem.model.noise_inverse_acceptance(np.arange(Tmax), np.zeros(Tmax)) if proportional
         else np.ones(Tmax))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(iterations if proportional else 1):
            k = np.broadcast_to(cm.per_kept(q), q.shape)  # inf where no schedule can keep a sample in that round
            affordable = np.where(mask, batch * k, 0.0).sum(axis=-1) <= spendable
            n = _water_fill(w, gamma, np.where(np.isfinite(k), k, 1.0), np.maximum(spendable, 0.0), batch, mask)
            least = np.where(mask, w * n**-gamma, 0.0).sum(axis=-1) * (1 - 1e-9)  # err low, not high
            least = np.where(affordable, least, np.inf)  # T rounds unaffordable: so are longer schedules
            floor = np.concatenate([q[:1], problem.model.noise_inverse_acceptance(rounds[:-1], least[:-1])])
            if np.allclose(floor, q, rtol=1e-9) or not proportional:
                break
            q = np.maximum(q, floor)
        most = np.where(mask, w * float(batch) ** -gamma, 0.0).sum(axis=-1)  # one batch per round
        best = problem.model.least_gap(rounds, least, np.maximum(most, least))
    return float(np.min(np.where(affordable, best, np.inf)))


def free_form(problem: Problem, method: str = "kkt") -> Certificate:
    """The free-form estimate (best T by predicted gap; round counts searched as the solvers do)
    and the bound over every T = 1..max_rounds. A model whose state is not a noise term (the step
    clock) solves its own any-shape programme instead (planner/models/stepclock.py)."""
    any_shape = getattr(problem.model, "any_shape", None)
    if any_shape is not None:
        n, reward, cost, bound = any_shape(problem)
        r_star = problem.model.r_star
        return Certificate("exact", n, reward, float(r_star - reward), cost, bound, float(r_star - bound))
    rounds = round_counts(problem.max_rounds)
    best = _estimate(problem, rounds, method)
    while np.any(np.diff(rounds) > 1):
        rounds = rounds_around(rounds, len(best[1]))
        best = min(best, _estimate(problem, rounds, method), key=lambda estimate: estimate[0])
    gap, n, cost = best
    bound = min(_bound(problem), gap)  # the estimate is reachable, so no bound is above it
    r_star = problem.model.r_star
    return Certificate(method, tuple(float(x) for x in n), float(r_star - gap), gap, cost, float(r_star - bound),
                       bound)


def free_schedule(problem: Problem, certificate: Certificate) -> Schedule:
    """The certificate's shape as an executable plan: whole batches, sized to fit the budget (an
    exact programme's schedule is whole batches within the budget already)."""
    n = np.asarray(certificate.n)
    if certificate.method == "exact":
        return Schedule.from_array("free", n, float(n[0]))
    sized = size(problem, n[None, :] / n[0], np.array([len(n)]))
    if not np.isfinite(sized.gap[0]):
        raise InfeasibleError("the free-form schedule cannot be rounded to whole batches within the budget")
    return Schedule.from_array("free", sized.n[0], float(sized.n0[0]))
