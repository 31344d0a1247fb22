"""The lock's bookkeeping: the holder hint, written and cleared in place, and signals held off
while a lock is marked taken or given back (deterministic: the signal is sent from inside)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitstore import fs, lock
from gitstore.errors import LockTimeout
from gitstore.lock import WIDTH, FileLock, hint


def free(path: Path) -> bool:
    """Whether no one (this process included) holds a lock on ``path``: a fresh open file."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


class Interrupted(Exception):
    pass


@pytest.fixture
def sigterm_raises() -> Iterator[None]:
    def handler(signum: int, frame: object) -> None:
        raise Interrupted

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_the_holder_hint_names_the_holder_and_is_cleared_on_release(tmp_path: Path) -> None:
    path = tmp_path / "locks" / "T-1.lock"
    with FileLock(path):
        text = path.read_text()
        assert text.startswith(f"pid={os.getpid()} since=") and " command=" in text
        assert len(text.encode()) == WIDTH and text.endswith("\n")  # overwritten in place
    assert path.read_text().strip() == ""
    assert free(path)
    with FileLock(path, shared=True):  # a shared holder writes nothing
        assert path.read_text().strip() == ""


def test_only_the_hint_is_shown_of_a_longer_file(tmp_path: Path) -> None:
    """An older version's longer line, or a note a holder left after the hint, is never shown
    as the holder."""
    path = tmp_path / "old.lock"
    path.write_text("pid=1 since=2020-01-01T00:00:00Z command=" + "#" * 900 + "\n")
    lock._forget_fds()
    with FileLock(path):
        assert hint(path).startswith(f"pid={os.getpid()} ") and "#" not in hint(path)
    assert hint(path) == ""


def test_a_waiter_that_times_out_names_the_holder_or_the_shared_holders(tmp_path: Path) -> None:
    path = tmp_path / "store.lock"
    other = os.open(path, os.O_RDWR | os.O_CREAT)  # another open file: another holder
    try:
        with FileLock(path):
            pass  # leaves the file blank
        fcntl.flock(other, fcntl.LOCK_SH)
        with pytest.raises(LockTimeout, match=r"held by other writers \(shared\)"):
            FileLock(path, timeout=0.01).acquire()
        fcntl.flock(other, fcntl.LOCK_UN)
        os.pwrite(other, lock._holder_bytes(), 0)  # what an exclusive holder writes
        fcntl.flock(other, fcntl.LOCK_EX)
        with pytest.raises(LockTimeout, match=rf"held by pid={os.getpid()} since="):
            FileLock(path, timeout=0.01).acquire()
    finally:
        os.close(other)
    assert free(path)


@pytest.mark.parametrize("step", ["lock_holder", "lock_release"])
def test_a_signal_during_the_bookkeeping_is_raised_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sigterm_raises: None, step: str
) -> None:
    """SIGTERM sent while a lock is being marked held (writing the hint) or given back (clearing
    it) is raised only once that is done — the code after the kill still runs — and leaves no
    lock held and nothing believed held."""
    path = tmp_path / "T-1.lock"
    ran: list[str] = []

    def hook(name: str, where: str) -> None:
        if name == step:
            os.kill(os.getpid(), signal.SIGTERM)
            ran.append(name)  # reached only when the signal is held off

    taken = FileLock(path)
    if step == "lock_release":
        taken.acquire()
    monkeypatch.setattr(fs, "fault_hook", hook)
    with pytest.raises(Interrupted):
        taken.release() if step == "lock_release" else taken.acquire()
    monkeypatch.setattr(fs, "fault_hook", None)
    assert ran == [step]
    assert free(path)
    with FileLock(path, timeout=1):  # this thread does not believe it still holds it
        pass


def test_signals_blocked_before_stay_blocked_and_no_others_are_left_blocked(
    tmp_path: Path,
) -> None:
    before = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGHUP])
    try:
        with FileLock(tmp_path / "a.lock"), FileLock(tmp_path / "b.lock", shared=True):
            pass
        now = signal.pthread_sigmask(signal.SIG_BLOCK, [])
        assert signal.SIGHUP in now
        assert signal.SIGINT not in now and signal.SIGTERM not in now
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def test_a_thread_that_ends_leaves_no_lock_file_open(tmp_path: Path) -> None:
    """Each thread keeps its lock files open for the next lock; a daemon's short-lived threads
    must not each leave theirs open for good."""

    def open_here() -> set[str]:
        found = set()
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                found.add(os.readlink(f"/proc/self/fd/{fd}"))
        return found

    paths = [tmp_path / f"r{i}.lock" for i in range(5)]
    wanted, while_alive = {str(p) for p in paths}, []

    def locks() -> None:
        for path in paths:
            with FileLock(path):
                pass
        while_alive.append(wanted <= open_here())  # kept open while the thread lives

    for _ in range(3):
        thread = threading.Thread(target=locks)
        thread.start()
        thread.join()
    assert while_alive == [True, True, True]
    assert not wanted & open_here()
