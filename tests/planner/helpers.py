"""Shared helpers for the planner tests: an explicit simulation of the Gaussian loop, a user's own
loop around the Gaussian task, problem builders, the log of a noiseless surrogate run."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from bootstrapper.tasks.gaussian import GaussianConfig, GaussianTask
from planner.costs import CostModel
from planner.models import GaussianModel, SurrogateModel
from planner.problem import Problem


def simulate_gaussian_loop(theta0: float, sigma: float, kappa: float, n, runs: int, seed: int = 0,
                           chunk: int = 2_000_000) -> tuple[np.ndarray, np.ndarray]:
    """Run the bootstrapping loop literally, `runs` times in parallel.

    Each round draws x ~ N(theta, sigma^2) and keeps each draw with probability
    R(x) = exp(-x^2 / (2 kappa^2)) until n_t are kept; theta becomes the mean of the kept draws.
    Returns theta before round 0 and after each round, (runs, T+1), and the number of draws
    generated in each round, (runs, T). Independent of planner code on purpose.
    """
    rng = np.random.default_rng(seed)
    theta = np.full(runs, float(theta0))
    thetas, generated = [theta], np.zeros((runs, len(n)), dtype=np.int64)
    s2 = sigma**2 + kappa**2
    for t, need in enumerate(int(k) for k in n):
        kept_sum, kept = np.zeros(runs), np.zeros(runs, dtype=np.int64)
        todo = np.arange(runs)
        while todo.size:
            # Draw enough candidates per run that nearly every run finishes in one pass.
            acceptance = np.sqrt(kappa**2 / s2) * np.exp(-theta[todo] ** 2 / (2 * s2))
            width = int(np.ceil(1.3 * np.max((need - kept[todo]) / np.maximum(acceptance, 1e-3)))) + 16
            idx = todo[: max(1, min(todo.size, chunk // width))]
            x = theta[idx, None] + sigma * rng.standard_normal((idx.size, width))
            # U < exp(-x^2 / (2 kappa^2))  <=>  x^2 < 2 kappa^2 E with E = -log U ~ Exp(1)
            accept = np.square(x) < 2 * kappa**2 * rng.standard_exponential((idx.size, width))
            count = kept[idx, None] + np.cumsum(accept, axis=1)
            kept_sum[idx] += np.where(accept & (count <= need), x, 0.0).sum(axis=1)
            done = count[:, -1] >= need
            generated[idx, t] += np.where(done, np.argmax(count >= need, axis=1) + 1, width)
            kept[idx] = np.minimum(count[:, -1], need)
            todo = np.concatenate([idx[~done], todo[idx.size:]])
        theta = kept_sum / need
        thetas.append(theta)
    return np.stack(thetas, axis=1), generated


def gaussian_reward(theta: np.ndarray, sigma: float, kappa: float) -> np.ndarray:
    """Mean reward E[R(x)] of the generator N(theta, sigma^2), written out from docs/theory.md."""
    s2 = sigma**2 + kappa**2
    return np.sqrt(kappa**2 / s2) * np.exp(-np.square(theta) / (2 * s2))


def within_standard_errors(samples: np.ndarray, expected: np.ndarray, k: float = 4.0) -> np.ndarray:
    """Per column: |mean - expected| <= k standard errors (or 1e-12 where the samples are constant)."""
    se = samples.std(axis=0, ddof=1) / np.sqrt(samples.shape[0])
    return np.abs(samples.mean(axis=0) - expected) <= np.maximum(k * se, 1e-12 * np.abs(expected))


def problem(budget: float = 1e5, cg: float = 1.0, ct: float = 3.0, c_round: float = 0.0,
            selection: str = "proportional", ratio: float = 3.0, batch: int = 1, max_rounds: int = 40,
            model=None) -> Problem:
    """A planning problem with the default Gaussian model unless another model is given."""
    costs = CostModel(cg, ct, c_round, selection, ratio if selection == "fixed" else 1.0)
    return Problem(model or GaussianModel(3.0, 1.0, 1.0), costs, float(budget), batch, max_rounds)


class GaussianLoop:
    """A user's own loop around the Gaussian task (no engine): generate, keep each sample with
    probability R(x) until n are kept or the cap is reached, fine-tune, evaluate."""

    def __init__(self, seed: int, sigma: float = 1.0):
        self.task = GaussianTask(GaussianConfig(sigma=sigma))
        self.state = self.task.init_state(seed)
        self.rng = np.random.default_rng([seed, 7])

    def generate_and_filter(self, n: int, cap: int | None = None) -> tuple[np.ndarray, int]:
        cap = sys.maxsize if cap is None else cap
        kept, generated = [], 0
        while len(kept) < n and generated < cap:
            need = n - len(kept)
            chunk = int(min(cap - generated, max(16, 2 * need)))
            x = self.task.generate(self.state, chunk)
            accepted = np.flatnonzero(self.rng.random(chunk) < self.task.reward(self.state, x))[:need]
            generated += int(accepted[-1]) + 1 if len(accepted) == need else chunk  # stop at the n-th keep
            kept.extend(x[accepted])
        return np.array(kept), generated

    def finetune(self, kept: np.ndarray) -> None:
        if len(kept):
            self.state = self.task.train(self.state, kept)

    def evaluate(self) -> float:
        return self.task.evaluate(self.state)["reward"]


def interval_hits(observations, truth, names: tuple[str, ...], gamma: float | None = 1.0) -> dict[str, int]:
    """How many of the runs' surrogate fits hold each true parameter in its 95 % interval (a
    refused fit counts as a miss)."""
    from planner.fit import fit_surrogate
    from planner.validate import InputError

    hits = dict.fromkeys(names, 0)
    for obs in observations:
        try:
            fitted = fit_surrogate(obs, gamma)
        except InputError:
            continue
        for name in names:
            e = fitted.estimate(name)
            hits[name] += e.low <= getattr(truth, name) <= e.high
    return hits


def log_of(model: SurrogateModel, n: list[int]) -> tuple[list[dict], dict]:
    """The round log a noiseless run of the surrogate would write."""
    r = model.trajectory(np.array(n, dtype=float))
    records = [{"round": t, "n": k, "kept": k, "generated": int(k / r[t]) + 1, "reward": float(r[t + 1])}
               for t, k in enumerate(n)]
    return records, {"reward": float(r[0])}


def assert_json_close(got, want, rel: float = 1e-9, where: str = "") -> None:
    """got equals want (JSON values) with every float within rel of its twin: refits of the same data
    agree to about 1e-15 on one machine but not bit for bit across BLAS builds and processors."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), f"{where}: keys {sorted(got)} != {sorted(want)}"
        for key in want:
            assert_json_close(got[key], want[key], rel, f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{where}: {got} != {want}"
        for k, (g, w) in enumerate(zip(got, want)):
            assert_json_close(g, w, rel, f"{where}[{k}]")
    elif isinstance(want, float) and not isinstance(got, bool):
        assert got == pytest.approx(want, rel=rel, abs=0), f"{where}: {got} != {want}"
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


def assert_fit_close(got: dict, want: dict, share: float = 0.02) -> None:
    """Two fits of the same rounds agree within the fit's own uncertainty: each parameter within `share`
    of its 95 % interval's width (a weakly pinned parameter sits in a flat valley, where another
    machine's rounding moves the least-squares optimum far more than 1e-9), its interval's ends within
    five times that; parameters without an interval to 1e-9."""
    assert got["model"]["kind"] == want["model"]["kind"]
    for name, value in want["model"].items():
        estimate = want["estimates"].get(name, {})
        width = (estimate["high"] - estimate["low"]) if estimate.get("low") is not None else 0.0
        if width > 0:
            assert abs(got["model"][name] - value) <= share * width, (name, got["model"][name], value)
            for end in ("low", "high"):
                assert abs(got["estimates"][name][end] - estimate[end]) <= 5 * share * width, (name, end)
        else:
            assert_json_close(got["model"][name], value, where=f"model.{name}")
