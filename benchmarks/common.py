"""Shared bits of the benchmark scripts: result files, scratch folders, tables."""
from __future__ import annotations

import contextlib
import os
import platform
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    """What the numbers were measured on."""
    return {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    """A scratch folder for many short runs, in memory (tmpfs) where the machine has one, removed
    afterwards (left behind, every study kept its runs in the machine's RAM)."""
    with tempfile.TemporaryDirectory(dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else None,
                                     prefix="spendwise-bench-") as folder:
        yield Path(folder)


def save(name: str, result: dict, out: Path | None = None) -> Path:
    """Write result (with the machine and the command line) as results/NAME.json."""
    import sys

    from planner.jsonio import atomic_write_json

    path = (out or RESULTS) / f"{name}.json"
    atomic_write_json(path, {"command": " ".join(["python3"] + sys.argv), "machine": machine(), **result})
    return path


def figure(*args, **kwargs):
    """plt.subplots(*args, **kwargs) on matplotlib's file-only Agg backend (imported on first use;
    without it, one sentence naming the extra)."""
    from planner._imports import try_import

    with try_import("a study's figure"):
        import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)


def save_figure(fig, path: Path) -> None:
    """Write the figure as a PNG (atomically: a temporary file, then rename) and free it."""
    import matplotlib.pyplot as plt

    tmp = path.with_name(path.name + ".tmp")
    fig.tight_layout()
    fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    os.replace(tmp, path)


def table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    """A plain text table: columns are (key, format) pairs."""
    head = "  ".join(f"{k:>14}" if f else f"{k:<36}" for k, f in columns)
    body = ["  ".join(_cell(r[k], f) for k, f in columns) for r in rows]
    return "\n".join([head] + body)


def _cell(value, fmt: str) -> str:
    if not fmt:
        return f"{value:<36}"
    return f"{'-' if value is None else format(value, fmt):>14}"
