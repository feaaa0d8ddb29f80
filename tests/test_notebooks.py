"""Both notebooks run top to bottom (quick settings), as committed."""
from __future__ import annotations

import os

import pytest

from tests.conftest import ROOT

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")


@pytest.mark.parametrize("name", ["theory", "walkthrough"])
def test_notebook_runs(name, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("SPENDWISE_QUICK", "1")
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
