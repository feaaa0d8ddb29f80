"""Both notebooks are what notebooks/build.py writes, and run top to bottom (quick settings)."""
from __future__ import annotations

import importlib.util
import os

import pytest

from tests.conftest import ROOT, needs

nbformat = needs("nbformat")
needs("nbclient")


def build_module():
    """notebooks/build.py, imported from its file (the notebooks folder is not a package)."""
    spec = importlib.util.spec_from_file_location("notebook_build", ROOT / "notebooks" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def committed(name: str):
    return nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)


@pytest.mark.parametrize("name", ["theory", "walkthrough"])
def test_committed_notebook_matches_build_py(name):
    """Every cell's kind and source is the one build.py writes: an edit to one without the other
    (or without `python3 notebooks/build.py --execute`) fails here."""
    built = build_module().build(getattr(build_module(), name.upper()))
    cells = lambda nb: [(c.cell_type, c.source) for c in nb.cells]
    assert cells(committed(name)) == cells(built)


@pytest.mark.parametrize("name", ["theory", "walkthrough"])
def test_notebook_runs(name, monkeypatch):
    """Run quick (NotebookClient raises on any cell's error); every code cell whose stored outputs
    show something (a number, a table, a figure) shows something again."""
    from nbclient import NotebookClient

    monkeypatch.setenv("SPENDWISE_QUICK", "1")
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    nb = committed(name)
    stored = [bool(c.get("outputs")) for c in nb.cells if c.cell_type == "code"]
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    shown = [bool(c.get("outputs")) for c in nb.cells if c.cell_type == "code"]
    assert [s and not n for s, n in zip(stored, shown)] == [False] * len(stored)
