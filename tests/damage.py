"""Random damage to a JSON document, as a disk, an editor or an adversary does it: shared by the tests
that require every reader to load a damaged file cleanly or refuse it in one sentence."""
from __future__ import annotations

import json
import random

DEEP = 100_000  # nesting that exhausts Python's stack in json
ODD_VALUES = ["x", [], {}, None, True, -1, 0, 0.5, 10**400, 2**64, 1e20, 1e308, -1e308, float("nan"),
              float("inf"), -float("inf")]


def nodes(value, path=()):
    """Every (path, value) inside a JSON value, the value itself first."""
    yield path, value
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in items:
        yield from nodes(inner, (*path, key))


def replaced(value, path, new):
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = replaced(value[path[0]], path[1:], new)
    return copy


def deep_list(depth: int = DEEP) -> list:
    """[[[...[1]...]]] nested depth levels deep, built without recursion."""
    value: list = [1]
    for _ in range(depth - 1):
        value = [value]
    return value


def damaged_value(data, rng: random.Random, kind: str | None = None, deep=None):
    """A damaged copy of a JSON value: one value of another type or range, nesting DEEP levels deep
    (`deep`, default deep_list()), or a key missing or added."""
    kind = kind or rng.choice(["value", "value", "deep", "missing", "extra"])
    path, node = rng.choice(list(nodes(data)))
    if kind == "value":
        return replaced(data, path, rng.choice(ODD_VALUES))
    if kind == "deep":
        return replaced(data, path, deep_list() if deep is None else deep)
    dicts = [(p, n) for p, n in nodes(data) if isinstance(n, dict) and (n or kind == "extra")]
    if not dicts:
        return replaced(data, path, rng.choice(ODD_VALUES))
    path, node = rng.choice(dicts)
    if kind == "missing":
        gone = rng.choice(list(node))
        return replaced(data, path, {k: v for k, v in node.items() if k != gone})
    return replaced(data, path, {**node, "zz": 1})


def damage(text: str, rng: random.Random) -> str:
    """One random damage of one JSON document's text: damaged_value, or the text cut short."""
    kind = rng.choice(["truncate", "value", "value", "deep", "missing", "extra"])
    if kind == "truncate":
        return text[: rng.randrange(len(text))]
    marker = "@deep@"
    damaged = json.dumps(damaged_value(json.loads(text), rng, kind, marker))
    return damaged.replace(f'"{marker}"', "[" * DEEP + "1" + "]" * DEEP)
