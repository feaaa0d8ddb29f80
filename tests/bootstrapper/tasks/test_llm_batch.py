"""Batch layout after a shared prefix: lengths, padding, positions and targets; decoding that drops finished rows."""
from __future__ import annotations

import pytest

from tests.conftest import needs

needs("torch", "transformers")

import torch  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

from bootstrapper.tasks.llm_batch import decode, generation_batch, shared_length, training_batch  # noqa: E402
from tests.bootstrapper.tasks.helpers import build_tiny_model  # noqa: E402


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


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    folder = build_tiny_model(tmp_path_factory.mktemp("tiny"))
    return AutoTokenizer.from_pretrained(folder), AutoModelForCausalLM.from_pretrained(folder).eval()


def test_decode_takes_generates_steps_and_drops_finished_rows(tiny) -> None:
    """Without a stop, decode gives model.generate's greedy tokens; with one, each row ends where it
    says and the batch shrinks (fewer rows per forward pass)."""
    tok, model = tiny
    enc = tok(["Mia has 12 apples .", "Leo buys 4 boxes of pens with 6 pens in each box ."], return_tensors="pt",
              padding=True, padding_side="left", add_special_tokens=False)
    greedy = lambda logits: logits.argmax(dim=-1)  # noqa: E731
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=8, do_sample=False, pad_token_id=tok.pad_token_id)
        new = decode(model, enc.input_ids, enc.attention_mask, None, 0, 8, greedy, lambda tokens: False)
        assert new == [[t for t in row if t != tok.pad_token_id] for row in out[:, enc.input_ids.shape[1]:].tolist()]
        rows: list[int] = []
        hook = model.register_forward_hook(lambda module, args, kwargs, output: rows.append(len(kwargs["input_ids"])),
                                           with_kwargs=True)
        assert new[0][1] != new[1][1]
        ends = lambda tokens: len(tokens) == (2 if tokens[1:2] == new[0][1:2] else 3)  # noqa: E731  row 0 at 2, row 1 at 3
        short = decode(model, enc.input_ids, enc.attention_mask, None, 0, 8, greedy, ends)
        hook.remove()
    assert short == [new[0][:2], new[1][:3]] and rows == [2, 2, 1]
