"""`plan` fuzzed: every command given one bad input at a time, from a generated table (numeric flag x
bad value x command, path argument x damaged or non-regular file, output path x place it cannot go,
unknown names, bad task options, ...). Each case runs in-process (planner.cli.main, as the console
script calls it; a sample is checked against the real `plan` process) and must exit 2 with one line
on stderr starting "plan", no traceback, and the working folder byte-identical: nothing written,
no folder made, a named FIFO or folder untouched. Every case is one validation failure, so the whole
table runs in seconds; a case that reaches real work trips the per-case alarm."""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import stat
import subprocess
import warnings
from pathlib import Path

import pytest

from planner.cli import main
from tests.conftest import needs, one_sentence, run_cli

GAUSSIAN = {"kind": "gaussian", "theta0": 3.0, "sigma": 1.0, "kappa": 1.0}
TRL_STATE = {"log_history": [{"step": 0, "eval_reward": 0.1}, {"step": 10, "eval_reward": 0.3},
                             {"step": 20, "eval_reward": 0.5}], "train_batch_size": 8}
VERL_LOG = [{"step": s, "data": {"val-core/gsm8k/reward/mean@1": r, "critic/score/mean": r, "timing_s/gen": 2.0,
                                  "timing_s/update_actor": 1.0}} for s, r in ((0, 0.1), (1, 0.3), (2, 0.5))]
SECONDS = 10  # a case taking longer did real work before validating its input

# ---- the table -------------------------------------------------------------------------------

# Bad numbers, by name; a flag lists the ones that are valid for it.
NUMBERS = {"negative": "-1", "zero": "0", "nan": "nan", "inf": "inf", "minus-inf": "-inf", "1e400": "1e400",
           "10**400": "1" + "0" * 400, "half": "0.5", "word": "abc", "empty": "", "hex": "0x10"}
RECOMMEND = ("--budget", "1e4", "--max-rounds", "6")
TUNE = ("tune", "--task", "gaussian", "--budget", "2e3", "--max-rounds", "6", "--run-dir", "new-run", "--no-progress")
EXECUTE = ("execute", "plan.json", "--run-dir", "new-run", "--no-report", "--no-progress")
EXPORT = ("export", "plan.json", "--format", "yaml")
FIT = ("fit", "run/rounds.jsonl")
FIT_TRL = ("fit", "--from", "trl", "trainer_state.json")
BEST = ("best", "--storage", "sqlite:///search.db", "--study", "s")
PROBLEM_FLAGS = {"--budget": (), "--cg": ("zero", "half"), "--ct": ("zero", "half"), "--c-round": ("zero", "half"),
                 "--batch": (), "--max-rounds": ()}
NUMERIC = {  # command -> (base argv, {flag: valid value names})
    "recommend": (RECOMMEND, {**PROBLEM_FLAGS, "--seed": ("zero",), "--trials": ("zero",)}),
    "compare": (("compare", *RECOMMEND), {**PROBLEM_FLAGS, "--seed": ("zero",), "--trials": ("zero",)}),
    "recommend --selection fixed": ((*RECOMMEND, "--selection", "fixed"), {"--ratio": ()}),
    "tune": (TUNE, {**PROBLEM_FLAGS, "--seed": ("zero",), "--eval-every": (), "--trials": ("zero",)}),
    "execute": (EXECUTE, {"--seed": ("zero",), "--eval-every": ()}),
    "export": (EXPORT, {"--train-batch": ()}),
    "fit": (FIT_TRL, {"--samples-per-step": ()}),
}

# Damages of a file's bytes, by name (each leaves a file its reader must refuse).
FIRST_NUMBER = re.compile(rb"(?<=: )-?\d+(\.\d+)?([eE][-+]?\d+)?")


def first_number(replacement: bytes):
    return lambda data: FIRST_NUMBER.sub(replacement, data, count=1)


def last_number(replacement: bytes):
    """The last number (a field deep in the file, or the log's last line) replaced."""
    def change(data: bytes) -> bytes:
        *_, last = FIRST_NUMBER.finditer(data)
        return data[:last.start()] + replacement + data[last.end():]
    return change


