"""Schedule families, rounding to whole batches, and the Schedule value type."""
from __future__ import annotations

import numpy as np
import pytest

from planner.schedules import FAMILIES, STRATEGIES, Schedule, family, round_down
from planner.validate import InputError

T = np.arange(6, dtype=float)


@pytest.mark.parametrize("name, param, expected", [
    ("constant", 0.0, np.ones(6)),
    ("linear", 2.5, 1 + 2.5 * T),
    ("polynomial", 1.5, (1 + T) ** 1.5),
    ("exponential", 2.0, 2.0**T),
])
def test_family_shapes(name, param, expected):
    """Each family's relative size per round is its documented formula, starting at 1."""
    np.testing.assert_allclose(FAMILIES[name].shape(np.array(param), T), expected, rtol=1e-15)


@pytest.mark.parametrize("name", [n for n, f in FAMILIES.items() if f.param_name])
def test_family_search_grids_stay_within_bounds(name):
    """The solvers' starting grids lie inside each family's parameter bounds (Optuna needs that)."""
    fam = FAMILIES[name]
    grid = fam.grid(32)
    assert len(grid) == 32 and grid.min() >= min(fam.low, 0.0) and grid.max() <= fam.high


def test_the_base_range_follows_the_closed_form_base():
    """The exponential family is searched from 1 to 4x the problem's closed-form base (at least 16)."""
    fam = FAMILIES["exponential"]
    assert fam.bounds(2.0) == (1.0, 16.0) and fam.bounds(21.1) == (1.0, pytest.approx(84.4))
    grid = fam.grid(32, 21.1)
    assert grid[0] == 1.0 and grid[-1] == pytest.approx(84.4) and np.all(np.diff(grid) > 0)


def test_strategies_and_unknown_family():
    """The strategies are the four families plus free-form; an unknown family is an InputError."""
    assert STRATEGIES == ("constant", "linear", "polynomial", "exponential", "free")
    with pytest.raises(InputError, match="unknown schedule family"):
        family("cubic")


@pytest.mark.parametrize("batch", [1, 7, 64])
def test_round_down_gives_whole_batches_never_more_than_asked(batch):
    """round_down keeps whole batches, at least one, and never rounds a request up past itself."""
    n = np.random.default_rng(batch).uniform(0.01, 5000.0, size=10_000)
    n = np.concatenate([n, batch * np.arange(1, 20, dtype=float)])  # exact multiples stay put
    out = round_down(n, batch)
    assert np.all(out % batch == 0) and np.all(out >= batch)
    assert np.all(out <= np.maximum(n * (1 + 1e-9), batch))
    assert np.all(out > n - batch)  # and it is the largest such multiple


@pytest.mark.parametrize("n", [(), (0, 3), (-1,), (2.0, 3), (True, 2), ("3",)])
def test_schedule_refuses_non_whole_or_empty_rounds(n):
    """A schedule is a non-empty tuple of ints >= 1 (floats, bools and strings are refused)."""
    with pytest.raises(InputError):
        Schedule("exponential", n)


def test_schedule_refuses_unknown_strategy():
    """Only the known strategies can label a schedule."""
    with pytest.raises(InputError, match="unknown strategy"):
        Schedule("geometric", (1, 2))


def test_schedule_from_array_and_views():
    """from_array turns whole-number floats into ints; rounds, array and to_json agree."""
    s = Schedule.from_array("exponential", np.array([3.0, 6.0, 12.0]), n0=3.2, param=2.0)
    assert s.n == (3, 6, 12) and all(type(k) is int for k in s.n)
    assert s.rounds == 3 and s.array.tolist() == [3.0, 6.0, 12.0]
    assert s.to_json() == {"strategy": "exponential", "n": (3, 6, 12), "n0": 3.2, "param": 2.0}
