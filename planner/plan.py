"""A Plan: the recommended schedule for a problem, its predictions and its certificate.

`recommend` runs the solvers side by side (closed form, grid search, Optuna when asked) on the
exponential family and keeps the best; `compare` gives the best plan of every strategy at the
same budget. Plans round-trip through JSON: `plan --out` writes one, `plan execute` reads it.
"""
from __future__ import annotations

import dataclasses
import functools
import math

from planner.jsonio import from_dict
from planner.problem import Outcome, Problem
from planner.schedules import FAMILIES, Schedule
from planner.solvers import Certificate, free_form, free_schedule, make_solver
from planner.validate import InputError, check_count, check_seed

VERSION = 1  # of the plan file format


def _percent(gap: float, reference: float) -> float:
    return 100.0 * (gap - reference) / reference if reference > 0 else math.nan


@dataclasses.dataclass(frozen=True)
class SolverResult:
    """One solver's best schedule of the plan's family, for the side-by-side report."""

    solver: str
    schedule: Schedule


@dataclasses.dataclass(frozen=True)
class Plan:
    """A schedule to run under a problem, with the free-form certificate for the same budget."""

    problem: Problem
    schedule: Schedule
    solver: str
    certificate: Certificate
    solvers: tuple[SolverResult, ...] = ()
    task: str | None = None
    seed: int = 0
    start: dict | None = None  # where the run starts when not from the task's initial state (plan tune)

    @functools.cached_property
    def outcome(self) -> Outcome:
        return self.problem.outcome(self.schedule.array)

    @property
    def predicted_reward(self) -> float:
        return float(self.outcome.reward)

    @property
    def gap(self) -> float:
        return float(self.outcome.gap)

    @property
    def bound_gap(self) -> float:
        """The least gap any schedule can have (the certificate's bound; its estimate in plan files
        written before the bound was computed)."""
        c = self.certificate
        return c.gap if c.bound_gap is None else c.bound_gap

    def gap_percent(self, gap: float | None = None) -> float:
        """100 (g_plan - g_bound) / g_bound: at most how far the plan is from the best schedule of any
        shape (>= 0: no schedule beats the bound)."""
        return _percent(self.gap if gap is None else gap, self.bound_gap)

    def estimate_percent(self, gap: float | None = None) -> float:
        """100 (g_plan - g_estimate) / g_estimate, against the best continuous schedule found (< 0
        where the plan beats it: under proportional selection the estimate is not the optimum)."""
        return _percent(self.gap if gap is None else gap, self.certificate.gap)

    def to_json(self) -> dict:
        o, p = self.outcome, self.problem
        cumulative = o.round_costs.cumsum()
        rows = [{"round": t, "n": int(o.n[t]), "generated": float(o.generated[t]), "cost": float(o.round_costs[t]),
                 "cumulative_cost": float(cumulative[t]), "predicted_reward": float(o.trajectory[t + 1])}
                for t in range(self.schedule.rounds)]
        return {
            "format": VERSION,
            "strategy": self.schedule.strategy,
            "base": self.schedule.param if self.schedule.strategy == "exponential" else None,
            "param": self.schedule.param,
            "n0": self.schedule.n0,
            "rounds": self.schedule.rounds,
            "schedule": rows,
            "expected_cost": float(o.cost),
            "budget": p.budget,
            "initial_reward": float(o.trajectory[0]),
            "predicted_reward": self.predicted_reward,
            "r_star": p.model.r_star,
            "gap": self.gap,
            "certificate": p.model.r_star - self.bound_gap,
            "gap_percent": self.gap_percent(),
            "free_form_estimate": self.certificate.reward,
            "estimate_gap_percent": self.estimate_percent(),
            "closed_form_base": p.model.optimal_base(),
            "model": p.model.to_json(),
            "costs": p.costs.to_json(),
            "batch": p.batch,
            "max_rounds": p.max_rounds,
            "solver": self.solver,
            "solvers": [self._solver_json(r) for r in self.solvers],
            "certificate_detail": self.certificate.to_json(),
            "task": self.task,
            "seed": self.seed,
            "start": self.start,
        }

    def _solver_json(self, result: SolverResult) -> dict:
        out = self.problem.outcome(result.schedule.array)
        return {"solver": result.solver, "param": result.schedule.param, "n0": result.schedule.n0,
                "rounds": result.schedule.rounds, "n": list(result.schedule.n), "predicted_reward": float(out.reward),
                "gap": float(out.gap), "gap_percent": self.gap_percent(float(out.gap)),
                "estimate_gap_percent": self.estimate_percent(float(out.gap)),
                "expected_cost": float(out.cost)}

    @classmethod
    def from_json(cls, data: dict) -> "Plan":
        """Rebuild a plan from its JSON (as written by --out); malformed files raise InputError."""
        if not isinstance(data, dict) or data.get("format") != VERSION:
            raise InputError(f"not a spendwise plan file (format {VERSION} expected)")
        try:
            problem = Problem.from_json(data)
            schedule = Schedule(data["strategy"], tuple(check_count("the plan's schedule n", r["n"])
                                                        for r in data["schedule"]), data["n0"], data["param"])
            _check_start(data.get("start"))
            certificate = from_dict(Certificate, data["certificate_detail"], "plan certificate")
            solvers = tuple(SolverResult(s["solver"], Schedule(schedule.strategy, tuple(s["n"]), s["n0"], s["param"]))
                            for s in data["solvers"])
            return cls(problem, schedule, data["solver"], certificate, solvers, data.get("task"),
                       check_seed("the plan's seed", data.get("seed", 0)), data.get("start"))
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, InputError):
                raise
            raise InputError(f"the plan file is malformed ({e.__class__.__name__}: {e})") from None


