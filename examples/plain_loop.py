"""spendwise in a plain PyTorch loop: no engine, only `planner.Advisor` saying how much to keep.

The model is the paper's Gaussian warm-up as a PyTorch module: a generator N(theta, sigma^2)
with a learnable mean, a reward R(x) = exp(-x^2 / 2) in [0, 1], rejection sampling (keep each
sample with probability R(x)), and fine-tuning by one SGD step of rate 1 on the squared error to
the kept samples, which lands on their mean (the MLE). Each round stops generating at the
advisor's cap, so the budget is never passed.

    python examples/plain_loop.py                              # budget 2e4 cost units, seconds to run
    python examples/plain_loop.py --sigma 1.5                  # a generator the default plan gets wrong
    python examples/plain_loop.py --seconds --budget 2         # the budget is 2 s of measured compute
    python examples/plain_loop.py --state run.json             # checkpoint every round; rerun to resume
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budget", type=float, default=2e4, help="cost units, or seconds with --seconds (default 2e4)")
    p.add_argument("--cg", type=float, default=1.0, help="cost (or guessed seconds) per generated sample (default 1)")
    p.add_argument("--ct", type=float, default=3.0, help="cost (or guessed seconds) per kept sample (default 3)")
    p.add_argument("--c-round", "--cr", type=float, default=0.0, help="cost (or seconds) per round (default 0)")
    p.add_argument("--sigma", type=float, default=1.0, help="true generator spread; the default plan assumes 1")
    p.add_argument("--seconds", action="store_true", help="record measured seconds: the budget and costs are seconds")
    p.add_argument("--state", type=Path, help="checkpoint (JSON) written after every round and resumed from")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    import torch

    from planner import Advisor

    class Generator(torch.nn.Module):
        """N(theta, sigma^2) with a learnable mean."""

        def __init__(self, theta: float, sigma: float):
            super().__init__()
            self.theta = torch.nn.Parameter(torch.tensor(theta, dtype=torch.float64))
            self.sigma = sigma

        def sample(self, n: int, rng: torch.Generator) -> torch.Tensor:
            with torch.no_grad():
                return self.theta + self.sigma * torch.randn(n, generator=rng, dtype=torch.float64)

    def reward(x: torch.Tensor) -> torch.Tensor:
        return torch.exp(-x.square() / 2)

    def generate_and_filter(model: Generator, n: int, cap: int, rng: torch.Generator) -> tuple[torch.Tensor, int]:
        """Keep each sample with probability R(x) until n are kept or cap are generated."""
        kept, generated = [], 0
        while sum(len(k) for k in kept) < n and generated < cap:
            need = n - sum(len(k) for k in kept)
            x = model.sample(int(min(cap - generated, max(16, 2 * need))), rng)
            accepted = torch.nonzero(torch.rand(len(x), generator=rng, dtype=torch.float64) < reward(x))[:need, 0]
            generated += int(accepted[-1]) + 1 if len(accepted) == need else len(x)  # stop at the n-th keep
            kept.append(x[accepted])
        return torch.cat(kept) if kept else torch.empty(0, dtype=torch.float64), generated

    def finetune(model: Generator, kept: torch.Tensor) -> None:
        """One SGD step of rate 1 on 0.5 (x - theta)^2: theta becomes the mean of the kept samples."""
        if len(kept):
            (0.5 * (kept - model.theta).square().mean()).backward()
            optimizer.step()
            optimizer.zero_grad()

    def evaluate(model: Generator) -> float:
        """Mean reward of the generator, exactly: E R(x) for x ~ N(theta, sigma^2)."""
        s2 = model.sigma**2 + 1
        return math.exp(-float(model.theta.detach()) ** 2 / (2 * s2)) / math.sqrt(s2)

    model = Generator(3.0, args.sigma)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    optimizer.step()  # no gradients yet, so a no-op that pays torch's one-time lazy imports before any timing
    advisor = Advisor(budget=args.budget, cg=args.cg, ct=args.ct, c_round=args.c_round,
                      initial_reward=evaluate(model), initial_metrics={"theta": float(model.theta.detach())})
    if args.state and args.state.exists():
        saved = json.loads(args.state.read_text())
        advisor.load_state_dict(saved["advisor"])
        model.theta.data.fill_(saved["theta"])
        print(f"resumed after round {len(advisor.history)} from {args.state}")
    while (n := advisor.next_round()) is not None:
        rng = torch.Generator().manual_seed(args.seed * 100_003 + len(advisor.history))  # resumable streams
        started = time.perf_counter()
        kept, generated = generate_and_filter(model, n, advisor.generation_cap, rng)
        generating = time.perf_counter() - started
        finetune(model, kept)
        seconds = dict(seconds_generating=generating, seconds_training=time.perf_counter() - started - generating)
        advisor.record(kept=len(kept), generated=generated, reward=evaluate(model),
                       metrics={"theta": float(model.theta.detach())}, **(seconds if args.seconds else {}))
        print(f"round {len(advisor.history) - 1}: kept {len(kept)} of {n}, generated {generated}, "
              f"spent {advisor.spent:.6g}, reward {advisor.history[-1].reward:.6f}")
        if args.state:
            tmp = args.state.with_suffix(".tmp")
            tmp.write_text(json.dumps({"advisor": advisor.state_dict(), "theta": float(model.theta.detach())}))
            os.replace(tmp, args.state)
    print(advisor.report())


if __name__ == "__main__":
    main()
