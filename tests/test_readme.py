"""The README as a newcomer meets it: short, its first block installs, every block marked `quick`
runs as written, and no page of it or of docs/ speaks of the project's history."""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
MAX_LINES = 250
VENV = "python3 -m venv .venv && . .venv/bin/activate"
INSTALL = ("./install.sh && plan --budget 1e6 --cg 1 --ct 3",
           "./install.sh dev && python3 -m pytest -q -n 2")
TIMEOUT = 120  # seconds per command; the whole quick start takes ~15 s on a quiet machine

# Words that tell the project's history instead of what is. File names may carry dates
# (llm_study_2026-11-26.json): a date joined to a name by "_" is not prose.
HISTORY = re.compile(
    r"\b(today'?s?|now|nowadays|no longer|anymore|formerly|used to|this session|the old|old code"
    r"|earlier rules?|previous (code|rules?|version))\b"
    r"|(?<![\w-])(19|20)\d\d-\d\d-\d\d"
    r"|\b(January|February|March|April|May|June|July|August|September|October|November|December) (19|20)\d\d\b",
    re.IGNORECASE)


def fenced_blocks(path: Path) -> list[tuple[list[str], str, int]]:
    """Every fenced code block of a Markdown file: (words of its info string, its text, its first line)."""
    blocks, info, body, start = [], None, [], 0
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith("```"):
            if info is None:
                info, body, start = line[3:].split(), [], number
            else:
                blocks.append((info, "\n".join(body), start))
                info = None
        elif info is not None:
            body.append(line)
    assert info is None, f"{path.name}: the code block opened at line {start} is never closed"
    return blocks


def prose_lines(path: Path) -> list[tuple[int, str]]:
    """The lines of a Markdown file outside fenced code blocks (program output may say anything)."""
    lines, fenced = [], False
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            lines.append((number, line))
    return lines


def commands(script: str) -> list[str]:
    """The shell commands of a block: one per line, backslash continuations joined, comments skipped."""
    joined = re.sub(r"\s*\\\n\s*", " ", script)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def quick_blocks() -> list[tuple[Path, str, str, int]]:
    """(page, language, text, line) of every block marked quick, in reading order."""
    return [(page, info[0], text, line) for page in PAGES for info, text, line in fenced_blocks(page)
            if "quick" in info[1:]]


def plan_on_path(folder: Path) -> str:
    """A PATH on which `plan` is this interpreter's console script, or, when the package is not
    installed as a script, a stand-in that runs `python -m planner.cli` with this interpreter."""
    scripts = Path(sys.executable).parent
    if (scripts / "plan").exists():
        return os.pathsep.join([str(scripts), os.environ.get("PATH", "")])
    if shutil.which("plan"):
        return os.environ["PATH"]
    stand_in = folder / "bin" / "plan"
    stand_in.parent.mkdir()
    stand_in.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m planner.cli "$@"\n')
    stand_in.chmod(0o755)
    return os.pathsep.join([str(stand_in.parent), os.environ.get("PATH", "")])


def test_the_readme_is_short_and_opens_with_the_venv_and_the_two_commands():
    lines = README.read_text().splitlines()
    assert len(lines) <= MAX_LINES, f"README.md has {len(lines)} lines, more than {MAX_LINES}"
    info, text, _ = fenced_blocks(README)[0]
    block = text.splitlines()
    assert info[:1] == ["bash"] and block[0].strip() == VENV, f"the README's first block must open with {VENV!r}"
    for command in INSTALL:
        assert any(line.startswith(command) for line in block[1:]), f"the README's first block lacks {command!r}"


def test_the_readme_has_a_quick_start_in_shell_and_python():
    languages = {language for page, language, _, _ in quick_blocks() if page == README}
    assert languages == {"bash", "python"}


def test_every_quick_block_runs_as_written(tmp_path):
    """The quick blocks in reading order, in one scratch folder (later blocks use earlier ones' files);
    each command must exit 0."""
    if importlib.util.find_spec("matplotlib") is None:
        pytest.skip("the quick start draws report.png: needs the plot extra (pip install 'spendwise[plot]')")
    env = {**os.environ, "PATH": plan_on_path(tmp_path),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    work = tmp_path / "work"
    work.mkdir()
    started = time.perf_counter()
    for number, (page, language, text, line) in enumerate(quick_blocks()):
        where = f"{page.name}, block at line {line}"
        if language == "python":
            script = work / f"block_{number}.py"
            script.write_text(text)
            runs = [([sys.executable, str(script)], f"{where} (python)")]
        else:
            assert language == "bash", f"{where}: a quick block must be bash or python, not {language!r}"
            runs = [(["bash", "-c", command], f"{where}: {command}") for command in commands(text)]
        for argv, what in runs:
            result = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=TIMEOUT)
            assert result.returncode == 0, f"{what} exited {result.returncode}:\n{result.stderr[-2000:]}"
    print(f"quick blocks ran in {time.perf_counter() - started:.1f} s")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_page_speaks_of_the_projects_history(page):
    found = [f"{page.name}:{number}: {line.strip()}" for number, line in prose_lines(page) if HISTORY.search(line)]
    assert not found, "say what is, not what was:\n" + "\n".join(found)


@pytest.mark.parametrize("sentence", [
    "the task's costs today too", "with today's `plan tune`", "the metrics equal the old code's",
    "under the earlier rule", "it now runs at this budget", "pilots are no longer used",
    "measured on 2026-11-25 at night", "as of November 2026"])
def test_the_history_words_are_caught(sentence):
    assert HISTORY.search(sentence)


@pytest.mark.parametrize("sentence", [
    "`benchmarks/results/llm_study_2026-11-26.{json,png}`", "a user's earlier runs as a prior",
    "known from the paper (NeurIPS 2025)", "the model before that round's training"])
def test_what_is_not_history_passes(sentence):
    assert not HISTORY.search(sentence)


def test_the_quick_commands_are_read_as_a_shell_reads_them():
    assert commands("plan a \\\n    --b 1   # note\n\n# comment\nplan c") == ["plan a --b 1   # note", "plan c"]

