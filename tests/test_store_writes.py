"""What a single-record write holds, and when: the record's lock covers the read-modify-write up
to the rename, the directory fsync follows outside it, and the write returns only after that."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from pathlib import Path

import pytest

from gitstore import Store, VersionConflict, WriteError, fs


def taken(path: Path, how: int) -> bool:
    """Whether a fresh open file (another holder) is refused a ``how`` lock on ``path``."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, how | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _update(store: Store) -> None:
    with store.update("tasks", "T-1") as rec:
        rec["title"] = "new"


@pytest.mark.parametrize("write", ["put", "update", "delete"])
def test_the_directory_fsync_runs_after_the_record_lock_is_let_go_and_before_the_return(
    store: Store, monkeypatch: pytest.MonkeyPatch, write: str
) -> None:
    store.put("tasks", {"id": "T-1", "title": "old"})
    path = store.path_of("tasks", "T-1")
    record_lock = store.state / "locks" / "tasks" / "T-1.lock"
    store_lock = store.state / "locks" / "store.lock"
    seen: list[tuple[str, bool, bool, bool]] = []

    def hook(step: str, where: str) -> None:
        if where.endswith("T-1.yaml") or step == "fsync_dir":
            seen.append(
                (
                    step,
                    taken(record_lock, fcntl.LOCK_EX),
                    taken(store_lock, fcntl.LOCK_EX),
                    b"version: 2" in path.read_bytes(),
                )
            )

    monkeypatch.setattr(fs, "fault_hook", hook)
    if write == "put":
        store.put("tasks", {"id": "T-1", "title": "new"})
    elif write == "update":
        _update(store)
    else:
        store.delete("tasks", "T-1")
    monkeypatch.setattr(fs, "fault_hook", None)
    steps = [s[0] for s in seen]
    assert steps[-2:] == ["replace", "fsync_dir"], steps  # the fsync is the write's last step
    # up to the rename the record is locked; at the directory fsync it is free again (another
    # writer may go on), the store lock is still held shared, and the new bytes are in place
    assert all(record for step, record, _, _ in seen if step != "fsync_dir"), seen
    assert seen[-1][1:] == (False, True, True), seen
    assert not taken(record_lock, fcntl.LOCK_EX) and not taken(store_lock, fcntl.LOCK_EX)


