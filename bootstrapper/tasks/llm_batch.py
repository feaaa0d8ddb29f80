"""Batches of LLM prompts that share their start, and the stop at a complete answer.

Every prompt of the LLM task begins with the same chat prefix (instruction and worked examples:
~150 of SmolLM2's ~180 prompt tokens). Its keys and values are computed once and every row of a
batch attends to them, in generation and in training alike; each row still sees exactly the tokens
and positions it would see alone, so answers, losses and gradients are those of the full prompts.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import torch
from transformers import DynamicCache, StoppingCriteria

from bootstrapper.tasks.problems import answer_complete


@dataclasses.dataclass(frozen=True)
class Prefix:
    """Token ids of the prompts' shared start and each layer's keys and values, (1, heads, len, dim)."""

    ids: list[int]
    kv: list[tuple[torch.Tensor, torch.Tensor]]


def encode(model: Any, ids: list[int], device: torch.device) -> Prefix:
    """The keys and values of ids run as one sequence (with gradients unless under no_grad)."""
    if not ids:
        return Prefix([], [])
    out = model(input_ids=torch.tensor([ids], device=device), use_cache=True, logits_to_keep=1)
    return Prefix(list(ids), [(layer.keys, layer.values) for layer in out.cache.layers])


def shared_length(prefix: list[int], prompts: list[list[int]]) -> int:
    """How many leading tokens of prefix every prompt starts with, leaving each at least one of its own."""
    def common(prompt: list[int]) -> int:
        n = 0
        while n < min(len(prefix), len(prompt) - 1) and prefix[n] == prompt[n]:
            n += 1
        return n
    return min(common(p) for p in prompts)


def expanded(model: Any, prefix: Prefix, length: int, rows: int) -> DynamicCache | None:
    """A cache holding the first length positions of prefix for each of rows (None when length is 0)."""
    if length == 0:
        return None
    return DynamicCache([(k[:, :, :length].expand(rows, -1, -1, -1), v[:, :, :length].expand(rows, -1, -1, -1))
                         for k, v in prefix.kv], config=model.config)


def generation_batch(prompts: list[list[int]], shared: int, pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(input ids, attention mask) for generating after prompts whose first shared tokens are cached:
    the prefix, then each prompt's rest left-padded up to the answer. Positions follow the mask, so
    every row gets the positions it would get alone."""
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad, dtype=torch.long)
    mask = torch.zeros_like(ids)
    ids[:, :shared], mask[:, :shared] = torch.tensor(prompts[0][:shared], dtype=torch.long), 1
    for r, p in enumerate(prompts):
        ids[r, width - len(p) + shared:], mask[r, width - len(p) + shared:] = torch.tensor(p[shared:]), 1
    return ids, mask


def training_batch(rows: list[tuple[list[int], list[int]]], shared: int,
                   pad: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """For (prompt, answer) token rows whose first shared tokens are cached: (input ids of the rests,
    right-padded; targets, the answer token after each position and -100 elsewhere; attention mask
    over prefix and rests; the first position whose logits predict an answer token)."""
    rests = [(p[shared:], t) for p, t in rows]
    width = max(len(p) + len(t) for p, t in rests)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    targets = torch.full((len(rows), width), -100, dtype=torch.long)
    mask = torch.zeros((len(rows), shared + width), dtype=torch.long)
    mask[:, :shared] = 1
    for r, (p, t) in enumerate(rests):
        ids[r, :len(p) + len(t)] = torch.tensor(p + t)
        targets[r, len(p) - 1:len(p) + len(t) - 1] = torch.tensor(t)
        mask[r, shared:shared + len(p) + len(t)] = 1
    return ids, targets, mask, min(len(p) for p, _ in rests) - 1


class AnswerComplete(StoppingCriteria):
    """Stops a row once its answer (the tokens from start on) can no longer change cut_after_answer."""

    def __init__(self, tokenizer: Any, start: int):
        self.tokenizer, self.start = tokenizer, start

    def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        texts = self.tokenizer.batch_decode(input_ids[:, self.start:], skip_special_tokens=True)
        return torch.tensor([answer_complete(t) for t in texts], device=input_ids.device)
