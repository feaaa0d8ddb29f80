"""Where the LLM and DDPM tasks' time goes: each task against a bare loop written here on the same
work, and (LLM) the task's code before the speed-ups (read from git) against the current one.

    python3 benchmarks/llm_speed.py                  # LLM, shipped SmolLM2-135M: ~35 min on one thread
    python3 benchmarks/llm_speed.py --task ddpm      # DDPM, shipped UNet: ~15 min on one thread
    python3 benchmarks/llm_speed.py --study-costs --threads 2   # LLM c_g, c_t, eval s/round as the study runs
    python3 benchmarks/llm_speed.py --quick --model-path DIR --out /tmp   # a tiny model: checks the script

Every figure is a median over --reps repetitions in which the variants take turns (in rotated
order, so other jobs on the machine slow each alike); ratios are taken within a repetition (each
one is kept, with their median and standard error). CPU seconds on one thread are the primary
figure: on a shared machine wall time swings several-fold with the other jobs, while a single
thread's CPU seconds measure the work itself. Variants, on the same weights and problems / images:
  bare     the loop a user would write: batched model.generate over the full prompts, max_new_tokens
           each (LLM), or the UNet's denoising steps (DDPM); for training, a forward/backward/step
           loop on the same batches
  before   the LLM task's code at --baseline: full prompts, max_new_tokens for every answer, AdamW
           carried across rounds (and saved)
  after    the task's code in this tree
LLM (--samples prompts sampled, --trained samples trained per repetition): seconds per generated
sample (c_g) and answer tokens per CPU second, seconds per trained sample (c_t), evaluation seconds
per round (--eval-per-level problems per level), checkpoint bytes and save/load seconds, the answer
length distribution, greedy answers of "after" against "bare" on --compare-per-level held-out
problems per level, at the pretrained weights and after three small training rounds (which also
give held-out loss and accuracy before/after). DDPM (--images per repetition): seconds per image
of generate and train, evaluation seconds per round. --study-costs: calibrate.measure's c_g and
c_t (32 samples) and the evaluation seconds per round, wall clock, with the LLM study's
eval_per_level=32 and num_threads=--threads (the study's 2, or 1 on a shared machine: two threads
on two busy cores measured 4-10x the single thread's seconds here), --reps times, each with the
machine's load average.
"""
from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
import types
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import save  # noqa: E402
from benchmarks.speed_common import baseline_module, checkpoints, interleaved, summary  # noqa: E402
from benchmarks.speed_ddpm import run_ddpm  # noqa: E402

BASELINE = "6268937"  # the last commit before the LLM task's speed-ups


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=("llm", "ddpm"), default="llm")
    parser.add_argument("--model-path", help="a local model folder (default: the task's shipped model)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: CPU seconds then measure the work, whatever else runs)")
    parser.add_argument("--reps", type=int, default=3, help="interleaved repetitions (default 3)")
    parser.add_argument("--samples", type=int, default=32, help="LLM: prompts sampled per repetition (default 32)")
    parser.add_argument("--trained", type=int, default=16, help="LLM: samples trained per repetition (default 16)")
    parser.add_argument("--eval-per-level", type=int, default=32,
                        help="LLM: held-out problems per level in evaluate (default 32, as in the LLM study)")
    parser.add_argument("--compare-per-level", type=int, default=16,
                        help="LLM: held-out problems per level whose greedy answers are compared (default 16)")
    parser.add_argument("--images", type=int, default=512, help="DDPM: images per repetition (default 512)")
    parser.add_argument("--baseline", default=BASELINE, help=f"git revision of the 'before' code (default {BASELINE})")
    parser.add_argument("--study-costs", action="store_true", help="LLM: the study's per-sample and per-round costs")
    parser.add_argument("--quick", action="store_true", help="small sizes, one repetition: checks the script")
    parser.add_argument("--out", type=Path, help="folder for the JSON (default benchmarks/results)")
    args = parser.parse_args()
    if args.quick:
        (args.reps, args.samples, args.trained, args.images, args.eval_per_level,
         args.compare_per_level) = 1, 8, 8, 16, 4, 4
    return args


# ---- LLM -----------------------------------------------------------------------------------------

