"""The `plan` command in a subprocess: output, JSON contract, files, bad input, and cold start."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from planner.plan import Plan
from tests.conftest import ROOT, needs, run_cli

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
# A surrogate whose gap shrinks like n^-50 and a^T = 1e-9^T: at budget 1e9 it underflows to 0 (gaps are
# computed without cancellation, so a gap like n^-3's 6e-26 at 1e9 keeps its digits and plans).
FAST = {"kind": "surrogate", "r_star": 0.9, "g0": 0.6, "a": 1e-9, "b": 0.2, "gamma": 50.0}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Directory holding the MODEL_FILES."""
    folder = tmp_path_factory.mktemp("models")
    for name, content in {**MODEL_FILES, "fast": FAST}.items():
        (folder / f"{name}.json").write_text(content if isinstance(content, str) else json.dumps(content))
    return folder


@pytest.fixture(scope="module")
def special(tmp_path_factory):
    """Files that are not regular files: a FIFO, a link to it, a link to a folder, a copy of the
    'full' character device (where this user may make device nodes), a socket."""
    import socket

    folder = tmp_path_factory.mktemp("special")
    os.mkfifo(folder / "fifo")
    (folder / "link-to-fifo").symlink_to(folder / "fifo")
    (folder / "link-to-folder").symlink_to(folder)
    try:
        os.mknod(folder / "full", 0o600 | stat.S_IFCHR, os.makedev(1, 7))
    except PermissionError:
        pass
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "socket"))
    yield folder
    sock.close()


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    """A real run's rounds.jsonl and run.json (`plan execute` on the Gaussian task), and damaged or
    displaced copies of them, for `plan fit`."""
    folder = tmp_path_factory.mktemp("logs")
    made = run_cli("--budget", "2e4", "--task", "gaussian", "--out", str(folder / "plan.json"))
    ran = run_cli("execute", str(folder / "plan.json"), "--run-dir", str(folder / "run"), "--no-report")
    assert made.returncode == ran.returncode == 0, ran.stderr
    records = [json.loads(line) for line in (folder / "run" / "rounds.jsonl").read_text().splitlines()]
    variants = {"away": records, "reward-5": [{**r, "reward": 5.0} for r in records],
                "reward-negative": [{**r, "reward": -1.0} for r in records],
                "out-of-order": [records[1], records[0], *records[2:]], "run-json-list": records}
    for name, lines in variants.items():
        (folder / name).mkdir()
        (folder / name / "rounds.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
        if name not in ("away", "run-json-list"):
            shutil.copy(folder / "run" / "run.json", folder / name)
    (folder / "run-json-list" / "run.json").write_text("[]")
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
    result = run_cli("--budget", "1e6", "--cg", "1", "--ct", "3")
    assert result.returncode == 0 and result.stderr == ""
    out = result.stdout
    assert "recommended: exponential" in out and "default model" in out
    rounds = int(out.split(" rounds (whole batches")[0].rsplit("T = ", 1)[1])
    table = out.split("predicted reward\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(table) == rounds and [int(line.split()[0]) for line in table] == list(range(rounds))
    assert "constant" in out and "linear" in out and "x the plan's" in out


def test_json_output_and_plan_file(tmp_path):
    """`--json --out F` prints one contract object and writes the same plan (less the line naming the
    model it was planned with), readable by Plan.from_json."""
    path = tmp_path / "plan.json"
    result = run_cli("--budget", "1e6", "--cg", "1", "--ct", "3", "--json", "--out", str(path))
    assert result.returncode == 0
    j = json.loads(result.stdout)
    check_plan_json(j, 1e6)
    assert j["strategy"] == "exponential" and 0 <= j["gap_percent"] <= 1
    saved = json.loads(path.read_text())
    assert "warm-up" in j.pop("model_source") and saved == j
    assert json.loads(json.dumps(Plan.from_json(saved).to_json())) == saved


def test_text_output_reports_the_written_plan(tmp_path):
    """Without --json, --out still writes the plan and says where."""
    path = tmp_path / "sub" / "plan.json"
    result = run_cli("--budget", "1e5", "--out", str(path))
    assert result.returncode == 0 and f"plan written to {path}" in result.stdout
    assert Plan.from_json(json.loads(path.read_text())).problem.budget == 1e5


def test_compare_json_is_a_list_of_plans(tmp_path):
    """`plan compare --json` prints one contract object per strategy; --out writes the same list."""
    path = tmp_path / "compare.json"
    result = run_cli("compare", "--budget", "1e5", "--batch", "7", "--json", "--out", str(path))
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
    result = run_cli("--budget", "1e5", "--model", str(models / f"{name}.json"), "--json", *extra)
    assert result.returncode == 0, result.stderr
    j = json.loads(result.stdout)
    check_plan_json(j, 1e5)
    assert j["model"] == MODEL_FILES[name]
    assert j["costs"]["selection"] == ("fixed" if extra else "proportional")
    assert "default model" not in run_cli("--budget", "1e5", "--model", str(models / f"{name}.json")).stdout


def test_trials_add_an_optuna_row():
    """--trials 20 runs Optuna next to the closed form and grid; Optuna is no worse than the closed form."""
    needs("optuna")
    result = run_cli("--budget", "1e6", "--trials", "20", "--json")
    assert result.returncode == 0
    rows = {row["solver"]: row for row in json.loads(result.stdout)["solvers"]}
    assert set(rows) == {"closed-form", "grid", "optuna"}
    assert rows["optuna"]["gap"] <= rows["closed-form"]["gap"]


def test_optuna_storage(tmp_path):
    """--storage sqlite:///F --study S keeps the search in the named study (sharing is tested in-process)."""
    optuna = needs("optuna")
    url = f"sqlite:///{tmp_path / 'search.db'}"
    result = run_cli("--budget", "1e5", "--trials", "4", "--storage", url, "--study", "s", "--json")
    assert result.returncode == 0, result.stderr
    assert "optuna" in {row["solver"] for row in json.loads(result.stdout)["solvers"]}
    assert len(optuna.load_study(study_name="s", storage=url).trials) == 4


def test_plot_writes_a_png(tmp_path):
    """--plot writes a PNG file (checked by its signature)."""
    needs("matplotlib")
    path = tmp_path / "plan.png"
    result = run_cli("--budget", "1e4", "--max-rounds", "6", "--plot", str(path))
    assert result.returncode == 0, result.stderr
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


# Bad input whose corrected command must then work: name -> (bad arguments, corrected arguments).
FIXED = {
    "budget-1e20": (["--budget", "1e20"], ["--budget", "1e15"]),
    "budget-1e20-json": (["--budget", "1e20", "--json"], ["--budget", "1e15", "--json"]),
    "budget-1e308-json": (["--budget", "1e308", "--json"], ["--budget", "1e15", "--json"]),
    "cg-1e308": (["--budget", "1e6", "--cg", "1e308"], ["--budget", "1e6", "--cg", "1"]),
    "ct-1e308-json": (["--budget", "1e6", "--ct", "1e308", "--json"], ["--budget", "1e6", "--ct", "3", "--json"]),
    "gap-below-rounding": (["--budget", "1e9", "--model", "{models}/fast.json", "--json"],
                           ["--budget", "1e4", "--model", "{models}/fast.json", "--json"]),
    "compare-gap-below-rounding": (["compare", "--budget", "1e9", "--model", "{models}/fast.json", "--json"],
                                   ["compare", "--budget", "1e4", "--model", "{models}/fast.json", "--json"]),
    "out-fifo": (["--budget", "1e5", "--out", "{special}/fifo"], ["--budget", "1e5"]),
    "out-link-to-fifo": (["--budget", "1e5", "--out", "{special}/link-to-fifo"], ["--budget", "1e5"]),
    "out-link-to-folder": (["--budget", "1e5", "--out", "{special}/link-to-folder"], ["--budget", "1e5"]),
    "out-device": (["--budget", "1e5", "--out", "{special}/full"], ["--budget", "1e5"]),
    "out-socket": (["--budget", "1e5", "--out", "{special}/socket"], ["--budget", "1e5"]),
    "plot-fifo": (["--budget", "1e4", "--max-rounds", "4", "--plot", "{special}/fifo"],
                  ["--budget", "1e4", "--max-rounds", "4", "--plot", "{folder}/plot.png"]),
    "fit-log-away-from-run-json": (["fit", "{logs}/away/rounds.jsonl"], ["fit", "{logs}/run/rounds.jsonl"]),
    "fit-reward-5": (["fit", "{logs}/reward-5/rounds.jsonl"], ["fit", "{logs}/run/rounds.jsonl"]),
    "fit-reward-negative": (["fit", "{logs}/reward-negative/rounds.jsonl"], ["fit", "{logs}/run/rounds.jsonl"]),
    "fit-rounds-out-of-order": (["fit", "{logs}/out-of-order/rounds.jsonl"], ["fit", "{logs}/run/rounds.jsonl"]),
    "fit-run-json-a-list": (["fit", "{logs}/run-json-list/rounds.jsonl"], ["fit", "{logs}/run/rounds.jsonl"]),
    "fit-out-fifo": (["fit", "{logs}/run/rounds.jsonl", "--out", "{special}/fifo"], ["fit", "{logs}/run/rounds.jsonl"]),
    "best-missing-sqlite": (["best", "--storage", "sqlite:///{folder}/absent.db", "--study", "s"],
                            ["best", "--storage", "sqlite:///{folder}/search.db", "--study", "s"]),
    # without an optional package (installed for the corrected command)
    "trials-without-optuna": (["--budget", "1e5", "--trials", "3"], ["--budget", "1e5", "--trials", "3"]),
    "storage-without-optuna": (["--budget", "1e5", "--trials", "2", "--storage", "sqlite:///{folder}/x.db"],
                               ["--budget", "1e5", "--trials", "2", "--storage", "sqlite:///{folder}/x.db"]),
    "plot-without-matplotlib": (["--budget", "1e4", "--max-rounds", "4", "--plot", "{folder}/p.png"],
                                ["--budget", "1e4", "--max-rounds", "4", "--plot", "{folder}/p.png"]),
    "cvxpy-without-cvxpy": (["--budget", "3e3", "--max-rounds", "5", "--certifier", "cvxpy"],
                            ["--budget", "3e3", "--max-rounds", "5", "--certifier", "cvxpy"]),
    "best-without-optuna": (["best", "--storage", "sqlite:///{folder}/search.db", "--study", "s"],
                            ["best", "--storage", "sqlite:///{folder}/search.db", "--study", "s"]),
}
MISSING = {"trials-without-optuna": ("optuna",), "storage-without-optuna": ("optuna",),
           "plot-without-matplotlib": ("matplotlib",), "cvxpy-without-cvxpy": ("cvxpy",),
           "best-without-optuna": ("optuna",)}
NEEDS = {**MISSING, "plot-fifo": ("matplotlib",), "best-missing-sqlite": ("optuna",)}  # what a corrected command uses

# Bad input: exit 2, one line on stderr, no traceback, nothing on stdout, and no --out file.
BAD_INPUTS = {
    "budget-zero": ["--budget", "0"], "budget-negative": ["--budget", "-5"],
    "budget-nan": ["--budget", "nan"], "budget-inf": ["--budget", "inf"], "budget-not-a-number": ["--budget", "abc"],
    "budget-missing": [], "budget-below-one-round": ["--budget", "10"],
    "cg-and-ct-zero": ["--budget", "1e6", "--cg", "0", "--ct", "0"], "ct-negative": ["--budget", "1e6", "--ct", "-1"],
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
    "fit-prior-out-away-from-run-json": ["fit", "{logs}/away/rounds.jsonl", "--kind", "surrogate",
                                         "--prior-out", "{folder}/prior.json"],
    "fit-prior-out-one-run-pins-nothing": ["fit", "{logs}/run/rounds.jsonl", "--kind", "surrogate",
                                           "--prior-out", "{folder}/prior.json"],
    **{name: args for name, (args, _) in FIXED.items()},
}


@pytest.fixture(scope="module")
def places(models, special, logs, tmp_path_factory) -> dict[str, str]:
    """What the {placeholders} of the tables stand for; {folder} (the working folder) holds a
    spendwise Optuna study "s" in search.db."""
    folder = tmp_path_factory.mktemp("bad")
    if importlib.util.find_spec("optuna") is not None:  # only the corrected `plan best` commands read it
        made = run_cli("--budget", "1e5", "--trials", "2", "--storage", f"sqlite:///{folder}/search.db", "--study", "s")
        assert made.returncode == 0, made.stderr
    return {"models": str(models), "special": str(special), "logs": str(logs), "folder": str(folder)}


def fill(args: list[str], places: dict[str, str]) -> list[str]:
    return [a.format(**places) for a in args]


def with_out(name: str, args: list[str], places: dict[str, str]) -> tuple[list[str], str]:
    """The arguments asking for an --out file (if they do not already name one), and that file."""
    out = os.path.join(places["folder"], f"{name}.json")
    return (args if "--out" in args else [*args, "--out", out]), out


@pytest.fixture(scope="module")
def bad_results(places):
    """Run every bad input (4 at a time, they are independent); each also asks for an --out file."""
    def run(name):
        args, out = with_out(name, fill(BAD_INPUTS[name], places), places)
        return name, run_cli(*args, cwd=places["folder"], missing=MISSING.get(name, ())), out

    with ThreadPoolExecutor(max_workers=4) as pool:
        return {name: (result, out) for name, result, out in pool.map(run, BAD_INPUTS)}


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_is_one_line_and_exit_2(bad_results, special, name):
    """Each bad input exits 2 with exactly one line on stderr, no traceback and no output file."""
    if name == "out-device" and not (special / "full").exists():
        pytest.skip("this user may not make a device node")
    result, out = bad_results[name]
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("plan"), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not os.path.exists(out)


@pytest.mark.parametrize("name", FIXED)
def test_the_corrected_command_then_works(bad_results, places, name):
    """After each refusal above, the corrected command exits 0 and writes its --out file."""
    for module in NEEDS.get(name, ()):
        needs(module)
    args, out = with_out(f"{name}-fixed", fill(FIXED[name][1], places), places)
    result = run_cli(*args, cwd=places["folder"])
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr  # (cvxpy may warn)
    assert os.path.getsize(out) > 0
    if "--json" in args:
        json.loads(result.stdout)


def test_special_files_survive_and_a_link_to_a_file_is_followed(bad_results, special, places):
    """--out never replaced the FIFO, device or socket; a symlink to a regular file stays a link
    and its target receives the plan."""
    for name, is_kind in (("fifo", stat.S_ISFIFO), ("full", stat.S_ISCHR), ("socket", stat.S_ISSOCK)):
        assert not (special / name).exists() or is_kind(os.lstat(special / name).st_mode), name
    target, link = special / "plan-target.json", special / "link-to-plan"
    target.write_text("old")
    link.symlink_to(target)
    assert run_cli("--budget", "1e5", "--out", str(link)).returncode == 0
    assert link.is_symlink() and json.loads(target.read_text())["budget"] == 1e5


def test_messages_name_the_fix(bad_results, places):
    """The sentences say what to do: the install command, the smaller budget, the file to copy."""
    said = {name: bad_results[name][0].stderr for name in BAD_INPUTS}
    assert './install.sh all (or pip install "spendwise[search]")' in said["trials-without-optuna"]
    assert 'pip install "spendwise[plot]"' in said["plot-without-matplotlib"]
    assert "more than 2^53" in said["budget-1e20-json"] and "NaN" not in said["budget-1e20-json"]
    assert "floating-point precision" in said["gap-below-rounding"]
    assert "FIFO" in said["out-link-to-fifo"] and "link-to-fifo" in said["out-link-to-fifo"]
    assert "no run.json beside it gives theta" in said["fit-log-away-from-run-json"]
    assert "needs the run.json beside" in said["fit-prior-out-away-from-run-json"]
    assert "do not pin the surrogate down" in said["fit-prior-out-one-run-pins-nothing"]
    assert not os.path.exists(os.path.join(places["folder"], "prior.json"))
    assert "line 1 is round 1, not 0: the rounds are out of order" in said["fit-rounds-out-of-order"]
    assert "reward must be a number in [0, 1]" in said["fit-reward-5"]
    assert not os.path.exists(os.path.join(places["folder"], "absent.db"))  # not created by looking


def test_plan_best_names_the_missing_database_file(bad_results):
    """(Without optuna, `plan best` says first that optuna is missing.)"""
    needs("optuna")
    said = bad_results["best-missing-sqlite"][0].stderr
    assert "no database file" in said and "absent.db" in said


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
    proc = subprocess.run([sys.executable, "-c", IMPORT_PROBE, *argv], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    probe = json.loads(proc.stdout)
    assert set(probe["heavy"]) <= allowed, probe["heavy"]
    assert probe["help"] == ("--help" in argv)  # the help text was printed, and only for --help


@pytest.mark.parametrize("argv", [["--help"], ["compare", "--help"]], ids=["plan", "compare"])
def test_help_exits_zero(argv):
    """`plan --help` and `plan compare --help` work in a subprocess and list the problem flags."""
    result = run_cli(*argv)
    assert result.returncode == 0 and result.stderr == ""
    for flag in ("--budget", "--cg", "--ct", "--model", "--selection", "--ratio", "--batch", "--max-rounds",
                 "--json", "--out", "--plot", "--seed"):
        assert flag in result.stdout


def test_a_plan_predicted_to_lower_the_reward_says_so(tmp_path):
    """A surrogate whose noise term swamps every affordable round: the plan is printed with a
    warning instead of silently predicting a reward below the starting one."""
    model = tmp_path / "m.json"
    model.write_text('{"kind": "surrogate", "r_star": 0.9, "g0": 0.67, "a": 0.42, "b": 20.0, "gamma": 1.0}')
    low = run_cli("--budget", "25", "--cg", "0.17", "--ct", "0.04", "--cr", "3", "--batch", "8", "--model", str(model))
    assert low.returncode == 0 and "warning: under this model no affordable schedule raises" in low.stdout
    high = run_cli("--budget", "420", "--cg", "0.17", "--ct", "0.04", "--cr", "40", "--batch", "8",
                   "--model", str(model))
    assert high.returncode == 0 and "warning" not in high.stdout


@pytest.mark.parametrize("flags", [["--cg", "0"], ["--ct", "0"], ["--ct", "0", "--selection", "fixed", "--ratio", "3"]],
                         ids=["cg-zero", "ct-zero", "ct-zero-fixed"])
def test_a_zero_price_is_a_valid_problem(flags):
    """c_g = 0 (generation paid for, or free) and c_t = 0 plan within the budget; with c_g = 0 every kept
    sample costs c_t, so the certificate's bound is its estimate (exact)."""
    result = run_cli("--budget", "1e5", "--json", *flags)
    assert result.returncode == 0, result.stderr
    j = json.loads(result.stdout)
    assert j["expected_cost"] <= 1e5 and j["gap"] > 0 and 0 <= j["gap_percent"] < 0.1
    if "--cg" in flags:
        detail = j["certificate_detail"]
        assert detail["bound_gap"] == pytest.approx(detail["gap"], rel=1e-9)


def test_a_path_with_a_newline_is_named_on_one_line(tmp_path):
    from tests.conftest import one_sentence, run_cli

    plan = tmp_path / "my\nplan.json"
    result = run_cli("execute", str(plan), "--run-dir", str(tmp_path / "run"), "--no-report")
    assert one_sentence(result) and "my\\nplan.json" in result.stderr, result.stderr
