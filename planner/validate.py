"""Bad input and the checks that find it, for every package: one error class (the CLI prints it
as one sentence and exits with status 2) and the value checks the models, costs, Advisor, run
log, run config and task configs share. A check_* returns the value it checked (a float or an
int) or raises "<name> must be <rule>, got <value>"; is_* are the same tests as predicates.
"""
from __future__ import annotations

import math
import numbers

TYPE_CHECKING = False  # typing is imported for type checkers only: `plan --help` starts without it
if TYPE_CHECKING:
    from typing import Any

MAX_COUNT = 2**53  # the largest count every integer up to which a float64 holds exactly
MAX_SEED = 2**32 - 1  # the largest seed every RNG accepts
MAX_TRIALS = 10**6  # most Optuna trials one command runs (more is a typo: days of search)


class InputError(ValueError):
    """Bad user input; the CLI prints the message as one sentence and exits with status 2."""


def is_number(value: Any) -> bool:
    """A finite real number (True and False are not numbers here; nor is an integer past float's range)."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int like 10**400
        return False


def is_unit(value: Any) -> bool:
    """A reward: a finite number in [0, 1]."""
    return is_number(value) and 0 <= value <= 1


def is_int(value: Any) -> bool:
    """An integer typed as one (True and False are not): what an int field of a config holds."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_whole(value: Any, low: int = 0, high: int = MAX_COUNT) -> bool:
    """A whole number (an int, or a float with no fraction, as JSON and user loops give counts)
    from low to high."""
    whole = isinstance(value, numbers.Integral) or (isinstance(value, float) and value.is_integer())
    return whole and not isinstance(value, bool) and low <= value <= high


def require(ok: bool, name: str, rule: str, value: Any, error: type[InputError] = InputError) -> None:
    """Raise error("<name> must be <rule>, got <value>") unless ok."""
    if not ok:
        raise error(f"{name} must be {rule}, got {shown(value)}")


def shown(value: Any) -> str:
    """repr(value), but an integer of more than 40 digits (10**400 typed for a count) by its length."""
    if isinstance(value, int) and abs(value) >= 10**40:
        return f"an integer of {len(str(abs(value)))} digits"
    return repr(value)


def check_number(name: str, value: Any) -> float:
    require(is_number(value), name, "a finite number", value)
    return float(value)


def check_positive(name: str, value: Any, allow_zero: bool = False) -> float:
    """A finite number > 0 (or >= 0)."""
    require(is_number(value) and (value >= 0 if allow_zero else value > 0), name,
            f"a finite number {'>= 0' if allow_zero else '> 0'}", value)
    return float(value)


def check_unit(name: str, value: Any) -> float:
    require(is_unit(value), name, "a number in [0, 1]", value)
    return float(value)


def check_count(name: str, value: Any) -> int:
    """A sample count: a whole number from 0 to 2^53 (past which float64 counts are not exact)."""
    require(is_whole(value), name, "a whole number from 0 to 2^53", value)
    return int(value)


def check_trials(name: str, value: Any) -> int:
    require(is_whole(value, 0, MAX_TRIALS), name, f"a whole number from 0 to {MAX_TRIALS:,}", value)
    return int(value)


def check_every(name: str, value: Any) -> int:
    """How often, in rounds (--eval-every K): a whole number from 1 to 2^53, an int as run.json stores it."""
    require(isinstance(value, numbers.Integral) and is_whole(value, 1), name, "a whole number from 1 to 2^53", value)
    return int(value)


def check_seed(name: str, value: Any) -> int:
    require(is_whole(value, 0, MAX_SEED), name, "a whole number from 0 to 2^32 - 1", value)
    return int(value)


def parse_value(text: str, hint: Any, what: str) -> Any:
    """Parse a command-line string (-o KEY=VALUE) into the type named by a dataclass field's hint."""
    import types
    import typing

    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        if text.lower() in ("none", "null", ""):
            return None
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    try:
        if hint is bool:
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return text.lower() in ("true", "1", "yes")
        if hint is int:
            return int(text)
        if hint is float:
            return float(text)
        if typing.get_origin(hint) in (tuple, list):
            inner = typing.get_args(hint)[0]
            return tuple(parse_value(t, inner, what) for t in text.split(","))
    except ValueError:
        raise InputError(f"{what} must be {getattr(hint, '__name__', hint)}, not {text!r}") from None
    return text


def check_rng_state(state: Any, where: str) -> dict:
    """A numpy PCG64 state as its bit_generator.state holds it, checked field by field before use: an edited
    one is refused in one sentence (numpy would raise OverflowError or TypeError, or run another stream)."""
    words = state.get("state") if isinstance(state, dict) else None
    ok = (isinstance(state, dict) and set(state) == {"bit_generator", "state", "has_uint32", "uinteger"}
          and state["bit_generator"] == "PCG64" and isinstance(words, dict) and set(words) == {"state", "inc"}
          and all(is_int(w) and 0 <= w < 2**128 for w in words.values()) and words["inc"] % 2 == 1
          and state["has_uint32"] in (0, 1) and is_int(state["has_uint32"])
          and is_int(state["uinteger"]) and 0 <= state["uinteger"] < 2**32)
    if not ok:
        raise InputError(f"{where}: the random-number state is not a PCG64 state as numpy writes it")
    return state


MAX_DEPTH = 32  # nesting levels of a spendwise state object; what spendwise writes has fewer than 10


def check_depth(value: Any, where: str, limit: int = MAX_DEPTH) -> None:
    """Refuse an object nested more than limit levels deep (checked without recursion), before code that
    recurses through it (copy, repr, comparisons) would raise RecursionError."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise InputError(f"{where} is nested more than {limit} levels deep; it is not one spendwise wrote")
        if isinstance(item, dict):
            stack.extend((inner, depth + 1) for inner in item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend((inner, depth + 1) for inner in item)
