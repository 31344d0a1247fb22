"""commit, log, conflicts, resolve and status against real repositories."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import pytest

from gitstore import Store
from tests.conftest import flag_status, git, gitstore


def test_commit_only_store_files_with_a_generated_message(store_dir: Path) -> None:
    store = Store.open(store_dir)
    (store_dir / "notes.txt").write_text("not store data\n")
    store.put("tasks", {"id": "T-1", "title": "x"})
    res = gitstore("commit", cwd=store_dir)
    assert res.returncode == 0 and "committed" in res.stdout, res.stderr
    assert "?? notes.txt" in git(store_dir, "status", "--porcelain")
    with store.update("tasks", "T-1") as rec:
        rec["status"] = "doing"
        rec["owner"] = "alice"
    assert gitstore("commit", cwd=store_dir).returncode == 0
    assert git(store_dir, "log", "-1", "--format=%s").strip() == "gitstore: T-1 (status, owner)"
    assert gitstore("commit", cwd=store_dir).stdout.strip() == "nothing to commit"


def test_commit_waits_for_gits_index_lock_and_never_removes_it(store_dir: Path) -> None:
    store = Store.open(store_dir)
    store.put("tasks", {"id": "T-1", "title": "x"})
    lock = store_dir / ".git" / "index.lock"
    lock.write_text("")
    res = gitstore("commit", cwd=store_dir, env={"GITSTORE_LOCK_TIMEOUT": "0.5"})
    assert res.returncode == 1 and "index.lock" in res.stderr and res.stderr.count("\n") == 1
    assert lock.exists()  # another git's lock is never deleted
    threading.Timer(0.3, lock.unlink).start()  # the other git finishes in time
    t = time.monotonic()
    res = gitstore("commit", cwd=store_dir, env={"GITSTORE_LOCK_TIMEOUT": "10"})
    assert res.returncode == 0, res.stderr
    assert time.monotonic() - t >= 0.3


def test_log_of_a_record_and_of_a_section(store_dir: Path) -> None:
    store = Store.open(store_dir)
    store.put("tasks", {"id": "T-1", "title": "x"})
    gitstore("commit", "-m", "one", cwd=store_dir)
    with store.update("tasks", "T-1") as rec:
        rec["status"] = "done"
    store.roadmap().set_status("1", "in_progress")
    gitstore("commit", "-m", "two", cwd=store_dir)
    entries = json.loads(gitstore("log", "T-1", "--json", cwd=store_dir).stdout)
    assert [e["event"] for e in entries] == ["changed", "created"]
    assert entries[0]["changes"] == {"status": [None, "done"]} and entries[0]["version"] == 2
    assert entries[0]["author"] == "Test"
    sections = json.loads(gitstore("log", "1", "--json", cwd=store_dir).stdout)
    assert sections[0]["changes"]["Status"] == ["📝 Planned", "🔄 In Progress"]
    human = gitstore("log", "T-1", cwd=store_dir).stdout
    assert "status: None -> 'done'" in human


def test_conflicts_and_resolve(store_dir: Path) -> None:
    flag_status(store_dir)
    diverge(store_dir, theirs={"status": "blocked"}, ours={"status": "doing"})
    assert git_fails(store_dir, "merge", "other")
    listed = gitstore("conflicts", "--json", cwd=store_dir)
    assert listed.returncode == 1
    assert {"collection": "tasks", "id": "T-1", "fields": ["status"]} in json.loads(listed.stdout)
    status = json.loads(gitstore("status", "--json", cwd=store_dir).stdout)
    assert status["conflicts"] and any("unresolved-conflict" in p for p in status["problems"])
    res = gitstore("resolve", "T-1", "--theirs", cwd=store_dir)
    assert res.returncode == 0, res.stderr
    rec = Store.open(store_dir).get("tasks", "T-1")
    assert rec["status"] == "blocked" and "conflicts" not in rec
    assert "M  records/tasks/T-1.yaml" in git(store_dir, "status", "--porcelain")
    assert gitstore("conflicts", cwd=store_dir).returncode == 0
    git(store_dir, "commit", "-qm", "merged")  # the hook validates the resolution


def diverge(root: Path, *, theirs: dict[str, object], ours: dict[str, object]) -> None:
    """T-1 committed on main, then changed one way on branch "other" and another way on main."""
    store = Store.open(root)
    store.put("tasks", {"id": "T-1", "title": "x", "status": "todo"})
    gitstore("commit", cwd=root)
    for branch, changes in (("other", theirs), ("main", ours)):
        git(root, "checkout", "-q", *(["-b"] if branch == "other" else []), branch)
        with store.update("tasks", "T-1") as rec:
            rec.update(changes)
        gitstore("commit", cwd=root)


def git_fails(root: Path, *args: str) -> bool:
    import subprocess

    return subprocess.run(["git", *args], cwd=root, capture_output=True).returncode != 0


def test_status_reports_changes_and_upstream(store_dir: Path, tmp_path: Path) -> None:
    store = Store.open(store_dir)
    store.put("tasks", {"id": "T-1", "title": "x"})
    gitstore("commit", cwd=store_dir)
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(store_dir, "remote", "add", "origin", str(remote))
    git(store_dir, "push", "-q", "-u", "origin", "main")
    store.put("tasks", {"id": "T-2", "title": "y"})
    gitstore("commit", cwd=store_dir)
    store.put("tasks", {"id": "T-3", "title": "z"})
    report = json.loads(gitstore("status", "--json", cwd=store_dir).stdout)
    assert report["ahead"] == 1 and report["behind"] == 0
    assert report["changes"] == ["?? records/tasks/T-3.yaml"] and report["problems"] == []


def test_doctor_on_a_fresh_clone_and_fix(store_dir: Path, tmp_path: Path) -> None:
    Store.open(store_dir).put("tasks", {"id": "T-1", "title": "x"})
    gitstore("commit", cwd=store_dir)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(store_dir), str(clone))
    res = gitstore("doctor", "--json", cwd=clone)
    checks = {c["check"]: c for c in json.loads(res.stdout)}
    assert res.returncode == 1
    assert not checks["merge driver"]["ok"] and not checks["pre-commit hook"]["ok"]
    assert checks[".gitattributes"]["ok"]  # committed, so a clone has it
    (clone / "records/tasks/.gitstore-tmp-T-1.yaml.1.x").write_text("stray")
    fixed = gitstore("doctor", "--fix", cwd=clone)
    assert fixed.returncode == 0, fixed.stdout
    assert "ok   merge driver" in fixed.stdout and not list(clone.rglob(".gitstore-tmp-*"))


def test_check_merge_finds_and_repairs_a_merge_made_without_the_driver(store_dir: Path) -> None:
    import subprocess

    diverge(store_dir, theirs={"owner": "bob"}, ours={"status": "doing"})
    assert gitstore("check-merge", cwd=store_dir).returncode == 0  # no merges yet
    # A merge without the driver: git's line merge conflicts; a person keeps "ours" and commits.
    env = {**__import__("os").environ, "GITSTORE_MERGE": "0"}
    assert (
        subprocess.run(
            ["git", "merge", "other"], cwd=store_dir, env=env, capture_output=True
        ).returncode
        == 1
    )
    git(store_dir, "checkout", "--ours", "records/tasks/T-1.yaml")
    git(store_dir, "add", "-A")
    git(store_dir, "commit", "-qm", "merge by hand", "--no-verify")
    res = gitstore("check-merge", "--json", cwd=store_dir)
    assert (
        res.returncode == 1
        and json.loads(res.stdout)["found"][0]["path"] == "records/tasks/T-1.yaml"
    )
    fixed = gitstore("check-merge", "--fix", cwd=store_dir)
    assert fixed.returncode == 0 and "fixed in" in fixed.stdout, fixed.stdout + fixed.stderr
    rec = Store.open(store_dir).get("tasks", "T-1")
    assert rec["status"] == "doing" and rec["owner"] == "bob"  # the edit the hand merge dropped
    # The bytes are exactly the driver's: merging the same parents with the driver agrees.
    git(store_dir, "checkout", "-qb", "again", "HEAD~2")
    subprocess.run(
        ["git", "merge", "-q", "--no-edit", "other"], cwd=store_dir, check=True, capture_output=True
    )
    driver_bytes = (store_dir / "records/tasks/T-1.yaml").read_bytes()
    git(store_dir, "checkout", "-q", "main")
    assert (store_dir / "records/tasks/T-1.yaml").read_bytes() == driver_bytes


def test_commit_flag_and_auto_commit(store_dir: Path) -> None:
    git(store_dir, "add", "-A")
    git(store_dir, "commit", "-qm", "base")
    assert gitstore("add", "tasks", "T-1", "title=x", "--commit", cwd=store_dir).returncode == 0
    assert git(store_dir, "log", "-1", "--format=%s").strip() == "gitstore: T-1 (new)"
    assert gitstore("set", "T-1", "status=doing", cwd=store_dir).returncode == 0  # not committed
    assert "records/tasks/T-1.yaml" in git(store_dir, "status", "--porcelain")
    config = store_dir / "gitstore.yaml"
    config.write_text(config.read_text() + "\nauto_commit: true\n")
    assert gitstore("roadmap", "status", "1", "complete", cwd=store_dir).returncode == 0
    assert git(store_dir, "status", "--porcelain") == ""  # everything pending went in
    out = gitstore("set", "T-1", "owner=a", "--json", cwd=store_dir)
    assert json.loads(out.stdout)["owner"] == "a"  # --json output stays one JSON document


def test_a_conflicted_roadmap_section_is_listed_and_resolved(store_dir: Path) -> None:
    import subprocess

    gitstore("commit", cwd=store_dir)
    path = store_dir / "ROADMAP.md"
    git(store_dir, "checkout", "-qb", "other")
    path.write_text(path.read_text().replace("Describe the work here", "Their description"))
    gitstore("commit", cwd=store_dir)
    git(store_dir, "checkout", "-q", "main")
    path.write_text(path.read_text().replace("Describe the work here", "Our description"))
    gitstore("commit", cwd=store_dir)
    assert (
        subprocess.run(["git", "merge", "other"], cwd=store_dir, capture_output=True).returncode
        == 1
    )
    listed = json.loads(gitstore("conflicts", "--json", cwd=store_dir).stdout)
    assert listed == [
        {"section": "1", "path": "ROADMAP.md", "fields": [], "problem": "conflict markers"}
    ]
    res = gitstore("resolve", "1", "--theirs", cwd=store_dir)
    assert res.returncode == 0, res.stderr
    text = path.read_text()
    assert "Their description" in text and "Our description" not in text and "<<<<<<<" not in text
    assert re.search(r"<!-- gitstore: id=\w+ version=1 ", text)
    assert "M  ROADMAP.md" in git(store_dir, "status", "--porcelain")  # staged
    git(store_dir, "commit", "-qm", "merged")  # the hook validates it


@pytest.mark.parametrize("index", ["1", ""])
def test_status_sweeps_stray_temp_files_but_no_link_or_folder(
    store_dir: Path, tmp_path: Path, index: str
) -> None:
    """status removes what interrupted writes left in every data folder, with the query index
    (which saw the collection folders' temp names while listing them) and without it; a link
    or folder named like a temp file, and the file a link points to, stay."""
    Store.open(store_dir).put("tasks", {"id": "T-1", "title": "x"})
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    strays = [store_dir / "records/tasks/.gitstore-tmp-T-1.yaml.1.x", store_dir / ".gitstore-tmp-R"]
    for stray in strays:
        stray.write_text("stray")
    link = store_dir / "records/tasks/.gitstore-tmp-link"
    link.symlink_to(outside)
    folder = store_dir / "records/tasks/.gitstore-tmp-dir"
    folder.mkdir()
    env = {"GITSTORE_NO_INDEX": "" if index else "1"}
    res = gitstore("status", "--json", cwd=store_dir, env=env)
    assert res.returncode in (0, 1), res.stderr
    assert not any(s.exists() for s in strays)
    assert link.is_symlink() and folder.is_dir() and outside.read_text() == "keep"
