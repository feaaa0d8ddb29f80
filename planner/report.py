"""Human-readable reports of plans (the `--json` output is Plan.to_json)."""
from __future__ import annotations

from planner.models import DEFAULT_MODEL
from planner.plan import PREFER_WITHIN, Plan

SHAPES = {"constant": "n_t = n0", "linear": "n_t = n0 (1 + {p:.4g} t)",
          "polynomial": "n_t = n0 (1 + t)^{p:.4g}", "exponential": "n_t = n0 * {p:.4g}^t",
          "free": "any shape"}


def describe_problem(plan: Plan) -> str:
    """Budget, costs and model in two lines."""
    p, c = plan.problem, plan.problem.costs
    selection = ("proportional selection (keep each sample with probability R)" if c.selection == "proportional"
                 else f"fixed-ratio selection ({c.ratio:g} generated per kept)")
    model = " ".join(f"{k}={v:g}" for k, v in p.model.to_json().items() if k != "kind")
    note = "  [default model; pass --model FILE.json for yours]" if p.model == DEFAULT_MODEL else ""
    return (f"budget {p.budget:,.6g} cost units: c_g {c.cg:g} per generated, c_t {c.ct:g} per trained, "
            f"c_round {c.c_round:g} per round; {selection}; batch {p.batch}\n"
            f"model: {p.model.kind} {model}, best attainable reward r* = {p.model.r_star:.6g}{note}")


def schedule_table(plan: Plan) -> str:
    """The per-round table: kept, expected generated, round cost, cumulative cost, predicted reward."""
    rows = [f"{'round':>5} {'kept n_t':>10} {'generated N_t':>14} {'round cost':>12} {'cumulative':>12} "
            f"{'predicted reward':>17}"]
    for row in plan.to_json()["schedule"]:
        rows.append(f"{row['round']:>5} {row['n']:>10,} {row['generated']:>14,.1f} {row['cost']:>12,.1f} "
                    f"{row['cumulative_cost']:>12,.1f} {row['predicted_reward']:>17.7g}")
    return "\n".join(rows)


def summary_line(plan: Plan) -> str:
    s = plan.schedule
    shape = SHAPES[s.strategy].format(p=s.param or 0.0)
    n0 = f", n0 = {s.n0:.4g}" if s.n0 is not None else ""
    return f"{s.strategy:<12} {shape}{n0}, T = {s.rounds} rounds"


def recommend_report(plan: Plan, others: list[Plan] | None = None) -> str:
    """The `plan` output: the schedule, its prediction, the solvers side by side, alternatives."""
    j = plan.to_json()
    lines = [describe_problem(plan), "",
             f"recommended: {summary_line(plan)} (whole batches, at least one per round)",
             schedule_table(plan), "",
             f"predicted final reward {plan.predicted_reward:.7g} (gap r* - r = {plan.gap:.4g}), "
             f"starting from {j['initial_reward']:.4g}; expected cost {j['expected_cost']:,.0f} "
             f"of {plan.problem.budget:,.0f}"]
    if plan.predicted_reward <= j["initial_reward"]:
        lines.append("warning: under this model no affordable schedule raises the reward (rounds this small add "
                     "more noise than they remove); raise the budget or refit the model on larger rounds")
    lines += ["", f"solvers on the exponential family (closed-form base u* = {j['closed_form_base']:.4g}):",
             f"  {'solver':<12} {'base':>8} {'T':>4} {'gap r*-r':>11} {'vs bound':>10} {'vs estimate':>12}"]
    for s in j["solvers"]:
        lines.append(f"  {s['solver']:<12} {s['param']:>8.4g} {s['rounds']:>4} {s['gap']:>11.4g} "
                     f"{s['gap_percent']:>+9.3g}% {s['estimate_gap_percent']:>+11.3g}%")
    if not any(s["solver"] == "optuna" for s in j["solvers"]):
        lines.append("  optuna       not run (add --trials N)")
    lines += ["  " + line for line in certificate_words(plan)]
    if plan.schedule.n[0] == plan.problem.batch and plan.problem.costs.c_round == 0:
        lines.append("note: n0 sits at its floor of one batch: with no cost per round, more rounds are always "
                     "better; pass --c-round with your per-round overhead (reload, eval, checkpoint)")
    if plan.shapes and others:
        lines += ["", shape_words(plan, others)]
    if others:
        lines += ["", "same budget, other shapes (best of each):"]
        for o in others:
            lines.append(f"  {summary_line(o):<62} gap {o.gap:.4g} ({o.gap / plan.gap:.3g}x the plan's)")
    return "\n".join(lines)


