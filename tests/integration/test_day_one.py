"""Day one with a real roadmap: the corpus's ROADMAP.md (duplicate numbers, emphasis in headings)
committed and edited through the real CLI, with the default configuration."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from gitstore.roadmap import DEFAULT_STATUSES, Parser
from tests.conftest import SHARED, git, gitstore

VERSIONS = sorted((SHARED / "corpus" / "roadmap" / "versions").glob("*.md.gz"))
MARKERS = [m for ms in DEFAULT_STATUSES.values() for m in ms]


def latest() -> bytes:
    assert VERSIONS, f"the roadmap corpus is missing at {SHARED / 'corpus'}"
    return gzip.decompress(VERSIONS[-1].read_bytes())


@pytest.fixture
def real(store_dir: Path) -> Path:
    git(store_dir, "add", "-A")
    git(store_dir, "commit", "-qm", "init")
    (store_dir / "ROADMAP.md").write_bytes(latest())
    return store_dir


def test_the_default_config_commits_a_real_roadmap(real: Path) -> None:
    res = gitstore("commit", "-m", "our roadmap", cwd=real)
    assert res.returncode == 0, res.stderr
    assert git(real, "status", "--porcelain") == ""
    res = gitstore("validate", cwd=real)  # the duplicates are reported, as warnings
    assert res.returncode == 0 and "warning: duplicate-id: PRIORITY 3 also at line" in res.stdout


def test_a_refused_commit_prints_the_problems_above_its_last_line(real: Path) -> None:
    config = real / "gitstore.yaml"
    old = "  path: ROADMAP.md"
    config.write_text(config.read_text().replace(old, f"{old}\n  duplicate_ids: error", 1))
    res = gitstore("commit", cwd=real)
    assert res.returncode == 1
    lines = res.stderr.splitlines()
    assert "fix the problems above" in lines[-1] and "Fix the lines above" not in res.stderr
    problems = [line for line in lines if ": duplicate-id: " in line]
    assert len(problems) >= 2 and all(line.startswith("ROADMAP.md:") for line in problems)
    assert git(real, "log", "--oneline").count("\n") == 1  # nothing was committed
    as_json = json.loads(gitstore("commit", "--json", cwd=real).stdout)["error"]
    assert any(": duplicate-id: " in line for line in as_json["details"])


def test_json_ids_are_unique_and_each_one_is_writable(real: Path) -> None:
    sections = json.loads(gitstore("roadmap", "list", "--json", cwd=real).stdout)
    ids = [s["id"] for s in sections]
    assert len(ids) == len(set(ids)) > 20
    twice = [s for s in sections if "#" in s["id"]]
    assert {s["number"] for s in twice} >= {"3", "24"}
    second = next(s for s in twice if s["id"] == "3#2")
    res = gitstore("roadmap", "status", second["id"], "in_progress", "--json", cwd=real)
    assert res.returncode == 0, res.stderr
    changed = json.loads(res.stdout)
    assert changed["id"] == "3#2" and changed["heading"] == second["heading"]
    assert changed["state"] == "in_progress"
    after = {s["id"]: s for s in json.loads(gitstore("roadmap", "list", "--json", cwd=real).stdout)}
    assert after["3#1"]["status"] == next(s for s in twice if s["id"] == "3#1")["status"]


def test_a_daemon_writes_back_by_the_id_it_read(real: Path) -> None:
    planned = json.loads(gitstore("roadmap", "next", "--json", cwd=real).stdout)
    res = gitstore("roadmap", "status", planned["id"], "complete", "--json", cwd=real)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["heading"] == planned["heading"]
    following = json.loads(gitstore("roadmap", "next", "--json", cwd=real).stdout)
    assert following["heading"] != planned["heading"]


def test_titles_carry_no_stray_emphasis(real: Path) -> None:
    listed = gitstore("roadmap", "list", "--json", cwd=real)
    titles = {s["number"]: s["title"] for s in json.loads(listed.stdout) if "#" not in s["id"]}
    assert titles["1"] == "Analytics & Observability"
    assert titles["2.5"] == "New User Experience & Documentation"
    for path in VERSIONS:  # every corpus version, parsed as the CLI does
        for section in Parser().parse(gzip.decompress(path.read_bytes()).decode()).sections:
            title, mark = section.title_and_mark(MARKERS)
            assert "**" not in title and "**" not in mark, (path.name, section.heading)


@pytest.mark.parametrize(
    ("heading", "title", "mark"),
    [
        (
            "### 🔴 **PRIORITY 1: Analytics & Observability** ⚡ FOUNDATION",
            "Analytics & Observability",
            "",
        ),
        ("### 🔴 **PRIORITY 1.5: Database Sync** ✅ **COMPLETE**", "Database Sync", "✅ COMPLETE"),
        ("### ✅ **PRIORITY 5: Dashboard** ⚡ COMPLETE", "Dashboard", "COMPLETE"),
        (
            "### **PRIORITY 2**: Only the label bold ✅ Complete",
            "Only the label bold",
            "✅ Complete",
        ),
        (
            "### PRIORITY 2: Project Manager CLI ✅ Complete (Phase 2)",
            "Project Manager CLI",
            "✅ Complete (Phase 2)",
        ),
        ("### 🔴 **PRIORITY 9: never closed", "never closed", ""),
        ("### **PRIORITY 4: Old ideas** Abandoned", "Old ideas", ""),  # not "Done"
    ],
)
def test_title_parsing(heading: str, title: str, mark: str) -> None:
    section = Parser().parse(heading + "\n").sections[0]
    assert section.title_and_mark(MARKERS) == (title, mark)
