"""A Plan: the recommended schedule for a problem, its predictions and its certificate.

`recommend` runs the solvers side by side (closed form, grid search, Optuna when asked) on the
exponential family, then (shape "any") the grid search on the other families and a polish over
schedules of any shape seeded with the best of each (planner/solvers/polish.py), and recommends
the best; `compare` gives the best plan of every strategy at the same budget. Plans round-trip
through JSON: `plan --out` writes one, `plan execute` reads it.
"""
from __future__ import annotations

import dataclasses
import functools
import math

from planner.jsonio import from_dict, read_json
from planner.problem import Outcome, Problem
from planner.schedules import FAMILIES, Schedule
from planner.solvers import Certificate, InfeasibleError, free_form, free_schedule, make_solver
from planner.solvers.polish import polish
from planner.validate import InputError, check_count, check_seed

VERSION = 1  # of the plan file format
SHAPES = ("any", "exponential")  # what recommend searches: every shape, or the paper's family only
# A shape is recommended over the exponential (and a family over the polish's free-form schedule) only
# when its predicted gap is smaller by more than this: a regular shape is easier to read and extend.
PREFER_WITHIN = 1e-4


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
    shapes: tuple[SolverResult, ...] = ()  # the best schedule of every other shape (recommend's shape "any")

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
            "shapes": [self._solver_json(r) for r in self.shapes],
            "certificate_detail": self.certificate.to_json(),
            "task": self.task,
            "seed": self.seed,
            "start": self.start,
        }

    def _solver_json(self, result: SolverResult) -> dict:
        out = self.problem.outcome(result.schedule.array)
        return {"solver": result.solver, "strategy": result.schedule.strategy, "param": result.schedule.param,
                "n0": result.schedule.n0,
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
            solvers, shapes = (tuple(SolverResult(s["solver"], Schedule(s.get("strategy", "exponential"), tuple(s["n"]),
                                                                         s["n0"], s["param"]))
                                     for s in data.get(key, ())) for key in ("solvers", "shapes"))
            return cls(problem, schedule, data["solver"], certificate, solvers, data.get("task"),
                       check_seed("the plan's seed", data.get("seed", 0)), data.get("start"), shapes)
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, InputError):
                raise
            raise InputError(f"the plan file is malformed ({e.__class__.__name__}: {e})") from None


def read_plan(path: str) -> tuple[Plan, dict]:
    """A plan file (`plan --out`) checked, and the JSON it holds; any problem is one InputError naming the file."""
    data = read_json(path, "plan file")
    try:
        return Plan.from_json(data), data
    except InputError as e:
        raise InputError(f"plan file {path}: {e}") from None


def _check_start(start: object) -> None:
    """A plan's start record: null, or an object whose checkpoint is a path and task_config an object."""
    ok = start is None or (isinstance(start, dict) and isinstance(start.get("checkpoint", ""), str)
                           and isinstance(start.get("task_config", {}), dict))
    if not ok:
        raise InputError(f"the plan's start must be null or an object with a checkpoint path, got {start!r:.100}")


def _gap(problem: Problem, result: SolverResult) -> float:
    return float(problem.outcome(result.schedule.array).gap)


def recommend(problem: Problem, *, trials: int = 0, seed: int = 0, storage: str | None = None,
              study: str | None = None, certifier: str = "kkt", task: str | None = None,
              shape: str = "any") -> Plan:
    """The best exponential plan found by the closed form, the grid search and (trials > 0) Optuna;
    with shape "any", the best schedule of any shape when it is more than PREFER_WITHIN better."""
    if shape not in SHAPES:
        raise InputError(f"shape must be one of {', '.join(SHAPES)}, got {shape!r}")
    solvers = {"closed-form": {}, "grid": {}}
    if trials > 0:
        solvers["optuna"] = {"trials": trials, "seed": seed, "storage": storage, "study": study}
    results = tuple(SolverResult(name, make_solver(name, **options).solve(problem, "exponential"))
                    for name, options in solvers.items())
    best = min(results, key=lambda r: _gap(problem, r))
    plan = Plan(problem, best.schedule, best.solver, free_form(problem, certifier), results, task, seed)
    return plan if shape == "exponential" else _any_shape(plan)


def _any_shape(plan: Plan) -> Plan:
    """The plan with the best schedule of every other family and the polish's (seeded with all of
    them and the certificate's shape) beside it; the plan's schedule becomes the best of them all,
    the first in FAMILIES order (exponential first) within PREFER_WITHIN of the least gap."""
    problem = plan.problem
    # a coarser grid than the exponential's (16 points, one zoom): these seed the polish, which refines
    shapes = [SolverResult("grid", make_solver("grid", points=16, zooms=1).solve(problem, name)) for name in FAMILIES
              if name != "exponential"]
    starts = [plan.schedule.array] + [r.schedule.array for r in shapes]
    try:
        starts.append(free_schedule(problem, plan.certificate).array)
    except InfeasibleError:  # the certificate's shape has no affordable whole-batch schedule: seeds enough
        pass
    shapes.append(SolverResult("polish", Schedule.from_array("free", polish(problem, starts)[0])))
    mine = SolverResult(plan.solver, plan.schedule)
    least = min(_gap(problem, r) for r in [mine, *shapes])
    chosen = next(r for r in [mine, *shapes] if _gap(problem, r) <= least * (1 + PREFER_WITHIN))
    return dataclasses.replace(plan, schedule=chosen.schedule, solver=chosen.solver, shapes=tuple(shapes))


def exponential(plan: Plan) -> Plan:
    """The plan's best exponential schedule (its solvers' best) as a plan of its own."""
    if plan.schedule.strategy == "exponential":
        return dataclasses.replace(plan, shapes=())
    best = min(plan.solvers, key=lambda r: _gap(plan.problem, r))
    return dataclasses.replace(plan, schedule=best.schedule, solver=best.solver, shapes=())


def alternatives(plan: Plan) -> list[Plan]:
    """The best plan of every shape but the plan's own, as plans (the exponential first)."""
    own = plan.schedule.strategy
    others = [] if own == "exponential" else [exponential(plan)]
    return others + [dataclasses.replace(plan, schedule=r.schedule, solver=r.solver, solvers=(), shapes=())
                     for r in plan.shapes if r.schedule.strategy != own]


def compare(problem: Problem, *, trials: int = 0, seed: int = 0, certifier: str = "kkt",
            task: str | None = None) -> list[Plan]:
    """The best plan of each strategy (constant, linear, polynomial, exponential, free: the best
    schedule of any shape the polish found) at one budget."""
    best = recommend(problem, trials=trials, seed=seed, certifier=certifier, task=task)
    plans = [exponential(best)] + [p for p in alternatives(best) if p.schedule.strategy != "exponential"]
    if best.schedule.strategy != "exponential":
        plans.append(dataclasses.replace(best, shapes=()))
    order = list(FAMILIES) + ["free"]
    return sorted(plans, key=lambda p: order.index(p.schedule.strategy))


def best_of_family(plan: Plan, family: str) -> Plan:
    """The grid search's best schedule of another family under the same problem and certificate."""
    schedule = make_solver("grid").solve(plan.problem, family)
    return dataclasses.replace(plan, schedule=schedule, solver="grid", solvers=())
