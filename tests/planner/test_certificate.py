"""The free-form certificate: Theorem 3.1's shape, KKT against cvxpy, the estimate's optimality, and
the bound no schedule of any shape beats (checked against plans and a generic optimiser)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from planner.models import GaussianModel, SurrogateModel
from planner.plan import compare
from planner.solvers import free_form, free_schedule
from tests.conftest import needs
from tests.planner.helpers import problem

THEOREM_MODELS = [GaussianModel(3.0, 1.0, 1.0), GaussianModel(1.0, 2.0, 1.0), GaussianModel(3.0, 1.0, 2.0),
                  SurrogateModel(0.9, 0.5, 0.5, 0.2, 1.0), SurrogateModel(0.9, 0.5, 0.6, 0.1, 0.5)]


@pytest.mark.parametrize("costs", [dict(cg=0.0, ct=1.0), dict(cg=0.0, ct=1.0, c_round=100.0),
                                   dict(cg=1.0, ct=3.0, selection="fixed", ratio=2.0)],
                         ids=["cg=0", "cg=0-with-round-cost", "fixed"])
@pytest.mark.parametrize("model", THEOREM_MODELS, ids=lambda m: f"{m.kind}-u*={m.optimal_base():.4g}")
def test_free_form_optimum_is_exponential_with_ratio_u_star(model, costs):
    """Theorem 3.1: at equal cost per kept sample, n_{t+1}/n_t = u* wherever n_t is above its floor."""
    cert = free_form(problem(budget=1e5, model=model, **costs))
    n = np.array(cert.n)
    above_floor = n[:-1] > 1 + 1e-6
    assert above_floor.sum() >= 3
    np.testing.assert_allclose(n[1:][above_floor] / n[:-1][above_floor], model.optimal_base(), rtol=1e-6)


CVXPY_CASES = {
    "gaussian-fixed": dict(budget=1e4, cg=0.5, ct=1.0, selection="fixed", ratio=4.0, max_rounds=8,
                           model=GaussianModel(1.0, 2.0, 1.0)),
    "gaussian-proportional-batch7": dict(budget=1e5, c_round=100.0, batch=7, max_rounds=6),
    "surrogate-proportional": dict(budget=1e4, cg=1.0, ct=1.0, max_rounds=8,
                                   model=SurrogateModel(0.9, 0.5, 0.6, 0.2, 1.0)),
    "surrogate-gamma-half": dict(budget=1e4, cg=0.0, ct=2.0, c_round=50.0, max_rounds=10,
                                 model=SurrogateModel(0.9, 0.5, 0.5, 0.2, 0.5)),
}


@pytest.mark.parametrize("case", CVXPY_CASES)
def test_kkt_certificate_agrees_with_cvxpy(case):
    """Water-filling and a generic conic solver give the same certificate (gaps within 1e-3 relative)."""
    needs("cvxpy")
    p = problem(**CVXPY_CASES[case])
    kkt, cvx = free_form(p, "kkt"), free_form(p, "cvxpy")
    assert len(kkt.n) == len(cvx.n)
    assert abs(kkt.gap - cvx.gap) <= 1e-3 * kkt.gap
    np.testing.assert_allclose(kkt.n, cvx.n, rtol=0.02, atol=0.05)


def best_free_schedule(p, T):
    """Independent reference: SLSQP on log n_t, maximising the model's own prediction under the true cost."""
    cert_n = np.array(free_form(p).n)
    start = np.log(cert_n) if len(cert_n) == T else np.log(np.full(T, p.budget / (10 * T)))
    scale = float(p.outcome(np.exp(start)).gap)
    result = minimize(lambda x: float(p.outcome(np.exp(x)).gap) / scale, start, method="SLSQP",
                      bounds=[(np.log(p.batch), None)] * T,
                      constraints=[{"type": "ineq", "fun": lambda x: 1 - float(p.outcome(np.exp(x)).cost) / p.budget}],
                      options={"ftol": 1e-14, "maxiter": 1000})
    return result.fun * scale


@pytest.mark.parametrize("cg, ct, budget", [(1.0, 3.0, 1e3), (10.0, 1.0, 1e4), (1.0, 3.0, 1e5)])
def test_certificate_is_optimal_under_fixed_ratio_selection(cg, ct, budget):
    """With a constant cost per kept sample the program is convex: a generic optimiser cannot beat it."""
    p = problem(budget=budget, cg=cg, ct=ct, selection="fixed", ratio=3.0)
    cert = free_form(p)
    assert cert.cost == pytest.approx(budget, rel=1e-6)
    assert best_free_schedule(p, len(cert.n)) >= cert.gap * (1 - 1e-6)