def drop(key: str):
    """The JSON object without key; of a JSON-lines log, its first line's."""
    def change(data: bytes) -> bytes:
        first, _, rest = data.partition(b"\n")
        whole = not rest.strip() or data.lstrip().startswith(b"{\n")  # one object (indented), not a log
        record = json.loads(data if whole else first)
        del record[key]
        return json.dumps(record).encode() + (b"" if whole else b"\n" + rest)
    return change


DAMAGES = {"empty": lambda data: b"", "truncated": lambda data: data[: len(data) // 2],
           "binary": lambda data: b"\x00\xff\xfe\xfd" * 8, "a-list": lambda data: b"[]\n",
           "deep": lambda data: b"[" * 100_000 + b"\n", "huge-int": first_number(b"1" + b"0" * 400),
           "nan": first_number(b"NaN"), "inf": first_number(b"1e999"), "string": first_number(b'"x"'),
           "last-nan": last_number(b"NaN"), "last-string": last_number(b'"x"'), "missing-key": None}
REQUIRED = {"model.json": "kind", "plan.json": "schedule", "prior.json": "model", "run/rounds.jsonl": "kept",
            "trainer_state.json": "log_history", "verl.jsonl": "step", "run/run.json": "initial"}  # missing-key drops


def damage(data: bytes, source: str, name: str) -> bytes:
    return drop(REQUIRED[source])(data) if name == "missing-key" else DAMAGES[name](data)


PLACES = {"missing": "absent.json", "folder": "folder", "fifo": "fifo", "under-a-file": "model.json/x.json"}
READERS = {  # what reads a file -> (argv with {} for the file, the valid file the damages start from)
    "recommend --model": ((*RECOMMEND, "--model", "{}"), "model.json"),
    "compare --model": (("compare", *RECOMMEND, "--model", "{}"), "model.json"),
    "tune --model": ((*TUNE, "--model", "{}"), "model.json"),
    "tune --prior": ((*TUNE, "--prior", "{}"), "prior.json"),
    "execute PLAN": (("execute", "{}", *EXECUTE[2:]), "plan.json"),
    "export PLAN": (("export", "{}", *EXPORT[2:]), "plan.json"),
    "fit LOG": (("fit", "{}"), "run/rounds.jsonl"),
    "fit --from trl": (("fit", "--from", "trl", "{}"), "trainer_state.json"),
    "fit --from verl": (("fit", "--from", "verl", "{}", "--samples-per-step", "8"), "verl.jsonl"),
}
WRITERS = {  # what writes a file -> argv with {} for the path
    "recommend --out": (*RECOMMEND, "--out", "{}"), "recommend --plot": (*RECOMMEND, "--plot", "{}"),
    "compare --out": ("compare", *RECOMMEND, "--out", "{}"), "compare --plot": ("compare", *RECOMMEND, "--plot", "{}"),
    "export --out": (*EXPORT, "--out", "{}"), "fit --out": (*FIT_TRL, "--out", "{}"),
    "fit --prior-out": (*FIT_TRL, "--task", "gaussian", "--prior-out", "{}"), "best --out": (*BEST, "--out", "{}"),
    "execute --run-dir": ("execute", "plan.json", "--no-report", "--no-progress", "--run-dir", "{}"),
    "tune --run-dir": (*TUNE, "--run-dir", "{}"),
}
OUT_PLACES = {"folder": "folder", "fifo": "fifo", "under-a-file": "model.json/out.json",
              "link-to-fifo": "link-to-fifo"}
RUN_DIR_PLACES = {"a-file": "model.json", "fifo": "fifo", "under-a-file": "model.json/run",
                  "foreign-folder": "foreign", "link-to-fifo": "link-to-fifo",
                  "logs-without-a-plan": "runjson-nan"}  # a round log and a run.json, as `plan fit` reads them
PRIOR_EDITS = {"run-10**30": ("run", 10**30), "after-1e308": ("after", 1e308), "after-negative": ("after", -0.5),
               "before-2": ("before", 2.0), "n-half": ("n", 0.5), "n-1e20": ("n", 1e20)}  # a transition's field
RESUMED = ("execute", "plan.json", "--run-dir", "run", "--no-report", "--no-progress")  # a finished run
OPTIONS = {"no-equals": "theta0", "no-key": "=1", "unknown-key": "nope=1", "word": "theta0=abc", "nan": "theta0=nan",
           "inf": "theta0=inf", "1e400": "theta0=1e400", "10**400": "theta0=1" + "0" * 400, "sigma-zero": "sigma=0",
           "sigma-negative": "sigma=-1", "kappa-nan": "kappa=nan", "delay-1e308": "delay=1e308",
           "delay-negative": "delay=-1", "empty-value": "sigma="}
ALL = {"recommend": RECOMMEND, "compare": ("compare", *RECOMMEND), "tune": TUNE, "execute": EXECUTE,
       "export": EXPORT, "fit": FIT, "best": BEST}
MISC = {
    "unknown-command": ("bogus", "--budget", "1e4"),
    **{f"{name} unknown-flag": (*argv, "--bogus") for name, argv in ALL.items()},
    **{f"{name} flag-without-value": (*argv, flag) for name, argv, flag in (
        ("recommend", RECOMMEND, "--budget"), ("compare", ALL["compare"], "--cg"), ("tune", TUNE, "--seed"),
        ("execute", EXECUTE, "--seed"), ("export", EXPORT, "--format"), ("fit", FIT, "--kind"),
        ("best", BEST, "--study"))},
    "recommend budget-missing": ("--max-rounds", "6"), "tune budget-missing": TUNE[:3] + TUNE[5:],
    "best study-missing": BEST[:3], "export format-missing": EXPORT[:2], "execute run-dir-missing": EXECUTE[:2],
    **{f"{name} budget-below-one-round": (*argv, "--budget", "3") for name, argv in
       (("recommend", RECOMMEND), ("compare", ALL["compare"]), ("tune", TUNE))},
    **{f"{name} unknown-task": (*argv, "--task", "nope") for name, argv in
       (("recommend", RECOMMEND), ("compare", ALL["compare"]), ("tune", TUNE), ("execute", EXECUTE))},
    "execute task-of-another-plan": (*EXECUTE, "--task", "ddpm"),
    "fit unknown-kind": (*FIT, "--kind", "nope"),
    "recommend model-of-unknown-kind": (*RECOMMEND, "--model", "nope.json"),
    "tune model-of-unknown-kind": (*TUNE, "--model", "nope.json"),
    "recommend unknown-selection": (*RECOMMEND, "--selection", "best"),
    "recommend unknown-certifier": (*RECOMMEND, "--certifier", "nope"),
    "recommend unknown-shape": (*RECOMMEND, "--shape", "round"), "fit unknown-source": (*FIT, "--from", "nope"),
    "export unknown-format": (*EXPORT[:3], "nope"), "best unknown-certifier": (*BEST, "--certifier", "nope"),
    "best unknown-study": (*BEST[:4], "nope"), "best empty-study-name": (*BEST[:4], ""),
    "best study-not-made-by-spendwise": (*BEST[:4], "foreign"),
    "best storage-in-memory": ("best", "--storage", "sqlite://", "--study", "s"),
    "best storage-bad-url": ("best", "--storage", "foo://bar", "--study", "s"),
    "recommend fixed-without-ratio": (*RECOMMEND, "--selection", "fixed"),
    "recommend ratio-below-one": (*RECOMMEND, "--selection", "fixed", "--ratio", "0.5"),
    "recommend cg-and-ct-zero": (*RECOMMEND, "--cg", "0", "--ct", "0"),
    "tune cg-and-ct-zero": (*TUNE, "--cg", "0", "--ct", "0"),
    "recommend storage-without-trials": (*RECOMMEND, "--storage", "sqlite:///x.db"),
    "recommend study-without-trials": (*RECOMMEND, "--study", "s"),
    "recommend storage-bad-url": (*RECOMMEND, "--trials", "1", "--storage", "foo://bar"),
    "tune prior-and-model": (*TUNE, "--prior", "prior.json", "--model", "model.json"),
    **{f"tune --prior transition-{name}": (*TUNE, "--prior", f"prior.{name}.json") for name in PRIOR_EDITS},
    **{f"execute resumed {name}": (*RESUMED, *change) for name, change in (
        ("with-another-seed", ("--seed", "1")), ("with-another-option", ("-o", "sigma=2")),
        ("with-another-eval-every", ("--eval-every", "2")), ("with-replan", ("--replan",)),
        ("with-calibrate", ("--calibrate",)))},
    "tune on-an-execute-run": (*TUNE, "--run-dir", "run"),
    **{f"{command} {task} {name}": (*argv, *bad) for command, task, argv in (
        ("execute", "ddpm", ("execute", "ddpm.json", *EXECUTE[2:])),
        ("tune", "ddpm", ("tune", "--task", "ddpm", *TUNE[3:])), ("tune", "llm", ("tune", "--task", "llm", *TUNE[3:])))
        for name, bad in (
        ("missing-model-path", ("--model-path", "absent")), ("model-path-a-fifo", ("--model-path", "fifo")),
        ("model-path-a-file", ("--model-path", "model.json")), ("unknown-option", ("-o", "nope=1")))},
    "execute ddpm s-zero": ("execute", "ddpm.json", *EXECUTE[2:], "-o", "s=0"),
    "tune ddpm train-batch-zero": ("tune", "--task", "ddpm", *TUNE[3:], "-o", "train_batch=0"),
    "fit reward-key-with-rounds": (*FIT, "--reward-key", "reward"),
    "fit task-with-rounds": (*FIT, "--task", "gaussian"),
    "fit prior-out-without-task": (*FIT_TRL, "--prior-out", "p.json"),
    "fit two-samples-per-step-for-one-log": (*FIT_TRL, "--samples-per-step", "8", "8"),
    "fit trl-reward-key-absent": (*FIT_TRL, "--reward-key", "nope"),
    "fit verl-timing-not-a-number": ("fit", "--from", "verl", "verl.timing.jsonl", "--samples-per-step", "8"),
    "fit verl-without-samples-per-step": ("fit", "--from", "verl", "verl.jsonl"),
    **{f"{name} unknown-tracker": (*argv, "--log-with", "nope") for name, argv in
       (("execute", EXECUTE), ("tune", TUNE))},
    **{f"{name} missing-model-path": (*argv, "--model-path", "absent") for name, argv in
       (("execute", EXECUTE), ("tune", TUNE))},
    **{f"{name} out-in-a-new-folder-after-bad-input": argv for name, argv in (
        ("recommend", (*RECOMMEND, "--budget", "-1", "--out", "new/sub/plan.json")),
        ("compare", ("compare", *RECOMMEND, "--ct", "nan", "--out", "new/sub/plans.json")),
        ("export", (*EXPORT[:3], "nope", "--out", "new/sub/export.yaml")),
        ("fit", (*FIT, "--kind", "nope", "--out", "new/sub/model.json")),
        ("best", (*BEST[:4], "nope", "--out", "new/sub/plan.json")),
        ("execute", (*EXECUTE[:2], "--run-dir", "new/sub/run", "--seed", "-1")),
        ("tune", (*TUNE, "--run-dir", "new/sub/run", "--eval-every", "0")))},
}


def with_flag(argv: tuple[str, ...], flag: str, value: str) -> tuple[str, ...]:
    """argv with flag set to value as one word, FLAG=VALUE (so that "-inf" is read as its value)."""
    if flag in argv:
        i = argv.index(flag)
        argv = (*argv[:i], *argv[i + 2:])
    return (*argv, f"{flag}={value}")


NAMED: dict[str, str] = {}  # case -> the damaged file its sentence must name


def table() -> dict[str, tuple[str, ...]]:
    """Every bad input, by name: one validation failure each."""
    cases = {}
    for command, (base, flags) in NUMERIC.items():
        for flag, valid in flags.items():
            for name, value in NUMBERS.items():
                if name not in valid:
                    cases[f"{command} {flag} {name}"] = with_flag(base, flag, value)
    for reader, (argv, source) in READERS.items():
        for place, path in PLACES.items():
            cases[f"{reader} {place}"] = tuple(a.format(path) for a in argv)
        for name in DAMAGES:
            NAMED[f"{reader} {name}"] = damaged(source, name)
            cases[f"{reader} {name}"] = tuple(a.format(NAMED[f"{reader} {name}"]) for a in argv)
    for place, path in {"missing": "absent.db", "folder": "folder", "fifo": "fifo", "link-to-fifo": "link-to-fifo",
                        "empty": "empty.db", "binary": "binary.db", "json": "model.json",
                        "under-a-file": "model.json/x.db", "run-folder": "run"}.items():
        cases[f"best --storage {place}"] = with_flag(BEST, "--storage", f"sqlite:///{path}")
    for name in DAMAGES:
        cases[f"fit run.json {name}"] = ("fit", f"runjson-{name}/rounds.jsonl")
    for writer, argv in WRITERS.items():
        places = RUN_DIR_PLACES if writer.endswith("--run-dir") else OUT_PLACES
        for place, path in places.items():
            cases[f"{writer} {place}"] = tuple(a.format(path) for a in argv)
    for command, argv in (("tune", TUNE), ("execute", EXECUTE)):
        for name, option in OPTIONS.items():
            cases[f"{command} -o {name}"] = (*argv, "-o", option)
    cases.update(MISC)
    return cases


def damaged(source: str, name: str) -> str:
    """The name of source's copy with the damage (made by the `folder` fixture)."""
    path = Path(source)
    return str(path.with_name(f"{path.stem}.{name}{path.suffix}"))


CASES = table()

# ---- the working folder ------------------------------------------------------------------------


def run_in_process(argv: list[str] | tuple[str, ...]) -> subprocess.CompletedProcess:
    """`plan ARGV` as the console script runs it (planner.cli:main), in this process: its exit
    status, stdout and stderr, with any warning counted as the line it would print."""
    out, err = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        warnings.simplefilter("default")  # as a fresh interpreter shows them (not Deprecation, as outside __main__)
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.simplefilter("ignore", category)
        try:
            code = main(list(argv))
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
    lines = "".join(f"{w.filename}:{w.lineno}: {w.category.__name__}: {w.message}\n" for w in caught)
    return subprocess.CompletedProcess(list(argv), code, out.getvalue(), err.getvalue() + lines)


def snapshot(folder: Path) -> dict[str, object]:
    """Every entry under folder: a file's bytes, a link's target, or the kind of anything else."""
    entries = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root) / name
            mode = path.lstat().st_mode
            rel = str(path.relative_to(folder))
            entries[rel] = (path.read_bytes() if stat.S_ISREG(mode) else os.readlink(path) if stat.S_ISLNK(mode)
                            else stat.S_IFMT(mode))
    return entries


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """The working folder every case runs in: valid inputs (model, plan, a finished Gaussian run, a
    prior, a TRL trainer state, an Optuna study), their damaged copies, and places that are not files."""
    from planner.fit import Observations
    from planner.jsonio import atomic_write_json
    from planner.models import SurrogateModel
    from planner.priors import fit_prior
    from tests.planner.helpers import log_of

    needs("optuna")
    folder = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as patch:  # (contextlib.chdir is Python 3.11+)
        patch.chdir(folder)
        Path("model.json").write_text(json.dumps(GAUSSIAN))
        Path("nope.json").write_text(json.dumps({"kind": "nope", "lam": 1.0}))
        Path("trainer_state.json").write_text(json.dumps(TRL_STATE))
        Path("verl.jsonl").write_text("".join(json.dumps(line) + "\n" for line in VERL_LOG))
        slow = [VERL_LOG[0], {**VERL_LOG[1], "data": {**VERL_LOG[1]["data"], "timing_s/gen": "x"}}, VERL_LOG[2]]
        Path("verl.timing.jsonl").write_text("".join(json.dumps(line) + "\n" for line in slow))
        truth = SurrogateModel(0.8, 0.6, 0.5, 0.3, 1.0)
        runs = [Observations.from_log(*log_of(truth, n)) for n in ([4, 8, 16, 32], [20, 20, 20, 20], [2, 6, 18, 54])]
        atomic_write_json("prior.json", fit_prior("gaussian", runs, {"what": "three simulated runs"}).to_json())
        for argv in (("--budget", "2e4", "--task", "gaussian", "--max-rounds", "6", "--out", "plan.json"),
                     ("--budget", "1e4", "--task", "ddpm", "--max-rounds", "4", "--out", "ddpm.json"),
                     ("execute", "plan.json", "--run-dir", "run", "--no-report", "--no-progress"),
                     ("--budget", "1e4", "--max-rounds", "4", "--trials", "1", "--storage", "sqlite:///search.db",
                      "--study", "s")):
            assert run_in_process(argv).returncode == 0, argv
        optuna = needs("optuna")
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        optuna.create_study(study_name="foreign", storage="sqlite:///search.db")  # no spendwise attributes
        for name, (key, value) in PRIOR_EDITS.items():  # one transition of the prior's evidence
            prior = json.loads(Path("prior.json").read_text())
            prior["source"]["transitions"][key][0] = value
            Path(f"prior.{name}.json").write_text(json.dumps(prior))
        for source in {source for _, source in READERS.values()}:
            data = Path(source).read_bytes()
            for name in DAMAGES:
                Path(damaged(source, name)).write_bytes(damage(data, source, name))
        for name in DAMAGES:
            Path(f"runjson-{name}").mkdir()
            Path(f"runjson-{name}/rounds.jsonl").write_bytes(Path("run/rounds.jsonl").read_bytes())
            run_json = Path("run/run.json").read_bytes()
            Path(f"runjson-{name}/run.json").write_bytes(damage(run_json, "run/run.json", name))
        Path("empty.db").write_bytes(b"")
        Path("binary.db").write_bytes(b"\x00\xff\xfe\xfd" * 256)
        Path("folder").mkdir()
        Path("foreign").mkdir()
        Path("foreign/notes.txt").write_text("a folder that is not a run directory\n")
        os.mkfifo("fifo")
        Path("link-to-fifo").symlink_to("fifo")
    return folder


