"""`benchmarks/llm_speed.py --quick` on tiny models: it runs, and the JSON holds every documented figure
(the figures themselves are only meaningful on the shipped models: benchmarks/results/*_speed.json)."""
from __future__ import annotations

import argparse
import json

import pytest

from tests.benchmarks.helpers import bench
from tests.bootstrapper.tasks.helpers import build_tiny_model, tiny_unet
from tests.conftest import ROOT, needs


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="the 'before' code is read from git")
def test_llm_speed_quick(tmp_path) -> None:
    needs("transformers")
    model = build_tiny_model(tmp_path / "tiny")
    bench("llm_speed.py", "--quick", "--model-path", str(model), "--threads", "1", "--out", str(tmp_path))
    data = json.loads((tmp_path / "llm_speed_quick.json").read_text())
    assert data["command"].startswith("python3 ") and data["baseline"]
    assert data["greedy_identical"]["identical"] == data["greedy_identical"]["problems"] > 0
    for part, unit in (("generate", "sample"), ("train", "sample")):
        assert set(data[part]) == {"bare", "before", "after"}
        assert all(v[f"cpu_s_per_{unit}"] > 0 and v["cpu_ratio_to_bare"] > 0 for v in data[part].values())
    assert set(data["evaluate"]["after"]) >= {"cpu_s_per_round", "cpu_ratio_to_before"}
    assert data["evaluate"]["metrics_equal"]
    assert 2 * data["checkpoint"]["after"]["bytes"] <= data["checkpoint"]["before"]["bytes"]  # no AdamW moments
    assert data["greedy_answer_tokens"]["rows"] == data["greedy_identical"]["problems"]
    assert {"before", "after", "greedy_identical_after_training"} <= set(data["quality"])
    assert data["quality"]["greedy_identical_after_training"]["identical"] == data["quality"][
        "greedy_identical_after_training"]["problems"]


def test_study_costs_quick(tmp_path) -> None:
    """--study-costs: c_g, c_t and evaluation seconds per repetition, as the study calibrates them."""
    needs("transformers")
    from benchmarks.llm_speed import study_costs

    args = argparse.Namespace(model_path=str(build_tiny_model(tmp_path / "tiny")), quick=True, reps=1, eval_per_level=2,
                              threads=1)
    costs = study_costs(args)
    medians = [costs[f"median_{k}"] for k in ("cg", "ct", "eval_s")]
    assert medians == [costs["runs"][0][k] for k in ("cg", "ct", "eval_s")]
    assert min(costs["runs"][0][k] for k in ("cg", "ct", "eval_s")) > 0


def test_ddpm_speed_quick(tmp_path) -> None:
    needs("diffusers")
    tiny_unet().save_pretrained(tmp_path / "unet")
    bench("llm_speed.py", "--task", "ddpm", "--quick", "--model-path", str(tmp_path / "unet"), "--threads", "1",
          "--out", str(tmp_path))
    data = json.loads((tmp_path / "ddpm_speed_quick.json").read_text())
    for part in ("generate", "train"):
        assert all(v["cpu_s_per_image"] > 0 and v["cpu_ratio_to_bare"] > 0 for v in data[part].values())
    assert data["evaluate"]["cpu_s_per_round"] > 0 and data["checkpoint"]["task"]["bytes"] > 0
