"""The `plan` command in a subprocess: output, JSON contract, files, bad input, and cold start."""
from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from planner.plan import Plan

from tests.planner.helpers import REPO, run_plan

CONTRACT_KEYS = {"strategy", "base", "n0", "rounds", "schedule", "expected_cost", "budget", "predicted_reward",
                 "model", "certificate", "r_star", "gap_percent"}
ROW_KEYS = {"round", "n", "generated", "cost"}
GAUSSIAN = {"kind": "gaussian", "theta0": 2.0, "sigma": 1.0, "kappa": 0.5}
SURROGATE = {"kind": "surrogate", "r_star": 0.9, "g0": 0.6, "a": 0.5, "b": 0.2, "gamma": 1.0}

# Model files written once per module: name -> contents (a dict is dumped as JSON, a str written as is).
MODEL_FILES = {
    "gaussian": GAUSSIAN, "surrogate": SURROGATE,
    "sigma0": {**GAUSSIAN, "sigma": 0.0}, "kappa-negative": {**GAUSSIAN, "kappa": -1.0},
    "malformed": '{"kind": "gaussian", "sigma": 1', "wrong-type": {**GAUSSIAN, "theta0": "3"},
    "unknown-kind": {"kind": "poisson", "lam": 1.0}, "kind-not-a-string": {**GAUSSIAN, "kind": ["gaussian"]},
    "unknown-key": {**GAUSSIAN, "mu": 0.0}, "overflow": {**GAUSSIAN, "sigma": 1e200, "kappa": 1e-200},
}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Directory holding the MODEL_FILES."""
    folder = tmp_path_factory.mktemp("models")
    for name, content in MODEL_FILES.items():
        (folder / f"{name}.json").write_text(content if isinstance(content, str) else json.dumps(content))
    return folder


def check_plan_json(j, budget):
    """One plan object of the --json contract, consistent with the budget it was asked for."""
    assert CONTRACT_KEYS <= set(j)
    assert j["budget"] == budget and 0 < j["expected_cost"] <= budget
    assert j["rounds"] == len(j["schedule"]) >= 1
    assert all(ROW_KEYS <= set(row) for row in j["schedule"])
    assert j["predicted_reward"] <= j["certificate"] <= j["r_star"]


def test_default_plan_prints_a_table():
    """`plan --budget 1e6 --cg 1 --ct 3` exits 0 and prints the plan, the default-model note and rivals."""
    result = run_plan("--budget", "1e6", "--cg", "1", "--ct", "3")
    assert result.returncode == 0 and result.stderr == ""
    out = result.stdout
    assert "recommended: exponential" in out and "default model" in out
    rounds = int(out.split(" rounds (whole batches")[0].rsplit("T = ", 1)[1])
    table = out.split("predicted reward\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(table) == rounds and [int(line.split()[0]) for line in table] == list(range(rounds))
    assert "constant" in out and "linear" in out and "x the plan's" in out


def test_json_output_and_plan_file(tmp_path):
    """`--json --out F` prints one contract object and writes the same plan, readable by Plan.from_json."""
    path = tmp_path / "plan.json"
    result = run_plan("--budget", "1e6", "--cg", "1", "--ct", "3", "--json", "--out", str(path))
    assert result.returncode == 0
    j = json.loads(result.stdout)
    check_plan_json(j, 1e6)
    assert j["strategy"] == "exponential" and 0 <= j["gap_percent"] <= 1
    saved = json.loads(path.read_text())
    assert saved == j
    assert json.loads(json.dumps(Plan.from_json(saved).to_json())) == saved


def test_text_output_reports_the_written_plan(tmp_path):
    """Without --json, --out still writes the plan and says where."""
    path = tmp_path / "sub" / "plan.json"
    result = run_plan("--budget", "1e5", "--out", str(path))
    assert result.returncode == 0 and f"plan written to {path}" in result.stdout
    assert Plan.from_json(json.loads(path.read_text())).problem.budget == 1e5


def test_compare_json_is_a_list_of_plans(tmp_path):
    """`plan compare --json` prints one contract object per strategy; --out writes the same list."""
    path = tmp_path / "compare.json"
    result = run_plan("compare", "--budget", "1e5", "--batch", "7", "--json", "--out", str(path))
    assert result.returncode == 0
    plans = json.loads(result.stdout)
    assert [p["strategy"] for p in plans] == ["constant", "linear", "polynomial", "exponential", "free"]
    for j in plans:
        check_plan_json(j, 1e5)
        assert all(row["n"] % 7 == 0 for row in j["schedule"])
    assert json.loads(path.read_text()) == plans


@pytest.mark.parametrize("name, extra", [("gaussian", ["--selection", "fixed", "--ratio", "3"]), ("surrogate", [])])
def test_model_files_of_both_kinds(models, name, extra):
    """--model loads either kind; the plan records the model file's contents and the selection."""
    result = run_plan("--budget", "1e5", "--model", str(models / f"{name}.json"), "--json", *extra)
    assert result.returncode == 0, result.stderr
    j = json.loads(result.stdout)
    check_plan_json(j, 1e5)
    assert j["model"] == MODEL_FILES[name]
    assert j["costs"]["selection"] == ("fixed" if extra else "proportional")
    assert "default model" not in run_plan("--budget", "1e5", "--model", str(models / f"{name}.json")).stdout