@pytest.mark.parametrize("cg, ct, budget", [(1.0, 3.0, 1e3), (10.0, 1.0, 1e3), (10.0, 3.0, 1e4)])
def test_certificate_under_proportional_selection_is_near_optimal(cg, ct, budget):
    """The fixed point (solve, recompute k_t, solve) ignores that early samples cheapen later rounds,
    so a generic optimiser beats it slightly; measured at most 0.13 % of the gap for these cases."""
    p = problem(budget=budget, cg=cg, ct=ct)
    cert = free_form(p)
    assert cert.gap <= best_free_schedule(p, len(cert.n)) * 1.0025


@pytest.mark.parametrize("selection, budget, batch", [("proportional", 1e3, 1), ("proportional", 1e5, 64),
                                                      ("fixed", 3e3, 64), ("fixed", 1e5, 1)])
def test_certificate_bounds_every_strategy(selection, budget, batch):
    """No strategy's plan beats the bound; at these budgets the estimate is within 1 % of it."""
    plans = compare(problem(budget=budget, selection=selection, batch=batch))
    assert len(plans) == 5
    for plan in plans:
        assert plan.gap >= plan.bound_gap, plan.schedule.strategy
        assert plan.gap_percent() >= 0
    assert plans[0].certificate.gap <= plans[0].bound_gap * 1.01


@pytest.mark.parametrize("batch", [1, 7, 64])
def test_free_schedule_is_an_affordable_whole_batch_plan(batch):
    """The certificate's shape rounded to whole batches stays within the budget and close to its gap."""
    p = problem(budget=1e5, batch=batch)
    cert = free_form(p)
    schedule = free_schedule(p, cert)
    out = p.outcome(schedule.array)
    assert schedule.strategy == "free" and schedule.rounds == len(cert.n)
    assert all(k % batch == 0 for k in schedule.n) and out.cost <= p.budget
    assert out.gap <= cert.gap * 1.1


# Where the old certificate (the fixed point alone) was beaten: now the bound holds there.
def test_bound_holds_when_few_rounds_are_affordable():
    """theta0=3.3, sigma=0.81, kappa=2.72, one affordable kept sample: the bias still dominates after T
    rounds (m_T^2 > s2 + v_T), E[r] grows with the variance and n=1 beats the estimate's n=1.64; the
    bound takes the best noise level schedules can have (here one batch: the plan reaches it)."""
    p = problem(budget=163.3, cg=10.0, ct=0.5, selection="fixed", ratio=9.85,
                model=GaussianModel(3.317, 0.8095, 2.7163), max_rounds=25)
    plan = compare(p)[3]
    assert plan.gap < plan.certificate.gap  # the estimate is not a bound here
    assert plan.gap == pytest.approx(plan.bound_gap, rel=1e-9) and plan.gap >= plan.bound_gap


def test_bound_holds_under_proportional_selection_with_a_steep_surrogate():
    """Surrogate from r=0.035: the exponential plan beats the fixed point's estimate by 0.7 % (early
    samples make later rounds cheaper), not the bound."""
    p = problem(budget=767.47, cg=0.1, ct=1.0, max_rounds=28,
                model=SurrogateModel(0.6703908, 0.6350002, 0.7770482, 0.7460141, 0.8044152))
    plan = compare(p)[3]
    assert plan.gap < plan.certificate.gap
    assert plan.gap >= plan.bound_gap


ISSUE_SURROGATE = SurrogateModel(0.6906678054037398, 0.4826302764566289, 0.5331060192879382, 0.6190506482525795,
                                 0.7898904021071949)


@pytest.mark.parametrize("seed", range(12))
def test_no_free_schedule_beats_the_bound(seed):
    """Random Gaussian and surrogate problems under proportional selection (and the issue's surrogate):
    SLSQP on the model's own prediction and true cost, for every T, never beats the bound. The estimate
    (the fixed point) is not the optimum: measured up to 7.2 % above the best SLSQP finds (seed 4)."""
    rng = np.random.default_rng(seed)
    if seed == 0:
        p = problem(budget=2566.65612920944, cg=3.245343766080753, ct=0.7221733836266935, model=ISSUE_SURROGATE,
                    max_rounds=10)
    else:
        model = (GaussianModel(rng.uniform(-4, 4), rng.uniform(0.3, 2), rng.uniform(0.5, 3)) if seed % 2 else
                 SurrogateModel(0.9, rng.uniform(0.3, 0.8), rng.uniform(0.3, 0.8), rng.uniform(0.05, 0.5), 1.0))
        p = problem(budget=10 ** rng.uniform(2.5, 4), cg=rng.uniform(0.5, 5), ct=rng.uniform(0.2, 2), model=model,
                    max_rounds=8)
    cert = free_form(p)
    found = min(best_free_schedule(p, T) for T in range(1, p.max_rounds + 1))
    assert cert.bound_gap <= found * (1 + 1e-9)
    assert cert.bound_gap <= cert.gap <= found * 1.08


