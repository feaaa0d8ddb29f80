"""The run directory on a failing disk: a full disk at any step of a commit stops the run in one
sentence, and after space is freed the same run resumes and ends identical to an uninterrupted one;
a torn log line left by an interrupted write is repaired, an edited one refused."""
from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pytest

from bootstrapper.engine import Progress, execute
from bootstrapper.lock import RunLock
from bootstrapper.rundir import RunDir
from bootstrapper.tasks.gaussian import GaussianTask
from planner.rounds import RoundRecord
from planner.runconfig import RunConfig
from planner.validate import InputError
from tests.bootstrapper.conftest import gaussian_plan
from tests.conftest import fill

SEED = 3


def strip(history: list[dict]) -> list[dict]:
    """A log without timings, which legitimately differ between runs."""
    return [{k: v for k, v in r.items() if k != "seconds"} for r in history]


def start(plan, folder: Path) -> None:
    RunDir(folder).prepare(plan.to_json(), RunConfig.for_task(GaussianTask(), seed=SEED))


def finish(plan, folder: Path, progress: Progress | None = None) -> list[dict]:
    return execute(plan, GaussianTask(), folder, seed=SEED, progress=progress)


def test_full_disk_at_every_commit_step_then_resume_equals_uninterrupted(small_disk):
    """The disk fills at the start of each round with 0-3 pages left, so that the round's commit fails
    writing the task state, the engine state, or appending the log line (a short write where the line
    crosses a page): one sentence each time; with the space back, the same run ends bit-identical."""
    plan = gaussian_plan(2e3)
    reference = small_disk / "reference"
    start(plan, reference)
    expected = strip(finish(plan, reference))
    state = (reference / "checkpoint" / "task" / "state.json").read_text()
    shutil.rmtree(reference)
    sentences = []
    for t in range(len(expected)):
        for pages in range(4):
            folder = small_disk / f"run-{t}-{pages}"
            start(plan, folder)
            try:
                finish(plan, folder, Progress(round_started=lambda r, n, t=t, p=pages: r == t and fill(small_disk, p)))
            except InputError as e:
                sentences.append(str(e))
                failed = int(str(e).split()[1])  # the disk may last a round or two more
                assert "\n" not in str(e) and failed >= t and "could not be written" in str(e)
            (small_disk / "filler").unlink(missing_ok=True)
            assert strip(finish(plan, folder)) == expected, (t, pages)
            assert (folder / "checkpoint" / "task" / "state.json").read_text() == state
            assert sorted(p.name for p in folder.iterdir()) == [".lock", "checkpoint", "plan.json", "rounds.jsonl",
                                                               "run.json"]
            shutil.rmtree(folder)
    assert len(sentences) >= 2 * len(expected)
    assert any("after its checkpoint was saved" in s for s in sentences)  # the log line failed after the rename


@pytest.fixture
def finished(fast_tmp) -> tuple[object, Path, list[dict]]:
    plan = gaussian_plan(2e3)
    folder = fast_tmp / "run"
    start(plan, folder)
    return plan, folder, strip(finish(plan, folder))


def test_a_short_write_is_cut_off_and_the_round_restored_on_resume(finished, monkeypatch):
    """os.write that writes half the line and then finds the disk full: the log keeps no torn line,
    the error is one sentence, and the resume appends the round from its checkpoint."""
    plan, folder, expected = finished
    log = folder / "rounds.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:-1]))  # as if the last round's line had not been appended
    record = RoundRecord.from_json(json.loads((folder / "checkpoint" / "engine.json").read_text())["record"])
    real_write, calls = os.write, []

    def half_then_full(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(OSError):
        RunDir(folder).append(record)
    monkeypatch.undo()
    assert len(calls) == 2 and log.read_bytes() == b"".join(lines[:-1])
    assert strip(finish(plan, folder)) == expected


def test_a_torn_last_line_is_repaired_and_an_edited_one_refused(finished):
    """A log cut inside its last line (the checkpoint holds that round whole) is repaired with a note;
    one cut back into the line before, or whose tail was changed, is refused untouched."""
    plan, folder, expected = finished
    log = folder / "rounds.jsonl"
    whole = log.read_bytes()
    log.write_bytes(whole[:-25])
    notes = RunDir(folder).recover()
    assert len(notes) == 1 and "torn last line" in notes[0]
    assert strip(finish(plan, folder)) == expected and log.read_bytes() == whole
    last = whole[: whole.rfind(b"\n", 0, len(whole) - 1) + 1]
    for damaged in (last[:-25], whole[:-25].replace(b'"kept": ', b'"kept":  ')):
        log.write_bytes(damaged)
        assert RunDir(folder).recover() == []
        with pytest.raises(InputError, match="truncated"):
            finish(plan, folder)
        assert log.read_bytes() == damaged


def test_a_commit_interrupted_between_its_renames_or_before_them_is_finished_or_undone(finished):
    """Checkpoint moved aside with the new one whole beside it: promoted. A half-written new checkpoint
    with no old one (round 0's commit failed): removed, never promoted. A stale old one: removed."""
    plan, folder, expected = finished
    checkpoint, tmp, old = folder / "checkpoint", folder / ".checkpoint.tmp", folder / ".checkpoint.old"
    shutil.copytree(checkpoint, old)
    os.rename(checkpoint, tmp)
    assert len(RunDir(folder).recover()) == 2 and not tmp.exists() and not old.exists()
    assert strip(finish(plan, folder)) == expected
    os.rename(checkpoint, tmp)
    (tmp / "engine.json").write_text('{"next_round": ')  # torn, and nothing was moved aside
    log = folder / "rounds.jsonl"
    log.unlink()
    assert RunDir(folder).recover() and not tmp.exists() and not checkpoint.exists()
    assert strip(finish(plan, folder)) == expected
    shutil.copytree(checkpoint, old)
    assert RunDir(folder).recover() and not old.exists()


def test_a_start_removes_the_folder_a_killed_creation_left_but_not_one_in_use(fast_tmp):
    """A .run.*.new/ folder beside the run whose lock no process holds (its creator was killed) is
    removed when the run is made; one still locked by a live creator, or without a lock, is kept."""
    plan = gaussian_plan(2e3)
    stale, live, bare = (fast_tmp / f".run.{tag}.new" for tag in ("dead", "live", "bare"))
    for folder in (stale, live, bare):
        folder.mkdir()
    (stale / ".lock").touch()
    held = RunLock(live)
    start(plan, fast_tmp / "run")
    assert not stale.exists() and live.exists() and bare.exists()
    held.release()