def test_trials_add_an_optuna_row():
    """--trials 20 runs Optuna next to the closed form and grid; Optuna is no worse than the closed form."""
    result = run_plan("--budget", "1e6", "--trials", "20", "--json")
    assert result.returncode == 0
    rows = {row["solver"]: row for row in json.loads(result.stdout)["solvers"]}
    assert set(rows) == {"closed-form", "grid", "optuna"}
    assert rows["optuna"]["gap"] <= rows["closed-form"]["gap"]


def test_optuna_storage(tmp_path):
    """--storage sqlite:///F --study S keeps the search in the named study (sharing is tested in-process)."""
    optuna = pytest.importorskip("optuna")
    url = f"sqlite:///{tmp_path / 'search.db'}"
    result = run_plan("--budget", "1e5", "--trials", "4", "--storage", url, "--study", "s", "--json")
    assert result.returncode == 0, result.stderr
    assert "optuna" in {row["solver"] for row in json.loads(result.stdout)["solvers"]}
    assert len(optuna.load_study(study_name="s", storage=url).trials) == 4


def test_plot_writes_a_png(tmp_path):
    """--plot writes a PNG file (checked by its signature)."""
    path = tmp_path / "plan.png"
    result = run_plan("--budget", "1e4", "--max-rounds", "6", "--plot", str(path))
    assert result.returncode == 0, result.stderr
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


# Bad input: exit 2, one line on stderr, no traceback, nothing on stdout, and no --out file.
BAD_INPUTS = {
    "budget-zero": ["--budget", "0"], "budget-negative": ["--budget", "-5"],
    "budget-nan": ["--budget", "nan"], "budget-inf": ["--budget", "inf"], "budget-not-a-number": ["--budget", "abc"],
    "budget-missing": [], "budget-below-one-round": ["--budget", "10"],
    "cg-zero": ["--budget", "1e6", "--cg", "0"], "ct-negative": ["--budget", "1e6", "--ct", "-1"],
    "cg-nan": ["--budget", "1e6", "--cg", "nan"], "ct-inf": ["--budget", "1e6", "--ct", "inf"],
    "cr-negative": ["--budget", "1e6", "--cr", "-1"],
    "ratio-missing": ["--budget", "1e6", "--selection", "fixed"],
    "ratio-below-one": ["--budget", "1e6", "--selection", "fixed", "--ratio", "0.5"],
    "selection-unknown": ["--budget", "1e6", "--selection", "best"],
    "batch-zero": ["--budget", "1e6", "--batch", "0"], "batch-not-whole": ["--budget", "1e6", "--batch", "1.5"],
    "max-rounds-zero": ["--budget", "1e6", "--max-rounds", "0"],
    "unknown-flag": ["--budget", "1e6", "--bogus"], "unknown-command": ["bogus", "--budget", "1e6"],
    "compare-unknown-flag": ["compare", "--budget", "1e6", "--bogus"],
    "trials-negative": ["--budget", "1e6", "--trials", "-1"],
    "seed-negative": ["--budget", "1e6", "--trials", "2", "--seed", "-1"],
    "storage-without-trials": ["--budget", "1e6", "--storage", "sqlite:///x.db"],
    "storage-bad-url": ["--budget", "1e6", "--trials", "2", "--storage", "foo://bar"],
    "model-missing": ["--budget", "1e6", "--model", "{models}/absent.json"],
    "plot-unwritable": ["--budget", "1e3", "--max-rounds", "2", "--plot", "/proc/no/such/dir/plot.png"],
    "out-is-a-directory": ["--budget", "1e6", "--out", "{models}"],
    **{f"model-{name}": ["--budget", "1e6", "--model", f"{{models}}/{name}.json"]
       for name in MODEL_FILES if name not in ("gaussian", "surrogate")},
}


