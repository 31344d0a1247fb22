"""``roadmap move`` and ``roadmap rm`` as a person (on a terminal) and a script (piped) use them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import gitstore
from tests.terminal import run_on_tty

ROADMAP = """# Roadmap

### PRIORITY 1: First
**Status**: 📝 Planned

### PRIORITY 2: Second
**Status**: 📝 Planned

### PRIORITY 3: Third, once
**Status**: ✅ Complete

### PRIORITY 3: Third, twice
**Status**: 📝 Planned
"""


@pytest.fixture
def road(store_dir: Path) -> Path:
    (store_dir / "ROADMAP.md").write_text(ROADMAP)
    return store_dir


def test_move_with_both_after_and_before_is_a_usage_error(road: Path) -> None:
    res = gitstore("roadmap", "move", "2", "--after", "1", "--before", "1", cwd=road)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr == "gitstore: give --after or --before, not both\n"
    res = gitstore("roadmap", "move", "2", "--after", "1", "--before", "1", "--json", cwd=road)
    assert res.returncode == 2 and json.loads(res.stdout)["error"]["code"] == "usage"
    assert (road / "ROADMAP.md").read_text() == ROADMAP


def test_move_reports_the_real_version(road: Path) -> None:
    res = gitstore("roadmap", "move", "2", "--before", "1", cwd=road)
    assert res.returncode == 0 and res.stdout == "PRIORITY 2 moved (version 1)\n", res.stdout
    res = gitstore("roadmap", "move", "3#2", "--before", "1", cwd=road)
    assert res.stdout == "PRIORITY 3 (3#1) moved (version 1)\n"  # its name where it is now
    assert "version -" not in res.stdout
    text = (road / "ROADMAP.md").read_text()
    assert text.index("Second") < text.index("Third, twice") < text.index("First")


def test_rm_piped_needs_yes(road: Path) -> None:
    res = gitstore("roadmap", "rm", "2", cwd=road)
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "--yes" in res.stderr
    res = gitstore("roadmap", "rm", "2", "--json", cwd=road)
    assert res.returncode == 2 and json.loads(res.stdout)["error"]["code"] == "usage"
    assert (road / "ROADMAP.md").read_text() == ROADMAP
    res = gitstore("roadmap", "rm", "2", "--yes", cwd=road)
    assert res.returncode == 0 and res.stdout == "PRIORITY 2 removed\n"
    assert "Second" not in (road / "ROADMAP.md").read_text()
    res = gitstore("roadmap", "rm", "3#1", "-y", "--json", cwd=road)
    assert res.returncode == 0 and json.loads(res.stdout)["title"] == "Third, once"


def test_rm_on_a_terminal_asks(road: Path) -> None:
    code, seen, _ = run_on_tty("roadmap", "rm", "2", cwd=road, answer="n\n")
    assert code == 1 and "Remove PRIORITY 2: Second" in seen and "nothing was removed" in seen
    assert (road / "ROADMAP.md").read_text() == ROADMAP
    code, seen, _ = run_on_tty("roadmap", "rm", "2", cwd=road, answer="y\n")
    assert code == 0 and "PRIORITY 2 removed" in seen, seen
    assert "Second" not in (road / "ROADMAP.md").read_text()
    code, seen, _ = run_on_tty("roadmap", "rm", "1", "--yes", cwd=road)
    assert code == 0 and "Remove" not in seen and "PRIORITY 1 removed" in seen
