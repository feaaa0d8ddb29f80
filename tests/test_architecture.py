"""The layers point one way: planner/ imports nothing of bootstrapper/ (not even inside a
function), no two modules import each other, and no test module imports another test module (shared
helpers live in helper modules and conftest.py). Read from the source, so a lazy import counts."""
from __future__ import annotations

import ast

from tests.conftest import ROOT

PACKAGES = ("planner", "bootstrapper")


def module_name(path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """module -> the modules of ours it imports anywhere in its source (`from a import b` counts
    a.b where that is a module, else a)."""
    paths = {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}
    graph = {}
    for name, path in paths.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                submodules = {f"{node.module}.{alias.name}" for alias in node.names} & set(paths)
                names = {alias.name for alias in node.names} - {m.rsplit(".", 1)[1] for m in submodules}
                found |= submodules | ({node.module} if names else set())
        graph[name] = {m for m in found if m in paths and m != name}
    return graph


def test_planner_imports_nothing_of_bootstrapper():
    graph = imports()
    assert len(graph) > 40  # the walk found the modules
    wrong = {(a, b) for a, deps in graph.items() for b in deps
             if a.startswith("planner") and b.startswith("bootstrapper")}
    assert not wrong
    assert any(b.startswith("planner") for b in graph["bootstrapper.cli.session"])  # the walk sees imports


def test_no_two_modules_import_each_other():
    graph = imports()
    assert not {(a, b) for a, deps in graph.items() for b in deps if a < b and a in graph[b]}


def imported_modules(source: str) -> set[str]:
    """The modules a source imports anywhere (`from a import b` counts a and a.b), also in the scripts
    it holds as strings (a test that writes a script for a subprocess)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "import" in node.value:
            try:
                found |= imported_modules(node.value)
            except (SyntaxError, ValueError):
                pass
    return found


def test_no_test_module_imports_another_test_module():
    tests = {module_name(p): p for p in (ROOT / "tests").rglob("test_*.py")}
    assert len(tests) > 20  # the walk found the test modules
    found = {name: imported_modules(path.read_text()) for name, path in tests.items()}
    # in LLM_SCRIPT
    assert "tests.bootstrapper.tasks.helpers.gold_samples" in found["tests.bootstrapper.test_distributed"]
    wrong = {(name, m) for name, modules in found.items() for m in modules
             if m.startswith("tests.") and any(part.startswith("test_") for part in m.split(".")[1:])}
    assert not wrong


# keys of a round record: a subscript or .get with one of them reads a round as a raw dict, unless it is of
# a summary or a plan's JSON (their fields share names with a round's), which are named as below
ROUND_KEYS = {"kept", "generated", "trimmed", "generation_reward", "generation_reward_se", "predicted_reward"}
NOT_ROUNDS = {"summary", "s", "j", "row", "point"}  # a study's result rows and curve points
READERS = {"read_json", "loads", "load", "open", "read_text"}  # what reads a file's JSON


def raw_reads(source: str) -> list[str]:
    """Where a source reads a round by key (record["kept"], record.get("trimmed")) or reads run.json
    other than through RunConfig (json.loads(... "run.json" ...))."""
    found = []
    for node in ast.walk(ast.parse(source)):
        key, of = None, None
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            key, of = node.slice.value, node.value
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
              and node.args and isinstance(node.args[0], ast.Constant)):
            key, of = node.args[0].value, node.func.value
        if key in ROUND_KEYS and getattr(of, "id", None) not in NOT_ROUNDS:
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in READERS \
                and "run.json" in ast.unparse(node):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_no_module_reads_a_round_or_run_json_as_a_raw_dict():
    """Rounds are RoundRecords (planner/rounds.py) and run.json a RunConfig (planner/runconfig.py): every
    module of the packages, benchmarks and examples reads them through those, never by key."""
    own = {ROOT / "planner" / "rounds.py", ROOT / "planner" / "runconfig.py"}
    paths = [p for folder in (*PACKAGES, "benchmarks", "examples") for p in (ROOT / folder).rglob("*.py")
             if p not in own]
    assert len(paths) > 60 and raw_reads('r["kept"]; json.loads(open(f / "run.json").read())')  # the test can fail
    wrong = {str(p.relative_to(ROOT)): hits for p in paths if (hits := raw_reads(p.read_text()))}
    assert not wrong


def test_the_clis_live_in_their_own_folders_and_no_library_module_imports_them():
    """planner/cli and bootstrapper/cli hold every `plan` command (pyproject registers just those, and
    the dispatcher knows the same ones by name); nothing else imports them but the `python -m` mains."""
    import tomllib

    from planner.cli import BUILTIN

    commands = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["spendwise.commands"]
    assert commands == BUILTIN and all(m.startswith(("planner.cli.", "bootstrapper.cli.")) for m in commands.values())
    assert not list((ROOT / "planner").glob("*cli*.py")) and not list((ROOT / "bootstrapper").glob("*cli*.py"))
    cli = lambda name: name.startswith(("planner.cli", "bootstrapper.cli"))
    graph = imports()
    assert "bootstrapper.cli.session" in graph["bootstrapper.cli.execute"]  # the walk sees the CLI's imports
    wrong = {(a, b) for a, deps in graph.items() for b in deps
             if cli(b) and not cli(a) and a not in ("bootstrapper.__main__",)}
    assert not wrong


HELP_IMPORTS = """
import contextlib, io, sys
from planner.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main(sys.argv[1:])
    except SystemExit:
        pass
print(sorted(m for m in ("numpy", "importlib.metadata", "torch") if m in sys.modules))
"""


def test_plan_help_reads_no_package_metadata_and_imports_no_numpy():
    """`plan --help` and every built-in `plan COMMAND --help` start without importlib.metadata (the
    built-ins are known by name) or numpy: benchmarks/planner_speed.py --wheel times them."""
    import subprocess
    import sys

    from planner.cli import BUILTIN

    for command in [[]] + [[name] for name in BUILTIN]:
        done = subprocess.run([sys.executable, "-c", HELP_IMPORTS, *command, "--help"], capture_output=True,
                              text=True, cwd=ROOT, timeout=60)
        assert done.returncode == 0 and done.stdout.strip().splitlines()[-1] == "[]", (command, done.stdout,
                                                                                    done.stderr[-500:])
