"""The pre-commit hook under a real `git commit`, and under the real pre-commit framework."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gitstore import Store
from tests.conftest import git

REPO = Path(__file__).resolve().parents[2]
BROKEN = "id: T-1\ntitle: [unclosed\n"


def commit(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "commit", "-qm", "x", *args],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )


def test_a_broken_record_is_refused_and_a_fixed_one_goes_through(store_dir: Path) -> None:
    Store.open(store_dir).put("tasks", {"id": "T-1", "title": "ok"})
    git(store_dir, "add", "-A")
    assert commit(store_dir).returncode == 0
    path = store_dir / "records/tasks/T-1.yaml"
    good = path.read_text()
    path.write_text(BROKEN)
    git(store_dir, "add", "-A")
    res = commit(store_dir)
    assert res.returncode != 0
    assert "records/tasks/T-1.yaml:2: yaml: invalid YAML" in res.stdout + res.stderr
    assert "commit refused" in res.stderr
    path.write_text(good.replace("title: ok", "title: fixed").replace("version: 1", "version: 2"))
    git(store_dir, "add", "-A")
    assert commit(store_dir).returncode == 0
    path.write_text(BROKEN)
    git(store_dir, "add", "-A")
    assert commit(store_dir, "--no-verify").returncode == 0  # the user's choice


def test_commit_all_checks_the_index_being_committed(store_dir: Path) -> None:
    Store.open(store_dir).put("tasks", {"id": "T-1", "title": "ok"})
    git(store_dir, "add", "-A")
    assert commit(store_dir).returncode == 0
    (store_dir / "records/tasks/T-1.yaml").write_text(BROKEN)  # not staged: `commit -a` stages it
    res = commit(store_dir, "-a")
    assert res.returncode != 0 and "T-1.yaml:2: yaml" in res.stdout + res.stderr


def test_a_version_going_down_is_refused(store_dir: Path) -> None:
    store = Store.open(store_dir)
    store.put("tasks", {"id": "T-1", "title": "ok"})
    old = (store_dir / "records/tasks/T-1.yaml").read_text()
    store.put("tasks", {"id": "T-1", "title": "newer"})
    git(store_dir, "add", "-A")
    assert commit(store_dir).returncode == 0
    (store_dir / "records/tasks/T-1.yaml").write_text(old)
    git(store_dir, "add", "-A")
    res = commit(store_dir)
    assert (
        res.returncode != 0
        and "T-1.yaml:2: version: version 1 is lower than 2 in HEAD" in res.stdout + res.stderr
    )


def test_an_existing_hook_is_chained_and_hooks_path_respected(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    git(root, "init", "-q")
    hooks = root / "my-hooks"
    hooks.mkdir()
    git(root, "config", "core.hooksPath", "my-hooks")
    foreign = hooks / "pre-commit"
    foreign.write_text("#!/bin/sh\necho foreign-ran > foreign.txt\n")
    foreign.chmod(0o755)
    assert subprocess.run([sys.executable, "-m", "gitstore", "init"], cwd=root).returncode == 0
    assert (hooks / "pre-commit.legacy").read_text().startswith("#!/bin/sh\necho foreign-ran")
    assert "gitstore-pre-commit-hook" in foreign.read_text()
    assert not (root / ".git" / "hooks" / "pre-commit").exists()
    git(root, "add", "-A")
    assert commit(root).returncode == 0
    assert (root / "foreign.txt").read_text() == "foreign-ran\n"
    again = subprocess.run(
        [sys.executable, "-m", "gitstore", "install"], cwd=root, capture_output=True, text=True
    )
    assert again.returncode == 0 and "already installed" in again.stdout  # idempotent


def test_missing_or_broken_gitstore_fails_loudly(store_dir: Path, tmp_path: Path) -> None:
    hook = store_dir / ".git" / "hooks" / "pre-commit"
    text = hook.read_text()
    Store.open(store_dir).put("tasks", {"id": "T-1", "title": "ok"})
    git(store_dir, "add", "-A")
    hook.write_text(
        "\n".join(
            "GITSTORE=/nonexistent/gitstore" if line.startswith("GITSTORE=") else line
            for line in text.splitlines()
        )
        + "\n"
    )
    path_without = os.pathsep.join(
        p for p in os.environ["PATH"].split(os.pathsep) if not (Path(p) / "gitstore").exists()
    )
    res = commit(store_dir, env={"PATH": path_without})
    assert res.returncode != 0 and "'gitstore' command was not found" in res.stderr
    broken = tmp_path / "gitstore"
    broken.write_text("#!/bin/sh\necho 'ImportError: no module named gitstore' >&2\nexit 1\n")
    broken.chmod(0o755)
    hook.write_text(text.replace(text.split("\n")[3], f"GITSTORE={broken}"))
    res = commit(store_dir)
    assert res.returncode != 0 and "ImportError" in res.stderr and "commit refused" in res.stderr


@pytest.mark.skipif(
    shutil.which("pre-commit") is None
    and not (Path(sys.executable).parent / "pre-commit").exists(),
    reason="the pre-commit framework is not installed (pip install pre-commit)",
)
def test_the_pre_commit_framework_runs_our_hook(store_dir: Path, tmp_path: Path) -> None:
    # A copy of this repository as the hook repo, committed, as pre-commit expects.
    hook_repo = tmp_path / "hook-repo"
    shutil.copytree(
        REPO,
        hook_repo,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            "__pycache__",
            "*.egg-info",
            ".hypothesis",
            ".pytest_cache",
            ".mypy_cache",
            ".ruff_cache",
        ),
    )
    git(hook_repo, "init", "-q")
    git(hook_repo, "add", "-A")
    git(hook_repo, "commit", "-qm", "hooks")
    (store_dir / "records/tasks").mkdir(parents=True)
    (store_dir / "records/tasks/T-1.yaml").write_text(BROKEN)
    git(store_dir, "add", "-A")
    pre_commit = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache")}

    def try_repo() -> subprocess.CompletedProcess[str]:
        argv = [
            pre_commit,
            "try-repo",
            str(hook_repo),
            "gitstore-validate",
            "--files",
            "records/tasks/T-1.yaml",
        ]
        return subprocess.run(
            argv, cwd=store_dir, capture_output=True, text=True, env=env, timeout=600
        )

    res = try_repo()
    assert res.returncode == 1, res.stdout + res.stderr
    assert "records/tasks/T-1.yaml:2: yaml: invalid YAML" in res.stdout
    (store_dir / "records/tasks/T-1.yaml").write_text("id: T-1\ntitle: fine\n")
    res = try_repo()
    assert res.returncode == 0, res.stdout + res.stderr


def _drop_blocked(root: Path) -> None:
    config = root / "gitstore.yaml"
    text = config.read_text()
    assert "values: [todo, doing, done, blocked]" in text
    config.write_text(text.replace("values: [todo, doing, done, blocked]", "values: [todo, done]"))


def test_a_clean_merge_the_merged_schema_rejects_is_refused(store_dir: Path) -> None:
    store = Store.open(store_dir)
    store.put("tasks", {"id": "T-1", "title": "a"})
    git(store_dir, "add", "-A")
    assert commit(store_dir).returncode == 0
    git(store_dir, "checkout", "-qb", "other")
    with store.update("tasks", "T-1") as rec:
        rec["status"] = "doing"  # valid here
    git(store_dir, "commit", "-qam", "doing")
    git(store_dir, "checkout", "-q", "main")
    _drop_blocked(store_dir)  # no 'doing' any more: each branch alone is valid
    git(store_dir, "commit", "-qam", "fewer states")
    res = subprocess.run(
        ["git", "merge", "--no-edit", "other"], cwd=store_dir, capture_output=True, text=True
    )
    assert res.returncode != 0, res.stdout + res.stderr
    assert "records/tasks/T-1.yaml:6: schema: status: 'doing'" in res.stdout + res.stderr
    assert "gitstore pre-merge-commit: commit refused" in res.stderr
    assert git(store_dir, "rev-parse", "HEAD^@").count("\n") == 1  # no merge commit was made
    git(store_dir, "merge", "--abort")
    res = subprocess.run(
        ["git", "merge", "--no-edit", "--no-verify", "other"], cwd=store_dir, capture_output=True
    )
    assert res.returncode == 0  # the user's choice, as for a commit
