"""Progress bars: on a terminal's stderr for long work, never when piped or with --json."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gitstore.validate import PROGRESS_MIN
from tests.conftest import git, gitstore
from tests.terminal import run_on_tty

TTY = {"TERM": "xterm-256color"}


@pytest.fixture
def many(store_dir: Path) -> Path:
    """A store with more records than it takes for validate to show progress."""
    tasks = store_dir / "records" / "tasks"
    tasks.mkdir(parents=True)
    for n in range(PROGRESS_MIN + 50):
        (tasks / f"T-{n}.yaml").write_text(f"id: T-{n}\ntitle: task {n}\n")
    return store_dir


def test_validate_piped_prints_nothing(many: Path) -> None:
    res = gitstore("validate", cwd=many)
    assert res.returncode == 0 and res.stdout == "" and res.stderr == ""


def test_validate_on_a_terminal_shows_progress(many: Path) -> None:
    code, seen, piped = run_on_tty("validate", cwd=many, stdout_tty=False, env=TTY)
    assert code == 0 and piped == ""
    assert "validating" in seen and re.search(r"\b\d+/2[5-9]\d\b", seen), seen  # done/total


def test_no_progress_with_json_or_when_switched_off(many: Path) -> None:
    code, seen, piped = run_on_tty("validate", "--json", cwd=many, stdout_tty=False, env=TTY)
    assert code == 0 and "validating" not in seen and json.loads(piped)["problems"] == []
    code, seen, _ = run_on_tty(
        "validate", cwd=many, stdout_tty=False, env={**TTY, "GITSTORE_PROGRESS": "0"}
    )
    assert code == 0 and "validating" not in seen


def test_a_few_files_show_no_bar(store_dir: Path) -> None:
    code, seen, _ = run_on_tty("validate", cwd=store_dir, stdout_tty=False, env=TTY)
    assert code == 0 and "validating" not in seen


def _with_remote(root: Path) -> None:
    bare = root.parent / "remote.git"
    git(root.parent, "init", "-q", "--bare", str(bare))
    git(root, "remote", "add", "origin", str(bare))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")


def test_sync_steps_on_a_terminal_only(store_dir: Path) -> None:
    _with_remote(store_dir)
    code, seen, piped = run_on_tty("sync", cwd=store_dir, stdout_tty=False, env=TTY)
    assert code == 0, seen
    assert "fetching and merging origin/main" in seen and "pushing" in seen, seen
    assert piped.startswith("synced:")
    gitstore("add", "tasks", "T-1", "title=x", cwd=store_dir)
    res = gitstore("sync", cwd=store_dir)
    assert res.returncode == 0 and res.stderr == "" and res.stdout.startswith("synced: 0")


def test_check_merge_progress_on_a_terminal_only(store_dir: Path) -> None:
    gitstore("add", "tasks", "T-1", "title=x", cwd=store_dir)
    git(store_dir, "add", "-A")
    git(store_dir, "commit", "-qm", "one")
    git(store_dir, "checkout", "-qb", "side")
    gitstore("set", "T-1", "owner=bob", "--commit", cwd=store_dir)
    git(store_dir, "checkout", "-q", "main")
    gitstore("set", "T-1", "status=doing", "--commit", cwd=store_dir)
    git(store_dir, "merge", "-q", "--no-edit", "side")
    code, seen, piped = run_on_tty("check-merge", cwd=store_dir, stdout_tty=False, env=TTY)
    assert code == 0 and "checking merges" in seen and "matches the driver" in piped, seen
    res = gitstore("check-merge", cwd=store_dir)
    assert res.returncode == 0 and res.stderr == ""
