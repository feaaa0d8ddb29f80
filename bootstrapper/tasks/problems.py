"""Templated arithmetic word problems (GSM-Symbolic style), their verifier and the chat prompt.

Our own templates: a story keeps a running count; each clause applies one operation to it, so
the answer is correct by construction and the number of operations is the difficulty. Level
"base" uses a template's own 1-2 operations, "p1" adds one clause and "p2" two. Train and test
problems never share a name (disjoint name pools) nor a (template, level, numbers) draw (a hash
of the draw decides its split), so held-out accuracy measures more than memorisation.
"""
from __future__ import annotations

import dataclasses
import hashlib
import re

import numpy as np

LEVELS = ("base", "p1", "p2")
EXTRA_CLAUSES = {"base": 0, "p1": 1, "p2": 2}  # clauses added to a template's own ones
TEST_SHARE = 5  # one draw in TEST_SHARE (by hash) belongs to the test split
# Inclusive number ranges, small enough that a 135M model gets some one-step answers right.
START_RANGE = (5, 30)  # a plain start count
FACTOR_RANGES = ((2, 9), (2, 9))  # a product start: groups, items per group
STEP_RANGE = (2, 9)  # the number of one clause (a subtraction takes at most half the count)


@dataclasses.dataclass(frozen=True)
class Step:
    """One clause: its text (with {x} for its number) and the operation it applies to the count."""

    text: str
    op: str  # "+" or "-"


@dataclasses.dataclass(frozen=True)
class Template:
    """A story: a start clause (a count, or a product: one operation), base clauses, extra clauses."""

    key: str
    start: str  # uses {a}, and {b} when product is True
    base: tuple[Step, ...]
    extra: tuple[Step, Step]
    question: str
    product: bool = False


@dataclasses.dataclass(frozen=True)
class Problem:
    """A drawn problem: its text, the correct answer, a worked solution and its operations."""

    question: str
    gold: int
    solution: str
    level: str
    template: str
    numbers: tuple[int, ...]
    ops: tuple[str, ...]


TEMPLATES = (
    Template("marbles", "{name} has {a} marbles.",
             (Step("{He} wins {x} more marbles at school.", "+"),),
             (Step("{He} gives {x} marbles to {friend}.", "-"),
              Step("Then {he} finds {x} marbles under the couch.", "+")),
             "How many marbles does {name} have now?"),
    Template("stickers", "{name} buys {a} packs of stickers with {b} stickers in each pack.", (),
             (Step("{He} uses {x} stickers on a poster.", "-"), Step("{friend} gives {him} {x} more stickers.", "+")),
             "How many stickers does {name} have now?", product=True),
    Template("savings", "{name} has {a} dollars in {his} piggy bank.",
             (Step("{He} earns {x} dollars washing cars.", "+"), Step("{He} spends {x} dollars on a book.", "-")),
             (Step("{His} grandmother gives {him} {x} dollars.", "+"), Step("{He} pays {x} dollars for lunch.", "-")),
             "How many dollars does {name} have now?"),
    Template("cookies", "{name} bakes {a} trays of cookies with {b} cookies on each tray.", (),
             (Step("{He} eats {x} cookies.", "-"), Step("{friend} brings {x} more cookies.", "+")),
             "How many cookies does {name} have now?", product=True),
    Template("pages", "{name} reads {a} pages of a book on Monday.",
             (Step("On Tuesday {he} reads {x} pages.", "+"),),
             (Step("On Wednesday {he} reads {x} pages.", "+"), Step("On Thursday {he} reads {x} pages.", "+")),
             "How many pages has {name} read in total?"),
    Template("tulips", "A garden has {a} rows of tulips with {b} tulips in each row.", (),
             (Step("{name} plants {x} more tulips.", "+"), Step("Rabbits eat {x} tulips.", "-")),
             "How many tulips are in the garden now?", product=True),
    Template("bus", "A bus leaves the station with {a} passengers.",
             (Step("At the first stop {x} people get off.", "-"),),
             (Step("At the second stop {x} people get on.", "+"), Step("At the last stop {x} people get off.", "-")),
             "How many passengers are on the bus now?"),
)