@pytest.fixture(scope="module")
def bad_results(models, tmp_path_factory):
    """Run every bad input (4 at a time, they are independent); each also asks for an --out file."""
    folder = tmp_path_factory.mktemp("bad")

    def run(name):
        args = [a.replace("{models}", str(models)) for a in BAD_INPUTS[name]]
        out = folder / f"{name}.json"
        if "--out" not in args:
            args += ["--out", str(out)]
        return name, run_plan(*args, cwd=folder), out

    with ThreadPoolExecutor(max_workers=4) as pool:
        return {name: (result, out) for name, result, out in pool.map(run, BAD_INPUTS)}


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_is_one_line_and_exit_2(bad_results, name):
    """Each bad input exits 2 with exactly one line on stderr, no traceback and no output file."""
    result, out = bad_results[name]
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("plan"), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not out.exists()


HEAVY = ["optuna", "cvxpy", "matplotlib", "torch", "numpy", "scipy"]
IMPORT_PROBE = """
import contextlib, io, json, sys
from planner.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        main(sys.argv[1:])
    except SystemExit:
        pass
print(json.dumps({"help": "--budget" in out.getvalue(),
                  "heavy": sorted({m.split(".")[0] for m in sys.modules} & set(%r))}))
""" % (HEAVY,)


@pytest.mark.parametrize("argv, allowed", [
    (["--help"], set()), (["compare", "--help"], set()),
    (["--budget", "1e6", "--cg", "1", "--ct", "3"], {"numpy", "scipy"}),
], ids=["help", "compare-help", "default-run"])
def test_cold_paths_do_not_import_heavy_modules(argv, allowed):
    """--help imports neither numpy nor the extras; a default run needs numpy but not optuna/cvxpy/matplotlib/torch."""
    proc = subprocess.run([sys.executable, "-c", IMPORT_PROBE, *argv], capture_output=True, text=True, cwd=REPO,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    probe = json.loads(proc.stdout)
    assert set(probe["heavy"]) <= allowed, probe["heavy"]
    assert probe["help"] == ("--help" in argv)  # the help text was printed, and only for --help


@pytest.mark.parametrize("argv", [["--help"], ["compare", "--help"]], ids=["plan", "compare"])
def test_help_exits_zero(argv):
    """`plan --help` and `plan compare --help` work in a subprocess and list the problem flags."""
    result = run_plan(*argv)
    assert result.returncode == 0 and result.stderr == ""
    for flag in ("--budget", "--cg", "--ct", "--model", "--selection", "--ratio", "--batch", "--max-rounds",
                 "--json", "--out", "--plot", "--seed"):
        assert flag in result.stdout


def test_a_plan_predicted_to_lower_the_reward_says_so(tmp_path):
    """A surrogate whose noise term swamps every affordable round: the plan is printed with a
    warning instead of silently predicting a reward below the starting one."""
    model = tmp_path / "m.json"
    model.write_text('{"kind": "surrogate", "r_star": 0.9, "g0": 0.67, "a": 0.42, "b": 20.0, "gamma": 1.0}')
    low = run_plan("--budget", "25", "--cg", "0.17", "--ct", "0.04", "--cr", "3", "--batch", "8", "--model", str(model))
    assert low.returncode == 0 and "warning: under this model no affordable schedule raises" in low.stdout
    high = run_plan("--budget", "420", "--cg", "0.17", "--ct", "0.04", "--cr", "40", "--batch", "8", "--model", str(model))
    assert high.returncode == 0 and "warning" not in high.stdout
