"""A run as the CLI sees it: the plan file, the task and its options, the run directory, cost
calibration, the replanner, progress bars and the summary, wired to the engine."""
from __future__ import annotations

import dataclasses
import sys
from typing import Any, Callable

from bootstrapper import distributed as dist
from bootstrapper.engine import Progress, execute, initial_metrics, keep_plan, start_state
from bootstrapper.rundir import RunDir
from bootstrapper.tasks import Task, make_task
from bootstrapper.tracking import tracker_logger, with_trackers
from planner.limits import check_scale
from planner.plan import Plan
from planner.replan import Replan, replan
from planner.rounds import RoundRecord
from planner.runconfig import RunConfig
from planner.trackers import RoundLogger
from planner.validate import InputError, check_every, check_seed


@dataclasses.dataclass
class Session:
    """Everything needed to start or resume one run."""

    plan: Plan
    task: Task
    run_dir: RunDir
    seed: int
    calibrate: bool
    replanning: bool
    eval_every: int  # held-out evaluation after every eval_every-th round and the last
    plan_json: dict
    new_run: RunConfig  # run.json of a new run (less what is measured before round 0)
    resuming: bool = False
    logger: RoundLogger | None = None  # the trackers of --log-with

    @classmethod
    def open(cls, plan_json: dict, task_name: str | None, run_dir: str, seed: int, options: list[str],
             model_path: str | None, calibrate: bool = False, replanning: bool = False,
             eval_every: int = 1, log_with: tuple[str, ...] = ()) -> "Session":
        """Check the plan, the task and its options, the seed and the state the run continues from
        before anything is written; lock an existing run directory and check that it is this run's
        (a new one is made, locked, once its starting model has been evaluated)."""
        check_seed("--seed", seed)
        check_every("--eval-every", eval_every)
        plan = Plan.from_json(plan_json)
        check_scale(plan.problem.budget, plan.problem.costs)
        name = task_name or plan.task
        if name is None:
            raise InputError("the plan names no task; pass --task NAME")
        if plan.task is not None and plan.task != name:
            raise InputError(f"the plan was made for task {plan.task!r}, not {name!r}")
        task = make_task(name, options, model_path)
        wanted = (plan.start or {}).get("task_config")
        if wanted is not None and wanted != task.config.to_json():
            raise InputError(f"the plan continues a checkpoint made with task options {wanted}; "
                             "pass the same options")
        run = RunConfig.for_task(task, seed, calibrate=calibrate, replan=replanning, eval_every=eval_every)
        session = cls(plan, task, RunDir(run_dir), seed, calibrate, replanning, eval_every, plan_json, run)
        if log_with:
            session.logger = tracker_logger(log_with, session.run_dir, lambda: session.plan, session.run_dir.run_config)
        session.resuming = dist.on_main(session._open_run_dir)
        if session.resuming:
            session.plan = session.effective_plan()
        return session

    def _open_run_dir(self) -> bool:
        """Lock and check an existing run (True) or check a new one can be made (False); then load the
        state the run continues from once, so that a damaged one is a sentence before any work."""
        rd = self.run_dir
        resuming = rd.open(self.plan_json, self.new_run)
        if resuming:
            if self.logger:  # a damaged trackers' state is refused before anything is repaired or said
                self.logger.read_state()
            for note in rd.recover():  # an interrupted commit: a kill or a full disk
                print(f"plan: {note}", file=sys.stderr)
        if resuming and (rd.checkpoint / "engine.json").exists():
            folder = rd.checkpoint / "task"
            _loads(lambda: self.task.load(folder), f"the run's checkpoint {folder}")
        elif self.plan.start and self.plan.start.get("checkpoint"):
            _loads(lambda: start_state(self.plan, self.task, self.seed),
                   f"the plan's start checkpoint {self.plan.start['checkpoint']}")
        return resuming

    def close(self) -> None:
        """Release the run directory (the process ending releases it too)."""
        self.run_dir.release()

    def effective_plan(self) -> Plan:
        """The plan file's plan, or the one re-solved for calibrated costs when there is one."""
        stored = self.run_dir.run_config().calibrated_plan
        return Plan.from_json(stored) if stored else self.plan

    def _first_round(self, state: Any) -> Plan:
        """Before round 0: evaluate the starting model and, if asked, calibrate costs and re-solve;
        a new run directory is made only then, so options the task cannot evaluate leave nothing."""
        config = dist.on_main(self.run_dir.run_config) if self.resuming else self.new_run
        if config.initial is None:
            config = dataclasses.replace(config, initial=initial_metrics(self.task, state))
        if self.calibrate and config.calibration is None:
            calibration, plan = dist.broadcast(self._calibrated(state))  # the main process's timing
            config = dataclasses.replace(config, calibration=calibration, calibrated_plan=plan)
        save = self.run_dir.update_run_config if self.resuming else lambda c: self.run_dir.create(self.plan_json, c)
        dist.on_main(lambda: save(config))
        self.resuming = True
        self.plan = self.effective_plan()
        if self.logger:
            dist.on_main(self.logger.start)
        return self.plan


    def _calibrated(self, state: Any) -> tuple[dict, dict]:
        """Measured costs (seconds per sample) and the plan re-solved for them and what is left."""
        from bootstrapper.calibrate import measure
        from planner.plan import recommend

        measured = measure(self.task, state)
        p = self.plan.problem
        costs = dataclasses.replace(p.costs, cg=measured["cg"], ct=measured["ct"])
        problem = dataclasses.replace(p, costs=costs, budget=p.budget - measured["seconds"])
        return measured, recommend(problem, seed=self.seed, task=self.plan.task).to_json()

    def refit(self, plan: Plan, history: list[RoundRecord], ledger) -> Replan:
        """The --replan replanner: refit on all rounds so far and re-solve for what is left."""
        return replan(plan, history, ledger.spent, self.run_dir.run_config().initial)

    def run(self, progress: bool = True) -> list[RoundRecord]:
        """Execute or resume; returns the committed rounds."""
        if self.logger and self.resuming:
            dist.on_main(self.logger.start)
        return with_trackers(self.logger, self.run_dir, tqdm_progress() if progress and dist.is_main() else Progress(),
                             lambda hooks: execute(self.plan, self.task, self.run_dir.path, self.seed,
                                                   self.refit if self.replanning else keep_plan, hooks,
                                                   self._first_round, self.eval_every))

    def summary(self, history: list[RoundRecord]) -> dict:
        """The final summary (also `plan execute --json`)."""
        initial = self.run_dir.run_config().initial or {}
        last = history[-1] if history else None
        return {
            "rounds_done": len(history), "rounds_planned": len(last.schedule) + len(history) if last else 0,
            "spent": last.spent if last else 0.0, "budget": self.plan.problem.budget,
            "final_reward": last.reward if last else initial.get("reward"),
            "predicted_reward": self.plan.predicted_reward, "initial_reward": initial.get("reward"),
            "trimmed": last.trimmed if last else False, "task": self.task.name, "seed": self.seed,
            "run_dir": str(self.run_dir.path), "processes": dist.world_size(),
        }

    def draw_report(self, history: list[RoundRecord]) -> None:
        from bootstrapper.report import plot_run

        initial = (self.run_dir.run_config().initial or {}).get("reward", float("nan"))
        predicted0 = float(self.plan.outcome.trajectory[0])
        plot_run(history, self.plan.problem.budget, (initial, predicted0), self.plan.problem.model.r_star,
                 self.run_dir.path / "report.png")