# (name, pronoun set). Train and test pools are disjoint; the worked examples use names in neither.
TRAIN_NAMES = (("Ava", "f"), ("Noah", "m"), ("Emma", "f"), ("Liam", "m"), ("Olivia", "f"), ("Ethan", "m"),
               ("Sofia", "f"), ("Lucas", "m"), ("Chloe", "f"), ("Omar", "m"), ("Priya", "f"), ("Diego", "m"),
               ("Hana", "f"), ("Samuel", "m"), ("Grace", "f"), ("Mateo", "m"))
TEST_NAMES = (("Zara", "f"), ("Felix", "m"), ("Nadia", "f"), ("Hugo", "m"), ("Leila", "f"), ("Tariq", "m"),
              ("Ines", "f"), ("Kenji", "m"), ("Ruth", "f"), ("Pablo", "m"))
PRONOUNS = {"f": {"He": "She", "he": "she", "him": "her", "his": "her", "His": "Her"},
            "m": {"He": "He", "he": "he", "him": "him", "his": "his", "His": "His"}}


def split_of(template: str, level: str, numbers: tuple[int, ...]) -> str:
    """"test" for one draw in TEST_SHARE, else "train": a stable hash of the draw decides."""
    digest = hashlib.blake2b(f"{template}|{level}|{numbers}".encode(), digest_size=8).digest()
    return "test" if int.from_bytes(digest, "big") % TEST_SHARE == 0 else "train"


def _apply(count: int, op: str, x: int) -> int:
    """The count after one clause."""
    return count + x if op == "+" else count - x