def test_cvxpy_certifier_prints_no_warning_and_agrees_with_kkt_on_random_problems():
    """Random costs, budgets and round costs: cvxpy's certificate agrees with water-filling (gap within
    1e-3) and no library warning escapes, also on a 40-round program CLARABEL solves only inaccurately."""
    pytest.importorskip("cvxpy")
    import warnings

    from planner.solvers.certificate import _cvxpy_fill, _water_fill, _weights

    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(12):
            p = problem(budget=10 ** rng.uniform(3, 7), cg=10 ** rng.uniform(-1, 1), ct=10 ** rng.uniform(-1, 1),
                        c_round=float(rng.choice([0.0, 1.0, 20.0])), max_rounds=int(rng.integers(2, 5)))
            kkt, cvx = free_form(p, "kkt"), free_form(p, "cvxpy")
            assert abs(kkt.gap - cvx.gap) <= 1e-3 * kkt.gap
        p = problem(budget=1e6, c_round=20.0, max_rounds=40)  # the README's example, its longest program
        rounds = np.array([40])
        w, gamma, mask = _weights(p, rounds)
        k, spendable = np.full(w.shape, p.costs.per_kept()), p.budget - rounds * p.costs.c_round
        noise = lambda n: float(np.sum(w * n**-gamma))
        exact = noise(_water_fill(w, gamma, k, spendable, 1, mask))
        assert exact <= noise(_cvxpy_fill(w, gamma, k, spendable, 1, mask)) <= exact * 1.01


def test_a_program_no_cvxpy_solver_solves_is_one_sentence_naming_each():
    cp = pytest.importorskip("cvxpy")
    from planner.solvers.certificate import _solve
    from planner.validate import InputError

    x = cp.Variable(2)
    with pytest.raises(InputError, match=r"no solution of the 2-round .*CLARABEL: infeasible.*--certifier kkt"):
        _solve(cp.Problem(cp.Minimize(cp.sum(cp.inv_pos(x))), [cp.sum(x) <= 1, x >= 1]), 2)


def plan_quietly(argv: list[str]) -> tuple[int, str, list]:
    """`plan ARGV` in-process: its exit status, its stderr, and every warning raised."""
    import contextlib
    import io
    import warnings

    from planner.cli import main

    err = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(err), \
            contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("always")
        status = main(argv)
    return status, err.getvalue(), [w for w in caught if not issubclass(w.category, RuntimeWarning)]


def cvxpy_cases() -> list[list[str]]:
    """The README's plans (40 rounds at most: about 8 s each, a program per round count) and 50 random
    problems (budgets 1e3-1e7, prices 0.1-10, round costs 0-20, both selections, up to 8 rounds)."""
    rng = np.random.default_rng(1)
    cases = [["--budget", "1e6", "--cg", "1", "--ct", "3"], ["--budget", "1e6", "--cg", "1", "--ct", "3", "--cr", "20"],
             ["--budget", "2e4", "--cg", "1", "--ct", "3", "--c-round", "20", "--task", "gaussian"]]
    for _ in range(50):
        case = ["--budget", f"{10 ** rng.uniform(3, 7):.4g}", "--cg", f"{10 ** rng.uniform(-1, 1):.3g}",
                "--ct", f"{10 ** rng.uniform(-1, 1):.3g}", "--c-round", str(rng.choice([0, 1, 20])),
                "--max-rounds", str(rng.integers(2, 9))]
        if rng.random() < 0.3:
            case += ["--selection", "fixed", "--ratio", f"{rng.uniform(1, 5):.2f}"]
        cases.append(case)
    return cases


@pytest.mark.parametrize("case", cvxpy_cases(), ids=lambda case: " ".join(case))
def test_plan_with_the_cvxpy_certifier_on_the_readme_examples_and_50_random_problems_is_quiet(case):
    """`--certifier cvxpy`: exit 0, nothing on stderr, no library warning (or a budget too small for one round)."""
    needs("cvxpy")
    status, err, caught = plan_quietly([*case, "--certifier", "cvxpy"])
    assert (status, err, caught) == (0, "", []) or "too small for one round" in err, (err, caught)
