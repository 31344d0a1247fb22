"""Sync through a real bare remote: offline work, and six clones converging with nothing lost."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gitstore import Store
from gitstore.record import loads
from tests.conftest import git, gitstore
from tests.integration.test_concurrency import results, spawn


@pytest.fixture
def remote(store_dir: Path, tmp_path: Path) -> Path:
    store = Store.open(store_dir)
    for i in range(1, 6):
        store.put("tasks", {"id": f"T-{i}", "title": f"task {i}", "status": "todo"})
    (store_dir / "ROADMAP.md").write_text(
        "# Roadmap\n\n"
        + "".join(f"### PRIORITY {i}: Item {i}\n**Status**: 📝 Planned\n\n" for i in range(1, 4))
    )
    gitstore("commit", "-m", "base", cwd=store_dir)
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(store_dir, "remote", "add", "origin", str(bare))
    git(store_dir, "push", "-q", "-u", "origin", "main")
    return bare


def clone(remote: Path, where: Path) -> Path:
    git(where.parent, "clone", "-q", str(remote), str(where))
    assert gitstore("install", cwd=where).returncode == 0
    return where


def test_offline_edits_are_sent_by_the_next_sync(
    store_dir: Path, remote: Path, tmp_path: Path
) -> None:
    other = clone(remote, tmp_path / "other")
    moved = remote.with_name("moved.git")
    remote.rename(moved)  # the remote is unreachable
    Store.open(store_dir).put("tasks", {"id": "T-9", "title": "offline work"})
    res = gitstore("sync", cwd=store_dir)
    assert res.returncode == 6 and "unreachable" in res.stderr and "kept" in res.stderr
    assert "T-9" in git(store_dir, "log", "-1", "--stat")  # committed locally
    moved.rename(remote)
    res = gitstore("sync", "--json", cwd=store_dir)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["outgoing"] == 1
    assert gitstore("sync", cwd=other).returncode == 0
    assert Store.open(other).get("tasks", "T-9")["title"] == "offline work"


def test_six_clones_converge(
    remote: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clones = [clone(remote, tmp_path / f"clone{k}") for k in range(6)]
    logs = results([spawn("sync_edits", str(c), str(k), "40") for k, c in enumerate(clones)])
    for _ in range(3):  # every clone syncs until nothing changes
        for c in clones:
            res = gitstore("sync", cwd=c)
            assert res.returncode == 0, res.stderr  # no sync ever needed a human
    trees = {git(c, "rev-parse", "HEAD^{tree}").strip() for c in clones}
    assert len(trees) == 1  # byte-identical
    assert all(git(c, "status", "--porcelain") == "" for c in clones)
    store = Store.open(clones[0])
    road = store.roadmap()
    sections = {s["number"] for s in road.sections()}
    written: dict[tuple[str, str], list[object]] = {}
    for entries in logs:
        for entry in entries:  # type: ignore[union-attr]
            kind = entry[0]
            if kind == "section":
                assert entry[1] in sections  # no section added anywhere is missing
            elif kind == "record":
                assert store.get("tasks", entry[1], include_deleted=True)["id"] == entry[1]
            elif kind == "delete":
                assert store.get("tasks", entry[1], include_deleted=True)["deleted"] is True
            elif kind == "tag":
                assert (
                    entry[2] in store.get("tasks", entry[1])["tags"]
                )  # list union keeps every add
            elif kind == "field":
                written.setdefault((entry[1], entry[2]), []).append((entry[4], entry[3]))
    for (rid, key), edits in written.items():
        final = store.get("tasks", rid)[key]
        latest = max(edits, key=lambda e: e[0])[1]
        assert final == latest, (rid, key, edits)  # the lww winner among all edits made to it
    with capsys.disabled():
        print(
            f"\n[convergence] 6 clones x 40 edits: {len(written)} fields edited concurrently, "
            "each ended on its latest edit"
        )
    for c in clones:
        for path in (c / "records/tasks").glob("*.yaml"):
            loads(path.read_text())  # every record parses
        assert "<<<<<<<" not in (c / "ROADMAP.md").read_text()
    assert subprocess.run(["git", "fsck"], cwd=remote, capture_output=True).returncode == 0


def test_a_flagged_conflict_is_finished_with_gitstore_alone(
    store_dir: Path, remote: Path, tmp_path: Path
) -> None:
    """Conflict through sync; then resolve, commit and sync: no plain git command needed."""
    from tests.conftest import flag_status

    flag_status(store_dir)
    gitstore("commit", "-m", "status is a flag field", cwd=store_dir)
    git(store_dir, "push", "-q")
    other = clone(remote, tmp_path / "other")
    Store.open(other).put("tasks", {"id": "T-1", "title": "task 1", "status": "blocked"})
    assert gitstore("sync", cwd=other).returncode == 0
    Store.open(store_dir).put("tasks", {"id": "T-1", "title": "task 1", "status": "doing"})
    res = gitstore("sync", cwd=store_dir)
    assert res.returncode == 1 and "conflicts" in res.stderr
    early = gitstore("commit", cwd=store_dir)  # refused: the conflict is not settled yet
    assert early.returncode == 1 and "T-1.yaml" in early.stderr and "resolve" in early.stderr
    assert gitstore("resolve", "T-1", "--theirs", cwd=store_dir).returncode == 0
    done = gitstore("commit", cwd=store_dir)
    assert done.returncode == 0, done.stderr
    assert len(git(store_dir, "log", "-1", "--format=%P").split()) == 2  # the merge concluded
    res = gitstore("sync", "--json", cwd=store_dir)
    assert res.returncode == 0, res.stderr
    assert git(store_dir, "status", "--porcelain") == ""
    assert Store.open(store_dir).get("tasks", "T-1")["status"] == "blocked"


def test_sync_refuses_a_missing_remote_or_branch_before_committing(
    store_dir: Path, remote: Path
) -> None:
    Store.open(store_dir).put("tasks", {"id": "T-1", "title": "changed", "status": "todo"})
    head = git(store_dir, "rev-parse", "HEAD")
    res = gitstore("sync", "upstream", cwd=store_dir)
    assert res.returncode == 2 and "no remote named 'upstream'" in res.stderr
    res = gitstore("sync", "--branch", "no-such-branch", cwd=store_dir)
    assert res.returncode == 2 and "has no branch 'no-such-branch'" in res.stderr
    assert git(store_dir, "rev-parse", "HEAD") == head  # nothing committed
    assert "no-such-branch" not in git(store_dir, "ls-remote", "--heads", "origin")
    git(store_dir, "remote", "set-url", "origin", str(remote.parent / "gone.git"))
    res = gitstore("sync", cwd=store_dir)
    assert res.returncode == 6 and "unreachable" in res.stderr  # unknown vs unreachable
