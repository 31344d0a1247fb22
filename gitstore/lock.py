"""Cross-process locks: portalocker on persistent sidecar files in the per-clone state folder.

Never on a record itself, whose inode ``os.replace`` swaps. The OS drops a lock when its process
dies, so there are no stale locks. An exclusive holder writes ``pid``, start time and command into
the lock file, so a waiter that times out can say who is in the way.

Waiting is a real blocking ``flock`` (the kernel hands the lock over at once) bounded by a
``SIGALRM`` timer; off the main thread, or when the program already uses ``SIGALRM``, it falls back
to polling with a short, growing sleep (0.2 ms up to 10 ms), never portalocker's 0.25 s default.
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import signal
import stat
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from gitstore.errors import TYPE_CHECKING, LockTimeout, UsageError, WriteError

if TYPE_CHECKING:
    import portalocker
else:
    from gitstore.quickimport import load_portalocker

    portalocker = load_portalocker()  # without its 25-35 ms metadata lookup

DEFAULT_TIMEOUT = 10.0

# Lock files stay open per thread: opening one costs as much as the lock itself. Per thread,
# because flock() locks belong to an open file description, so two threads sharing one fd would
# not exclude each other; and forgotten in a forked child, which must not share its parent's.
_open_fds = threading.local()


def _forget_fds() -> None:
    global _open_fds
    _open_fds = threading.local()


os.register_at_fork(after_in_child=_forget_fds)


def _lock_fd(path: Path) -> int:
    fds: dict[Path, int] | None = getattr(_open_fds, "fds", None)
    if fds is None:
        fds = _open_fds.fds = {}
    fd = fds.get(path)
    if fd is None:
        try:
            fd = _open_lock_file(path)
        except OSError as err:
            from gitstore.fs import reason

            raise WriteError(f"cannot open the lock file: {reason(err)}", path) from err
        if len(fds) > 256:  # bound the cache: close the oldest descriptors not locked now
            held: set[Path] = _open_fds.__dict__.setdefault("held", set())
            for old in [p for p in fds if p not in held][:128]:
                os.close(fds.pop(old))
        fds[path] = fd
    return fd


def _open_lock_file(path: Path) -> int:
    from gitstore import fs

    fs.step("lock_open", path)
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o666)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, flags, 0o666)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file")
    return fd


class _Expired(Exception):
    pass


_DEFERRED = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold off Ctrl-C and termination for a few lines of bookkeeping: a signal that arrives
    meanwhile is delivered (and raised) as soon as they are done, never half-way through.
    Only signals not blocked already are blocked, and exactly those are unblocked, from inside
    the ``try``: an exception at any point can never leave them blocked."""
    mine = _DEFERRED - signal.pthread_sigmask(signal.SIG_BLOCK, ())
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, mine)
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, mine)


def _holder_line() -> str:
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    command = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))
    command = " ".join(command.split())  # one line, whatever the arguments held
    return f"pid={os.getpid()} since={since} command={command[:200]}\n"


