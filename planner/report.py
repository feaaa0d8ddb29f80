"""Human-readable reports of plans (the `--json` output is Plan.to_json)."""
from __future__ import annotations

from planner.models import DEFAULT_MODEL
from planner.plan import Plan

SHAPES = {"constant": "n_t = n0", "linear": "n_t = n0 (1 + {p:.4g} t)",
          "polynomial": "n_t = n0 (1 + t)^{p:.4g}", "exponential": "n_t = n0 * {p:.4g}^t",
          "free": "free-form"}


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
    for r in plan.to_json()["schedule"]:
        rows.append(f"{r['round']:>5} {r['n']:>10,} {r['generated']:>14,.1f} {r['cost']:>12,.1f} "
                    f"{r['cumulative_cost']:>12,.1f} {r['predicted_reward']:>17.7g}")
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
             f"  {'solver':<12} {'base':>8} {'T':>4} {'gap r*-r':>11} {'vs free-form':>13}"]
    for s in j["solvers"]:
        lines.append(f"  {s['solver']:<12} {s['param']:>8.4g} {s['rounds']:>4} {s['gap']:>11.4g} "
                     f"{s['gap_percent']:>+12.3g}%")
    if not any(s["solver"] == "optuna" for s in j["solvers"]):
        lines.append("  optuna       not run (add --trials N)")
    lines.append(f"  free-form optimum over any shape ({plan.certificate.method}): gap {plan.certificate.gap:.4g} "
                 f"in {len(plan.certificate.n)} rounds; " + certificate_words(plan))
    if plan.schedule.n[0] == plan.problem.batch and plan.problem.costs.c_round == 0:
        lines.append("note: n0 sits at its floor of one batch: with no cost per round, more rounds are always "
                     "better; pass --cr with your per-round overhead (reload, eval, checkpoint)")
    if others:
        lines += ["", "same budget, other shapes (best of each):"]
        for o in others:
            lines.append(f"  {summary_line(o):<62} gap {o.gap:.4g} ({o.gap / plan.gap:.3g}x the plan's)")
    return "\n".join(lines)


def certificate_words(plan: Plan) -> str:
    """How the plan stands against the free-form optimum, honest about when that is no bound."""
    if plan.gap_percent() >= 0:
        return f"the plan is within {plan.gap_percent():.3g} % of it"
    return (f"the plan beats it by {-plan.gap_percent():.3g} %: here the free-form program is not a bound (under "
            "proportional selection early samples make later rounds cheaper, and far from the optimum a noisier "
            "model can score higher), so read it as a reference, not a certificate")


def compare_report(plans: list[Plan]) -> str:
    """The `plan compare` table, one row per strategy."""
    lines = [describe_problem(plans[0]), "",
             f"{'strategy':<12} {'param':>9} {'n0':>9} {'T':>4} {'exp. cost':>12} {'pred. reward':>13} "
             f"{'gap r*-r':>11} {'vs free-form':>13}"]
    for p in plans:
        j = p.to_json()
        param = "" if j["param"] is None else f"{j['param']:.4g}"
        n0 = "" if j["n0"] is None else f"{j['n0']:.4g}"
        lines.append(f"{j['strategy']:<12} {param:>9} {n0:>9} {j['rounds']:>4} {j['expected_cost']:>12,.0f} "
                     f"{j['predicted_reward']:>13.7g} {j['gap']:>11.4g} {j['gap_percent']:>+12.3g}%")
    lines.append(f"free-form optimum (continuous n_t, a bound no schedule beats): gap {plans[0].certificate.gap:.4g}")
    return "\n".join(lines)
