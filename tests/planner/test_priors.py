"""Task priors: the shipped files load and are what their script fits from the committed studies;
`plan --task NAME` plans from them when no --model is given and says so; bad files are one sentence."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from planner.priors import load_prior
from planner.registry import prior_path
from planner.validate import InputError
from tests.conftest import ROOT, needs, run_cli
from tests.planner.helpers import assert_fit_close, assert_json_close


@pytest.mark.parametrize("task", ["ddpm", "llm"])
def test_shipped_priors_are_what_the_script_fits_from_the_committed_studies(task, tmp_path):
    """Rerunning benchmarks/fit_task_prior.py on the studies the prior names (in results/) writes the shipped
    file (the task's train_steps counts the rounds' optimizer steps: it needs the task's packages)."""
    needs("torch", "diffusers" if task == "ddpm" else "transformers")
    out = tmp_path / f"{task}.json"
    named = load_prior(prior_path(task), task).source["study"]
    studies = [str(ROOT / "benchmarks" / "results" / name) for name in named]
    script = ROOT / "benchmarks" / "fit_task_prior.py"
    done = subprocess.run([sys.executable, str(script), *studies, "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    shipped = load_prior(prior_path(task), task)
    refitted = json.loads(out.read_text())
    assert_json_close(refitted["source"], shipped.source)  # the rounds themselves
    assert_fit_close({**refitted["fit"], "model": refitted["model"]}, {**shipped.fit, "model": shipped.model.to_json()})
    assert refitted["fit"]["selection"]["chosen"] == shipped.fit["selection"]["chosen"] == shipped.model.kind
    assert shipped.source["rounds"] >= 27


def test_plan_for_a_task_uses_its_prior_unless_given_a_model(tmp_path):
    """plan --task ddpm plans with the ddpm prior and names it (text and --json); --model wins;
    a task without a shipped prior keeps the Gaussian warm-up."""
    prior = load_prior(prior_path("ddpm"), "ddpm")
    args = ["--budget", "420", "--cg", "0.17", "--ct", "0.04", "--cr", "40"]
    text = run_cli(*args, "--task", "ddpm")
    assert text.returncode == 0 and "planned with the ddpm task's prior" in text.stdout, text.stderr
    planned = json.loads(run_cli(*args, "--task", "ddpm", "--json").stdout)
    assert_json_close(planned["model"], prior.model.to_json())
    assert "ddpm task's prior" in planned["model_source"]
    mine = tmp_path / "m.json"
    mine.write_text(json.dumps({"kind": "surrogate", "r_star": 0.9, "g0": 0.5, "a": 0.5, "b": 3.0, "gamma": 1.0}))
    given = json.loads(run_cli(*args, "--task", "ddpm", "--model", str(mine), "--json").stdout)
    assert given["model"]["a"] == 0.5 and given["model_source"] == f"the model in {mine}"
    gaussian = json.loads(run_cli(*args, "--task", "gaussian", "--json").stdout)
    assert gaussian["model"]["kind"] == "gaussian" and "warm-up" in gaussian["model_source"]


@pytest.mark.parametrize("content, words", [
    ("{not json", "JSON"),
    ("[]", "not a task prior file"),
    ('{"format": 1, "task": "ddpm", "model": {}, "fit": {}}', "not a task prior file"),
    ('{"format": 2, "task": "ddpm", "model": {}, "fit": {}, "source": {}}', "format 2"),
    ('{"format": 1, "task": "llm", "model": {}, "fit": {}, "source": {}}', "prior of task 'llm', not 'ddpm'"),
    ('{"format": 1, "task": "ddpm", "model": {"kind": "surrogate", "r_star": 2}, "fit": {}, "source": {}}',
     "its model is not valid"),
    ('{"format": 1, "task": "ddpm", "model": {}, "fit": [], "source": {}}', "source and fit"),
])
def test_a_malformed_prior_or_one_for_another_task_is_one_sentence(tmp_path, content, words):
    path = tmp_path / "prior.json"
    path.write_text(content)
    with pytest.raises(InputError, match=words) as raised:
        load_prior(path, "ddpm")
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("task", ["ddpm", "llm"])
def test_a_shipped_prior_carries_the_rounds_it_was_fitted_to(task):
    """The prior's evidence is its measured transitions: refitting them alone gives the prior's model."""
    from planner.fit import fit

    prior = load_prior(prior_path(task), task)
    evidence = prior.evidence()
    assert len(evidence.n) == prior.source["rounds"] and evidence.theta_before is None
    again = fit(evidence, prior.model.kind).to_json()
    assert_fit_close(again, {**prior.fit, "model": prior.model.to_json()})


@pytest.mark.parametrize("transitions", [
    {"n": [1, 2], "before": [0.1]}, {"n": [1], "before": [0.1], "after": ["x"]},
    {"n": [0], "before": [0.1], "after": [0.2]}, {"n": [], "before": [], "after": []},
    {"n": [1], "before": [0.1], "after": [float("nan")]},
])
def test_malformed_prior_transitions_are_one_sentence(transitions):
    prior = load_prior(prior_path("ddpm"), "ddpm")
    damaged = dataclasses.replace(prior, source={**prior.source, "transitions": transitions})
    with pytest.raises(InputError, match="transitions") as raised:
        damaged.evidence()
    assert "\n" not in str(raised.value)


def test_fit_prior_pools_runs_and_carries_their_rounds():
    """Runs of different shapes pooled pin the surrogate down (noiseless: exactly); the prior's
    evidence is those rounds, and noisy rounds of nearly one size (the noise term b unseen) are refused."""
    from planner.fit import Observations
    from planner.models import SurrogateModel
    from planner.priors import fit_prior
    from tests.planner.helpers import log_of

    truth = SurrogateModel(0.8, 0.6, 0.5, 0.3, 1.0)
    runs = [Observations.from_log(*log_of(truth, n)) for n in ([4, 8, 16, 32], [20, 20, 20, 20], [2, 6, 18, 54])]
    prior = fit_prior("mytask", runs, {"what": "three simulated runs"})
    assert prior.model.a == pytest.approx(truth.a) and prior.model.b == pytest.approx(truth.b)
    assert prior.source["rounds"] == 12 and prior.source["runs"] == 3 and prior.source["what"] == "three simulated runs"
    assert prior.evidence().n.tolist() == [4, 8, 16, 32, 20, 20, 20, 20, 2, 6, 18, 54]
    records, initial = log_of(truth, [200, 210, 220, 230, 240, 250])
    for record, noise in zip(records, np.random.default_rng(0).normal(0, 0.01, len(records))):
        record["reward"] += noise
    with pytest.raises(InputError, match="do not pin the surrogate down: b = "):
        fit_prior("mytask", [Observations.from_log(records, initial)], {})