def bare_complete(task: Any, state: Any, questions: list[str], sample: bool) -> tuple[list[str], list[list[int]]]:
    """The plain loop: batched model.generate over the full left-padded prompts, max_new_tokens each;
    answers cut after their final sentence, and each row's generated token ids."""
    from bootstrapper.tasks.problems import cut_after_answer

    tok, config, answers, tokens = state.tokenizer, task.config, [], []
    options = ({"do_sample": True, "temperature": config.temperature, "top_k": 0, "top_p": 1.0}
               if sample else {"do_sample": False})
    for s in range(0, len(questions), config.gen_batch):
        enc = tok([task.prompt(tok, q) for q in questions[s:s + config.gen_batch]], return_tensors="pt", padding=True,
                  padding_side="left", add_special_tokens=False)
        with torch.no_grad():
            out = state.model.generate(**enc, max_new_tokens=config.max_new_tokens, pad_token_id=tok.pad_token_id,
                                       **options)[:, enc.input_ids.shape[1]:]
        tokens += out.tolist()
        answers += [cut_after_answer(a) for a in tok.batch_decode(out, skip_special_tokens=True)]
    return answers, tokens


def answer_lengths(tokenizer: Any, rows: list[list[int]]) -> dict:
    """Tokens each row needed until its answer was complete (answer_complete or end of turn); rows
    that never completed count as the whole budget."""
    from bootstrapper.tasks.problems import answer_complete

    lengths, never = [], 0
    for row in rows:
        done = next((k for k in range(1, len(row) + 1) if row[k - 1] == tokenizer.eos_token_id
                     or answer_complete(tokenizer.decode(row[:k], skip_special_tokens=True))), None)
        never += done is None
        lengths.append(done or len(row))
    q = np.percentile(lengths, [10, 50, 90, 100])
    return {"p10": float(q[0]), "median": float(q[1]), "p90": float(q[2]), "max": float(q[3]),
            "mean": float(np.mean(lengths)), "never_complete": never, "rows": len(rows)}


def bare_train_batches(task: Any, state: Any, kept: list[dict], seed: int) -> list[dict[str, torch.Tensor]]:
    """The micro batches the task trains on (same order), as full right-padded sequences with the
    prompt and padding labelled -100: what a plain SFT loop feeds the model."""
    tok, batches = state.tokenizer, []
    order = np.random.default_rng(seed).permutation(len(kept))
    for s in range(0, len(kept), task.config.micro_batch):
        rows = []
        for i in order[s:s + task.config.micro_batch]:
            prompt = task.prompt(tok, kept[int(i)]["question"])
            target = task._target(tok, prompt, kept[int(i)]["question"], kept[int(i)]["answer"])
            rows.append((tok(prompt, add_special_tokens=False).input_ids,
                         tok(target, add_special_tokens=False).input_ids))
        width = max(len(p) + len(t) for p, t in rows)
        ids = torch.full((len(rows), width), tok.pad_token_id, dtype=torch.long)
        labels, mask = torch.full_like(ids, -100), torch.zeros_like(ids)
        for r, (p, t) in enumerate(rows):
            ids[r, :len(p) + len(t)], labels[r, len(p):len(p) + len(t)], mask[r, :len(p) + len(t)] = (
                torch.tensor(p + t), torch.tensor(t), 1)
        batches.append({"input_ids": ids, "attention_mask": mask, "labels": labels})
    return batches


