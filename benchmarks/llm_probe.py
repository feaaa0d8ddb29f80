"""Measured check of the LLM task: held-out accuracy before and after STaR rounds, and its costs.

Each round generates --samples sampled answers to training problems, keeps the correct ones (the
verifier's reward is 0 or 1, so proportional selection keeps exactly the correct answers), trains
one pass on them and evaluates greedily on the fixed held-out problems of every eval level. The
seconds per generated and per trained sample are the planner's c_g and c_t on this machine.

    python benchmarks/llm_probe.py --out runs/llm_probe.json      # ~1.5 h on 2 shared CPU cores
    python benchmarks/llm_probe.py --rounds 1 --samples 32 --eval-per-level 16   # a quick look

Measured 2026-11-25 with the defaults (shipped SmolLM2, 2 cores shared with other jobs): greedy
held-out accuracy, base 10.2 +- 2.7 % -> 42.2 +- 4.4 % -> 57.8 +- 4.4 %, p1 5.5 +- 2.0 % -> 2.3 +- 1.3 %
-> 2.3 +- 1.3 % (trained on base only); kept 15/192 then 64/192; 2.7-4.1 s per generated sample,
6.6-9.6 s per trained sample.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from bootstrapper.tasks.llm import LLMConfig, LLMTask
from planner.jsonio import InputError, atomic_write_json


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2, help="STaR rounds (default 2)")
    parser.add_argument("--samples", type=int, default=192, help="generated samples per round (default 192)")
    parser.add_argument("--eval-per-level", type=int, default=128, help="held-out problems per level (default 128)")
    parser.add_argument("--eval-levels", default="base,p1", help="comma-separated levels (default base,p1)")
    parser.add_argument("--train-levels", default="base", help="comma-separated levels (default base)")
    parser.add_argument("--shots", type=int, default=2, help="worked examples in the prompt (default 2)")
    parser.add_argument("--lr", type=float, default=2e-5, help="AdamW learning rate (default 2e-5)")
    parser.add_argument("--model-path", help="local Hugging Face folder (default: the shipped SmolLM2 GGUF)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: faster than 2 when another job shares the cores)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the task state (default 0)")
    parser.add_argument("--out", help="write the results here as JSON")
    return parser.parse_args()


def show(label: str, metrics: dict[str, float], levels: tuple[str, ...]) -> str:
    """One table cell per level: accuracy ± standard error, in percent."""
    cells = [f"{100 * metrics[f'acc_{lv}']:5.1f} ± {100 * metrics[f'se_{lv}']:4.1f} %" for lv in levels]
    return f"{label:<8}" + "".join(f"{c:>18}" for c in cells)


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    try:
        run(args)
    except InputError as e:
        print(f"llm_probe: {e}", file=sys.stderr)
        sys.exit(2)


def run(args: argparse.Namespace) -> None:
    """Evaluate, then generate / keep correct / train / evaluate for each round; print and save."""
    config = LLMConfig(model_path=args.model_path, train_levels=tuple(args.train_levels.split(",")),
                       eval_levels=tuple(args.eval_levels.split(",")), eval_per_level=args.eval_per_level,
                       shots=args.shots, lr=args.lr)
    task = LLMTask(config)
    started = time.perf_counter()
    state = task.init_state(args.seed)
    loaded = time.perf_counter() - started
    levels = config.eval_levels
    print(f"loaded in {loaded:.0f} s; eval {args.eval_per_level} problems per level, greedy")
    print(f"{'round':<8}" + "".join(f"{'acc ' + lv:>18}" for lv in levels)
          + "   kept/generated  s/gen  s/train  s/eval")
    started = time.perf_counter()
    metrics = task.evaluate(state)
    records = [{"round": "before", "metrics": metrics, "seconds_evaluate": time.perf_counter() - started}]
    print(show("before", metrics, levels) + f"{'':>32}{records[0]['seconds_evaluate']:7.0f}", flush=True)
    for t in range(args.rounds):
        clock = time.perf_counter()
        batch = task.generate(state, args.samples)
        kept = task.take(batch, np.flatnonzero(task.reward(state, batch) == 1.0))
        seconds_generate = time.perf_counter() - clock
        loss_before = task.loss(state, kept) if kept else None
        clock = time.perf_counter()
        state = task.train(state, kept)
        seconds_train = time.perf_counter() - clock
        loss_after = task.loss(state, kept) if kept else None
        clock = time.perf_counter()
        metrics = task.evaluate(state)
        record = {"round": t, "metrics": metrics, "generated": len(batch), "kept": len(kept),
                  "kept_loss_before": loss_before, "kept_loss_after": loss_after,
                  "seconds_generate": seconds_generate, "seconds_train": seconds_train,
                  "seconds_evaluate": time.perf_counter() - clock}
        record["s_per_generated"] = record["seconds_generate"] / len(batch)
        record["s_per_trained"] = record["seconds_train"] / len(kept) if kept else None
        records.append(record)
        per_trained = f"{record['s_per_trained']:7.2f}" if kept else "      -"
        print(show(str(t), metrics, levels) + f"{len(kept):>9}/{len(batch):<6}{record['s_per_generated']:7.2f}"
              f"{per_trained}{record['seconds_evaluate']:8.0f}", flush=True)
        if kept:
            print(f"         loss on the kept answers {loss_before:.3f} -> {loss_after:.3f} nats/token", flush=True)
    if args.out:
        atomic_write_json(args.out, {"config": config.to_json(), "threads": args.threads, "seed": args.seed,
                                     "seconds_load": loaded, "rounds": records})


if __name__ == "__main__":
    main()
