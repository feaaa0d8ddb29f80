"""Templated word problems: correct answers, reproducible and disjoint draws, levels, verifier, prompt."""
from __future__ import annotations

import re

import numpy as np
import pytest

from bootstrapper.tasks.problems import (
    LEVELS,
    SHOTS,
    TEMPLATES,
    TEST_NAMES,
    TRAIN_NAMES,
    answer_complete,
    build_messages,
    cut_after_answer,
    draw_problem,
    draw_problems,
    parse_answer,
    score,
)

MINUS = re.compile(r"\b(uses|eats|eat|spends|pays|puts|picks|get off)\b|gives \d")


def solve_from_text(question: str) -> int:
    """Recompute the answer from the question's words alone, independently of the generator."""
    *clauses, _question = [s for s in re.split(r"(?<=[.?])\s+", question) if s]
    start = [int(x) for x in re.findall(r"\d+", clauses[0])]
    count = start[0] * start[1] if len(start) == 2 else start[0]
    for clause in clauses[1:]:
        (x,) = [int(v) for v in re.findall(r"\d+", clause)]
        count += -x if MINUS.search(clause) else x
    return count


@pytest.mark.parametrize("level", LEVELS)
def test_answers_are_correct_by_construction(level: str) -> None:
    for split in ("train", "test"):
        for p in draw_problems(3, level, split, 200):
            assert p.gold == solve_from_text(p.question), p.question
            assert p.gold >= 0
            assert score(p.solution, p.gold) == 1.0


def test_draws_are_reproducible_from_the_seed() -> None:
    assert draw_problems(7, "p1", "train", 30) == draw_problems(7, "p1", "train", 30)
    assert draw_problems(7, "p1", "train", 30) != draw_problems(8, "p1", "train", 30)
    first = [draw_problem(np.random.default_rng(5), "base", "train") for _ in range(2)]
    assert first[0] == first[1]


@pytest.mark.parametrize("level", LEVELS)
def test_train_and_test_draws_are_disjoint(level: str) -> None:
    assert not {n for n, _ in TRAIN_NAMES} & {n for n, _ in TEST_NAMES}
    train = draw_problems(0, level, "train", 1500)
    test = draw_problems(1234, level, "test", 300)
    assert not {(p.template, p.numbers) for p in train} & {(p.template, p.numbers) for p in test}
    test_names = {n for n, _ in TEST_NAMES}
    assert all(not test_names & set(re.findall(r"[A-Z][a-z]+", p.question)) for p in train)
    assert len({(p.template, p.numbers) for p in test}) == len(test)  # a held-out set has no repeats


def test_levels_add_one_and_two_operations() -> None:
    rng = np.random.default_rng(0)
    ops = {level: {} for level in LEVELS}
    for level in LEVELS:
        for _ in range(300):
            p = draw_problem(rng, level, "train")
            ops[level].setdefault(p.template, set()).add(len(p.ops))
            assert len(p.ops) == p.solution.count("=")
    assert set(ops["base"]) == {t.key for t in TEMPLATES}
    for template, counts in ops["base"].items():
        (base,) = counts
        assert base in (1, 2)
        assert ops["p1"][template] == {base + 1} and ops["p2"][template] == {base + 2}


def test_unknown_level_split_or_too_many_problems_are_refused() -> None:
    with pytest.raises(ValueError, match="p3"):
        draw_problems(0, "p3", "train", 1)
    with pytest.raises(ValueError, match="fewer than 500 distinct base"):
        draw_problems(0, "base", "test", 500)
    with pytest.raises(ValueError, match="valid"):
        draw_problem(np.random.default_rng(0), "base", "valid")


@pytest.mark.parametrize("text, value", [
    ("12 + 7 = 19. The answer is 19.", 19.0),
    ("The answer is 1,234.", 1234.0),
    ("so 3.5 + 1 = 4.5. The answer is 4.5", 4.5),
    ("She owes money. The answer is -12.", -12.0),
    ("He has 5 - 8 = -3 apples left", -3.0),
    ("The answer is 7. Then 8 more people come, 30 in all.", 7.0),
    ("The answer is 7. Later: the answer is 9.", 9.0),
    ("We add 2,000 and 500 to get 2,500", 2500.0),
    ("the answer is: $45", 45.0),
    ("I do not know.", None),
    ("", None),
])
def test_parse_answer(text: str, value: float | None) -> None:
    assert parse_answer(text) == value


def test_score_is_exact_match_and_zero_without_answer() -> None:
    assert score("The answer is 1,234.", 1234) == 1.0
    assert score("The answer is 19.0", 19) == 1.0
    assert score("The answer is 18.", 19) == 0.0
    assert score("I think it is nineteen.", 19) == 0.0
    assert score("12 + 7 = 19. The answer is 19. Also 4 more.", 19) == 1.0


def test_cut_after_answer_keeps_the_first_final_sentence() -> None:
    assert cut_after_answer(" 3 + 4 = 7. The answer is 7.\nQuestion: 8 more?") == "3 + 4 = 7. The answer is 7."
    assert cut_after_answer("The answer is 1,234 apples") == "The answer is 1,234"
    assert cut_after_answer("no number here ") == "no number here"


ANSWERS = ["3 + 4 = 7. The answer is 7.", "The answer is 1,234 apples", "The answer is: $12.50 now",
           "so 5 - 2 = 3.", "The answer is -4", "the answer is 12,34", "The answer is 1,234,5", "x The answer is 9\n"]
TAILS = ["", "5", ".", ".5", ",", ",000", ",0", " ", "\n", ". Then 3", "<|im_end|>", "٣"]


@pytest.mark.parametrize("text", ANSWERS)
def test_answer_complete_only_when_no_continuation_changes_the_cut(text: str) -> None:
    """Generation stops at the first prefix where answer_complete holds: from there on, every
    continuation must leave cut_after_answer unchanged, and some prefix before must not qualify."""
    for end in range(len(text) + 1):
        prefix = text[:end]
        if answer_complete(prefix):
            assert all(cut_after_answer(prefix + a + b) == cut_after_answer(prefix) for a in TAILS for b in TAILS)
    assert not answer_complete("The answer is 12") and not answer_complete("The answer is 12.")
    assert not answer_complete("The answer is 1,23") and not answer_complete("no answer yet. ")
    assert answer_complete("The answer is 12.\n") and answer_complete("The answer is 12 apples")
    assert not answer_complete("the answer is 1,23٣")  # a further digit (any script) would extend it


def test_prompt_has_configurable_shots_and_instruction() -> None:
    assert build_messages("Q?", 0, "") == [{"role": "user", "content": "Q?"}]
    two = build_messages("Q?", 2, "Be brief.")
    assert [m["role"] for m in two] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert two[0]["content"] == "Be brief." and two[-1]["content"] == "Q?"
    assert [score(a, g) for (_, a), g in zip(SHOTS, (19, 15))] == [1.0, 1.0]
    names = {n for n, _ in TRAIN_NAMES + TEST_NAMES}
    assert not names & set(re.findall(r"[A-Z][a-z]+", " ".join(q for q, _ in SHOTS)))