def shape_words(plan: Plan, others: list[Plan]) -> str:
    """Which shape won the search over every shape, and by how much."""
    name = {"free": "any-shape"}
    if plan.schedule.strategy == "free":
        exponential = next(o for o in others if o.schedule.strategy == "exponential")
        family = min((o for o in others if o is not exponential), key=lambda o: o.gap)
        return (f"shape: a schedule of any shape won (a local search from the best of every family): the best "
                f"exponential schedule has {exponential.gap / plan.gap:.4g}x its gap, the best "
                f"{family.schedule.strategy} one {family.gap / plan.gap:.4g}x")
    runner_up = min(others, key=lambda o: o.gap)
    other = name.get(runner_up.schedule.strategy, runner_up.schedule.strategy)
    if runner_up.gap < plan.gap:
        return (f"shape: {plan.schedule.strategy} won; the best {other} schedule is only "
                f"{100 * (1 - runner_up.gap / plan.gap):.2g} % better, within the {100 * PREFER_WITHIN:g} % by which "
                "a regular shape is preferred")
    return (f"shape: {plan.schedule.strategy} won over every shape searched; the runner-up, {other}, has "
            f"{runner_up.gap / plan.gap:.4g}x its gap")


def certificate_words(plan: Plan) -> list[str]:
    """The free-form lines: the bound no schedule beats, the best continuous schedule found, and
    where the plan stands against each (never claiming a bound where there is none)."""
    c, bound = plan.certificate, plan.bound_gap
    found = f"the best continuous schedule found ({c.method}) has gap {c.gap:.4g} in {len(c.n)} rounds"
    if c.bound_gap is None:
        return [f"free-form estimate over any shape: {found}; the plan is {plan.estimate_percent():+.3g} % "
                "against it (this plan file has no bound)"]
    lines = [f"free-form over any shape: no schedule is predicted to have a gap below {bound:.4g} (a bound); "
             + ("it is reached" if bound >= c.gap * (1 - 1e-9) else found)]
    percent = plan.gap_percent()
    if percent < 0:
        lines.append(f"warning: the plan's predicted gap is {-percent:.3g} % below the bound, which cannot happen "
                     "under the model; please report this problem")
    elif bound >= c.gap * (1 - 1e-9):
        lines.append(f"the plan is within {percent:.3g} % of the best schedule of any shape")
    else:
        versus = plan.estimate_percent()
        where = (f"{versus:.3g} % above the estimate" if versus >= 0 else f"{-versus:.3g} % below the estimate "
                 "(under proportional selection the fixed point it comes from is not the optimum)")
        lines.append(f"the plan is at most {percent:.3g} % from the best schedule of any shape, and {where}")
    return lines


def compare_report(plans: list[Plan]) -> str:
    """The `plan compare` table, one row per strategy."""
    lines = [describe_problem(plans[0]), "",
             f"{'strategy':<12} {'param':>9} {'n0':>9} {'T':>4} {'exp. cost':>12} {'pred. reward':>13} "
             f"{'gap r*-r':>11} {'vs bound':>10}"]
    for p in plans:
        j = p.to_json()
        param = "" if j["param"] is None else f"{j['param']:.4g}"
        n0 = "" if j["n0"] is None else f"{j['n0']:.4g}"
        lines.append(f"{j['strategy']:<12} {param:>9} {n0:>9} {j['rounds']:>4} {j['expected_cost']:>12,.0f} "
                     f"{j['predicted_reward']:>13.7g} {j['gap']:>11.4g} {j['gap_percent']:>+9.3g}%")
    lines += certificate_words(plans[0])[:1]
    return "\n".join(lines)
