"""`plan fit --from verl|trl` on logs in those systems' formats (verl's file logger: {"step", "data"}
lines; transformers' trainer_state.json log_history), written here from a known surrogate: the rounds
read back are the run's, the fit recovers the model, the timings calibrate c_g, c_t and c_round, and
what is not such a log, or has no reward, is one sentence with nothing written. (A trainer_state.json
written by a real TRL run: tests/planner/integrations/test_fit_from_trl.py.)"""
from __future__ import annotations

import json

import numpy as np
import pytest

from planner.external_logs import read_trl, read_verl
from planner.models import SurrogateModel
from planner.validate import InputError
from tests.conftest import one_sentence, run_cli

TRUTH = SurrogateModel(r_star=0.8, g0=0.6, a=0.6, b=0.5, gamma=1.0)
SECONDS = {"gen": 0.5, "update_actor": 0.25, "testing": 7.0}  # per generated / trained sample, per test


def verl_log(path, per_step: int, steps: int, test_freq: int = 1) -> list[float]:
    """A verl file-logger log of a run whose rewards follow TRUTH at per_step samples a step: validation at
    step 0 and every test_freq steps; the rewards before each step and after the last."""
    r = TRUTH.trajectory(np.full(steps, float(per_step)))
    lines = [{"step": 0, "data": {"val-core/gsm8k/reward/mean@1": r[0]}}]
    for s in range(1, steps + 1):
        data = {"critic/score/mean": r[s - 1], "timing_s/gen": SECONDS["gen"] * per_step,
                "timing_s/update_actor": SECONDS["update_actor"] * per_step, "training/global_step": s}
        if s % test_freq == 0:
            data.update({"val-core/gsm8k/reward/mean@1": r[s], "timing_s/testing": SECONDS["testing"]})
        lines.append({"step": s, "data": data})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return list(r)


def test_a_verl_log_reads_as_one_round_per_step_with_its_timings(tmp_path):
    r = verl_log(tmp_path / "run.jsonl", per_step=64, steps=6, test_freq=2)
    log = read_verl(str(tmp_path / "run.jsonl"), None, 64)
    assert log.initial == {"reward": r[0]}
    assert [(x["kept"], x["generated"]) for x in log.records] == [(64, 64)] * 6
    assert [x["generation_reward"] for x in log.records] == r[:6]
    assert [x["reward"] for x in log.records] == [None, r[2], None, r[4], None, r[6]]
    assert log.calibration == pytest.approx({"cg": 0.5, "ct": 0.25, "cr": 7.0}, rel=1e-12)


def test_plan_fit_from_verl_recovers_the_model_and_writes_a_prior(tmp_path):
    verl_log(tmp_path / "a.jsonl", per_step=8, steps=8)
    verl_log(tmp_path / "b.jsonl", per_step=64, steps=8)
    done = run_cli("fit", "--from", "verl", str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl"), "--samples-per-step",
                   "8", "64", "--json", "--prior-out", str(tmp_path / "prior.json"), "--task", "llm")
    assert done.returncode == 0, done.stderr
    fit = json.loads(done.stdout)
    assert fit["rounds"] == 16
    for name in ("r_star", "a", "b"):
        assert fit["model"][name] == pytest.approx(getattr(TRUTH, name), rel=1e-3), name
    assert fit["seconds"] == pytest.approx({"cg": 0.5, "ct": 0.25, "cr": 7.0}, rel=1e-12)
    assert json.loads((tmp_path / "prior.json").read_text())["task"] == "llm"
    text = run_cli("fit", "--from", "verl", str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl"), "--samples-per-step",
                   "8", "64")
    assert "--cg 0.5 (per generated sample) --ct 0.25 (per trained sample) --cr 7" in text.stdout


def test_a_trainer_state_reads_as_rounds_between_reward_readings(tmp_path):
    history = [{"step": 0, "eval_reward": 0.2}, {"step": 2, "loss": 2.5}, {"step": 3, "eval_reward": 0.4},
               {"step": 3, "reward": 0.35}, {"step": 7, "eval_reward": 0.5}]
    (tmp_path / "trainer_state.json").write_text(json.dumps({"log_history": history, "train_batch_size": 4}))
    log = read_trl(str(tmp_path), None, None)
    assert log.initial == {"reward": 0.2}
    assert [(x["kept"], x["reward"]) for x in log.records] == [(12, 0.4), (16, 0.5)]
    assert [x["kept"] for x in read_trl(str(tmp_path / "trainer_state.json"), None, 10).records] == [30, 40]
    with pytest.raises(InputError, match="outside \\[0, 1\\]"):
        read_trl(str(tmp_path), "loss", None)


@pytest.mark.parametrize("source, content, says", [
    ("trl", {"global_step": 3}, "not a TRL"),
    ("trl", {"log_history": [{"step": 1, "loss": 2.0}], "train_batch_size": 4}, "logs no reward"),
    ("verl", [{"step": 1, "data": {"actor/loss": 0.1}}], "no critic/score/mean"),
    ("verl", [{"round": 0, "kept": 1}], "not a verl"),
])
def test_a_log_that_is_not_theirs_or_has_no_reward_is_one_sentence_and_writes_nothing(tmp_path, source, content,
                                                                                     says):
    path = tmp_path / "log"
    path.write_text(json.dumps(content) if source == "trl" else "".join(json.dumps(x) + "\n" for x in content))
    out = tmp_path / "model.json"
    done = run_cli("fit", "--from", source, str(path), "--samples-per-step", "8", "--out", str(out))
    assert one_sentence(done) and says in done.stderr and not out.exists()


def test_the_options_of_external_logs_are_checked(tmp_path):
    verl_log(tmp_path / "a.jsonl", per_step=8, steps=8)
    for args, says in ((["--from", "verl"], "needs --samples-per-step"),
                       (["--from", "verl", "--samples-per-step", "8", "9"], "one per log"),
                       (["--from", "verl", "--samples-per-step", "8", "--prior-out", "p.json"], "needs --task"),
                       (["--reward-key", "reward"], "go with --from trl or --from verl")):
        done = run_cli("fit", str(tmp_path / "a.jsonl"), *args)
        assert one_sentence(done) and says in done.stderr, (args, done.stderr)
