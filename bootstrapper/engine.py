"""The round engine: plan -> generate -> reward -> select -> train -> evaluate -> ledger -> commit
-> replan, for any Task. It owns selection, the ledger and the run directory; resuming starts at
the first uncommitted round with every RNG restored, so a killed-then-resumed run equals an
uninterrupted one. Under a distributed launcher every process runs this same loop with the same
RNG and the same (gathered) samples, so every one keeps the same ledger of global counts; only
the main process reads and writes the run directory.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import time
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

from bootstrapper import distributed as dist
from bootstrapper.rundir import RunDir
from bootstrapper.tasks import Task
from planner.ledger import Ledger
from planner.plan import Plan
from planner.replan import Replan
from planner.rounds import RoundRecord, check_initial
from planner.validate import InputError

MAX_CHUNK = 4096  # most samples asked of the task in one generate call


class Replanner(Protocol):
    """Called after every round: the kept sizes for the remaining rounds (may be empty), and a
    note for the log (None when there is nothing to say)."""

    def __call__(self, plan: Plan, history: list[RoundRecord], ledger: Ledger) -> Replan:
        ...


def keep_plan(plan: Plan, history: list[RoundRecord], ledger: Ledger) -> Replan:
    """The default replanner: the plan's own schedule for the rounds not yet run."""
    return Replan(tuple(plan.schedule.n[len(history):]), {})


@dataclasses.dataclass
class RoundResult:
    """What one round did: counts, cost, and the kept samples."""

    kept: Any
    n_kept: int
    generated: int
    cost: float
    trimmed: bool
    seconds_generating: float
    scores: "Scores"


@dataclasses.dataclass
class Scores:
    """Running sum of the rewards of every sample a round generated: their mean measures the
    reward of the model before the round's training, for free (every sample is scored anyway)."""

    count: int = 0
    total: float = 0.0
    squares: float = 0.0

    def add(self, rewards: np.ndarray) -> np.ndarray:
        self.count += len(rewards)
        self.total += float(np.sum(rewards))
        self.squares += float(np.sum(np.square(rewards)))
        return rewards

    def mean_and_se(self) -> tuple[float | None, float | None]:
        """Mean reward of the generated samples and its standard error (None where undefined)."""
        if not self.count:
            return None, None
        mean = self.total / self.count
        if self.count < 2:
            return mean, None
        variance = max(self.squares - self.count * mean**2, 0.0) / (self.count - 1)
        return mean, math.sqrt(variance / self.count)


def run_round(task: Task, state: Any, target: int, ledger: Ledger, rng: np.random.Generator,
              expected_ratio: float = 1.0, on_chunk: Callable[[int, int, float], None] | None = None) -> RoundResult:
    """Generate and select until `target` samples are kept or the budget allows no more.

    Proportional selection keeps each sample with probability R(x) (chunks sized from the
    acceptance seen so far); fixed-ratio generates ceil(k n) and keeps the n best. The round's
    fixed cost is charged first, generation as it happens, and training is reserved before
    generating so the round can always pay for what it keeps."""
    spent_before = ledger.spent
    ledger.charge(rounds=1)
    started = time.perf_counter()
    scores = Scores()
    if ledger.costs.selection == "fixed":
        kept, n, generated = _fixed_ratio(task, state, ledger.fixed_ratio_allowance(target), ledger, scores)
    else:
        pieces, n, generated = [], 0, 0
        while n < target:
            allowance = ledger.generation_allowance(n, target)
            if allowance <= 0:
                break
            ratio = generated / n if n else expected_ratio
            chunk = int(min(MAX_CHUNK, allowance, max(1, math.ceil((target - n) * ratio))))
            batch = task.generate(state, chunk)
            ledger.charge(generated=chunk)
            generated += chunk
            accepted = np.flatnonzero(rng.random(chunk) < scores.add(_rewards(task, state, batch)))[: target - n]
            if len(accepted):
                pieces.append(task.take(batch, accepted))
                n += len(accepted)
            if on_chunk:
                on_chunk(n, generated, ledger.spent)
        kept = task.concat(pieces) if pieces else None
    seconds = time.perf_counter() - started
    ledger.charge(trained=n)
    return RoundResult(kept, n, generated, ledger.spent - spent_before, n < target, seconds, scores)


def _fixed_ratio(task: Task, state: Any, n: int, ledger: Ledger, scores: Scores) -> tuple[Any, int, int]:
    """Generate ceil(k n) samples and keep the n with the highest reward (best-of-k)."""
    total = math.ceil(ledger.costs.ratio * n) if n else 0
    pieces = [task.generate(state, min(MAX_CHUNK, total - k)) for k in range(0, total, MAX_CHUNK)]
    ledger.charge(generated=total)
    if not n:
        return None, 0, 0
    rewards = scores.add(np.concatenate([_rewards(task, state, p) for p in pieces]))
    best = np.sort(np.argsort(-rewards, kind="stable")[:n])
    return task.take(task.concat(pieces), best), n, total


def _rewards(task: Task, state: Any, batch: Any) -> np.ndarray:
    """The task's rewards, checked: one per sample, within [0, 1]."""
    r = np.asarray(task.reward(state, batch), dtype=float)
    if r.shape != (task.size(batch),) or not np.all((r >= 0) & (r <= 1)):
        raise ValueError(f"task {task.name} returned rewards of shape {r.shape} outside [0, 1]")
    return r


