"""The query index under real processes: ``kill -9`` during a refresh, and several refreshing at
once while the files change under them."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import gitstore.index
from gitstore import Store
from gitstore.clock import next_clock
from gitstore.record import dumps

REPO = Path(__file__).resolve().parents[2]
ROUNDS = 12


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.index_workers", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _write(folder: Path, i: int, status: str, note: str = "") -> None:
    data = {
        "id": f"T-{i}",
        "version": 1,
        "last_modified": next_clock(),
        "modified_by": "t",
        "title": f"task {i} {note}",
        "status": status,
    }
    (folder / f"T-{i}.yaml").write_text(dumps(data))


def _same(store: Store) -> None:
    """The index (refreshed or rebuilt, never bypassed) answers as the files do."""
    before = gitstore.index.fallbacks
    indexed = Store.open(store.root).find("tasks")
    assert gitstore.index.fallbacks == before, "the index was not usable after the kill"
    assert indexed == Store.open(store.root, index=False).find("tasks")
    conn = sqlite3.connect(store.state / "index.sqlite")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        conn.close()


def test_kill_9_during_a_refresh_leaves_a_usable_index(store: Store) -> None:
    folder = store.root / "records" / "tasks"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, 2501):  # over refresh.PARALLEL: the first build forks a worker per core
        _write(folder, i, "doing" if i % 7 == 0 else "todo")
    rng = random.Random(42)
    finished = 0
    longest = 1.5  # the first round builds all 2,500 rows, later ones re-read 300 files
    for round_ in range(ROUNDS):
        proc = spawn("query", str(store.root))
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "go"
        time.sleep(rng.uniform(0, longest))  # a random moment of the refresh
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=60)
        done = "done" in out
        finished += done
        # a query that finished first ran faster than this wait: wait less from now on, so a
        # fast machine kills mid-refresh too (and a slow one just kills earlier in it)
        longest = min(longest, 0.4) / (2 if done else 1)
        _no_orphans(store.root)
        _same(store)
        for i in rng.sample(range(1, 2501), 300):
            _write(folder, i, rng.choice(["todo", "doing", "done"]), note=str(round_))
        for i in rng.sample(range(1, 2501), 20):
            (folder / f"T-{i}.yaml").unlink(missing_ok=True)
    assert finished < ROUNDS, "every query finished before its kill: nothing was tested"


def _no_orphans(root: Path) -> None:
    """The killed query's parse workers end too (they watch their parent)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        alive = []
        for pid in os.listdir("/proc") if os.path.isdir("/proc") else []:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"index_workers" in cmdline and str(root).encode() in cmdline:
                alive.append(pid)
        if not alive:
            return
        time.sleep(0.1)
    raise AssertionError(f"workers outlived the killed query: {alive}")


def test_processes_refreshing_at_once_each_see_their_own_writes(store: Store) -> None:
    for me in range(4):
        for i in range(1, 11):
            store.put("tasks", {"id": f"T-{me}n{i}", "title": "x", "owner": f"w{me}"})
    for i in range(1, 301):  # others' records, so each refresh has something to compare
        store.put("tasks", {"id": f"T-{i}", "title": "other"})
    procs = [spawn("owner", str(store.root), str(me), "40") for me in range(4)]
    done = [proc.communicate(timeout=600) for proc in procs]
    for proc, (out, err) in zip(procs, done, strict=True):
        assert proc.returncode == 0, out + err
        json.loads(out.strip().splitlines()[-1])
    assert Store.open(store.root).find("tasks") == Store.open(store.root, index=False).find("tasks")


def test_a_link_where_the_index_belongs_is_never_followed(store: Store, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.sqlite"
    target.write_bytes(b"keep me")
    store.put("tasks", {"id": "T-1", "title": "x", "status": "doing"})
    os.makedirs(store.state, exist_ok=True)
    (store.state / "index.sqlite").unlink(missing_ok=True)
    (store.state / "index.sqlite").symlink_to(target)
    assert [r["id"] for r in Store.open(store.root).find("tasks")] == ["T-1"]
    assert target.read_bytes() == b"keep me"
    assert not (store.state / "index.sqlite").is_symlink()
