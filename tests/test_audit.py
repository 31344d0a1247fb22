"""``gitstore log`` over the whole store, and ``gitstore sync --json``'s report."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gitstore import Store
from gitstore.audit import store_log
from tests.conftest import flag_status, git, gitstore


def commit_as(root: Path, who: str, message: str, date: str | None = None) -> None:
    """A commit by ``who``, authored and committed at ``date`` (git's --since reads the latter)."""
    import os

    env = {**os.environ, "GIT_AUTHOR_NAME": who, "GIT_AUTHOR_EMAIL": f"{who}@example.com"}
    if date:
        env |= {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    git(root, "add", "-A")
    subprocess.run(["git", "commit", "-qm", message], cwd=root, env=env, check=True)


@pytest.fixture
def history(store_dir: Path) -> Path:
    store = Store.open(store_dir)
    store.put("tasks", {"id": "T-1", "title": "one", "status": "todo"})
    store.put("notifications", {"id": "N-1", "message": "hi"})
    commit_as(store_dir, "alice", "start", "2026-01-01T10:00:00Z")
    with store.update("tasks", "T-1") as rec:
        rec["status"] = "doing"
        rec["owner"] = "bob"
    store.roadmap().set_status("1", "complete")
    commit_as(store_dir, "bob", "work", "2026-02-01T10:00:00Z")
    store.delete("tasks", "T-1")
    commit_as(store_dir, "carol", "clean up", "2026-03-01T10:00:00Z")
    return store_dir


def test_who_changed_which_fields_when(history: Path) -> None:
    entries = store_log(Store.open(history))
    seen = [(e["author"], e["collection"], e["id"], e["event"]) for e in entries]
    assert seen[0] == ("carol", "tasks", "T-1", "deleted")
    assert ("bob", "tasks", "T-1", "changed") in seen and ("bob", "roadmap", "1", "changed") in seen
    assert ("alice", "tasks", "T-1", "created") in seen and (
        "alice",
        "notifications",
        "N-1",
        "created",
    ) in seen
    bob = next(e for e in entries if e["author"] == "bob" and e["id"] == "T-1")
    assert bob["changes"] == {"status": ["todo", "doing"], "owner": [None, "bob"]}
    assert (
        bob["version"] == 2
        and bob["email"] == "bob@example.com"
        and bob["date"].startswith("2026-02-01")
    )
    section = next(e for e in entries if e["collection"] == "roadmap" and e["event"] == "changed")
    assert section["changes"]["Status"][0] == "📝 Planned" and section["text_changed"]


def test_filters(history: Path) -> None:
    store = Store.open(history)
    assert {e["author"] for e in store_log(store, author="bob")} == {"bob"}
    assert {e["collection"] for e in store_log(store, collection="notifications")} == {
        "notifications"
    }
    assert {e["collection"] for e in store_log(store, collection="roadmap")} == {"roadmap"}
    recent = store_log(store, since="2026-01-15")
    assert recent and all(e["date"] >= "2026-02" for e in recent)
    assert len(store_log(store, limit=2)) == 2


def test_cli(history: Path) -> None:
    res = gitstore("log", "--json", "--collection", "tasks", cwd=history)
    assert res.returncode == 0, res.stderr
    assert [e["event"] for e in json.loads(res.stdout)] == ["deleted", "changed", "created"]
    text = gitstore("log", "--author", "bob", cwd=history).stdout
    assert "tasks/T-1 v2 changed" in text and "status: 'todo' -> 'doing'" in text
    one = gitstore("log", "T-1", "--json", cwd=history)
    assert [e["event"] for e in json.loads(one.stdout)][-1] == "created"
    res = gitstore("log", "T-1", "--since", "2026-01-01", cwd=history)
    assert res.returncode == 2 and "whole-store log" in res.stderr
    res = gitstore("log", "-c", "nope", cwd=history)
    assert res.returncode == 2 and "unknown collection" in res.stderr


def test_a_broken_blob_in_history_is_reported_not_fatal(store_dir: Path) -> None:
    (store_dir / "records/tasks").mkdir(parents=True, exist_ok=True)
    (store_dir / "records/tasks/T-9.yaml").write_text("id: T-9\ntitle: [unclosed\n")
    git(store_dir, "add", "-A")
    git(store_dir, "commit", "-qm", "broken", "--no-verify")
    entries = store_log(Store.open(store_dir), collection="tasks")
    assert entries[0]["id"] == "T-9" and "invalid YAML" in entries[0]["problem"]


def test_changes_are_credited_to_the_commit_that_made_them(store_dir: Path) -> None:
    store = Store.open(store_dir)
    store.put("tasks", {"id": "T-1", "title": "base"})
    commit_as(store_dir, "alice", "base")
    git(store_dir, "checkout", "-qb", "side")
    store.put("tasks", {"id": "T-2", "title": "side"})
    commit_as(store_dir, "bob", "side")
    git(store_dir, "checkout", "-q", "main")
    with store.update("tasks", "T-1") as rec:
        rec["owner"] = "alice"
    commit_as(store_dir, "alice", "main")
    git(store_dir, "merge", "-q", "--no-edit", "side")
    entries = store_log(Store.open(store_dir))
    assert {(e["author"], e["id"]) for e in entries} == {
        ("alice", "T-1"),
        ("bob", "T-2"),
        ("alice", "1"),
    }


def test_two_git_processes_whatever_the_history(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.open(store_dir)
    for i in range(30):
        store.put("tasks", {"id": f"T-{i % 5}", "title": f"v{i}"})
        commit_as(store_dir, "alice", f"c{i}")
    started: list[list[str]] = []
    real_popen = subprocess.Popen

    class Popen(real_popen):  # type: ignore[misc,valid-type]
        """Every process gitstore starts (subprocess.run starts them through Popen too)."""

        def __init__(self, args: list[str], *a: object, **k: object) -> None:
            started.append(list(args))
            super().__init__(args, *a, **k)

    monkeypatch.setattr(subprocess, "Popen", Popen)
    entries = store_log(store)
    assert len(entries) >= 30
    commands = [a[1] for a in started]
    assert commands.count("log") == 1 and commands.count("cat-file") == 1 and len(commands) <= 3


# ---------------------------------------------------------------- sync --json


@pytest.fixture
def clones(store_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    Store.open(store_dir).put("tasks", {"id": "T-1", "title": "base", "status": "todo"})
    gitstore("commit", "-m", "base", cwd=store_dir)
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(store_dir, "remote", "add", "origin", str(bare))
    git(store_dir, "push", "-q", "-u", "origin", "main")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(bare), str(other))
    assert gitstore("install", cwd=other).returncode == 0
    return store_dir, other


def test_sync_json_reports_records_in_and_out(clones: tuple[Path, Path]) -> None:
    mine, theirs = clones
    Store.open(theirs).put("tasks", {"id": "T-2", "title": "theirs"})
    Store.open(theirs).roadmap().set_status("1", "doing")
    first = json.loads(gitstore("sync", "--json", cwd=theirs).stdout)
    assert first["records_out"] == ["tasks/T-2"] and first["sections_out"] == ["1"]
    assert first["records_in"] == [] and first["conflicts"] == [] and first["duration_s"] >= 0
    with Store.open(mine).update("tasks", "T-1") as rec:
        rec["owner"] = "me"
    res = gitstore("sync", "--json", cwd=mine)
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["records_in"] == ["tasks/T-2"] and report["sections_in"] == ["1"]
    assert report["records_out"] == ["tasks/T-1"] and report["sections_out"] == []
    assert report["incoming"] == 1 and report["outgoing"] >= 1
    quiet = json.loads(gitstore("sync", "--json", cwd=mine).stdout)
    assert quiet["records_in"] == quiet["records_out"] == []
    assert "1 record(s) in" in gitstore("sync", cwd=theirs).stdout


def test_sync_json_lists_the_conflicts_it_stopped_on(clones: tuple[Path, Path]) -> None:
    mine, theirs = clones
    for root in clones:
        flag_status(root)
        gitstore("commit", "-m", "flag status", cwd=root)
    assert gitstore("sync", cwd=theirs).returncode == 0
    git(mine, "pull", "-q", "--no-rebase", "origin", "main")
    for root, value in ((theirs, "done"), (mine, "blocked")):
        with Store.open(root).update("tasks", "T-1") as rec:
            rec["status"] = value
    assert gitstore("sync", cwd=theirs).returncode == 0
    res = gitstore("sync", "--json", cwd=mine)
    assert res.returncode == 1
    report = json.loads(res.stdout)
    assert "conflicts" in report["error"] and report["conflicts"][0]["fields"] == ["status"]
