"""The round recipe for rejection-sampling / STaR loops with TRL's SFTTrainer, sized by an Advisor.

    model = run_rounds(model, tokenizer, advisor, generate=..., score=..., evaluate=..., config=SFTConfig(...),
                       checkpoint_dir="run/")

Every round: the Advisor says n and the generation cap; `generate(model, count, rng)` returns count
samples ({"prompt": ..., "completion": ...}) and `score(sample)` says which to keep, until n are kept
or the cap is generated; SFTTrainer trains on the kept ones with a SpendwiseCallback (one epoch, stopped
at the budget); `evaluate(model)` is the held-out reward in [0, 1]; the Advisor records the round and
replans. After each round the model and the advisor's state_dict go to checkpoint_dir (state.json is
written last and atomically, so a run killed at any moment resumes from its last whole round); the
round's randomness comes from config.seed and the round number, so a resumed run repeats a killed one.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from planner._imports import try_import
from planner.advisor import Advisor
from planner.integrations.callback import SpendwiseCallback
from planner.jsonio import atomic_write_json, read_json
from planner.validate import InputError

STATE = "state.json"  # in checkpoint_dir: {"advisor": state_dict, "model": folder of the round's weights}


def run_rounds(model: Any, tokenizer: Any, advisor: Advisor, *, generate: Callable[[Any, int, np.random.Generator],
               list[dict]], score: Callable[[dict], bool], evaluate: Callable[[Any], float], config: Any,
               checkpoint_dir: str | os.PathLike, generation_batch: int = 8, timed: bool = False,
               on_round: Callable[[dict], None] | None = None) -> Any:
    """Run the advisor's rounds on model (or resume them from checkpoint_dir) and return the trained model.
    timed: charge measured seconds (the advisor's budget is then seconds). on_round gets each recorded round."""
    with try_import("the spendwise TRL round recipe", "trl"):
        from transformers import AutoModelForCausalLM, PrinterCallback, set_seed
        from trl import SFTTrainer

    from datasets import Dataset

    if generation_batch < 1:
        raise InputError(f"generation_batch must be >= 1, got {generation_batch!r}")
    folder = Path(checkpoint_dir)
    if (folder / STATE).exists():  # resume: the advisor's state and the weights of the last whole round
        state = read_json(folder / STATE, "the recipe's checkpoint")
        advisor.load_state_dict(state["advisor"])
        model = AutoModelForCausalLM.from_pretrained(folder / state["model"])
        if not advisor.schedule:  # the run had finished: nothing is left to do
            return model
    callback = SpendwiseCallback(advisor, evaluate=evaluate)
    while (n := callback.next_round()) is not None:
        t = len(advisor.history)
        set_seed(config.seed + t)
        rng = np.random.default_rng([config.seed, t])
        clock, cap = time.perf_counter(), advisor.generation_cap
        kept, generated = [], 0
        while len(kept) < n and generated < cap:
            samples = generate(model, min(generation_batch, cap - generated), rng)
            generated += len(samples)
            kept += [s for s in samples if score(s)]
        kept = kept[:n]
        callback.generation(kept=len(kept), generated=generated,
                            seconds_generating=time.perf_counter() - clock if timed else None)
        if kept:
            trainer = SFTTrainer(model=model, args=config, train_dataset=Dataset.from_list(kept),
                                 processing_class=tokenizer, callbacks=[callback])
            trainer.remove_callback(PrinterCallback)  # rounds are reported through on_round
            trainer.train()
        else:  # nothing to train on: the round is its generation alone
            callback.record(evaluate(model))
        _save(model, advisor, folder, t)
        if on_round:
            on_round(advisor.history[-1])
    return model


def _save(model: Any, advisor: Advisor, folder: Path, t: int) -> None:
    """The round's weights in their own folder, then state.json naming it (the commit point), then
    the previous round's folder goes."""
    name = f"round-{t}"
    shutil.rmtree(folder / name, ignore_errors=True)  # a half-written folder of a killed run
    model.save_pretrained(folder / name)
    atomic_write_json(folder / STATE, {"advisor": advisor.state_dict(), "model": name})
    shutil.rmtree(folder / f"round-{t - 1}", ignore_errors=True)