def test_a_failed_directory_fsync_is_reported_with_no_lock_held(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put("tasks", {"id": "T-1", "title": "old"})

    def hook(step: str, where: str) -> None:
        if step == "fsync_dir":
            raise OSError(errno.EIO, os.strerror(errno.EIO), where)

    monkeypatch.setattr(fs, "fault_hook", hook)
    with pytest.raises(WriteError, match="directory fsync failed"):
        _update(store)
    monkeypatch.setattr(fs, "fault_hook", None)
    for lock in (store.state / "locks").rglob("*.lock"):
        assert not taken(lock, fcntl.LOCK_EX), lock
    assert store.get("tasks", "T-1")["title"] == "new"  # in place, as the message says
    _update(store)  # and the same thread writes again


def test_a_new_record_keeps_its_locks_through_the_fsync(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new name also holds the lock of its case fold (two spellings, two record locks): the
    whole write, fsync included, stays under both, as the case check needs."""
    record_lock = store.state / "locks" / "tasks" / "T-9.lock"
    held: list[bool] = []

    def hook(step: str, where: str) -> None:
        if step == "fsync_dir" and record_lock.exists():
            held.append(taken(record_lock, fcntl.LOCK_EX))

    monkeypatch.setattr(fs, "fault_hook", hook)
    store.put("tasks", {"id": "T-9", "title": "new"})
    monkeypatch.setattr(fs, "fault_hook", None)
    assert held == [True]


def _open_to(path: Path) -> list[str]:
    """This process's descriptors open on ``path`` (as /proc/self/fd shows them)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/self/fd/{fd}").startswith(str(path)):
                found.append(fd)
    return found


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_the_file_read_stays_open_until_the_lock_is_let_go(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """So the rename does not drop the old file's last link and free its blocks under the lock
    (~100 µs on ext4): it is closed after the release, before the directory fsync."""
    store.put("tasks", {"id": "T-1", "title": "old"})
    path = store.path_of("tasks", "T-1")
    record_lock = store.state / "locks" / "tasks" / "T-1.lock"
    seen: dict[str, tuple[int, bool]] = {}

    def hook(step: str, where: str) -> None:
        if step in ("replace", "lock_release", "fsync_dir"):
            seen[step] = (len(_open_to(path)), taken(record_lock, fcntl.LOCK_EX))

    monkeypatch.setattr(fs, "fault_hook", hook)
    _update(store)
    monkeypatch.setattr(fs, "fault_hook", None)
    # open at the rename and still as the lock is given back; closed by the directory fsync
    assert seen == {"replace": (1, True), "lock_release": (1, True), "fsync_dir": (0, False)}
    assert _open_to(path) == []


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_no_descriptor_is_left_open_by_a_write_that_fails_or_changes_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put("tasks", {"id": "T-1", "title": "old"})
    path = store.path_of("tasks", "T-1")
    before = len(os.listdir("/proc/self/fd"))
    with store.update("tasks", "T-1"):
        pass  # nothing changed: nothing written
    with pytest.raises(ValueError), store.update("tasks", "T-1") as rec:
        rec["title"] = "never"
        raise ValueError
    with pytest.raises(VersionConflict):
        store.put("tasks", {"id": "T-1", "title": "x"}, expected_version=7)

    def hook(step: str, where: str) -> None:
        if step == "fsync":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), where)

    monkeypatch.setattr(fs, "fault_hook", hook)
    with pytest.raises(WriteError):
        _update(store)
    monkeypatch.setattr(fs, "fault_hook", None)
    assert _open_to(path) == [] and len(os.listdir("/proc/self/fd")) == before


def test_the_folder_and_temp_file_are_ready_before_the_record_lock_is_taken(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Making a file in a folder needs no lock (and costs ~50 µs on ext4): the temp file is made
    under the store lock (so no sweep can take it) but before the record's lock."""
    store.put("tasks", {"id": "T-1", "title": "old"})
    folder = store.path_of("tasks", "T-1").parent
    record_lock = store.state / "locks" / "tasks" / "T-1.lock"
    store_lock = store.state / "locks" / "store.lock"
    seen: dict[str, tuple[bool, bool, int]] = {}

    def hook(step: str, where: str) -> None:
        if step in ("open", "read"):
            temps = len(list(folder.glob(".gitstore-tmp-*")))
            seen[step] = (
                taken(record_lock, fcntl.LOCK_EX),
                taken(store_lock, fcntl.LOCK_EX),
                temps,
            )

    monkeypatch.setattr(fs, "fault_hook", hook)
    _update(store)
    monkeypatch.setattr(fs, "fault_hook", None)
    # at the temp's making: record lock free, store lock held; at the read: the temp is there
    assert seen == {"open": (False, True, 0), "read": (True, True, 1)}, seen
    assert not list(folder.glob(".gitstore-tmp-*"))


def test_a_write_that_does_not_happen_leaves_no_temp_file(store: Store) -> None:
    store.put("tasks", {"id": "T-1", "title": "old"})
    folder = store.path_of("tasks", "T-1").parent
    with store.update("tasks", "T-1"):
        pass
    with pytest.raises(ValueError), store.update("tasks", "T-1") as rec:
        rec["title"] = "never"
        raise ValueError
    with pytest.raises(VersionConflict):
        store.put("tasks", {"id": "T-1", "title": "x"}, expected_version=7)
    assert not list(folder.glob(".gitstore-tmp-*"))
    assert store.get("tasks", "T-1")["title"] == "old"


def test_no_room_for_a_temp_file_fails_only_a_write_that_happens(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put("tasks", {"id": "T-1", "title": "old"})
    path = store.path_of("tasks", "T-1")
    before = path.read_bytes()

    def hook(step: str, where: str) -> None:
        if step == "open":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), where)

    monkeypatch.setattr(fs, "fault_hook", hook)
    with store.update("tasks", "T-1"):
        pass  # nothing to write: the full disk is not this update's business
    with pytest.raises(WriteError, match="No space left"), store.update("tasks", "T-1") as rec:
        rec["title"] = "new"
    monkeypatch.setattr(fs, "fault_hook", None)
    assert path.read_bytes() == before and not list(path.parent.glob(".gitstore-tmp-*"))