def _check_start(start: object) -> None:
    """A plan's start record: null, or an object whose checkpoint is a path and task_config an object."""
    ok = start is None or (isinstance(start, dict) and isinstance(start.get("checkpoint", ""), str)
                           and isinstance(start.get("task_config", {}), dict))
    if not ok:
        raise InputError(f"the plan's start must be null or an object with a checkpoint path, got {start!r:.100}")


def recommend(problem: Problem, *, trials: int = 0, seed: int = 0, storage: str | None = None,
              study: str | None = None, certifier: str = "kkt", task: str | None = None) -> Plan:
    """The best exponential plan found by the closed form, the grid search and (trials > 0) Optuna."""
    solvers = {"closed-form": {}, "grid": {}}
    if trials > 0:
        solvers["optuna"] = {"trials": trials, "seed": seed, "storage": storage, "study": study}
    results = tuple(SolverResult(name, make_solver(name, **options).solve(problem, "exponential"))
                    for name, options in solvers.items())
    best = min(results, key=lambda r: float(problem.outcome(r.schedule.array).gap))
    return Plan(problem, best.schedule, best.solver, free_form(problem, certifier), results, task, seed)


def compare(problem: Problem, *, trials: int = 0, seed: int = 0, certifier: str = "kkt",
            task: str | None = None) -> list[Plan]:
    """The best plan of each strategy (constant, linear, polynomial, exponential, free) at one budget."""
    best = recommend(problem, trials=trials, seed=seed, certifier=certifier, task=task)
    certificate = best.certificate
    plans = [best] + [best_of_family(best, name) for name in FAMILIES if name != "exponential"]
    plans.append(Plan(problem, free_schedule(problem, certificate), "free-form", certificate, (), task, seed))
    order = list(FAMILIES) + ["free"]
    return sorted(plans, key=lambda p: order.index(p.schedule.strategy))


def best_of_family(plan: Plan, family: str) -> Plan:
    """The grid search's best schedule of another family under the same problem and certificate."""
    schedule = make_solver("grid").solve(plan.problem, family)
    return dataclasses.replace(plan, schedule=schedule, solver="grid", solvers=())
