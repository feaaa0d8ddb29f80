"""The benchmarks' shared bits: a scratch folder is gone once the study is done."""
from __future__ import annotations

import pytest

from benchmarks.common import scratch


def test_scratch_folder_is_removed_afterwards_even_when_the_study_fails():
    """Runs written in a scratch folder (RAM, on tmpfs) do not outlive the study, nor a failed one."""
    with scratch() as folder:
        (folder / "run-0").mkdir()
        (folder / "run-0" / "rounds.jsonl").write_text("{}\n")
    assert not folder.exists()
    with pytest.raises(RuntimeError), scratch() as failed:
        raise RuntimeError("a study stopped")
    assert not failed.exists()
