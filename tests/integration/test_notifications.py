"""Notifications under real concurrency and across real clones: none is ever lost, and they merge
like records through the driver on a plain `git merge`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from gitstore import Store
from gitstore.notifications import ack, inbox, notify
from tests.conftest import git, gitstore
from tests.integration.test_watch import results, spawn


def test_four_processes_notifying_at_once_lose_none(store: Store) -> None:
    written = results([spawn("notifier", str(store.root), "50", f"p{k}") for k in range(4)])
    ids = [i for batch in written for i in batch]
    assert len(ids) == 200 and len(set(ids)) == 200
    found = inbox(store)
    assert sorted(r["id"] for r in found) == sorted(ids)
    assert all(r["status"] == "unread" and r["version"] == 1 for r in found)
    for k in range(4):  # every message of every writer, in the record the writer was told
        mine = {r["message"] for r in found if r["source"] == f"p{k}"}
        assert mine == {f"p{k} says {i}" for i in range(50)}


def test_the_cli_notifying_from_four_processes(store_dir: Path) -> None:
    import sys

    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "gitstore", "notify", f"cli {k}", "--json"],
            cwd=store_dir,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(8)
    ]
    done = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for _, e in done]
    ids = {json.loads(out)["id"] for out, _ in done}
    assert len(ids) == 8
    listed = json.loads(gitstore("inbox", "--json", cwd=store_dir).stdout)
    assert {r["id"] for r in listed} == ids


def test_notifications_merge_across_clones(store_dir: Path, tmp_path: Path) -> None:
    base = Store.open(store_dir)
    task = base.add("tasks", {"title": "review me"})
    shared = notify(base, "read me in both clones", about=task["id"])
    other = notify(base, "acknowledged here, dismissed there")
    git(store_dir, "add", "-A")
    git(store_dir, "commit", "-qm", "base")
    bare = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(store_dir), str(bare))
    clones = []
    for name in ("alice", "daemon"):
        where = tmp_path / name
        git(tmp_path, "clone", "-q", str(bare), str(where))
        assert gitstore("install", cwd=where).returncode == 0
        clones.append(where)
    alice, daemon = (
        Store.open(c, actor=n) for c, n in zip(clones, ("alice", "daemon"), strict=True)
    )
    new_a = notify(alice, "from alice")
    ack(alice, [shared["id"], other["id"]])
    new_d = [notify(daemon, f"from the daemon {i}", source="daemon")["id"] for i in range(3)]
    ack(daemon, [shared["id"]])
    with daemon.update("notifications", other["id"]) as rec:
        rec["status"] = "dismissed"  # later than alice's ack: it wins the field
    for where, who in zip(clones, ("alice", "daemon"), strict=True):
        git(where, "add", "-A")
        git(where, "commit", "-qm", f"{who}'s notifications")
    git(clones[0], "push", "-q")
    git(clones[1], "pull", "-q", "--no-rebase", "--no-edit")  # a real merge, through the driver
    merged = Store.open(clones[1])
    assert git(clones[1], "status", "--porcelain") == ""  # no conflict left
    everything = {r["id"]: r for r in inbox(merged, include_read=True)}
    assert set(everything) == {shared["id"], other["id"], new_a["id"], *new_d}
    assert everything[shared["id"]]["status"] == "read"
    assert everything[other["id"]]["status"] == "dismissed"
    assert {r["id"] for r in inbox(merged)} == {new_a["id"], *new_d}
    assert gitstore("validate", cwd=clones[1]).returncode == 0
