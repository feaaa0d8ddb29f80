"""The SFTTrainer round recipe on a tiny random Llama: three STaR rounds run, the Advisor's log holds
what each round generated, kept and trained, and a run killed in its third round resumes from its
checkpoint to the same result as a run that was never stopped (and, once finished, does nothing more)."""
from __future__ import annotations

import json

import pytest

from planner import Advisor
from planner.models import SurrogateModel
from tests.conftest import needs
from tests.planner.integrations.helpers import evaluate_with, generate, score, sft_config

needs("trl")
PRIOR = SurrogateModel(r_star=0.9, g0=0.6, a=0.5, b=0.5, gamma=1.0)


class Killed(Exception):
    """The process dying mid-round, as seen by the test."""


def star_run(tiny_llama, folder, kill_in_round: int | None = None) -> tuple[Advisor, list[dict]]:
    """The recipe from the tiny model on a fresh advisor (resuming whatever folder holds); the advisor
    and, per round, what the user's generate was asked for and returned."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from planner.integrations.recipe import run_rounds

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    evaluate = evaluate_with(tokenizer)
    model = AutoModelForCausalLM.from_pretrained(tiny_llama)
    advisor = Advisor(budget=150.0, cg=1.0, ct=3.0, model=PRIOR, max_rounds=3, initial_reward=evaluate(model))
    calls: list[dict] = []

    def counted(model, count, rng):
        t = len(advisor.history)
        if t == kill_in_round:
            raise Killed
        out = generate(model, count, rng)
        while len(calls) <= t:
            calls.append({"generated": 0, "right": 0})
        calls[t]["generated"] += len(out)
        calls[t]["right"] += sum(score(s) for s in out)
        return out

    run_rounds(model, tokenizer, advisor, generate=counted, score=score, evaluate=evaluate,
               config=sft_config(folder / "trainer"), checkpoint_dir=folder / "checkpoint")
    return advisor, calls


@pytest.fixture(scope="module")
def whole_run(tiny_llama, tmp_path_factory):
    return star_run(tiny_llama, tmp_path_factory.mktemp("whole"))


def test_three_star_rounds_run_and_the_log_is_what_each_round_did(whole_run):
    advisor, calls = whole_run
    history = advisor.history
    assert len(history) == 3 and advisor.next_round() is None
    for record, call in zip(history, calls):
        assert record["generated"] == call["generated"]
        assert record["kept"] == min(call["right"], record["n"])  # the right ones, up to the n asked
        assert record["cost"] == pytest.approx(record["generated"] + 3.0 * record["kept"], rel=1e-12)
    assert advisor.spent <= advisor.budget
    rewards = [r["reward"] for r in history]
    assert len(set(rewards)) == 3  # each round's training moved the held-out reward


def test_a_killed_run_resumes_to_the_same_result(whole_run, tiny_llama, tmp_path):
    with pytest.raises(Killed):
        star_run(tiny_llama, tmp_path, kill_in_round=2)
    state = json.loads((tmp_path / "checkpoint" / "state.json").read_text())
    assert len(state["advisor"]["history"]) == 2 and state["model"] == "round-1"
    resumed, _ = star_run(tiny_llama, tmp_path)
    whole = whole_run[0].history
    assert [(r["n"], r["kept"], r["generated"], r["spent"]) for r in resumed.history] == \
        [(r["n"], r["kept"], r["generated"], r["spent"]) for r in whole]
    assert [r["reward"] for r in resumed.history] == pytest.approx([r["reward"] for r in whole], rel=1e-6)
    again, calls = star_run(tiny_llama, tmp_path)  # the run had finished: nothing is generated or trained
    assert again.history == resumed.history and calls == []