class FileLock:
    """One lock on one sidecar file; a context manager. Not reentrant: take it once per scope."""

    def __init__(self, path: Path, *, shared: bool = False, timeout: float = DEFAULT_TIMEOUT):
        self.path = path
        self.shared = shared
        self.timeout = timeout
        self._fd: int | None = None

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def __del__(self) -> None:
        # A Ctrl-C that lands on the very first line of __exit__ skips the release; the lock
        # object is dropped right after, and this gives the lock back then.
        if self._fd is not None:
            with contextlib.suppress(Exception):
                self.release()

    def acquire(self) -> None:
        fd = self._fd_to_lock()
        flags = portalocker.LockFlags.SHARED if self.shared else portalocker.LockFlags.EXCLUSIVE
        try:
            if not self._try(fd, flags):
                self._wait(fd, flags)
            with _signals_held():
                self._mark(fd)
        except BaseException:
            self._unwind(fd)
            raise

    def try_acquire(self) -> bool:
        """Take the lock only if it is free right now."""
        held: set[Path] = _open_fds.__dict__.setdefault("held", set())
        if self.path in held:
            return False
        fd = _lock_fd(self.path)
        flags = portalocker.LockFlags.SHARED if self.shared else portalocker.LockFlags.EXCLUSIVE
        try:
            if not self._try(fd, flags):
                return False
            with _signals_held():
                self._mark(fd)
        except BaseException:
            self._unwind(fd)
            raise
        return True

    def _unwind(self, fd: int) -> None:
        """After an exception anywhere in acquiring (Ctrl-C included): hold nothing. This fd held
        no lock before (the held set says so), so unlocking it can only drop what we just got."""
        if self._fd is not None:
            self.release()
        else:
            with contextlib.suppress(Exception):
                portalocker.unlock(fd)

    def _fd_to_lock(self) -> int:
        held: set[Path] = _open_fds.__dict__.setdefault("held", set())
        if self.path in held:
            # flock() on our own descriptor would silently convert the lock, not wait for it.
            raise UsageError(
                f"{self.path.name} is already held by this thread: inside a transaction, "
                "write through the transaction (tx.put, tx.update), not the store"
            )
        return _lock_fd(self.path)

    def _mark(self, fd: int) -> None:
        """Mark the lock held (signals are held off meanwhile). Nothing here may fail: the holder
        line is only a hint for waiters, so an I/O error writing it (a full disk) is ignored."""
        self._fd = fd
        _open_fds.__dict__.setdefault("held", set()).add(self.path)
        if not self.shared:
            try:
                from gitstore import fs

                fs.step("lock_holder", self.path)
                os.ftruncate(fd, 0)
                os.pwrite(fd, _holder_line().encode(), 0)
            except OSError:
                pass

    def release(self) -> None:
        """Drop the lock. Signals are held off meanwhile, so Ctrl-C cannot leave the lock taken
        or this thread believing it holds it."""
        with _signals_held():
            fd, self._fd = self._fd, None
            if fd is None:
                return
            _open_fds.__dict__.setdefault("held", set()).discard(self.path)
            try:
                if not self.shared:
                    from gitstore import fs

                    fs.step("lock_release", self.path)
                    os.ftruncate(fd, 0)
            except OSError:
                pass  # only the holder hint is left behind; the lock itself goes below
            finally:
                portalocker.unlock(fd)

    @staticmethod
    def _try(fd: int, flags: portalocker.LockFlags) -> bool:
        try:
            portalocker.lock(fd, flags | portalocker.LockFlags.NON_BLOCKING)
        except portalocker.AlreadyLocked:
            return False
        except portalocker.LockException as err:
            if isinstance(err.__cause__, BlockingIOError):
                return False
            raise
        return True

    def _wait(self, fd: int, flags: portalocker.LockFlags) -> None:
        if self._can_use_alarm():
            self._wait_blocking(fd, flags)
        else:
            self._wait_polling(fd, flags)

    @staticmethod
    def _can_use_alarm() -> bool:
        return (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None)
            and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
        )

    def _wait_blocking(self, fd: int, flags: portalocker.LockFlags) -> None:
        """A blocking ``flock`` that ``SIGALRM`` interrupts at the deadline. The alarm can also
        fire just *after* ``flock`` succeeded; so after any alarm we ask the kernel again without
        blocking: if the lock is ours (or free now) we keep it, else it is a timeout. Either way
        no lock is left held behind an exception."""
        armed = [True]

        def expire(signum: int, frame: object) -> None:
            if armed[0]:
                raise _Expired

        previous = signal.signal(signal.SIGALRM, expire)
        expired = False
        try:
            signal.setitimer(signal.ITIMER_REAL, max(self.timeout, 0.001))
            portalocker.lock(fd, flags)
        except _Expired:
            expired = True
        finally:
            while True:  # an alarm pending from before setitimer(0) may land on any line here
                try:
                    armed[0] = False
                    signal.setitimer(signal.ITIMER_REAL, 0)
                    signal.signal(signal.SIGALRM, previous)
                    break
                except _Expired:
                    expired = True
        if expired and not self._try(fd, flags):
            raise self._timeout_error()

    def _wait_polling(self, fd: int, flags: portalocker.LockFlags) -> None:
        deadline = time.monotonic() + self.timeout
        pause = 0.0002
        while not self._try(fd, flags):
            if time.monotonic() >= deadline:
                raise self._timeout_error()
            time.sleep(pause * (0.5 + random.random()))
            pause = min(pause * 2, 0.01)

    def _timeout_error(self) -> LockTimeout:
        try:
            holder = " ".join(self.path.read_text(errors="replace").split())
        except OSError:
            holder = ""
        who = f"held by {holder}" if holder else "held by other writers (shared)"
        return LockTimeout(
            f"lock not acquired within {self.timeout:g} s, {who}; retry, or stop that process",
            self.path,
        )
