"""Fixtures shared by every test package."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


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


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`plan ARGS` in a subprocess, as a user runs it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "planner.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)