def _loads(load: Callable[[], Any], what: str) -> None:
    """Run a task's loader once; whatever a damaged file makes it raise becomes one sentence naming it."""
    try:
        load()
    except InputError:
        raise
    except Exception as e:
        reason = (str(e).strip().splitlines() or [""])[0][:200]
        raise InputError(f"{what} is damaged and cannot be loaded ({type(e).__name__}: {reason})") from None


def tqdm_progress() -> Progress:
    """Progress bars: one per round, counting kept samples, with generated / spent / reward."""
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def started(t: int, n: int) -> None:
        bars["bar"] = tqdm(total=n, desc=f"round {t}", unit="kept", dynamic_ncols=True)

    def chunk(kept: int, generated: int, spent: float) -> None:
        bar = bars["bar"]
        bar.set_postfix(generated=generated, spent=f"{spent:.6g}", refresh=False)
        bar.update(kept - bar.n)

    def done(record: RoundRecord) -> None:
        bar = bars.pop("bar")
        shown = {"reward": record.reward} if record.reward is not None else \
            {"generation reward": record.generation_reward}
        bar.set_postfix(generated=record.generated, spent=f"{record.spent:.6g}",
                        **{k: "n/a" if v is None else f"{v:.4g}" for k, v in shown.items()})
        bar.close()

    return Progress(started, chunk, done)
