"""DDPM task on a tiny UNet saved in a temporary folder: reward, PSNR, training, checkpoints, bad input."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import needs

torch = needs("torch")
needs("diffusers")
from diffusers import DDPMScheduler  # noqa: E402

from bootstrapper.tasks import TaskError, get_task  # noqa: E402
from bootstrapper.tasks.ddpm import SHIPPED, DDPMConfig, DDPMTask  # noqa: E402
from bootstrapper.tasks.ddpm_data import psnr  # noqa: E402
from tests.bootstrapper.tasks.helpers import tiny_ddpm_task, tiny_unet  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def restore_torch_threads():
    """The tasks here use one thread (num_threads=1, process-wide); give later test modules theirs back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("tiny")
    tiny_unet().save_pretrained(folder)
    return str(folder)


def params(model: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def test_registry_finds_the_task_and_config_round_trips_through_json(tiny_path: str) -> None:
    task = tiny_ddpm_task(tiny_path, s=5)
    assert get_task("ddpm") is DDPMTask
    assert DDPMTask.from_json(json.loads(json.dumps(task.config.to_json()))).config == task.config


def test_psnr_of_the_identity_denoiser_and_of_known_noise() -> None:
    rng = np.random.default_rng(0)
    clean = rng.uniform(-1, 1, size=(3, 1, 32, 32)).astype(np.float32)
    assert np.all(psnr(clean, clean) == 100.0)  # zero error: capped, not inf
    shifted = clean + np.float32(0.1)  # MSE 0.01 on a peak-to-peak range of 2
    assert np.allclose(psnr(shifted, clean), 10 * np.log10(4 / 0.01), atol=1e-4)


def test_generate_gives_pool_digits_and_rewards_in_unit_interval(tiny_path: str) -> None:
    task = tiny_ddpm_task(tiny_path, s=5)
    state = task.init_state(seed=1)
    batch = task.generate(state, 12)
    heldout, _ = task.split
    assert task.size(batch) == 12 and batch.images.shape == (12, 1, 32, 32)
    assert batch.images.min() >= -1 and batch.images.max() <= 1
    assert not set(batch.source) & set(heldout)
    r = task.reward(state, batch)
    assert r.shape == (12,) and r.dtype == np.float64 and np.all((0 <= r) & (r <= 1))
    assert np.allclose(r, np.clip((psnr(batch.images, task.digits[batch.source]) - 24) / 16, 0, 1))
    picked = task.take(batch, np.array([3, 0]))
    assert np.array_equal(picked.source, batch.source[[3, 0]])
    joined = task.concat([picked, batch])
    assert task.size(joined) == 14 and np.array_equal(joined.images[2:], batch.images)


def test_evaluate_is_deterministic_and_reports_the_metrics(tiny_path: str) -> None:
    task = tiny_ddpm_task(tiny_path, s=3)
    state = task.init_state(seed=0)
    first = task.evaluate(state)
    assert set(first) == {"reward", "psnr", "share_above_hi"} and 0 <= first["reward"] <= 1
    task.generate(state, 4)  # advances the state's RNG, which evaluation must not depend on
    assert task.evaluate(state) == first


def test_training_lowers_the_loss_on_a_fixed_batch(tiny_path: str) -> None:
    task = tiny_ddpm_task(tiny_path, s=10, lr=3e-3, ema_decay=0.0)
    state = task.init_state(seed=0)
    batch = task.generate(state, 16)
    before = task.loss(state, batch)
    for _ in range(8):
        state = task.train(state, batch)
    assert state.steps == 16
    assert task.loss(state, batch) < 0.9 * before
    assert all(torch.equal(a, b) for a, b in zip(state.ema.parameters(), state.model.parameters()))  # decay 0


def test_ema_follows_the_trained_weights_with_warmup(tiny_path: str) -> None:
    task = tiny_ddpm_task(tiny_path, s=3, ema_decay=0.99)
    state = task.init_state(seed=0)
    start = params(state.model)
    task.train(state, task.generate(state, 8))  # one Adam step: decay min(0.99, 1/10)
    for old, avg, live in zip(start, state.ema.parameters(), state.model.parameters()):
        assert torch.allclose(avg, 0.1 * old + 0.9 * live, atol=1e-6)


def test_save_then_load_continues_bit_identically(tiny_path: str, tmp_path: Path) -> None:
    task = tiny_ddpm_task(tiny_path, s=4, ema_decay=0.5)
    state = task.init_state(seed=3)
    state = task.train(state, task.generate(state, 10))
    task.save(state, tmp_path)
    loaded = task.load(tmp_path)
    for a, b in ((state.model, loaded.model), (state.ema, loaded.ema)):
        assert all(torch.equal(x, y) for x, y in zip(params(a), params(b)))
    batches = [task.generate(twin, 10) for twin in (state, loaded)]  # the same next round from both
    for twin, batch in zip((state, loaded), batches):
        task.train(twin, batch)
    assert np.array_equal(batches[0].images, batches[1].images)
    assert np.array_equal(batches[0].source, batches[1].source)
    assert all(torch.equal(x, y) for x, y in zip(params(state.model), params(loaded.model)))
    assert loaded.steps == state.steps and task.evaluate(loaded) == task.evaluate(state)


def test_saved_ema_folder_is_itself_a_checkpoint(tiny_path: str, tmp_path: Path) -> None:
    task = tiny_ddpm_task(tiny_path, s=3)
    state = task.init_state(seed=0)
    task.save(state, tmp_path)
    again = tiny_ddpm_task(str(tmp_path / "ema"), s=3)
    assert again.evaluate(again.init_state(seed=0)) == task.evaluate(state)


def test_pipeline_folder_with_unet_and_scheduler_subfolders_loads(tmp_path: Path) -> None:
    tiny_unet().save_pretrained(tmp_path / "unet")
    DDPMScheduler(num_train_timesteps=50).save_pretrained(tmp_path / "scheduler")
    task = tiny_ddpm_task(str(tmp_path), s=50)
    assert task.init_state(seed=0).scheduler.config.num_train_timesteps == 50
    with pytest.raises(TaskError, match="s = 51 is beyond the scheduler's 50 timesteps"):
        tiny_ddpm_task(str(tmp_path), s=51).init_state(seed=0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"s": 0}, "s must be a whole number >= 1, got 0"),
        ({"s": 2.5}, "s must be a whole number >= 1, got 2.5"),
        ({"reward_lo": 40.0, "reward_hi": 30.0}, r"reward_lo \(40.0\) must be below reward_hi \(30.0\)"),
        ({"lr": -1e-4}, "lr must be > 0, got -0.0001"),
        ({"ema_decay": 1.0}, r"ema_decay must be in \[0, 1\), got 1.0"),
        ({"train_batch": 0}, "train_batch must be a whole number >= 1, got 0"),
        ({"reward_hi": float("nan")}, "reward_hi must be a finite number, got nan"),
        ({"device": "abacus"}, "device must be 'auto', 'cpu' or 'cuda"),
        ({"model_path": ""}, "model_path must be a folder path or null"),
    ],
)
def test_bad_options_are_refused_with_the_value_named(options: dict, message: str) -> None:
    with pytest.raises(TaskError, match=message):
        DDPMConfig(**options)


