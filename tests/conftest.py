"""Shared fixtures: real stores in real git repositories, in an isolated git environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from gitstore import Store
from gitstore.initialize import init_store

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=200,  # CI's 15 minutes on 2 cores: 300 took 15 min 4 s in all on a quiet machine
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=200)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

SHARED = Path(__file__).resolve().parents[1].parent / "shared"

# Ctrl-C as from a terminal, also when the run was started in the background: a shell starts a
# background job with SIGINT ignored, which every process a test starts would inherit (and the
# tests that press Ctrl-C would then see nothing). Python's own handler is not inherited by a
# program a test runs: it starts with SIGINT at its default again.
signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def isolated_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user or system git config leaks in; a fixed identity; no inherited GIT_* variables."""
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n"
    )
    for key in list(os.environ):
        if key.startswith("GIT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("LC_ALL", "C")
    monkeypatch.setenv("GITSTORE_USER", "tester")


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    init_store(root)
    return root


@pytest.fixture
def store(store_dir: Path) -> Iterator[Store]:
    opened = Store.open(store_dir)
    yield opened
    # Every record a test wrote through the store must validate: no false positives.
    from gitstore.sources import worktree_files
    from gitstore.validate import check_many

    validator = opened.roadmap().validator()
    found = worktree_files(opened.root, validator, None)
    found.files.pop(opened.config.roadmap_path, None)
    problems = [p for p in check_many(validator, found) if p.severity == "error"]
    assert problems == [], problems


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


def gitstore(
    *args: str, cwd: Path, input: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess, as a person or a daemon would."""
    return subprocess.run(
        [sys.executable, "-m", "gitstore", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        input=input,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under root except git's and gitstore's own state: to prove nothing changed."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] in (".git", ".gitstore") or path.is_dir() or path.is_symlink():
            continue
        out[str(rel)] = path.read_bytes()
    return out


def flag_status(root: Path) -> None:
    """Make the tasks' status field a `flag` field: concurrent edits become a true conflict."""
    config = root / "gitstore.yaml"
    old = "        default: todo\n        merge: lww"
    assert old in config.read_text()
    config.write_text(config.read_text().replace(old, "        default: todo\n        merge: flag"))