@dataclasses.dataclass
class Progress:
    """Hooks for showing a run; the CLI passes tqdm-based ones, tests pass nothing."""

    round_started: Callable[[int, int], None] = lambda t, n: None
    chunk: Callable[[int, int, float], None] | None = None  # kept, generated, spent so far
    round_done: Callable[[RoundRecord], None] = lambda record: None


def start_state(plan: Plan, task: Task, seed: int) -> Any:
    """The state round 0 starts from: the task's initial state, or a checkpoint the plan names
    (its `start` record: a checkpoint of an earlier run to continue from)."""
    if not plan.start or not plan.start.get("checkpoint"):
        return task.init_state(seed)
    folder = Path(plan.start["checkpoint"])
    if not folder.is_dir():
        raise InputError(f"the plan starts from the checkpoint {folder}, which is missing")
    return task.load(folder)


def initial_metrics(task: Task, state: Any) -> dict[str, float]:
    """The starting model's metrics, checked: options the task cannot evaluate with are refused."""
    try:
        metrics = {k: float(v) for k, v in task.evaluate(state).items()}
    except ArithmeticError as e:
        raise InputError(f"task {task.name} cannot evaluate its starting model with these options "
                         f"({type(e).__name__}: {e}); check the -o values") from None
    return check_initial(metrics, f"task {task.name}'s starting model")


def execute(plan: Plan, task: Task, run_dir: str | Path, seed: int = 0, replanner: Replanner = keep_plan,
            progress: Progress | None = None, before_first_round: Callable[[Any], Plan] | None = None,
            eval_every: int = 1) -> list[RoundRecord]:
    """Run (or resume) the plan on the task in run_dir (prepared by RunDir.prepare); returns
    every committed round's record. before_first_round sees the fresh state and may return a
    re-solved plan (cost calibration); it is not called when resuming after round 0. The held-out
    evaluation runs after every eval_every-th round and after the last one; the other rounds log
    reward None and carry only the free generation reward (the mean score of what they generated)."""
    progress = progress or Progress()
    rd = RunDir(run_dir)
    saved, history = dist.on_main(lambda: _open_log(rd))  # read (and repaired) by the main process only
    rng = np.random.Generator(np.random.PCG64(seed))
    if saved is None:
        state = start_state(plan, task, seed)
        plan = before_first_round(state) if before_first_round else plan
        schedule = list(plan.schedule.n)
    else:
        engine, folder = saved
        state, schedule = task.load(folder), engine["schedule"]
        rng.bit_generator.state = engine["rng"]
    ledger = Ledger(plan.problem.budget, plan.problem.costs, engine["spent"] if saved else 0.0)
    predicted = plan.outcome.trajectory
    ratios = plan.outcome.generated / plan.outcome.n

    def evaluated(record: RoundRecord) -> RoundRecord:
        """The round's record with the held-out metrics of the current state, and their seconds."""
        started = time.perf_counter()
        metrics = {k: float(v) for k, v in task.evaluate(state).items()}
        seconds = {**record.seconds, "evaluate": time.perf_counter() - started}
        return dataclasses.replace(record, reward=metrics["reward"], metrics=metrics, seconds=seconds)

    def finished(t: int) -> bool:
        """Whether round t is the run's last (nothing planned after it, trimmed, or budget spent)."""
        return (t + 1 >= len(schedule) or history[-1].trimmed
                or not ledger.affordable(generated=1, trained=1, rounds=1))

    while len(history) < len(schedule) and not (history and history[-1].trimmed):
        t = len(history)
        if not ledger.affordable(generated=1, trained=1, rounds=1):
            break
        progress.round_started(t, schedule[t])
        result = run_round(task, state, schedule[t], ledger, rng, float(ratios[min(t, len(ratios) - 1)]),
                           progress.chunk)
        started = time.perf_counter()
        if result.n_kept:
            state = task.train(state, result.kept)
        generation_reward, generation_reward_se = result.scores.mean_and_se()
        history.append(RoundRecord(
            round=t, n=schedule[t], kept=result.n_kept, generated=result.generated, trimmed=result.trimmed,
            cost=result.cost, spent=ledger.spent, reward=None, generation_reward=generation_reward,
            generation_reward_se=generation_reward_se, steps=task.train_steps(result.n_kept) if result.n_kept else 0,
            predicted_reward=float(predicted[t + 1]) if t + 1 < len(predicted) else None,
            seconds={"generate": result.seconds_generating, "train": time.perf_counter() - started, "evaluate": 0.0}))
        if (t + 1) % eval_every == 0 or finished(t):
            history[-1] = evaluated(history[-1])
        update = replanner(plan, history, ledger)
        schedule = schedule[: t + 1] + list(update.schedule)
        if history[-1].reward is None and finished(t):  # the replanner ended the run here
            history[-1] = evaluated(history[-1])
        record = history[-1] = dataclasses.replace(history[-1], schedule=tuple(schedule[t + 1:]),
                                                   replan=update.note or None)
        engine_state = {"next_round": t + 1, "spent": ledger.spent, "rng": rng.bit_generator.state,
                        "schedule": schedule}
        dist.on_main(functools.partial(rd.commit, record, engine_state, functools.partial(task.save, state)))
        progress.round_done(record)
    return history


def _open_log(rd: RunDir) -> tuple[tuple[dict, Path] | None, list[RoundRecord]]:
    """The last checkpoint (engine state, task folder) and the committed rounds, after finishing a
    commit that was killed halfway."""
    rd.recover()
    saved = rd.recover_checkpoint(len(rd.rounds()))
    return saved, rd.rounds()
