"""The watcher scan by scan, in process: which events each kind of change gives, and what it does
with files that cannot be records. (tests/integration/test_watch.py runs the real command.)"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitstore import Store, UsageError, fs
from gitstore.changes import changed_fields
from gitstore.watch import Watcher, watch
from tests.conftest import git


def brief(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(e["event"], e["id"], e["version"], e["changed"]) for e in events]


def test_created_changed_deleted_removed(store: Store) -> None:
    watcher = Watcher(store)
    assert watcher.poll() == []
    store.put("tasks", {"id": "T-1", "title": "x", "status": "todo"})
    [created] = watcher.poll()
    assert created == {
        "kind": "record",
        "event": "created",
        "collection": "tasks",
        "id": "T-1",
        "version": 1,
        "changed": ["title", "status"],
        "who": "tester",
        "last_modified": store.get("tasks", "T-1")["last_modified"],
        "path": "records/tasks/T-1.yaml",
    }
    assert watcher.poll() == []  # nothing new: nothing said
    with store.update("tasks", "T-1") as rec:
        rec["status"] = "doing"
        rec["tags"] = ["a"]
    assert brief(watcher.poll()) == [("changed", "T-1", 2, ["status", "tags"])]
    store.delete("tasks", "T-1")
    assert brief(watcher.poll()) == [("deleted", "T-1", 3, ["deleted"])]
    (store.root / "records/tasks/T-1.yaml").unlink()
    [gone] = watcher.poll()
    assert (gone["event"], gone["version"], gone["who"]) == ("removed", 3, None)


def test_two_writes_between_scans_are_one_event(store: Store) -> None:
    watcher = Watcher(store)
    store.put("tasks", {"id": "T-1", "title": "x"})
    with store.update("tasks", "T-1") as rec:
        rec["owner"] = "a"
    assert brief(watcher.poll()) == [("created", "T-1", 2, ["title", "owner"])]


def test_the_same_bytes_rewritten_are_no_event(store: Store) -> None:
    store.put("tasks", {"id": "T-1", "title": "x"})
    watcher = Watcher(store)
    path = store.root / "records/tasks/T-1.yaml"
    fs.atomic_write(path, path.read_bytes(), root=store.root)  # a new inode, the same content
    assert watcher.poll() == []


def test_a_hand_edit_in_place_is_seen(store: Store) -> None:
    store.put("tasks", {"id": "T-1", "title": "x"})
    watcher = Watcher(store)
    path = store.root / "records/tasks/T-1.yaml"
    with path.open("r+") as f:  # same inode, same size: only the content and times differ
        text = f.read()
        f.seek(0)
        f.write(text.replace("title: x", "title: y"))
    assert brief(watcher.poll()) == [("changed", "T-1", 1, ["title"])]


def test_a_broken_file_is_reported_once_then_its_repair(store: Store) -> None:
    store.put("tasks", {"id": "T-1", "title": "x"})
    watcher = Watcher(store)
    path = store.root / "records/tasks/T-1.yaml"
    good = path.read_bytes()
    path.write_text("id: T-1\ntitle: [unclosed\n")
    assert watcher.poll() == []  # perhaps half-written: looked at again before it is reported
    [bad] = watcher.poll()
    assert bad["event"] == "invalid" and bad["id"] == "T-1" and bad["error"]
    assert watcher.poll() == [] and watcher.poll() == []  # once
    path.write_bytes(good.replace(b"title: x", b"title: z"))
    assert brief(watcher.poll()) == [("changed", "T-1", 1, ["title"])]  # against the last good


def test_a_half_written_file_is_no_event(store: Store) -> None:
    store.put("tasks", {"id": "T-1", "title": "x"})
    watcher = Watcher(store)
    path = store.root / "records/tasks/T-1.yaml"
    full = path.read_bytes()
    path.write_bytes(b"")  # as git checkout leaves it for a moment
    assert watcher.poll() == []
    path.write_bytes(full.replace(b"title: x", b"title: y"))
    assert brief(watcher.poll()) == [("changed", "T-1", 1, ["title"])]


def test_a_linked_collection_folder_is_reported_not_followed(store: Store, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "T-1.yaml").write_text("id: T-1\ntitle: secret\n")
    watcher = Watcher(store)
    folder = store.root / "records/tasks"
    folder.parent.mkdir(parents=True, exist_ok=True)
    if folder.exists():
        folder.rmdir()
    folder.symlink_to(outside)
    [bad] = watcher.poll()
    assert bad["event"] == "invalid" and bad["path"] == "records/tasks"
    assert "symlink" in bad["error"]
    assert watcher.poll() == []  # once
    folder.unlink()


def test_an_oversize_file_is_reported_once(store: Store) -> None:
    watcher = Watcher(store)
    path = store.root / "records/tasks/T-1.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"id: T-1\nnotes: " + b"x" * (store.config.max_record_bytes + 1) + b"\n")
    [bad] = watcher.poll()
    assert "limit" in bad["error"]
    assert watcher.poll() == []
    path.unlink()


ROADMAP = """\
# Roadmap

**Last Updated**: today

### PRIORITY 1: One
**Status**: 📝 Planned

Body of one.

