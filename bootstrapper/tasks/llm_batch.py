"""Batches of LLM prompts that share their start, and generation that stops each answer when complete.

Every prompt of the LLM task begins with the same chat prefix (instruction and worked examples:
~150 of SmolLM2's ~180 prompt tokens). Its keys and values are computed once and every row of a
batch attends to them, in generation and in training alike; each row still sees exactly the tokens
and positions it would see alone, so answers, losses and gradients are those of the full prompts.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

import torch
from transformers import DynamicCache


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


def decode(model: Any, ids: torch.Tensor, mask: torch.Tensor, cache: DynamicCache | None, shared: int,
           max_new_tokens: int, pick: Callable[[torch.Tensor], torch.Tensor],
           done: Callable[[list[int]], bool]) -> list[list[int]]:
    """The new tokens after each row of (ids, mask), whose first shared positions are in cache: the
    steps of model.generate (positions from the mask, pick on the last position's float32 logits),
    but a row leaves the batch once it ends its turn or done(its new tokens) holds, so the work
    follows each answer's length instead of the batch's longest."""
    eos = model.generation_config.eos_token_id
    eos = set(eos if isinstance(eos, list) else [eos])
    positions = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 0)
    inputs, positions = ids[:, shared:], positions[:, shared:]
    rows, new = torch.arange(len(ids)), [[] for _ in range(len(ids))]
    for step in range(max_new_tokens):
        out = model(input_ids=inputs, attention_mask=mask, position_ids=positions, cache=cache, use_cache=True,
                    logits_to_keep=1)
        cache, tokens = out.cache, pick(out.logits[:, -1].float())
        keep = []
        for i, (row, token) in enumerate(zip(rows.tolist(), tokens.tolist())):
            new[row].append(token)
            if token not in eos and not done(new[row]):
                keep.append(i)
        if not keep or step == max_new_tokens - 1:
            break
        if len(keep) < len(rows):
            index = torch.tensor(keep, device=ids.device)
            cache.batch_select_indices(index)
            rows, tokens, mask, positions = rows[index.cpu()], tokens[index], mask[index], positions[index]
        inputs, positions = tokens[:, None], positions[:, -1:] + 1
        mask = torch.cat([mask, mask.new_ones((len(mask), 1))], dim=-1)
    return new