def test_bad_checkpoints_are_refused_in_one_sentence(tiny_path: str, tmp_path: Path) -> None:
    with pytest.raises(TaskError, match="checkpoint folder .*nowhere does not exist"):
        tiny_ddpm_task(str(tmp_path / "nowhere")).init_state(seed=0)
    (tmp_path / "empty").mkdir()
    with pytest.raises(TaskError, match="has no config.json"):
        tiny_ddpm_task(str(tmp_path / "empty")).init_state(seed=0)
    tiny_unet(sample_size=28).save_pretrained(tmp_path / "small")
    with pytest.raises(TaskError, match="makes 28-pixel images, the task needs 32x32"):
        tiny_ddpm_task(str(tmp_path / "small")).init_state(seed=0)
    with pytest.raises(TaskError, match="beyond the scheduler's 1000 timesteps"):
        tiny_ddpm_task(tiny_path, s=1001).init_state(seed=0)
    greedy = DDPMTask(DDPMConfig(model_path=tiny_path, eval_images=5000))
    with pytest.raises(TaskError, match="eval_images = 5000 leaves none of the 5000 MNIST digits"):
        greedy.generate(greedy.init_state(seed=0), 1)
    with pytest.raises(TaskError, match="has no training.pt"):
        tiny_ddpm_task(tiny_path).load(tmp_path / "empty")


@pytest.mark.realmodel
def test_shipped_checkpoint_matches_its_recorded_psnr() -> None:
    recorded = json.loads((SHIPPED / "build.json").read_text())["mnist_psnr_s10"]
    task = DDPMTask(DDPMConfig(s=10, eval_images=32, num_threads=1))  # the first 32 of the recorded 500
    state = task.init_state(seed=0)
    assert sum(p.numel() for p in state.model.parameters()) == 1_062_497
    assert abs(task.evaluate(state)["psnr"] - recorded) < 1.0


def test_a_round_runs_one_adam_step_per_train_batch(tiny_path):
    """train_steps is what train does: ceil(kept / train_batch) Adam steps (a partial batch is one)."""
    task = tiny_ddpm_task(tiny_path, s=3)  # train_batch 8
    state = task.init_state(0)
    adam_steps = lambda: max((float(v["step"]) for v in state.optimizer.state_dict()["state"].values()), default=0)
    before = adam_steps()
    state = task.train(state, task.generate(state, 12))
    assert task.train_steps(12) == 2 and adam_steps() - before == 2
