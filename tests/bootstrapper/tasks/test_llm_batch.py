"""Batch layout after a shared prefix: lengths, padding, positions and targets; the answer stop."""
from __future__ import annotations

import torch
from transformers import AutoTokenizer

from bootstrapper.tasks.llm_batch import AnswerComplete, generation_batch, shared_length, training_batch
from tests.bootstrapper.tasks.test_llm import build_tiny_model


def test_shared_length_leaves_every_prompt_a_token_of_its_own() -> None:
    assert shared_length([1, 2, 3], [[1, 2, 3, 4, 5], [1, 2, 3, 6]]) == 3
    assert shared_length([1, 2, 3], [[1, 2, 3], [1, 2, 3, 4]]) == 2  # a prompt equal to the prefix keeps its last
    assert shared_length([1, 2, 3], [[1, 9, 3, 4], [1, 2, 3, 4]]) == 1
    assert shared_length([1, 2], [[5, 6]]) == 0


def test_generation_batch_pads_each_rest_on_the_left_after_the_prefix() -> None:
    ids, mask = generation_batch([[1, 2, 7, 8, 9], [1, 2, 5]], shared=2, pad=0)
    assert ids.tolist() == [[1, 2, 7, 8, 9], [1, 2, 0, 0, 5]]
    assert mask.tolist() == [[1, 1, 1, 1, 1], [1, 1, 0, 0, 1]]
    positions = mask.cumsum(-1) - 1  # what generate gives each token: the row's own positions
    assert positions[1, -1] == 2 and positions[0, -1] == 4


def test_training_batch_targets_the_answer_tokens_only() -> None:
    ids, targets, mask, first = training_batch([([1, 2, 7, 8], [30, 31]), ([1, 2, 5], [40])], shared=2, pad=0)
    assert ids.tolist() == [[7, 8, 30, 31], [5, 40, 0, 0]]
    assert targets.tolist() == [[-100, 30, 31, -100], [40, -100, -100, -100]]  # targets[:, j] follows token j
    assert mask.tolist() == [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]]
    assert first == 0


def test_answer_complete_stops_rows_whose_answer_is_final(tmp_path) -> None:
    tok = AutoTokenizer.from_pretrained(build_tiny_model(tmp_path))
    rows = [tok("x y", add_special_tokens=False).input_ids + tok(text, add_special_tokens=False).input_ids
            for text in ("The answer is 7 .", "The answer is 7", "no answer")]
    width = max(map(len, rows))
    ids = torch.tensor([[tok.pad_token_id] * (width - len(r)) + r for r in rows])
    stop = AnswerComplete(tok, start=0)(ids, None)
    assert stop.tolist() == [True, False, False]