class Overran(BaseException):
    """A case that ran too long (not an OSError or Exception, which the command would catch)."""


def alarm(signum, frame):
    raise Overran(f"took over {SECONDS} s: real work (or a blocking read) before validating the input")


@pytest.fixture
def in_folder(folder, monkeypatch):
    """Run in the working folder, with an alarm that ends a case reaching real work or blocking."""
    monkeypatch.chdir(folder)
    previous = signal.signal(signal.SIGALRM, alarm)
    yield folder
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


# ---- the tests ---------------------------------------------------------------------------------

def test_the_table_holds_over_300_cases():
    """The table is generated: a change that empties a part of it shows here."""
    assert len(CASES) >= 300 and all(len([c for c in CASES if c.startswith(command)]) >= 20 for command in
                                     ("recommend", "compare", "tune", "execute", "export", "fit", "best"))


@pytest.mark.parametrize("name", CASES)
def test_bad_input_is_one_sentence_and_leaves_nothing_behind(in_folder, name):
    """Exit status 2, one line on stderr starting "plan", no traceback, nothing on stdout, the damaged
    file named, and the working folder (the named FIFO, folders and files included) exactly as it was."""
    before = snapshot(in_folder)
    signal.alarm(SECONDS)
    result = run_in_process(CASES[name])
    signal.alarm(0)
    assert one_sentence(result), f"exit {result.returncode}, stderr:\n{result.stderr}"
    assert result.stdout == "" and NAMED.get(name, "") in result.stderr
    assert snapshot(in_folder) == before


SAMPLE = ("recommend --budget nan", "compare unknown-flag", "tune -o delay-1e308", "execute PLAN fifo",
          "export --train-batch 10**400", "fit LOG huge-int", "best --storage empty", "unknown-command")


def test_in_process_gives_what_the_plan_process_gives(in_folder):
    """A sample of the table, one case per command, run by the real `plan` process too: the same
    exit status, stderr and stdout (argparse's usage errors name the same prog), nothing left behind."""
    before = snapshot(in_folder)
    for name in SAMPLE:
        real, ours = run_cli(*CASES[name], cwd=in_folder), run_in_process(CASES[name])
        assert (ours.returncode, ours.stderr, ours.stdout) == (real.returncode, real.stderr, real.stdout), name
        assert one_sentence(real), name
    assert snapshot(in_folder) == before
