"""SpendwiseCallback in a real TRL SFTTrainer on a tiny random Llama: it stops training before the
budget is passed, records what the trainer did, reads GRPO's logged reward, and refuses what it
cannot use before training starts."""
from __future__ import annotations

import subprocess
import sys

import pytest

from planner import Advisor
from planner.models import SurrogateModel
from planner.validate import InputError
from tests.conftest import ROOT, needs
from tests.planner.integrations.helpers import PROBLEMS, sft_config

needs("trl")
PRIOR = SurrogateModel(r_star=0.9, g0=0.6, a=0.5, b=0.5, gamma=1.0)
START = 0.3  # PRIOR's reward before round 0, given as initial_reward so round 0 is sized from it (not 1 %)


def sft_round(tiny_llama, tmp_path, callback, samples: list[dict]):
    """One SFTTrainer.train() on samples with the callback; the trainer, for its state."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTTrainer

    trainer = SFTTrainer(model=AutoModelForCausalLM.from_pretrained(tiny_llama), args=sft_config(tmp_path),
                         train_dataset=Dataset.from_list(samples),
                         processing_class=AutoTokenizer.from_pretrained(tiny_llama), callbacks=[callback])
    trainer.train()
    return trainer


def samples(count: int) -> list[dict]:
    return [{"prompt": p.question, "completion": p.solution} for p in PROBLEMS[:count]]


def test_the_callback_stops_training_at_the_budget_and_records_what_was_trained(tiny_llama, tmp_path):
    from planner.integrations.callback import SpendwiseCallback

    advisor = Advisor(budget=400.0, cg=1.0, ct=3.0, model=PRIOR, max_rounds=2, initial_reward=START)
    callback = SpendwiseCallback(advisor)
    n = callback.next_round()
    assert n >= 12
    # A generation so costly that two steps of 4 fit in the budget and a third does not.
    generated = int(advisor.budget - 3.0 * 10)
    callback.generation(kept=n, generated=generated)
    trainer = sft_round(tiny_llama, tmp_path, callback, samples(n))
    assert trainer.state.global_step == 2  # an epoch of n >= 12 samples would take 3 steps or more
    record = advisor.history[-1]
    assert (record["kept"], record["generated"]) == (8, generated)
    assert advisor.spent == pytest.approx(generated + 3.0 * 8, rel=1e-12) and advisor.spent <= advisor.budget


def test_the_advisor_log_matches_each_trainer_run(tiny_llama, tmp_path):
    """Rounds whose data is smaller than n train one epoch of it: the log holds those counts."""
    from planner.integrations.callback import SpendwiseCallback

    advisor = Advisor(budget=150.0, cg=1.0, ct=3.0, model=PRIOR, max_rounds=3, initial_reward=START)
    callback = SpendwiseCallback(advisor)
    trained = []
    for size, generated in ((3, 9), (6, 11)):
        assert callback.next_round() >= size
        callback.generation(kept=size, generated=generated)
        trainer = sft_round(tiny_llama, tmp_path, callback, samples(size))
        trained.append((trainer.state.global_step, size, generated))
    assert [(-(-r["kept"] // 4), r["kept"], r["generated"]) for r in advisor.history] == trained
    assert advisor.spent == pytest.approx((9 + 3 * 3) + (11 + 3 * 6), rel=1e-12)


def test_grpo_logged_rewards_are_the_rounds_generation_reward(tiny_llama, tmp_path):
    """GRPO and RLOO log `reward` (and `reward_std`) as they generate; a phase with no generation
    given charges each trained completion as generated once."""
    from planner.integrations.callback import SpendwiseCallback

    advisor = Advisor(budget=150.0, cg=1.0, ct=3.0, model=PRIOR, max_rounds=3, selection="fixed", ratio=1.0)
    callback = SpendwiseCallback(advisor)
    callback.next_round()
    for logged in ({"reward": 0.25, "reward_std": 0.1}, {"loss": 1.0}, {"reward": 0.75, "reward_std": 0.2}):
        callback.on_log(None, None, None, logs=logged)
    sft_round(tiny_llama, tmp_path, callback, samples(4))
    record = advisor.history[-1]
    assert record["generation_reward"] == pytest.approx(0.5) and record["generated"] == record["kept"] == 4


def test_what_the_callback_cannot_use_is_refused_before_training(tiny_llama, tmp_path):
    from planner.integrations.callback import SpendwiseCallback

    with pytest.raises(InputError, match="needs a planner.Advisor"):
        SpendwiseCallback({"budget": 100})
    spent = Advisor(budget=60.0, cg=1.0, ct=3.0, model=PRIOR, max_rounds=2, initial_reward=START)
    while (n := spent.next_round()) is not None:
        spent.record(kept=n, generated=2 * n, reward=0.7)
    with pytest.raises(InputError, match="no rounds left"):
        SpendwiseCallback(spent)
    advisor = Advisor(budget=100.0, cg=1.0, ct=3.0, model=PRIOR, max_rounds=2, initial_reward=START)
    callback = SpendwiseCallback(advisor)
    callback.next_round()
    callback.generation(kept=4, generated=99)  # the generation alone leaves no room for a step
    with pytest.raises(InputError, match="would pass the Advisor's budget"):
        sft_round(tiny_llama, tmp_path, callback, samples(4))
    assert advisor.history == []


def test_a_missing_trl_is_one_sentence_naming_the_extra():
    code = ("import sys; sys.modules.update(dict.fromkeys(['transformers', 'trl']))\n"
            "try:\n    import planner.integrations.callback\nexcept Exception as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT).stdout
    assert out.count("\n") == 1 and 'pip install "spendwise[trl]"' in out
