"""The DDPM half of llm_speed.py: the task's generate and train against a bare UNet loop on the same
images (images per second), its evaluation seconds per round and its checkpoint."""
from __future__ import annotations

import argparse
import copy
from typing import Any

import torch

from benchmarks.speed_common import checkpoints, interleaved, summary


def run_ddpm(args: argparse.Namespace) -> dict:
    """Generation, training and evaluation of the DDPM task against a bare UNet loop."""
    from bootstrapper.tasks.ddpm import DDPMConfig, DDPMTask

    config = DDPMConfig(model_path=args.model_path, device="cpu", num_threads=args.threads,
                        **({"eval_images": 16} if args.quick else {}))
    task = DDPMTask(config)
    state = task.init_state(0)
    images = task.digits[task.split[1][:args.images]]
    result: dict[str, Any] = {"config": config.to_json(), "threads": args.threads, "images": args.images}

    def bare_generate() -> None:
        """Noise to timestep s-1, then s reverse steps of the EMA UNet, gen_batch images at a time."""
        noise = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for s in range(0, len(images), config.gen_batch):
                x0 = torch.from_numpy(images[s:s + config.gen_batch])
                x = state.scheduler.add_noise(x0, torch.randn(x0.shape, generator=noise), torch.tensor([config.s - 1]))
                for t in range(config.s - 1, -1, -1):
                    x = state.scheduler.step(state.ema(x, t).sample, t, x, generator=noise).prev_sample

    print("generate", flush=True)
    seconds, outputs = interleaved({"bare": bare_generate, "task": lambda: task.generate(state, args.images)},
                                   args.reps)
    result["generate"] = summary(seconds, args.images, "image")

    print("train", flush=True)
    kept = outputs["task"]
    model = copy.deepcopy(state.model)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)

    def bare_train() -> None:
        """Noise-prediction MSE and an Adam step per train_batch images (no EMA)."""
        noise = torch.Generator().manual_seed(0)
        model.train()
        for s in range(0, len(kept.images), config.train_batch):
            x0 = torch.from_numpy(kept.images[s:s + config.train_batch])
            eps = torch.randn(x0.shape, generator=noise)
            t = torch.randint(0, config.s, (len(x0),), generator=noise)
            loss = torch.nn.functional.mse_loss(model(state.scheduler.add_noise(x0, eps, t), t).sample, eps)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    seconds, _ = interleaved({"bare": bare_train, "task": lambda: task.train(state, kept)}, args.reps)
    result["train"] = summary(seconds, args.images, "image")

    print("evaluate", flush=True)
    seconds, _ = interleaved({"task": lambda: task.evaluate(state)}, args.reps)
    result["evaluate"] = {**summary(seconds, 1, "round")["task"], "images": config.eval_images}
    result["checkpoint"] = checkpoints({"task": (task, state)}, args.reps)
    return result
