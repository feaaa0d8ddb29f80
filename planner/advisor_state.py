"""The Advisor's checkpoint: its state as plain JSON values (Advisor.state_dict) and the strict
reading of one (Advisor.load_state_dict): a damaged state is one sentence, and nothing is changed."""
from __future__ import annotations

import copy
import dataclasses
import math

from planner.limits import check_plan, check_scale
from planner.plan import Plan
from planner.rounds import HISTORY_KEYS, RoundRecord, check_initial, read_rounds
from planner.validate import InputError, check_count, check_depth, check_positive

FORMAT = 1  # of state_dict()
STATE_KEYS = ("plan", "replan", "reserve_sd", "initial", "history", "spent", "schedule", "asked")


@dataclasses.dataclass(frozen=True)
class AdvisorState:
    """What an Advisor knows: its plan and options, the rounds so far and what it asked for next."""

    plan: Plan
    replan: bool
    reserve_sd: float
    initial: dict | None
    history: list[RoundRecord]
    spent: float
    schedule: tuple[int, ...]
    asked: int | None

    def to_json(self) -> dict:
        return copy.deepcopy({"format": FORMAT, "plan": self.plan.to_json(), "replan": self.replan,
                              "reserve_sd": self.reserve_sd, "initial": self.initial,
                              "history": [r.to_json() for r in self.history], "spent": self.spent,
                              "schedule": list(self.schedule), "asked": self.asked})

    @classmethod
    def from_json(cls, state: dict) -> "AdvisorState":
        """A state_dict, every part of it checked (the history's rounds, spent, schedule, ...)."""
        check_depth(state, "the Advisor state_dict")
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise InputError(f"not an Advisor state_dict (format {FORMAT} expected)")
        absent = [key for key in STATE_KEYS if key not in state]
        if absent:
            raise InputError(f"the Advisor state_dict lacks {', '.join(absent)}")
        plan = Plan.from_json(state["plan"])
        check_scale(plan.problem.budget, plan.problem.costs)
        check_plan(plan)
        if not isinstance(state["replan"], bool):
            raise InputError(f"the Advisor state_dict's replan must be true or false, got {state['replan']!r}")
        check_positive("the Advisor state_dict's reserve_sd", state["reserve_sd"], allow_zero=True)
        initial = None if state["initial"] is None else check_initial(state["initial"], "the Advisor state_dict")
        if not isinstance(state["history"], list):
            raise InputError(f"the Advisor state_dict's history must be a list, got {state['history']!r}")
        history = read_rounds(copy.deepcopy(state["history"]), "the Advisor state_dict's history", HISTORY_KEYS,
                              item="entry")
        if len({r.seconds is None for r in history}) > 1:
            raise InputError("the Advisor state_dict's history has seconds for some rounds and not for others")
        spent = history[-1].spent if history else 0.0
        if state["spent"] != spent:
            raise InputError(f"the Advisor state_dict's spent {state['spent']!r} is not its history's {spent!r}")
        if not isinstance(state["schedule"], list):
            raise InputError(f"the Advisor state_dict's schedule must be a list, got {state['schedule']!r}")
        schedule = tuple(check_count("the Advisor state_dict's schedule entry", n) for n in state["schedule"])
        if len(history) + len(schedule) > plan.problem.max_rounds:
            raise InputError(f"the Advisor state_dict has {len(history)} rounds done and {len(schedule)} planned, "
                             f"more than its plan's max_rounds {plan.problem.max_rounds}")
        _check_spending(history)
        asked = None if state["asked"] is None else check_count("the Advisor state_dict's asked", state["asked"])
        if asked is not None and not (schedule and asked <= schedule[0]):
            raise InputError(f"the Advisor state_dict's asked {asked} is not within its next planned round")
        return cls(plan, state["replan"], float(state["reserve_sd"]), copy.deepcopy(initial), history, float(spent),
                   schedule, asked)


def _check_spending(history: list[RoundRecord]) -> None:
    """Each round's spent is the one before plus its cost (to rounding), as record() writes them."""
    before = 0.0
    for i, r in enumerate(history):
        if not math.isclose(r.spent, before + r.cost, rel_tol=1e-9, abs_tol=1e-9):
            raise InputError(f"the Advisor state_dict's history entry {i + 1} has spent {r.spent!r}, not the "
                             f"{before!r} before it plus its cost {r.cost!r}")
        before = r.spent
