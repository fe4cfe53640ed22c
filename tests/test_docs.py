"""The documentation: the README stays short with its two set-up commands on top, the MkDocs site
builds without a warning, and every shell command it shows is run here or marked illustrative."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from cnnlab.cli import main

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKS = ("<!-- runs -->", "<!-- illustrative -->")


def _blocks(path: Path):
    """(mark, lines) of every ```bash block: mark is the comment line just before it."""
    lines = path.read_text(encoding="utf-8").split("\n")
    for i, line in enumerate(lines):
        if line.startswith("```bash"):
            before = next((b.strip() for b in reversed(lines[:i]) if b.strip()), "")
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            yield before, lines[i + 1:end]


def test_the_readme_is_short_and_opens_with_its_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 220
    first = next(lines for _, lines in _blocks(ROOT / "README.md"))
    assert [line.split("#")[0].strip() for line in first] == ["make demo", "make test"]


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_every_shell_block_is_run_by_a_test_or_marked_illustrative(path):
    for mark, lines in _blocks(path):
        assert mark in MARKS, f"{path.name}: a ```bash block without {' or '.join(MARKS)} before it: {lines[:1]}"


def _shown_commands():
    for path in PAGES:
        for mark, lines in _blocks(path):
            if mark == MARKS[0]:
                yield from ((path.name, line.split("  #")[0].strip()) for line in lines if line.startswith("cnnlab "))


@pytest.mark.parametrize("page, command", list(_shown_commands()))
def test_the_commands_the_docs_run_succeed(page, command, capsys):
    assert main(shlex.split(command)[1:]) == 0, command
    assert capsys.readouterr().out.strip()


def test_the_docs_link_only_to_pages_that_exist():
    for path in PAGES:
        for target in re.findall(r"\]\(([^)#]+\.md)", path.read_text(encoding="utf-8")):
            assert (path.parent / target).is_file(), f"{path.name} links to {target}"


@pytest.mark.slow
def test_the_docs_site_builds_strictly(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, env={"NO_MKDOCS_2_WARNING": "1", "PATH": ""})
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "site" / "statistics" / "index.html").is_file()
