"""Fixtures shared by every test package."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def needs(*modules: str) -> ModuleType:
    """The last of modules, imported; the calling test (or, at module level, its module) is skipped
    unless every one imports, naming the spendwise extra that installs it, so a planner-only install
    runs the rest of the suite."""
    from planner._imports import EXTRAS

    for module in modules:
        extra = EXTRAS.get(module, "dev")
        imported = pytest.importorskip(module, reason=f"needs {module}, from the '{extra}' extra "
                                                      f"(./install.sh dev installs every extra the tests use)")
    return imported


@pytest.fixture
def fast_tmp(tmp_path_factory) -> Path:
    """A scratch folder in memory (tmpfs) where it exists: fsync there is nearly free, so the
    statistical tests can run hundreds of runs; durability is tested on the real disk."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        folder = Path(tempfile.mkdtemp(dir=shm, prefix="spendwise-"))
        yield folder
        shutil.rmtree(folder, ignore_errors=True)
    else:
        yield tmp_path_factory.mktemp("runs")


PAGE = 4096  # tmpfs allocates file data in pages


@pytest.fixture(scope="module")
def small_disk(tmp_path_factory) -> Path:
    """A 2 MB tmpfs of its own, so that filling it fills nothing else (mounting one needs root)."""
    folder = tmp_path_factory.mktemp("disk")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode:
        pytest.skip("mounting a small tmpfs needs root")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(disk: Path, pages_left: int) -> None:
    """Take all of the disk's free space but pages_left pages (DISK/filler; unlink it to free them)."""
    st = os.statvfs(disk)
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.posix_fallocate(fd, 0, st.f_bavail * st.f_frsize - pages_left * PAGE)
    finally:
        os.close(fd)


def plan_command(*args: str, missing: tuple[str, ...] = ()) -> list[str]:
    """The argv of `plan ARGS`; `missing` names packages the interpreter is to find not installed
    (None in sys.modules: `import` raises ModuleNotFoundError and find_spec finds nothing)."""
    if not missing:
        return [sys.executable, "-m", "planner.cli", *args]
    code = (f"import sys; sys.modules.update(dict.fromkeys({list(missing)!r})); "
            "from planner.cli import main; sys.exit(main())")
    return [sys.executable, "-c", code, *args]


def run_cli(*args: str, timeout: float = 120, missing: tuple[str, ...] = (),
            cwd: str | os.PathLike | None = None) -> subprocess.CompletedProcess:
    """`plan ARGS` in a fresh interpreter, as a user runs it (on a machine without the `missing`
    packages), in cwd (default the repository)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run(plan_command(*args, missing=missing), capture_output=True, text=True, timeout=timeout,
                          cwd=cwd or ROOT, env=env)


def one_sentence(result: subprocess.CompletedProcess | object) -> bool:
    """Exit status 2, one line on stderr from `plan`, no traceback."""
    lines = result.stderr.splitlines()
    return (result.returncode == 2 and len(lines) == 1 and lines[0].startswith("plan")
            and "Traceback" not in result.stderr)


def install_entry_points(folder: Path, monkeypatch: pytest.MonkeyPatch, entry_points: str) -> None:
    """Install a package of nothing but entry points (entry_points.txt text, e.g. "[spendwise.models]\\n
    tiny = tests.planner.custom:TinyModel") as pip would list it: a dist-info folder in `folder`,
    which goes on sys.path here and on PYTHONPATH for the `plan` processes run_cli starts."""
    info = folder / "spendwise_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: spendwise-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")])))
