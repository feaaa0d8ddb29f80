"""`plan fit --from trl` on trainer_state.json files that real TRL SFTTrainer runs on a tiny random
Llama wrote: their evaluations become rounds, and a model is fitted from them."""
from __future__ import annotations

import json

import pytest

from tests.conftest import needs, one_sentence, run_cli
from tests.planner.integrations.helpers import HELD_OUT, PROBLEMS, sft_config

needs("trl")


@pytest.fixture(scope="module")
def trainer_states(tiny_llama, tmp_path_factory) -> list[str]:
    """Two SFT runs of 10 steps (batches of 2 and of 4, so rounds differ in size) evaluated at the start and
    after every step; each one's trainer_state.json. Their token accuracy climbs from 0 and settles near 0.33."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTTrainer

    folder = tmp_path_factory.mktemp("trl-runs")
    train = Dataset.from_list([{"prompt": p.question, "completion": p.solution} for p in PROBLEMS[:24]])
    held = Dataset.from_list([{"prompt": p.question, "completion": p.solution} for p in HELD_OUT[:4]])
    paths = []
    for batch in (2, 4):
        args = sft_config(folder / f"batch{batch}", per_device_train_batch_size=batch, max_steps=10,
                          learning_rate=3e-3, eval_strategy="steps", eval_steps=1, eval_on_start=True,
                          per_device_eval_batch_size=4)
        trainer = SFTTrainer(model=AutoModelForCausalLM.from_pretrained(tiny_llama), args=args, train_dataset=train,
                             eval_dataset=held, processing_class=AutoTokenizer.from_pretrained(tiny_llama))
        trainer.train()
        path = folder / f"batch{batch}" / "trainer_state.json"
        trainer.state.save_to_json(str(path))
        paths.append(str(path))
    return paths


def test_plan_fit_from_trl_fits_a_model_from_the_runs(trainer_states, tmp_path):
    done = run_cli("fit", "--from", "trl", *trainer_states, "--reward-key", "eval_mean_token_accuracy", "--json",
                   "--out", str(tmp_path / "model.json"))
    assert done.returncode == 0, done.stderr
    fit = json.loads(done.stdout)
    assert fit["rounds"] == 20 and fit["model"]["kind"] == "surrogate"  # 10 evaluations after the start, per run
    assert 0.25 < fit["model"]["r_star"] < 0.45
    stored = json.loads((tmp_path / "model.json").read_text())
    assert {k: v for k, v in stored.items() if k != "selection"} == fit["model"]  # and how plan fit chose it


def test_a_trl_log_without_the_reward_or_not_from_trl_is_one_sentence(trainer_states, tmp_path):
    out = tmp_path / "model.json"
    no_reward = run_cli("fit", "--from", "trl", *trainer_states, "--out", str(out))  # SFT logs no eval_reward
    assert one_sentence(no_reward) and "--reward-key" in no_reward.stderr and not out.exists()
    rounds = tmp_path / "rounds.jsonl"
    rounds.write_text('{"round": 0, "kept": 1, "generated": 1, "reward": 0.5}\n')
    not_trl = run_cli("fit", "--from", "trl", str(rounds), "--out", str(out))
    assert one_sentence(not_trl) and not out.exists()