### PRIORITY 2: Two
**Status**: 📝 Planned
"""


def test_roadmap_sections(store: Store) -> None:
    road = store.roadmap()
    road.path.write_text(ROADMAP)
    watcher = Watcher(store)
    road.set_status("1", "complete")
    [event] = watcher.poll()
    assert (event["kind"], event["id"], event["changed"], event["who"]) == (
        "section",
        "1",
        ["Status"],
        "tester",
    )
    assert event["version"] == 1 and event["collection"] is None and event["path"] == "ROADMAP.md"
    text = road.path.read_text()
    road.path.write_text(text.replace("Body of one.", "Body of one, longer."))
    assert brief(watcher.poll()) == [("changed", "1", 1, ["body"])]
    road.path.write_text(road.path.read_text().replace("**Last Updated**: today", "x"))
    assert watcher.poll() == []  # the preamble is not a section
    road.add("Three")
    [added] = watcher.poll()
    assert (added["event"], added["id"]) == ("created", "3")
    road.remove("2")
    assert [(e["event"], e["id"]) for e in watcher.poll()] == [("removed", "2")]


def test_since_a_commit(store: Store) -> None:
    store.put("tasks", {"id": "T-1", "title": "x"})
    store.roadmap().path.write_text(ROADMAP)
    git(store.root, "add", "-A")
    git(store.root, "commit", "-qm", "base")
    store.put("tasks", {"id": "T-2", "title": "y"})
    store.roadmap().set_fields("2", {"Owner": "ann"})
    assert Watcher(store).poll() == []
    got = Watcher(store, since="HEAD").poll()
    assert [(e["kind"], e["event"], e["id"], e["changed"]) for e in got] == [
        ("record", "created", "T-2", ["title"]),
        ("section", "changed", "2", ["Owner"]),
    ]


def test_since_a_commit_ignores_links_in_it(store: Store) -> None:
    folder = store.root / "records/tasks"
    folder.mkdir(parents=True, exist_ok=True)
    os.symlink("/etc/passwd", folder / "T-9.yaml")
    git(store.root, "add", "-A")
    git(store.root, "commit", "-qm", "a link", "--no-verify")
    os.unlink(folder / "T-9.yaml")
    assert Watcher(store, since="HEAD").poll() == []  # the commit's link was never a state


@pytest.mark.parametrize("rev", ["nope", "", "-p", "HEAD~5"])
def test_since_must_be_a_commit(store: Store, rev: str) -> None:
    with pytest.raises(UsageError, match="not a commit"):
        Watcher(store, since=rev)


@pytest.mark.parametrize("seconds", [0, -1, float("nan"), 1e9])
def test_interval_is_checked(store: Store, seconds: float) -> None:
    with pytest.raises(UsageError, match="interval"):
        next(watch(store, interval=seconds))


def test_watch_yields_batches_until_stopped(store: Store) -> None:
    batches: list[list[dict[str, Any]]] = []
    store.put("tasks", {"id": "T-1", "title": "x"})  # there before: the starting point

    def stop() -> bool:  # first asked after the starting scan
        if not batches and not (store.root / "records/tasks/T-2.yaml").exists():
            store.put("tasks", {"id": "T-2", "title": "x"})
        return len(batches) >= 2

    for batch in watch(store, interval=0.01, stop=stop):
        batches.append(batch)
        store.put("tasks", {"id": f"T-{len(batches) + 2}", "title": "x"})
    assert [[e["id"] for e in b] for b in batches] == [["T-2"], ["T-3"]]


values = st.one_of(
    st.none(), st.integers(), st.text(max_size=3), st.lists(st.integers(), max_size=2)
)
records = st.dictionaries(st.sampled_from(["a", "b", "c", "version", "clocks"]), values)


@given(records, records)
def test_changed_fields_are_exactly_the_keys_that_differ(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    changed = changed_fields(old, new)
    assert len(changed) == len(set(changed))
    for key in {*old, *new} - {"version", "clocks"}:
        differs = key not in old or key not in new or old[key] != new[key]
        assert (key in changed) == differs
    assert "version" not in changed and "clocks" not in changed
    assert changed_fields(new, new) == []


def test_no_scan_while_git_changes_the_working_tree(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    watcher = Watcher(store)
    lock = store.root / ".git/index.lock"
    lock.touch()  # as during a checkout, merge or pull
    store.put("tasks", {"id": "T-1", "title": "x"})
    assert watcher.poll() == []
    lock.unlink()
    assert brief(watcher.poll()) == [("created", "T-1", 1, ["title"])]
    lock.touch()  # a lock a crashed git left: after LOCK_PATIENCE it holds nothing back
    monkeypatch.setattr("gitstore.watch.LOCK_PATIENCE", 0.0)
    store.put("tasks", {"id": "T-2", "title": "y"})
    assert brief(watcher.poll()) == [("created", "T-2", 1, ["title"])]
    lock.unlink()


def test_a_scan_that_git_overlapped_is_undone(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put("tasks", {"id": "T-1", "title": "x"})
    watcher = Watcher(store)
    path = store.root / "records/tasks/T-1.yaml"
    full = path.read_bytes()
    path.write_bytes(full.replace(b"title: x", b"title: y"))
    calls = []

    def busy_at_the_end(now: float) -> bool:
        calls.append(now)
        return len(calls) == 2  # free when the scan starts, busy when it ends

    monkeypatch.setattr(watcher, "_git_busy", busy_at_the_end)
    assert watcher.poll() == []
    assert brief(watcher.poll()) == [("changed", "T-1", 1, ["title"])]  # seen again, once
    assert watcher.poll() == []


def test_since_in_a_store_below_the_repository_root(tmp_path: Path) -> None:
    from gitstore.initialize import init_store

    git(tmp_path, "init", "-q", str(tmp_path / "repo"))
    root = tmp_path / "repo/planning"
    init_store(root)
    store = Store.open(root)
    store.put("tasks", {"id": "T-1", "title": "x"})
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base", "--no-verify")
    with store.update("tasks", "T-1") as rec:
        rec["owner"] = "ann"
    got = Watcher(store, since="HEAD").poll()
    assert brief(got) == [("changed", "T-1", 2, ["owner"])]
    assert got[0]["path"] == "records/tasks/T-1.yaml"
