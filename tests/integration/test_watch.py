"""A real `gitstore watch` process, read line by line, while real processes and `git pull` change
the store: every state is reported once, none is missed, and the watcher stops cleanly.

No timing asserts: the test waits (with a generous timeout) for the lines it expects, then checks
what they say. "Exactly once" for a polling watcher is about states: a record written twice
between two scans is reported once, at its later version; so the free-running writers check that
each record's last version is reported and no (id, version) twice, and the lock-step writers (who
wait for each version to be reported before writing the next) check that every version is.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitstore import Store
from tests.conftest import git, gitstore
from tests.integration.test_concurrency import REPO

TIMEOUT = 120.0


class Watching:
    """``gitstore watch`` in a subprocess; its lines parsed as they come."""

    def __init__(
        self, root: Path, *args: str, on_line: Callable[[dict[str, Any]], None] | None = None
    ):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gitstore", "watch", "--interval", "0.05", *args],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[dict[str, Any]] = []
        self.changed = threading.Condition()
        self.on_line = on_line
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            event = json.loads(line)
            if self.on_line is not None:
                self.on_line(event)
            with self.changed:
                self.lines.append(event)
                self.changed.notify_all()

    def wait_for(self, done: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
        with self.changed:
            ok = self.changed.wait_for(lambda: done(self.lines), timeout=TIMEOUT)
        assert ok, f"not reported in {TIMEOUT} s; got {self.lines[-5:]}"
        return list(self.lines)

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str]:
        self.proc.send_signal(signum)
        _, stderr = self.proc.communicate(timeout=TIMEOUT)
        self.reader.join(TIMEOUT)
        return self.proc.returncode, stderr


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.notify_workers", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def results(procs: list[subprocess.Popen[str]]) -> list[Any]:
    done = [proc.communicate(timeout=600) for proc in procs]
    for proc, (_, stderr) in zip(procs, done, strict=True):
        assert proc.returncode == 0, stderr
    return [json.loads(out.strip().splitlines()[-1]) for out, _ in done]


def records(lines: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(e["id"], e["version"]) for e in lines if e["kind"] == "record"]


def committed(root: Path) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")


def test_four_free_running_writers_every_final_state_once(store_dir: Path) -> None:
    committed(store_dir)
    watching = Watching(store_dir, "--since", "HEAD")  # from the commit: no start-up race
    finals: dict[str, int] = {}
    for final in results([spawn("writer", str(store_dir), str(w), "25", "3") for w in range(4)]):
        finals |= final
    assert len(finals) == 100
    lines = watching.wait_for(lambda got: set(finals.items()) <= set(records(got)))
    code, stderr = watching.stop()
    assert code == 0 and stderr == ""
    seen = records(watching.lines)
    assert len(seen) == len(set(seen)), "a state reported twice"
    assert {rid for rid, _ in seen} == set(finals)  # nothing that nobody wrote
    for rid, final in finals.items():
        versions = [v for r, v in seen if r == rid]
        assert versions == sorted(versions) and versions[-1] == final
    firsts = {}
    for event in lines:
        firsts.setdefault(event["id"], event)
    assert all(e["event"] == "created" and e["who"].startswith("w") for e in firsts.values())


def test_lockstep_writers_every_version_exactly_once(store_dir: Path, tmp_path: Path) -> None:
    seen_dir = tmp_path / "seen"
    seen_dir.mkdir()

    def mark(event: dict[str, Any]) -> None:
        if event["kind"] == "record":
            (seen_dir / f"{event['id']}@{event['version']}").touch()

    committed(store_dir)
    watching = Watching(store_dir, "--since", "HEAD", on_line=mark)
    ids = [f"T-lock{w}" for w in range(4)]
    written = results([spawn("lockstep", str(store_dir), rid, "30", str(seen_dir)) for rid in ids])
    code, stderr = watching.stop(signal.SIGINT)
    assert code == 0 and stderr == ""
    assert all(w == list(range(1, 31)) for w in written)
    counts = Counter(records(watching.lines))
    assert counts == Counter({(rid, v): 1 for rid in ids for v in range(1, 31)})
    changes = [e["changed"] for e in watching.lines if e["version"] > 1]
    assert changes and all(c == ["title"] for c in changes)


def test_changes_from_git_pull_are_reported_once(store_dir: Path, tmp_path: Path) -> None:
    store = Store.open(store_dir)
    for i in range(1, 6):
        store.put("tasks", {"id": f"T-{i}", "title": f"task {i}", "status": "todo"})
    (store_dir / "ROADMAP.md").write_text(
        "# Roadmap\n\n### PRIORITY 1: One\n**Status**: 📝 Planned\n\n"
        "### PRIORITY 2: Two\n**Status**: 📝 Planned\n"
    )
    committed(store_dir)
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(store_dir, "remote", "add", "origin", str(bare))
    git(store_dir, "push", "-q", "-u", "origin", "main")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(bare), str(other))
    assert gitstore("install", cwd=other).returncode == 0
    theirs = Store.open(other, actor="bob")
    for i in (1, 2, 3):
        with theirs.update("tasks", f"T-{i}") as rec:
            rec["owner"] = "bob"
    theirs.delete("tasks", "T-5")
    theirs.put("tasks", {"id": "T-9", "title": "from bob"})
    theirs.roadmap().set_status("2", "complete")
    git(other, "add", "-A")
    git(other, "commit", "-qm", "bob's work")
    git(other, "push", "-q")

    ours = Store.open(store_dir, actor="alice")
    with ours.update("tasks", "T-1") as rec:  # the same record, another field: a real merge
        rec["status"] = "doing"
    committed(store_dir)
    watching = Watching(store_dir, "--since", "HEAD")  # alice's own edit is not news
    # A line proves the watcher is scanning before the pull.
    ours.put("tasks", {"id": "T-0", "title": "ready?"})
    watching.wait_for(lambda got: ("T-0", 1) in records(got))
    pulled = subprocess.run(
        ["git", "pull", "-q", "--no-rebase", "--no-edit"], cwd=store_dir, capture_output=True
    )
    assert pulled.returncode == 0, pulled.stderr
    merged = Store.open(store_dir)
    expected = {
        rid: merged.get("tasks", rid, include_deleted=True)["version"]
        for rid in ("T-1", "T-2", "T-3", "T-5", "T-9")
    }
    lines = watching.wait_for(
        lambda got: (
            set(expected.items()) <= set(records(got)) and any(e["kind"] == "section" for e in got)
        )
    )
    code, stderr = watching.stop()
    assert code == 0 and stderr == ""
    by_id = Counter(e["id"] for e in lines)
    assert all(by_id[rid] == 1 for rid in expected), by_id  # once each
    assert by_id["T-4"] == 0  # untouched by the pull
    events = {e["id"]: e for e in lines}
    assert events["T-1"]["changed"] == ["owner"] and merged.get("tasks", "T-1")["status"] == "doing"
    assert events["T-5"]["event"] == "deleted" and events["T-9"]["event"] == "created"
    section = [e for e in lines if e["kind"] == "section"]
    assert [(s["id"], s["changed"], s["who"]) for s in section] == [("2", ["Status"], "bob")]


def test_since_a_commit_then_live(store_dir: Path) -> None:
    """--since REV reports what changed since that commit (net), then goes on live."""
    store = Store.open(store_dir)
    store.put("tasks", {"id": "T-1", "title": "one"})
    store.put("tasks", {"id": "T-2", "title": "two"})
    committed(store_dir)
    start = git(store_dir, "rev-parse", "HEAD").strip()
    with store.update("tasks", "T-1") as rec:
        rec["owner"] = "carol"
    with store.update("tasks", "T-1") as rec:
        rec["owner"] = "dave"
    store.delete("tasks", "T-2")
    committed(store_dir)
    store.put("tasks", {"id": "T-3", "title": "uncommitted"})
    (store_dir / "records/tasks/T-2.yaml").unlink()  # gone from the working tree altogether
    watching = Watching(store_dir, "--since", start)
    lines = watching.wait_for(lambda got: len(got) >= 3)
    store.put("tasks", {"id": "T-4", "title": "live"})
    lines = watching.wait_for(lambda got: ("T-4", 1) in records(got))
    code, _ = watching.stop()
    assert code == 0
    got = {e["id"]: (e["event"], e["version"], e["changed"]) for e in lines}
    assert got == {
        "T-1": ("changed", 3, ["owner"]),
        "T-2": ("removed", 1, []),
        "T-3": ("created", 1, ["title"]),
        "T-4": ("created", 1, ["title"]),
    }


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_stops_cleanly_on_a_signal(store_dir: Path, signum: int) -> None:
    committed(store_dir)
    watching = Watching(store_dir, "--since", "HEAD")
    Store.open(store_dir).put("tasks", {"id": "T-1", "title": "x"})
    watching.wait_for(lambda got: len(got) == 1)
    code, stderr = watching.stop(signum)
    assert (code, stderr) == (0, "")


def test_hostile_files_are_reported_never_followed(store_dir: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("id: T-7\ntitle: outside the store\n")
    committed(store_dir)
    watching = Watching(store_dir, "--since", "HEAD")
    folder = store_dir / "records/tasks"
    folder.mkdir(parents=True, exist_ok=True)
    os.symlink(secret, folder / "T-7.yaml")
    os.mkfifo(folder / "T-8.yaml")  # opening it would block the watcher forever
    Store.open(store_dir).put("tasks", {"id": "T-1", "title": "still watched"})
    lines = watching.wait_for(lambda got: {"T-1", "T-7", "T-8"} <= {e["id"] for e in got})
    Store.open(store_dir).put("tasks", {"id": "T-2", "title": "and after"})
    lines = watching.wait_for(lambda got: ("T-2", 1) in records(got))
    code, _ = watching.stop()
    assert code == 0
    bad = {e["id"]: e for e in lines if e["event"] == "invalid"}
    assert "symlink" in bad["T-7"]["error"] and "FIFO" in bad["T-8"]["error"]
    assert "outside the store" not in json.dumps(lines)
    assert Counter(e["id"] for e in lines)["T-7"] == 1  # reported once, not every scan


def test_changes_from_gitstore_sync_are_reported_once(store_dir: Path, tmp_path: Path) -> None:
    Store.open(store_dir).put("tasks", {"id": "T-1", "title": "shared"})
    committed(store_dir)
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(store_dir, "remote", "add", "origin", str(bare))
    git(store_dir, "push", "-q", "-u", "origin", "main")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(bare), str(other))
    assert gitstore("install", cwd=other).returncode == 0
    with Store.open(other, actor="bob").update("tasks", "T-1") as rec:
        rec["owner"] = "bob"
    assert gitstore("sync", cwd=other, env={"GITSTORE_USER": "bob"}).returncode == 0
    watching = Watching(store_dir, "--since", "HEAD")
    with Store.open(store_dir, actor="alice").update("tasks", "T-1") as rec:
        rec["status"] = "doing"  # uncommitted: sync commits it, then merges bob's edit
    watching.wait_for(lambda got: ("T-1", 2) in records(got))
    res = gitstore("sync", cwd=store_dir)
    assert res.returncode == 0, res.stderr
    final = Store.open(store_dir).get("tasks", "T-1")
    assert (final["owner"], final["status"]) == ("bob", "doing")
    lines = watching.wait_for(lambda got: ("T-1", final["version"]) in records(got))
    code, _ = watching.stop()
    assert code == 0
    assert records(lines) == [("T-1", 2), ("T-1", final["version"])]
    assert lines[-1]["changed"] == ["owner"]
