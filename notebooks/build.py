"""Writes theory.ipynb and walkthrough.ipynb from the cells below (edit here, then rebuild and
execute: `python3 notebooks/build.py --execute`). SPENDWISE_QUICK=1 makes them run in CI time."""
from __future__ import annotations

import argparse
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent

SETUP = """import os, sys, tempfile
from pathlib import Path
import numpy as np
import matplotlib.pyplot as plt
sys.path.insert(0, str(Path.cwd().parent))  # the repository, when run from notebooks/
QUICK = os.environ.get("SPENDWISE_QUICK") == "1"  # CI runs the notebooks small"""

THEORY = [
    ("md", """# The theory behind spendwise

Iterative bootstrapping: round t generates N_t samples from the current model, keeps n_t of them
(proportional selection: each with probability R(x)), and trains on the kept ones. Under a fixed
compute budget C = Σ c_g N_t + c_t n_t, how should n_t grow? This notebook checks, numerically,
the results the planner stands on (Yang et al., *Spend Wisely*, NeurIPS 2025; `docs/theory.md`)."""),
    ("code", SETUP),
    ("md", """## 1. The Gaussian warm-up is solved exactly

Generator N(θ, σ²), reward R(x) = exp(−x²/2κ²), update θ ← mean of the kept samples. The kept
samples are N(ρθ, ρσ²) with ρ = κ²/(σ²+κ²), so θ_T ~ N(m, v) and the expected final reward has a
closed form. We compare it with a direct simulation of the loop (rejection sampling included)."""),
    ("code", """from planner.models import GaussianModel

model = GaussianModel(theta0=3.0, sigma=1.0, kappa=1.0)
n = 10 * 2 ** np.arange(8)
runs = 2000 if QUICK else 20000
rng = np.random.default_rng(0)
theta = np.full(runs, 3.0)
for k in n:  # the loop itself: draw, keep with probability R(x) until k are kept, average
    kept = np.zeros(runs); count = np.zeros(runs, int)
    while (count < k).any():
        x = rng.normal(theta, 1.0)
        keep = (rng.random(runs) < np.exp(-x**2 / 2)) & (count < k)
        kept += np.where(keep, x, 0.0); count += keep
    theta = kept / k
measured = np.sqrt(model.rho) * np.exp(-theta**2 / (2 * model.s2))
print(f"closed form {model.trajectory(n)[-1]:.6f}   simulation {measured.mean():.6f} \
± {measured.std() / np.sqrt(runs):.6f}")"""),
    ("md", """## 2. Theorem 3.1: the best schedule is exponential with base 1 + σ²/κ²

When every kept sample costs the same (c_g = 0 or fixed-ratio selection), the free-form optimum
(any n_t ≥ 1, solved exactly by water-filling; cvxpy agrees) grows by exactly u* = 1 + σ²/κ² per
round. With proportional selection the early rounds cost more per kept sample, and the ratios
bend near the start — but the best exponential base stays close to u*."""),
    ("code", """from planner.costs import CostModel
from planner.problem import Problem
from planner.solvers import free_form

fig, ax = plt.subplots(figsize=(6, 3.5))
for sigma in (0.5, 1.0, 2.0):
    for cg, style in ((0.0, "-"), (1.0, "--")):
        cert = free_form(Problem(GaussianModel(3.0, sigma, 1.0), CostModel(cg, 3.0, 50.0), 1e5))
        ratios = np.array(cert.n[1:]) / np.array(cert.n[:-1])
        ax.plot(ratios, style, marker=".", label=f"σ={sigma}, c_g={cg:g} (u*={1 + sigma**2:g})")
ax.set(xlabel="round t", ylabel="n_(t+1) / n_t", yscale="log", title="free-form optimum: growth per round")
ax.legend(fontsize=7); plt.show()"""),
    ("md", """## 3. The certificate, and what the shape is worth

For each budget: the best constant, linear and exponential schedules, and the free-form optimum
(the best schedule of any shape). Compare the *gap* r* − r: near saturation all rewards agree to
many digits while the gaps differ by factors."""),
    ("code", """from planner.plan import compare

budgets = [1e3, 1e4, 1e5] if QUICK else [1e3, 1e4, 1e5, 1e6]
gaps = {}
for b in budgets:
    for p in compare(Problem(GaussianModel(), CostModel(1.0, 3.0, 20.0), b)):
        gaps.setdefault(p.schedule.strategy, []).append(p.gap)
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, g in gaps.items():
    ax.plot(budgets, g, marker="o", label=name)
ax.set(xscale="log", yscale="log", xlabel="budget", ylabel="predicted gap r* - r"); ax.legend(); plt.show()
for b, c, e, f in zip(budgets, gaps["constant"], gaps["exponential"], gaps["free"]):
    print(f"budget {b:>9,.0f}: constant/exponential gap {c / e:4.1f}x, \
exponential vs free-form {100 * (e - f) / f:+.3f} %")"""),
    ("md", """## 4. Constant schedules stall (Theorem 4.1)

With the surrogate g_(t+1) = a g_t + b/n_t, a constant n settles at g = b/(n(1−a)) > 0 however
many rounds are run, while any increasing schedule drives the gap to zero."""),
    ("code", """from planner.models import SurrogateModel

s = SurrogateModel(r_star=0.9, g0=0.6, a=0.6, b=0.5)
T = np.arange(40)
for name, n in (("constant 100", np.full(40, 100.0)), ("linear 100(1+t)", 100 * (1 + T)), \
("exponential 100·1.3^t", 100 * 1.3**T)):
    plt.plot(s.gaps(n), label=name)
plt.axhline(s.b / (100 * (1 - s.a)), color="k", ls=":", label="constant's floor b/(n(1-a))")
plt.yscale("log"); plt.xlabel("round"); plt.ylabel("gap"); plt.legend(); plt.show()"""),
]

