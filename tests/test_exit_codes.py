"""Every documented exit code, produced by a real command (and the same code with --json), and
the docs saying what the code does."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gitstore.errors import EXIT_CODES, exit_summary
from tests.conftest import git, gitstore

REPO = Path(__file__).resolve().parents[1]


def _broken_record(root: Path) -> None:
    (root / "records/tasks/T-2.yaml").write_text("id: T-2\ntitle: [unclosed\n")


def _no_driver(root: Path) -> None:
    git(root, "config", "--unset", "merge.gitstore.driver")


def _remote(root: Path) -> None:
    bare = root.parent / "remote.git"
    git(root.parent, "init", "-q", "--bare", str(bare))
    git(root, "remote", "add", "origin", str(bare))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    git(root, "push", "-q", "origin", "HEAD:main")


def _unreachable(root: Path) -> None:
    git(root, "remote", "add", "origin", str(root.parent / "no-such-remote.git"))


Arrange = Callable[[Path], None] | None
CASES: list[tuple[int, str, Arrange, list[str], str]] = [
    # (exit code, what, arrange, argv, words of the one error line)
    (0, "ok", None, ["get", "T-1"], ""),
    (1, "a validation problem", _broken_record, ["validate"], "invalid YAML"),
    (1, "a failed doctor check", _no_driver, ["doctor"], ""),
    (1, "record not found", None, ["get", "T-404"], "no record T-404"),
    (1, "section not found", None, ["roadmap", "show", "99"], "no section '99'"),
    (1, "unknown id in the log", None, ["log", "T-77"], "no record or roadmap section"),
    (1, "missing required field", None, ["add", "tasks", "status=doing"], "title: required"),
    (1, "value outside the enum", None, ["set", "T-1", "status=later"], "must be one of"),
    (1, "wrong type (KEY=text)", None, ["set", "T-1", "priority=high"], "not a valid int"),
    (1, "wrong type (KEY:=json)", None, ["set", "T-1", 'priority:="high"'], "not of type int"),
    (1, "id taken", None, ["add", "tasks", "T-1", "title=x"], "already exists"),
    (2, "unknown command", None, ["bogus"], "No such command 'bogus'"),
    (2, "missing argument", None, ["get"], "Missing argument 'ID'"),
    (2, "bad option value", None, ["list", "tasks", "--limit", "x"], "not a valid integer"),
    (2, "KEY=VALUE syntax", None, ["set", "T-1", "justtext"], "expected KEY=VALUE"),
    (2, "invalid id", None, ["add", "tasks", "../x", "title=x"], "bad id"),
    (2, "unknown collection", None, ["list", "nope"], "unknown collection 'nope'"),
    (2, "unknown remote", None, ["sync", "nowhere"], "no remote named 'nowhere'"),
    (2, "unknown remote branch", _remote, ["sync", "--branch", "nope"], "has no branch 'nope'"),
    (
        2,
        "exclusive options",
        None,
        ["roadmap", "move", "1", "--after", "1", "--before", "1"],
        "not both",
    ),
    (2, "rm without --yes, piped", None, ["roadmap", "rm", "1"], "pass --yes"),
    (4, "stale --if-version", None, ["set", "T-1", "title=y", "--if-version", "9"], "expected 9"),
    (6, "unreachable remote", _unreachable, ["sync", "origin"], "unreachable"),
]


@pytest.mark.parametrize(
    ("code", "what", "arrange", "argv", "words"), CASES, ids=[c[1] for c in CASES]
)
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_exit_code(
    store_dir: Path,
    code: int,
    what: str,
    arrange: Arrange,
    argv: list[str],
    words: str,
    as_json: bool,
) -> None:
    assert gitstore("add", "tasks", "T-1", "title=ok", cwd=store_dir).returncode == 0
    if arrange:
        arrange(store_dir)
    res = gitstore(*(["--json"] if as_json else []), *argv, cwd=store_dir)
    assert res.returncode == code, (what, res.stdout, res.stderr)
    if code == 0 or not words:
        return
    if argv[0] == "validate":  # problems are its output, not an error
        assert words in res.stdout
    elif as_json:
        error = json.loads(res.stdout)["error"]
        assert words in error["message"], error
        assert error["code"] != "error"  # every error is classified
    else:
        assert res.stderr.count("\n") == 1 and words in res.stderr, res.stderr


def test_lock_timeout_is_3(store_dir: Path) -> None:
    gitstore("add", "tasks", "T-1", "title=ok", cwd=store_dir)
    holder = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.workers", "hold", str(store_dir), "60"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and json.loads(holder.stdout.readline()) == "holding"
        env = {"GITSTORE_LOCK_TIMEOUT": "0.3"}
        res = gitstore("set", "T-1", "title=y", cwd=store_dir, env=env)
        assert res.returncode == 3 and "lock" in res.stderr, res.stderr
        res = gitstore("--json", "set", "T-1", "title=y", cwd=store_dir, env=env)
        assert res.returncode == 3 and json.loads(res.stdout)["error"]["code"] == "lock_timeout"
    finally:
        holder.kill()
        holder.communicate()


def test_not_a_store_is_5(tmp_path: Path) -> None:
    res = gitstore("list", "tasks", cwd=tmp_path)
    assert res.returncode == 5 and "not a gitstore" in res.stderr
    res = gitstore("--json", "list", "tasks", cwd=tmp_path)
    assert res.returncode == 5 and json.loads(res.stdout)["error"]["code"] == "not_a_store"


def test_every_documented_code_is_produced_above() -> None:
    produced = {c[0] for c in CASES} | {3, 5}  # 3 and 5: the two tests above
    documented = {code for code, _, _ in EXIT_CODES if code < 128}  # 130, 143: test_signals.py
    assert documented == produced


def test_the_docs_give_the_same_codes() -> None:
    summary = exit_summary()
    assert summary.startswith("0 ok, 1 problems found, 2 usage, 3 lock timeout")
    for doc in ("README.md", "docs/cli.md", "gitstore/cli/__init__.py"):
        text = " ".join((REPO / doc).read_text().split())
        assert f"Exit codes: {summary}" in text, doc
    help_text = gitstore("--help", cwd=REPO).stdout
    assert summary in " ".join(help_text.split())