def _draw_numbers(template: Template, steps: tuple[Step, ...], rng: np.random.Generator) -> tuple[int, ...]:
    """The start number(s) then one number per step; a clause takes away at most half the count."""
    ranges = FACTOR_RANGES if template.product else (START_RANGE,)
    start = tuple(int(rng.integers(lo, hi + 1)) for lo, hi in ranges)
    count = start[0] * start[1] if template.product else start[0]
    numbers = list(start)
    lo, hi = STEP_RANGE
    for step in steps:
        top = max(1, min(hi, count // 2)) if step.op == "-" else hi
        x = int(rng.integers(min(lo, top), top + 1))
        count = _apply(count, step.op, x)
        numbers.append(x)
    return tuple(numbers)


def _solve(template: Template, steps: tuple[Step, ...], numbers: tuple[int, ...]) -> tuple[int, str]:
    """The answer and a short worked solution ("3 * 4 = 12. 12 + 5 = 17. The answer is 17.")."""
    lines = []
    if template.product:
        count = numbers[0] * numbers[1]
        lines.append(f"{numbers[0]} * {numbers[1]} = {count}.")
        rest = numbers[2:]
    else:
        count, rest = numbers[0], numbers[1:]
    for step, x in zip(steps, rest):
        new = _apply(count, step.op, x)
        lines.append(f"{count} {step.op} {x} = {new}.")
        count = new
    lines.append(f"The answer is {count}.")
    return count, " ".join(lines)


def check_level(level: str) -> None:
    """Raise ValueError naming level unless it is one of LEVELS."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; known levels: {', '.join(LEVELS)}")


def draw_problem(rng: np.random.Generator, level: str, split: str) -> Problem:
    """One problem of the given level from the given split ("train" or "test"), drawn with rng."""
    check_level(level)
    if split not in ("train", "test"):
        raise ValueError(f"unknown split {split!r}; use 'train' or 'test'")
    names = TRAIN_NAMES if split == "train" else TEST_NAMES
    while True:
        template = TEMPLATES[int(rng.integers(len(TEMPLATES)))]
        steps = template.base + template.extra[:EXTRA_CLAUSES[level]]
        numbers = _draw_numbers(template, steps, rng)
        if split_of(template.key, level, numbers) == split:
            break
    i, j = rng.choice(len(names), size=2, replace=False)
    (name, sex), (friend, _) = names[int(i)], names[int(j)]
    words = {"name": name, "friend": friend, **PRONOUNS[sex]}
    start_numbers = numbers[:2] if template.product else numbers[:1]
    clauses = [template.start.format(a=start_numbers[0], b=start_numbers[-1], **words)]
    clauses += [step.text.format(x=x, **words) for step, x in zip(steps, numbers[len(start_numbers):])]
    clauses.append(template.question.format(**words))
    gold, solution = _solve(template, steps, numbers)
    ops = ("*",) * template.product + tuple(step.op for step in steps)
    return Problem(" ".join(clauses), gold, solution, level, template.key, numbers, ops)


def draw_problems(seed: int, level: str, split: str, n: int) -> list[Problem]:
    """n distinct problems (no two share template and numbers) of one level and split, from seed."""
    check_level(level)
    rng = np.random.default_rng([seed, LEVELS.index(level)])
    problems: list[Problem] = []
    seen: set[tuple] = set()
    for _ in range(10 * n + 100):
        if len(problems) == n:
            break
        p = draw_problem(rng, level, split)
        if (p.template, p.numbers) not in seen:
            seen.add((p.template, p.numbers))
            problems.append(p)
    if len(problems) < n:
        raise ValueError(f"the {split} split has fewer than {n} distinct {level} problems")
    return problems


# ---- verifier ----------------------------------------------------------------------------------

_NUMBER = r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_FINAL = re.compile(r"answer is\s*:?\s*\$?\s*(" + _NUMBER + ")", re.IGNORECASE)
_ANY = re.compile(_NUMBER)


def parse_answer(text: str) -> float | None:
    """The final number of an answer: the last "answer is N", else the last number, else None."""
    finals = _FINAL.findall(text)
    found = finals[-1] if finals else (_ANY.findall(text) or [None])[-1]
    return None if found is None else float(found.replace(",", ""))


def score(text: str, gold: float) -> float:
    """Reward of an answer: 1.0 if its final number equals gold exactly, else 0.0 (also if missing)."""
    value = parse_answer(text)
    return float(value is not None and value == gold)


def cut_after_answer(text: str) -> str:
    """The answer up to its first "The answer is N." sentence (a stop string); the rest is rambling."""
    match = _FINAL.search(text)
    if match is None:
        return text.strip()
    end = match.end() + (1 if text[match.end():match.end() + 1] == "." else 0)
    return text[:end].strip()


_NUMBER_TAIL = 4  # the longest text that can still extend a matched number: ",ddd" (".d" is 2)


def answer_complete(text: str) -> bool:
    """True once no appended text can change cut_after_answer(text): the first "answer is N" is
    followed by a character that cannot continue N (not a digit, "." or ","), or by _NUMBER_TAIL
    characters (a continuation that long would already be part of the match)."""
    match = _FINAL.search(text)
    if match is None:
        return False
    tail = text[match.end():]
    return len(tail) >= _NUMBER_TAIL or any(not (c.isdecimal() or c in ".,") for c in tail)


# ---- prompt ------------------------------------------------------------------------------------

SHOTS = (
    ("Mia has 12 apples. She buys 7 more apples. How many apples does Mia have now?",
     "12 + 7 = 19. The answer is 19."),
    ("Leo buys 4 boxes of pens with 6 pens in each box. He gives 9 pens to Ben. How many pens does Leo have left?",
     "4 * 6 = 24. 24 - 9 = 15. The answer is 15."),
)


def build_messages(question: str, shots: int, instruction: str) -> list[dict[str, str]]:
    """Chat turns: optional system instruction, `shots` worked examples, then the question."""
    messages = [{"role": "system", "content": instruction}] if instruction else []
    for shot_question, shot_answer in SHOTS[:shots]:
        messages += [{"role": "user", "content": shot_question}, {"role": "assistant", "content": shot_answer}]
    return messages + [{"role": "user", "content": question}]