WALKTHROUGH = [
    ("md", """# Walk-through: plan, execute, fit, replan

The whole product on the Gaussian task (exact, seconds), then the same loop on the DDPM task
(minutes on a CPU). The same commands drive the LLM task (`plan execute plan.json --task llm`),
which takes hours here."""),
    ("code", SETUP + """
work = Path(tempfile.mkdtemp(prefix="spendwise-walkthrough-"))"""),
    ("md", "## 1. Plan\n`plan` prints the recommended schedule; here through the Python API."),
    ("code", """from planner.costs import CostModel
from planner.models import DEFAULT_MODEL
from planner.plan import recommend
from planner.problem import Problem
from planner.report import recommend_report

plan = recommend(Problem(DEFAULT_MODEL, CostModel(cg=1.0, ct=3.0, c_round=20.0), budget=2e4), task="gaussian")
print(recommend_report(plan))"""),
    ("md", """## 2. Execute on the task
The engine generates until each round has its n_t kept samples, charges the ledger, trains,
evaluates, and commits the round (checkpoint + log line) before the next. Here the task's true σ
is 1.5 while the plan assumed 1.0, so the measured rewards drift from the prediction."""),
    ("code", """import json
from bootstrapper.engine import execute
from planner.runconfig import RunConfig
from bootstrapper.rundir import RunDir
from bootstrapper.tasks.gaussian import GaussianConfig, GaussianTask

task = GaussianTask(GaussianConfig(sigma=1.5))
RunDir(work / "run").prepare(plan.to_json(), RunConfig.for_task(task, seed=0))
history = execute(plan, task, work / "run", seed=0)
for r in history:
    print(f"round {r['round']:2d}  kept {r['kept']:5d}  generated {r['generated']:6d}  spent {r['spent']:8.0f}  "
          f"reward {r['reward']:.5f}  predicted {r['predicted_reward']:.5f}")"""),
    ("md", "## 3. Fit the reward model to what happened"),
    ("code", """from planner.fit import Observations, fit

result = fit(Observations.from_log(history, task.evaluate(task.init_state(0))))
print(result.method, json.dumps(result.model.to_json()))
for e in result.estimates:
    print(f"  {e.name:6s} {e.value:.4f}  [{e.low:.4f}, {e.high:.4f}]")"""),
    ("md", """## 4. Replan as the run goes
With `--replan` the engine refits after every round and re-solves for the budget left. Over a few
seeds, compare the final gap with and without replanning (the plan's model is wrong)."""),
    ("code", """from planner.replan import replan

initial = task.evaluate(task.init_state(0))
r_star = np.sqrt(1 / (1 + 1.5**2))
seeds = 5 if QUICK else 40
gaps = {"as planned": [], "replanned": []}
for seed in range(seeds):
    for name, hook in (("as planned", None), ("replanned", lambda p, h, l: replan(p, h, l.spent, initial))):
        folder = work / f"{name}-{seed}"
        RunDir(folder).prepare(plan.to_json(), RunConfig.for_task(task, seed))
        h = execute(plan, task, folder, seed=seed, **({"replanner": hook} if hook else {}))
        gaps[name].append(r_star - h[-1]["reward"])
for name, g in gaps.items():
    print(f"{name:11s} mean final gap {np.mean(g):.3e} ± {np.std(g) / np.sqrt(len(g)):.1e}")
plt.bar(list(gaps), [np.mean(g) for g in gaps.values()], yerr=[np.std(g) / np.sqrt(len(g)) for g in gaps.values()])
plt.ylabel("final gap r* - r"); plt.yscale("log"); plt.show()"""),
    ("md", """## 5. Tune with no model at all
`plan tune` plans the whole budget from a vague model of the starting reward alone (or from a
task's prior), runs it, and after every round refits on everything measured so far and re-solves
the rest of the budget once the fit pins the model down: no pilot run is thrown away."""),
    ("code", """from bootstrapper.tune import tune

tuned = tune(task, Problem(DEFAULT_MODEL, CostModel(1.0, 3.0, 20.0), 2e4), work / "tune", seed=0)
last_fit = [r["replan"]["fit"] for r in tuned.history if "fit" in r.get("replan", {})][-1]
print(f"planned {list(tuned.plan.schedule.n)}\\nran     {tuned.schedule}")
print(f"final reward {tuned.history[-1]['reward']:.5f} of r* = {r_star:.5f}; \
last refit {json.dumps(last_fit['model'])}")"""),
    ("md", """## 6. The same loop on a real diffusion model
The DDPM task denoises real MNIST digits with the shipped UNet (pretrained on another domain,
scikit-learn's 8×8 digits). The budget is seconds of this CPU: 0.17 s per generated sample,
0.04 s per trained one, and the held-out evaluation as the per-round cost. The reward model is
`benchmarks/ddpm_prior.json`, a surrogate fitted to three measured rounds. (Quick settings: one
short round on 16 held-out digits; the stored outputs are the full 420-second plan, ~8 minutes.)"""),
    ("code", """from bootstrapper.tasks.ddpm import DDPMConfig, DDPMTask
from planner.models import load_model

budget, eval_images = (25.0, 16) if QUICK else (420.0, 256)
ddpm = DDPMTask(DDPMConfig(eval_images=eval_images, num_threads=1))
costs = CostModel(cg=0.17, ct=0.04, c_round=40.0 * eval_images / 256)
ddpm_plan = recommend(Problem(load_model("../benchmarks/ddpm_prior.json"), costs, budget, batch=8, max_rounds=3),
                      task="ddpm")
print(recommend_report(ddpm_plan).split("solvers")[0])
RunDir(work / "ddpm").prepare(ddpm_plan.to_json(), RunConfig.for_task(ddpm, seed=0))
start = ddpm.evaluate(ddpm.init_state(0))
rounds = execute(ddpm_plan, ddpm, work / "ddpm", seed=0)
psnr = [start["psnr"]] + [r["metrics"]["psnr"] for r in rounds]
for r in rounds:
    print(f"round {r['round']}  kept {r['kept']:4d} of {r['generated']:4d} generated  spent {r['spent']:5.0f} s  "
          f"held-out PSNR {r['metrics']['psnr']:.2f} dB")
plt.plot([0] + [r["spent"] for r in rounds], psnr, marker="o")
plt.xlabel("compute spent (s)"); plt.ylabel("held-out PSNR (dB)"); \
plt.title("DDPM bootstrapping, s = 10"); plt.show()"""),
]


def build(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(src)
                for kind, src in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def execute(nb: nbformat.NotebookNode, timeout: int = 1200) -> None:
    from nbclient import NotebookClient

    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--execute", action="store_true", help="run them and store the outputs")
    parser.add_argument("--only", choices=("theory", "walkthrough"), help="build just this notebook")
    args = parser.parse_args()
    for name, cells in (("theory", THEORY), ("walkthrough", WALKTHROUGH)):
        if args.only and name != args.only:
            continue
        nb = build(cells)
        if args.execute:
            execute(nb)
        nbformat.write(nb, HERE / f"{name}.ipynb")
        print(f"wrote notebooks/{name}.ipynb")


if __name__ == "__main__":
    main()
