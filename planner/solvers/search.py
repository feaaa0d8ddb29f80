"""Optuna search over (shape parameter, T), warm-started at the closed form.

n0 is not a search dimension: for a given shape and T the expected reward grows with n0, so
every trial sizes n0 to spend the budget (planner.sizing). The study can live in an Optuna
RDB storage (SQLite file, PostgreSQL, MySQL) so several processes search it together. A new
SQLite study is made whole (schema, study, problem) in a file beside its place and linked into
place, so a worker killed while creating it leaves no study or a whole one, never a damaged one.
"""
from __future__ import annotations

import errno
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from planner.jsonio import as_stored, fsync_dir
from planner.problem import Problem
from planner.schedules import Schedule
from planner.schedules import family as get_family
from planner.solvers._base import InfeasibleError, search
from planner.validate import InputError

SQLITE = "sqlite:///"


def sqlite_path(storage: str | None) -> Path | None:
    """The database file of a SQLite storage URL (None for any other storage)."""
    if not storage or not storage.startswith(SQLITE):
        return None
    return Path(storage[len(SQLITE):].split("?")[0])


class OptunaSolver:
    """TPE search, seeded and reproducible; the closed-form point is the first trial."""

    name = "optuna"

    def __init__(self, trials: int = 100, seed: int = 0, storage: str | None = None,
                 study: str | None = None):
        self.trials, self.seed, self.storage, self.study_name = trials, seed, storage, study

    def study(self, problem: Problem, family: str = "exponential"):
        """Create (or join) the study and run this process's trials; returns the optuna Study."""
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        fam = get_family(family)
        # The study remembers its problem, so every worker searches the same one and `plan best`
        # can rebuild the plan from the storage alone.
        described = {"problem": problem.to_json(), "family": family}
        path = sqlite_path(self.storage)
        if path is not None and not path.exists():
            self._create_sqlite(optuna, path, described)
        study = self._open(optuna)
        if "problem" not in study.user_attrs:
            for key, value in described.items():
                study.set_user_attr(key, value)
        elif {k: study.user_attrs.get(k) for k in described} != as_stored(described):
            raise InputError(f"study {study.study_name!r} in {self.storage} searches a different problem; "
                             "use the same flags or another --study")
        low, high = fam.bounds(problem.model.optimal_base())
        if family == "exponential" and not study.trials:
            base = min(max(problem.model.optimal_base(), low), high)
            study.enqueue_trial({fam.param_name: base}, skip_if_exists=True)

        def objective(trial) -> float:
            p = (trial.suggest_float(fam.param_name, low, high, log=fam.log)
                 if fam.param_name else 0.0)
            try:
                schedule, gap = search(problem, fam, np.array([p]))
            except InfeasibleError:
                raise optuna.TrialPruned() from None
            trial.set_user_attr("n", list(schedule.n))
            trial.set_user_attr("n0", schedule.n0)
            trial.set_user_attr("param", p)
            trial.set_user_attr("T", len(schedule.n))  # readable in optuna-dashboard beside the base and n0
            trial.set_user_attr("predicted_gap", float(gap))  # the value is its log
            return math.log(max(gap, 1e-300))

        study.optimize(objective, n_trials=self.trials)
        return study

    def _open(self, optuna, attempts: int = 5):
        """Create or join the study. Workers starting together race to create the database
        schema, and all but one see an error; they wait a moment and join."""
        for attempt in range(attempts):
            try:
                return optuna.create_study(
                    direction="minimize", sampler=optuna.samplers.TPESampler(seed=self.seed),
                    storage=self.storage, study_name=self.study_name, load_if_exists=True)
            except Exception as e:  # bad URL, missing driver, unreachable database, or the race
                if self.storage is None:
                    raise
                racing = type(e).__name__ in ("IntegrityError", "OperationalError")
                if attempt + 1 < attempts and racing:
                    time.sleep(0.2 * (attempt + 1))
                    continue
                reason = (str(e).strip().splitlines() or [""])[0]
                raise InputError(f"cannot open the Optuna storage {self.storage!r} ({type(e).__name__}: {reason})"
                                 f"{damaged_hint(self.storage)}") from None

    def _create_sqlite(self, optuna, path: Path, described: dict) -> None:
        """Make the study whole in a file beside path and link it into place (never over a file: the
        worker that made one first wins and the others join it)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, side = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".new")
        os.close(fd)
        try:
            storage = optuna.storages.RDBStorage(SQLITE + side)
            study = optuna.create_study(direction="minimize", storage=storage, study_name=self.study_name)
            for key, value in described.items():
                study.set_user_attr(key, value)
            storage.engine.dispose()
            try:
                os.link(side, path)
            except FileExistsError:
                pass  # another worker made it meanwhile: join that one
            except OSError as e:
                if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                    raise
                if not path.exists():  # a filesystem without hard links
                    os.rename(side, path)
            fsync_dir(path.parent)
        finally:
            Path(side).unlink(missing_ok=True)

    def solve(self, problem: Problem, family: str = "exponential") -> Schedule:
        return best_schedule(self.study(problem, family), family)


def damaged_hint(storage: str | None) -> str:
    """What to do when an existing SQLite study cannot be used (e.g. left damaged by a worker of an
    older spendwise killed while creating it); empty for other storages."""
    path = sqlite_path(storage)
    if path is None or not path.exists():
        return ""
    return (f"; if {path} is damaged, move it away and start the workers again (a new study is made; the "
            "trials it held are lost)")


def best_schedule(study, family: str) -> Schedule:
    """The best trial of a study as a Schedule (also used by `plan best`)."""
    import optuna

    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not done:
        raise InfeasibleError(f"no {family} schedule fits the budget")
    best = min(done, key=lambda tr: (tr.value, tr.number))
    param = best.user_attrs["param"] if family != "constant" else None
    return Schedule(family, tuple(best.user_attrs["n"]), best.user_attrs["n0"], param)
