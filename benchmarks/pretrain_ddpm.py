"""Pretrain the shipped DDPM checkpoint on a different domain than MNIST, and record its MNIST PSNR.

The paper starts its MNIST bootstrapping from a model pretrained on CIFAR-10, so there is room to
gain. At CPU scale we do the same with scikit-learn's 8x8 digits (1,797 images, shipped offline),
upscaled to 28x28 and padded to 32x32: similar strokes, different look. The UNet has blocks
32/64/64 (1.06M parameters) and trains with noise-prediction MSE at timesteps uniform in 0..999.
The checkpoint (diffusers save_pretrained, safetensors) and build.json go to --out; build.json
holds the recipe and the held-out MNIST PSNR at s = 10 and s = 20, measured with the DDPM task.

    python benchmarks/pretrain_ddpm.py --threads 1     # the shipped build (build.json)
    python benchmarks/pretrain_ddpm.py --eval-only     # re-measure an existing checkpoint

1,200 steps take ~12.5 min on two idle cores; the shipped build took 76 min on one thread of a
machine shared with other jobs (two threads there were slower still: they fight for the cores).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from diffusers import DDPMScheduler, UNet2DModel
from sklearn.datasets import load_digits

from bootstrapper.tasks.ddpm import SHIPPED, DDPMTask
from bootstrapper.tasks.ddpm_data import to_model_range
from planner.jsonio import atomic_write_json


def sklearn_digits() -> torch.Tensor:
    """scikit-learn's 8x8 digits upscaled (bilinear) to 28x28 and padded: (1797, 1, 32, 32) in [-1, 1]."""
    small = torch.from_numpy(load_digits().images / 16.0).float()[:, None]
    big = torch.nn.functional.interpolate(small, size=(28, 28), mode="bilinear", align_corners=False)
    return torch.from_numpy(to_model_range(big[:, 0].clamp(0, 1).numpy()))


def build_unet() -> UNet2DModel:
    """The small UNet of the study: blocks 32/64/64, one layer each, attention only in the middle."""
    return UNet2DModel(
        sample_size=32,
        in_channels=1,
        out_channels=1,
        block_out_channels=(32, 64, 64),
        layers_per_block=1,
        down_block_types=("DownBlock2D",) * 3,
        up_block_types=("UpBlock2D",) * 3,
    )


def pretrain(steps: int, batch: int, lr: float, seed: int) -> UNet2DModel:
    """Adam on noise-prediction MSE over the scikit-learn digits, printing the loss every 100 steps."""
    torch.manual_seed(seed)
    data, model, scheduler = sklearn_digits(), build_unet(), DDPMScheduler(num_train_timesteps=1000)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    start, running = time.perf_counter(), 0.0
    for step in range(1, steps + 1):
        x0 = data[torch.randint(0, len(data), (batch,), generator=gen)]
        noise = torch.randn(x0.shape, generator=gen)
        t = torch.randint(0, scheduler.config.num_train_timesteps, (batch,), generator=gen)
        loss = torch.nn.functional.mse_loss(model(scheduler.add_noise(x0, noise, t), t).sample, noise)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        running += loss.item()
        if step % 100 == 0 or step == steps:
            mean = running / ((step - 1) % 100 + 1)
            print(f"step {step:5d}  loss {mean:.4f}  {time.perf_counter() - start:6.0f} s", flush=True)
            running = 0.0
    return model


def mnist_psnr(folder: Path, s: int, eval_images: int) -> float:
    """Mean held-out MNIST PSNR (dB) of the checkpoint at difficulty s, as the DDPM task measures it."""
    task = DDPMTask(DDPMTask.Config(model_path=str(folder), s=s, eval_images=eval_images))
    return task.evaluate(task.init_state(0))["psnr"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1200, help="Adam steps (default 1200)")
    parser.add_argument("--batch", type=int, default=64, help="images per step (default 64)")
    parser.add_argument("--lr", type=float, default=2e-4, help="Adam learning rate (default 2e-4)")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights, batches and noise (default 0)")
    parser.add_argument("--eval-images", type=int, default=500, help="held-out MNIST digits (default 500)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default 0: all cores)")
    parser.add_argument("--out", type=Path, default=SHIPPED, help=f"checkpoint folder (default {SHIPPED})")
    parser.add_argument("--eval-only", action="store_true", help="skip training; re-measure the PSNR of --out")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    info = json.loads((args.out / "build.json").read_text()) if args.eval_only else {}
    if not args.eval_only:
        start = time.perf_counter()
        model = pretrain(args.steps, args.batch, args.lr, args.seed)
        model.save_pretrained(args.out)
        DDPMScheduler(num_train_timesteps=1000).save_pretrained(args.out)
        info = {
            "script": "benchmarks/pretrain_ddpm.py",
            "data": "sklearn load_digits, 8x8 upscaled bilinear to 28x28, padded to 32x32, [-1, 1]",
            "seed": args.seed,
            "steps": args.steps,
            "batch": args.batch,
            "lr": args.lr,
            "timesteps": "uniform in 0..999",
            "parameters": sum(p.numel() for p in model.parameters()),
            "train_seconds": round(time.perf_counter() - start, 1),
            "torch_threads": torch.get_num_threads(),
        }
    info["mnist_eval_images"] = args.eval_images
    for s in (10, 20):
        info[f"mnist_psnr_s{s}"] = round(mnist_psnr(args.out, s, args.eval_images), 3)
        print(f"held-out MNIST PSNR at s = {s}: {info[f'mnist_psnr_s{s}']:.2f} dB", flush=True)
    atomic_write_json(args.out / "build.json", info)


if __name__ == "__main__":
    main()
