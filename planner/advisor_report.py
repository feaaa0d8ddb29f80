"""What the Advisor says about a run: its summary (spending, rounds, the final reward against the
plan and its certificate, the latest fit, why it stopped) and a few lines for people."""
from __future__ import annotations

from collections.abc import Sequence

from planner.ledger import Ledger
from planner.models import model_from_json
from planner.plan import Plan
from planner.rounds import RoundRecord


def summarize(p: Plan, ledger: Ledger, history: Sequence[RoundRecord], initial: dict | None,
              schedule: Sequence[int]) -> dict:
    """Spending, rounds, the final reward against the plan p and its certificate, the latest fit."""
    final = history[-1].reward if history else (initial or {}).get("reward")
    refits = [r.replan["fit"] for r in history if r.replan and r.replan.get("refit")]
    timed = any(r.seconds is not None for r in history)
    fitted_r_star = model_from_json(refits[-1]["model"]).r_star if refits else None
    return {
        "rounds": len(history), "kept": [r.kept for r in history],
        "spent": ledger.spent, "budget": p.problem.budget, "unit": "seconds" if timed else "cost units",
        "overspent": ledger.overspent, "initial_reward": (initial or {}).get("reward"),
        "final_reward": final, "plan_model": p.problem.model.to_json(), "predicted_reward": p.predicted_reward,
        "certificate_reward": p.certificate.reward,
        "regret": None if final is None else p.certificate.reward - final,  # under the plan's model
        "fit": refits[-1] if refits else None, "fitted_r_star": fitted_r_star,
        "fitted_gap": None if fitted_r_star is None or final is None else fitted_r_star - final,
        "schedule": list(schedule), "stopped": stopped(ledger, history, schedule),
    }


def stopped(ledger: Ledger, history: Sequence[RoundRecord], schedule: Sequence[int]) -> str | None:
    """Why the advisor ended the run with budget it could still spend (None while rounds are
    planned, or when the money is gone)."""
    if schedule or not history or not ledger.affordable(generated=1, trained=1, rounds=1):
        return None
    reason = (history[-1].replan or {}).get("reason", "")
    return reason if reason.startswith("stopping") else \
        f"stopped with {ledger.budget - ledger.spent:,.6g} left: the plan's rounds are done"


def report(s: dict) -> str:
    """A few lines for people from a summary: spent, rounds, reward and regret against the plan, the
    fitted model, why the run stopped."""
    lines = [f"spendwise advisor: {s['rounds']} rounds, spent {s['spent']:,.6g} of {s['budget']:,.6g} "
             f"{s['unit']} ({100 * s['spent'] / s['budget']:.1f} %)" + ("  OVERSPENT" if s["overspent"] else ""),
             f"kept per round: {s['kept']}"]
    if s["final_reward"] is not None:
        lines.append(f"final reward {s['final_reward']:.6g}; the plan ({_describe(s['plan_model'])}) predicted "
                     f"{s['predicted_reward']:.6g} and the best schedule of any shape "
                     f"{s['certificate_reward']:.6g}: " + (f"regret {s['regret']:.4g}" if s["regret"] > 0 else
                                                           "no regret (the run beat the plan's model)"))
    if s["fit"] is None:
        lines.append("fitted model: none yet (too few rounds to identify one)")
    else:
        gap = s["fitted_gap"]
        said = ("" if gap is None else f", remaining gap r* - r = {gap:.4g}" if gap >= 0 else
                "; the measured reward is above this r*, so the fit underestimates what the model can reach")
        lines.append(f"fitted model ({s['fit']['rounds']} rounds): {_describe(s['fit']['model'])}, "
                     f"r* = {s['fitted_r_star']:.6g}{said}, one-round rmse {s['fit']['rmse']:.3g}")
    if s["stopped"]:
        lines.append(s["stopped"])
    return "\n".join(lines)


def _describe(model: dict) -> str:
    """A model file's contents in one line: kind and parameters."""
    return model["kind"] + " " + " ".join(f"{k}={v:.4g}" for k, v in model.items() if k != "kind")
