"""Locks never leak: timeouts landing right around the holder's release, and I/O errors on the
lock files themselves. Each round ends by proving the lock is free, from a fresh open file (a
leaked lock in this process would refuse it: flock locks belong to open files, not processes)."""

from __future__ import annotations

import errno
import fcntl
import os
import random
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from gitstore import GitStoreError, Store, fs, lock
from gitstore.errors import LockTimeout
from gitstore.lock import FileLock

ROUNDS = 2000

HOLDER = """
import sys, time
from pathlib import Path
from gitstore.lock import FileLock
lock = FileLock(Path(sys.argv[1]), timeout=60)
for line in sys.stdin:
    lock.acquire()
    print("held", flush=True)
    time.sleep(float(line) / 1e6)
    lock.release()
    print("released", flush=True)
"""


def free(path: Path) -> bool:
    """Whether anyone (this process included) holds a lock on ``path``."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing drops the probe's own lock
    return True


def race(path: Path, rounds: int, *, shared: bool) -> dict[str, int]:
    """``rounds`` times: a holder process takes the lock for d µs; we wait about d µs for it."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None and holder.stdout is not None
    rng = random.Random(7)
    seen = {"acquired": 0, "timed out": 0}
    try:
        for _ in range(rounds):
            hold = rng.randint(0, 3000)
            holder.stdin.write(f"{hold}\n")
            holder.stdin.flush()
            assert holder.stdout.readline() == "held\n"
            mine = FileLock(
                path, shared=shared, timeout=max(hold + rng.randint(-500, 500), 1) / 1e6
            )
            try:
                mine.acquire()
            except LockTimeout:
                seen["timed out"] += 1
            else:
                seen["acquired"] += 1
                mine.release()
            assert holder.stdout.readline() == "released\n"
            assert free(path), f"lock leaked after {seen}"
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()
    return seen


@pytest.mark.slow
@pytest.mark.parametrize("shared", [False, True], ids=["exclusive", "shared"])
def test_a_timeout_at_the_release_never_leaves_the_lock_held(tmp_path: Path, shared: bool) -> None:
    path = tmp_path / "store.lock"
    seen = race(path, ROUNDS, shared=shared)
    print(f"\n[lock stress, {'shared' if shared else 'exclusive'}] {ROUNDS} rounds: {seen}")


@pytest.mark.slow
def test_the_polling_wait_off_the_main_thread_never_leaks(tmp_path: Path) -> None:
    path = tmp_path / "store.lock"
    result: dict[str, int] = {}
    worker = threading.Thread(target=lambda: result.update(race(path, 300, shared=False)))
    worker.start()
    worker.join(timeout=300)
    assert not worker.is_alive() and sum(result.values()) == 300
    print(f"\n[lock stress, polling] 300 rounds: {result}")


# ---------------------------------------------------------------- I/O errors on lock files

LOCK_STEPS = ("lock_open", "lock_holder", "lock_release")
ERRORS = (errno.ENOSPC, errno.EACCES, errno.EROFS, errno.EIO, errno.ENAMETOOLONG)


@pytest.mark.parametrize("error", ERRORS, ids=errno.errorcode.get)
@pytest.mark.parametrize("step", LOCK_STEPS)
@pytest.mark.parametrize("operation", ["put", "update", "transaction", "roadmap"])
def test_an_io_error_on_a_lock_file_never_leaves_a_lock_held(
    store: Store, monkeypatch: pytest.MonkeyPatch, step: str, error: int, operation: str
) -> None:
    store.put("tasks", {"id": "T-1", "title": "old"})
    before = store.path_of("tasks", "T-1").read_bytes()
    lock._forget_fds()  # so the lock files are opened again, through the fault

    def hook(name: str, path: str) -> None:
        if name == step:
            raise OSError(error, os.strerror(error), path)

    monkeypatch.setattr(fs, "fault_hook", hook)
    try:
        if operation == "put":
            store.put("tasks", {"id": "T-1", "title": "new"})
        elif operation == "update":
            with store.update("tasks", "T-1") as rec:
                rec["title"] = "new"
        elif operation == "transaction":
            with store.transaction() as tx:
                tx.put("tasks", {"id": "T-1", "title": "new"})
        else:
            store.roadmap().set_fields("1", {"Owner": "alice"})
        outcome = "written"
    except GitStoreError as err:
        assert err.path and "lock" in err.path, err
        outcome = "refused"
    finally:
        monkeypatch.setattr(fs, "fault_hook", None)
    after = store.path_of("tasks", "T-1").read_bytes()
    if operation != "roadmap":
        assert after == before if outcome == "refused" else b"title: new" in after
    # Only opening a lock file can fail the write; the holder hint and its clearing are hints.
    assert outcome == ("refused" if step == "lock_open" else "written")
    for held in (store.state / "locks").rglob("*.lock"):
        assert free(held), held
    store.put("tasks", {"id": "T-1", "title": "again"})  # and the store goes on working
