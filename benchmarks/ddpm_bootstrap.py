"""DDPM bootstrapping through the user's own commands: plan a small budget (seconds of this
machine) for the shipped checkpoint, run it with `plan execute --task ddpm`, and report the
held-out MNIST PSNR after every round, the wall time, and PSNR vs compute (a PNG).

    python3 benchmarks/ddpm_bootstrap.py                 # 420 s budget, 3 rounds, ~7 min
    python3 benchmarks/ddpm_bootstrap.py --quick         # 1 round on 16 held-out digits, ~40 s

The plan uses benchmarks/ddpm_prior.json, a surrogate fitted by hand to three measured rounds
of 512 generated samples from the shipped checkpoint (reward = (PSNR - 24) / 16), and costs
measured on one thread here: 0.17 s per generated sample, 0.04 s per trained sample, and the
held-out evaluation (~40 s for 256 digits) as the per-round cost.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS, figure, save, save_figure, scratch, table  # noqa: E402
from bootstrapper.rundir import RunDir  # noqa: E402

PRIOR = Path(__file__).resolve().parent / "ddpm_prior.json"


def run(*args: str) -> subprocess.CompletedProcess:
    """One `plan` command, as a user types it; a failure stops the benchmark with its message."""
    proc = subprocess.run([sys.executable, "-m", "planner.cli", *args], capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"plan {' '.join(args)} failed:\n{proc.stderr}")
    return proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=420.0, help="seconds of compute for the whole run")
    parser.add_argument("--rounds", type=int, default=3, help="most rounds the plan may use")
    parser.add_argument("--eval-images", type=int, default=256, help="held-out digits evaluated after each round")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest on a shared box)")
    parser.add_argument("--quick", action="store_true", help="budget 25 s with 16 held-out digits: checks the outputs")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    budget, eval_images, cr = (25.0, 16, 3.0) if args.quick else (args.budget, args.eval_images,
                                                                  40.0 * args.eval_images / 256)
    with scratch() as folder:
        plan_file = folder / "plan.json"
        run("--budget", str(budget), "--cg", "0.17", "--ct", "0.04", "--c-round", str(cr), "--model", str(PRIOR),
            "--max-rounds", str(args.rounds), "--batch", "8", "--task", "ddpm", "--out", str(plan_file))
        started = time.perf_counter()
        done = run("execute", str(plan_file), "--run-dir", str(folder / "d1"), "-o", f"eval_images={eval_images}",
                   "-o", f"num_threads={args.threads}", "--json", "--no-progress", "--no-report")
        wall = time.perf_counter() - started
        summary = json.loads(done.stdout)
        rounds, initial = RunDir(folder / "d1").rounds(), RunDir(folder / "d1").run_config().initial
        planned = json.loads(plan_file.read_text())["schedule"]
    rows = [{"round": "before", "kept": None, "generated": None, "spent": 0.0, "psnr": initial["psnr"],
             "predicted": None}]
    rows += [{"round": str(r.round), "kept": r.kept, "generated": r.generated, "spent": r.spent,
              "psnr": r.metrics["psnr"], "predicted": None if r.predicted_reward is None
              else 24.0 + 16.0 * r.predicted_reward} for r in rounds]
    print(table(rows, [("round", ""), ("kept", ".0f"), ("generated", ".0f"), ("spent", ".1f"), ("psnr", ".2f"),
                       ("predicted", ".2f")]))
    print(f"wall time of `plan execute`: {wall:.0f} s (loading and the initial evaluation included); "
          f"spent {summary['spent']:.1f} of {budget:g}")
    name = "ddpm_bootstrap" + ("_quick" if args.quick else "")
    plot(rows, args.out / f"{name}.png")
    result = {"budget_seconds": budget, "eval_images": eval_images, "threads": args.threads, "wall_seconds": wall,
              "plan": planned, "initial_psnr": initial["psnr"],
              "rounds": [{k: getattr(r, k) for k in ("round", "n", "kept", "generated", "cost", "spent", "reward",
                                                     "metrics", "seconds", "predicted_reward")} for r in rounds],
              "summary": summary}
    print(f"wrote {save(name, result, args.out)}")


def plot(rows: list[dict], path: Path) -> None:
    """Held-out PSNR against compute spent, measured and as the plan predicted."""
    fig, ax = figure(figsize=(5.5, 3.6))
    ax.plot([r["spent"] for r in rows], [r["psnr"] for r in rows], marker="o", label="measured (held-out MNIST)")
    predicted = [(0.0, rows[0]["psnr"])] + [(r["spent"], r["predicted"]) for r in rows[1:] if r["predicted"]]
    ax.plot(*zip(*predicted), ls="--", marker=".", color="gray", label="plan's prediction")
    ax.set(xlabel="compute spent (s)", ylabel="PSNR (dB)", title="DDPM bootstrapping on MNIST, s = 10")
    ax.legend()
    save_figure(fig, path)


if __name__ == "__main__":
    main()