def bare_train(model: Any, batches: list[dict[str, torch.Tensor]], lr: float, max_grad_norm: float) -> None:
    """A plain forward/backward/clip/AdamW-step loop, one step per micro batch."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    for batch in batches:
        model(**batch).loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    model.eval()


def gold(split: str, level: str, n: int, seed: int) -> list[dict]:
    """n problems answered with their worked solutions (what kept samples look like, all correct)."""
    from bootstrapper.tasks.problems import draw_problems

    return [{"question": p.question, "answer": p.solution, "gold": p.gold, "level": p.level, "template": p.template}
            for p in draw_problems(seed, level, split, n)]


def run_llm(args: argparse.Namespace) -> dict:
    """Generation, evaluation, training and checkpoints of the LLM task: bare / before / after."""
    from bootstrapper.tasks.llm import LLMConfig, LLMTask
    from bootstrapper.tasks.problems import draw_problem

    before_module = baseline_module(args.baseline, "bootstrapper/tasks/llm.py", "llm_before")
    config = LLMConfig(model_path=args.model_path, device="cpu", num_threads=args.threads,
                       eval_per_level=args.eval_per_level,
                       **({"max_new_tokens": 16, "gen_batch": 4} if args.quick else {}))
    task, before = LLMTask(config), before_module.LLMTask(before_module.LLMConfig(**config.to_json()))
    started = time.perf_counter()
    state = task.init_state(0)
    print(f"model loaded in {time.perf_counter() - started:.0f} s", flush=True)
    optimizer = torch.optim.AdamW(state.model.parameters(), lr=config.lr)
    old = before_module.LLMState(state.model, state.tokenizer, optimizer, state.rng, state.device)
    tok, result = state.tokenizer, {"config": config.to_json(), "baseline": args.baseline, "threads": args.threads}

    def fresh(s: Any, seed: int) -> Any:
        """The state with its RNG reset (same problems and sampling seed) and, after, no cached prefix."""
        s.rng = np.random.default_rng(seed)
        if hasattr(s, "prefix"):
            s.prefix = None  # as after a round's training: the prefix is computed again
        return s

    # Greedy answers on held-out problems: the answer lengths, and "after" against the plain loop.
    print("greedy answers to held-out problems, bare and after", flush=True)
    questions = heldout_questions(config, args.compare_per_level)
    seconds, answers = interleaved({"bare": lambda: bare_complete(task, state, questions, sample=False),
                                    "after": lambda: task.complete(fresh(state, 0), questions, sample=False)}, 1)
    result["greedy"] = summary(seconds, len(questions), "problem")
    result["greedy_answer_tokens"] = answer_lengths(tok, answers["bare"][1])
    result["greedy_identical"] = identical(answers["after"], answers["bare"][0])
    print("greedy answers identical:", result["greedy_identical"], flush=True)

    print("generate (sampled)", flush=True)
    sampled: dict[str, list[str]] = {}

    def bare_generate() -> None:
        """The problems and sampling seed task.generate draws from a state RNG seeded 1, answered plainly."""
        rng, levels = np.random.default_rng(1), config.train_levels
        problems = [draw_problem(rng, levels[int(rng.integers(len(levels)))], "train") for _ in range(args.samples)]
        torch.manual_seed(int(rng.integers(2**63 - 1)))
        sampled["bare"], sampled["rows"] = bare_complete(task, state, [p.question for p in problems], sample=True)

    seconds, outputs = interleaved({"bare": bare_generate,
                                    "before": lambda: before.generate(fresh(old, 1), args.samples),
                                    "after": lambda: task.generate(fresh(state, 1), args.samples)}, args.reps)
    result["generate"] = summary(seconds, args.samples, "sample")
    tokens = {"bare": sampled["bare"], "before": [s["answer"] for s in outputs["before"]],
              "after": [s["answer"] for s in outputs["after"]]}
    for name, answers in tokens.items():
        count = sum(len(tok(a, add_special_tokens=False).input_ids) for a in answers)
        result["generate"][name]["answer_tokens_per_cpu_s"] = count / statistics.median(seconds[name]["cpu"])
    result["sampled_answer_tokens"] = answer_lengths(tok, sampled["rows"])
    result["sampled_bare_equal_before"] = tokens["bare"] == tokens["before"]  # the same prompts, seed and batches

    print("evaluate (greedy, every eval level)", flush=True)
    seconds, metrics = interleaved({"before": lambda: before.evaluate(old),
                                    "after": lambda: task.evaluate(fresh(state, 0))}, args.reps)
    result["evaluate"] = {**summary(seconds, 1, "round"), "metrics_equal": metrics["before"] == metrics["after"]}

    print("train", flush=True)
    kept = gold("train", "base", args.trained, 2)
    batches = bare_train_batches(task, state, kept, 2)
    seconds, _ = interleaved({"bare": lambda: bare_train(state.model, batches, config.lr, config.max_grad_norm),
                              "before": lambda: before.train(fresh(old, 2), kept),
                              "after": lambda: task.train(fresh(state, 2), kept)}, args.reps)
    result["train"] = summary(seconds, args.trained, "sample")

    print("checkpoint", flush=True)
    result["checkpoint"] = checkpoints({"before": (before, old), "after": (task, state)}, args.reps)

    print("quality: three training rounds before/after from the same start", flush=True)
    result["quality"] = quality(args, task, before, before_module)
    return result


def heldout_questions(config: Any, per_level: int) -> list[str]:
    """The first per_level held-out questions of every eval level (evaluate's problems come first)."""
    from bootstrapper.tasks.problems import draw_problems

    return [p.question for level in config.eval_levels
            for p in draw_problems(config.test_seed, level, "test", per_level)]


def identical(answers: list[str], expected: list[str]) -> dict:
    """How many answers equal the expected ones, and the first differing pair."""
    diff = [(a, b) for a, b in zip(answers, expected) if a != b]
    return {"identical": len(answers) - len(diff), "problems": len(answers),
            "first_difference": diff[0] if diff else None}


def quality(args: argparse.Namespace, task: Any, before: Any, before_module: types.ModuleType) -> dict:
    """Three rounds (4, 8, 16 worked solutions) trained from the starting weights by the code before
    (AdamW carried across rounds) and after (a fresh AdamW per round, prefix shared in the batch):
    held-out answer-token loss and greedy accuracy, and after's greedy answers against the plain loop."""
    state = task.init_state(3)
    old = before_module.LLMState(copy.deepcopy(state.model), state.tokenizer, None, state.rng, state.device)
    old.optimizer = torch.optim.AdamW(old.model.parameters(), lr=task.config.lr)
    sizes = (2, 2, 4) if args.quick else (4, 8, 16)
    rounds = [gold("train", "base", n, 10 + r) for r, n in enumerate(sizes)]
    heldout = gold("test", "base", 8 if args.quick else 32, 11)
    out: dict[str, Any] = {"round_sizes": list(sizes)}
    for name, runner, s in (("before", before, old), ("after", task, state)):
        s.rng = np.random.default_rng(4)
        for kept in rounds:
            s = runner.train(s, kept)
        out[name] = {"heldout_loss": runner.loss(s, heldout), **runner.evaluate(s)}
        print(f"  {name}: {out[name]}", flush=True)
    questions = heldout_questions(task.config, args.compare_per_level)
    out["greedy_identical_after_training"] = identical(task.complete(state, questions, sample=False),
                                                       bare_complete(task, state, questions, sample=False)[0])
    return out


def study_costs(args: argparse.Namespace) -> dict:
    """c_g, c_t (bootstrapper.calibrate.measure, as the study calibrates them) and evaluation seconds
    per round, wall clock, with the LLM study's task options; --reps times on the same start."""
    from bootstrapper.calibrate import measure
    from bootstrapper.tasks.llm import LLMConfig, LLMTask

    options = {"eval_per_level": args.eval_per_level, "num_threads": args.threads} if not args.quick else {
        "eval_per_level": 2, "num_threads": 1, "max_new_tokens": 16}
    task = LLMTask(LLMConfig(model_path=args.model_path, **options))
    start, runs = task.init_state(0), []
    for rep in range(args.reps):
        probe = measure(task, start, samples=8 if args.quick else 32)
        started = time.perf_counter()
        task.evaluate(start)
        runs.append({"cg": probe["cg"], "ct": probe["ct"], "eval_s": time.perf_counter() - started,
                     "load_average_1min": os.getloadavg()[0]})
        print(f"  rep {rep}: {runs[-1]}", flush=True)
    return {"options": options, "runs": runs,
            **{f"median_{k}": statistics.median(r[k] for r in runs) for k in ("cg", "ct", "eval_s")}}


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    if args.study_costs:
        result, name = study_costs(args), "llm_speed_study_costs"
    else:
        result, name = run_llm(args) if args.task == "llm" else run_ddpm(args), f"{args.task}_speed"
    name += "_quick" if args.quick else ""
    print(f"wrote {save(name, result, args.out)}")


if __name__ == "__main__":
    main()
