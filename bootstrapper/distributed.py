"""Data-parallel helpers over Hugging Face accelerate, for runs started by `accelerate launch`.

Every process holds the same state and draws the same random numbers; only the expensive work
(UNet / LLM forward and backward passes) is split, and its results are gathered so that every
process continues with identical data. A single process (no WORLD_SIZE > 1 in the environment)
never imports accelerate or touches torch.distributed: every helper is then the identity.
"""
from __future__ import annotations

import datetime
import functools
import os
from typing import Any, Callable, Iterable, TypeVar

from planner.validate import InputError

T = TypeVar("T")
TIMEOUT_ENV = "SPENDWISE_DIST_TIMEOUT"  # seconds a collective waits for a lost process (default 1800)


def world_size() -> int:
    """Number of processes of this run (1 unless started by a distributed launcher)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


@functools.lru_cache(maxsize=1)
def _state() -> Any:
    """accelerate's PartialState, created once; gloo when torch sees no GPU, nccl otherwise."""
    import torch
    from accelerate import PartialState

    timeout = datetime.timedelta(seconds=float(os.environ.get(TIMEOUT_ENV, "1800")))
    return PartialState(cpu=not torch.cuda.is_available(), timeout=timeout)


def rank() -> int:
    """This process's index, 0 .. world_size() - 1."""
    return _state().process_index if world_size() > 1 else 0


def is_main() -> bool:
    """True on the one process that writes the run directory, the log and the progress bars."""
    return rank() == 0


def device() -> Any:
    """The torch device of this process: its own GPU under a launcher, else cuda if present, else cpu."""
    import torch

    if world_size() > 1 and _state().device.type != "cpu":
        return _state().device  # cuda:LOCAL_RANK; on cpu accelerate says "cpu:0", which safetensors refuses
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def shard(n: int, index: int | None = None, world: int | None = None) -> slice:
    """This process's contiguous part of n items; the first n % world processes get one more."""
    index = rank() if index is None else index
    world = world_size() if world is None else world
    size, extra = divmod(n, world)
    start = index * size + min(index, extra)
    return slice(start, start + size + (index < extra))


def gather(part: T) -> T:
    """Every process's part (numpy array, torch tensor or list), concatenated in rank order, on every process."""
    if world_size() == 1:
        return part
    import torch

    parts: list[Any] = [None] * world_size()
    torch.distributed.all_gather_object(parts, part)
    if isinstance(part, list):
        return [x for p in parts for x in p]  # type: ignore[return-value]
    if isinstance(part, torch.Tensor):
        return torch.cat([p.to(part.device) for p in parts])  # type: ignore[return-value]
    import numpy as np

    return np.concatenate(parts)  # type: ignore[return-value]


def broadcast(value: T) -> T:
    """The main process's value (any picklable object), on every process."""
    if world_size() == 1:
        return value
    import torch

    box = [value]
    torch.distributed.broadcast_object_list(box, src=0)
    return box[0]


def all_reduce_mean_grads(params: Iterable[Any], weight: float) -> None:
    """Replace every gradient by the sum over processes of weight x gradient (a missing one counts as zero).

    With weight = this process's share of the batch, the result is the full batch's mean gradient,
    identical on every process, so identical optimizer steps keep the copies of the model equal."""
    if world_size() == 1:
        return
    import torch

    params = [p for p in params if p.requires_grad]
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads]) * weight  # one collective for the whole model
    torch.distributed.all_reduce(flat)
    offset = 0
    for p in params:
        p.grad = flat[offset: offset + p.numel()].view_as(p).clone()
        offset += p.numel()


def on_main(fn: Callable[[], T]) -> T:
    """Run fn on the main process only (a write to the run directory) while the others wait; every
    process returns fn's result, or raises the same InputError, so bad input stops all of them alike."""
    if world_size() == 1:
        return fn()
    outcome: tuple[str, Any] = ("ok", None)
    if is_main():
        try:
            outcome = ("ok", fn())
        except InputError as e:
            outcome = ("input", str(e))
        except BaseException as e:
            broadcast(("crash", f"{type(e).__name__} on the main process"))
            raise
    kind, value = broadcast(outcome)
    if kind == "input":
        raise InputError(value)
    if kind == "crash":
        raise RuntimeError(value)
    return value
