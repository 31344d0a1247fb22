"""Cross-process locks: ``flock`` on persistent sidecar files in the per-clone state folder.

Never on a record itself, whose inode ``os.replace`` swaps. The OS drops a lock when its process
dies, so there are no stale locks. An exclusive holder writes ``pid``, start time and command into
the lock file, so a waiter that times out can say who is in the way.

``fcntl.flock`` is called directly: it is what portalocker calls on POSIX, without its ~4 µs of
flag and error translation on each call (gitstore's file access is POSIX-only anyway: it walks
folders by ``dir_fd``). Waiting is a real blocking ``flock`` (the kernel hands the lock over at
once) bounded by a ``SIGALRM`` timer; off the main thread, or when the program already uses
``SIGALRM``, it falls back to polling with a short, growing sleep (0.2 ms up to 10 ms), never
portalocker's 0.25 s default.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import random
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType

from gitstore import fs
from gitstore.errors import LockTimeout, UsageError, WriteError

# The C function itself: signal.pthread_sigmask wraps every result in Signals enums (2 µs a call).
_sigmask: Callable[[int, Iterable[int]], set[int]] = getattr(
    sys.modules.get("_signal"), "pthread_sigmask", signal.pthread_sigmask
)

DEFAULT_TIMEOUT = 10.0

# Lock files stay open per thread: opening one costs as much as the lock itself. Per thread,
# because flock() locks belong to an open file description, so two threads sharing one fd would
# not exclude each other; closed when the thread ends (a daemon's short-lived threads would
# each leave up to 256 open otherwise); and dropped in a forked child, which must not share its
# parent's (closing the child's copies leaves the parent's locks as they are).
_open_fds = threading.local()


class _Open(dict[Path, int]):
    """One thread's open lock files, closed when the thread's locals go."""

    def __del__(self) -> None:
        for fd in self.values():
            with contextlib.suppress(OSError):
                os.close(fd)


def _forget_fds() -> None:
    global _open_fds
    _open_fds = threading.local()


os.register_at_fork(after_in_child=_forget_fds)


def _held() -> set[Path]:
    """The lock files this thread holds a lock on."""
    try:
        held: set[Path] = _open_fds.held
    except AttributeError:
        held = _open_fds.held = set()
    return held


def _lock_fd(path: Path) -> int:
    try:
        fds: _Open = _open_fds.fds
    except AttributeError:
        fds = _open_fds.fds = _Open()
    fd = fds.get(path)
    if fd is None:
        try:
            fd = _open_lock_file(path)
        except OSError as err:
            raise WriteError(f"cannot open the lock file: {fs.reason(err)}", path) from err
        if len(fds) > 256:  # bound the cache: close the oldest descriptors not locked now
            held = _held()
            for old in [p for p in fds if p not in held][:128]:
                os.close(fds.pop(old))
        fds[path] = fd
    return fd


def _open_lock_file(path: Path) -> int:
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


_DEFERRED = frozenset(int(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP))

#: The holder hint is one line padded with spaces to this many bytes, so that writing it and
#: clearing it are each one ``pwrite`` over the same bytes (an ``ftruncate`` costs ~8 µs and a
#: journalled metadata change on every write). Only these bytes are the hint: what follows is a
#: holder's note for the next one (:meth:`FileLock.leave`), or an older version's longer line.
WIDTH = 256
_BLANK = b" " * (WIDTH - 1) + b"\n"
_line: tuple[int, int, bytes] = (0, 0, b"")  # (pid, second, the padded line for them)


def _holder_line() -> str:
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    command = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))
    command = " ".join(command.split())  # one line, whatever the arguments held
    return f"pid={os.getpid()} since={since} command={command[:200]}\n"


def _holder_bytes() -> bytes:
    """:func:`_holder_line` padded to :data:`WIDTH` bytes, made once per second."""
    global _line
    pid, second = os.getpid(), int(time.time())
    if _line[:2] != (pid, second):
        text = _holder_line().rstrip("\n").encode("utf-8", "replace")[: WIDTH - 1]
        text = text.decode("utf-8", "ignore").encode()  # not cut inside a character
        _line = (pid, second, text.ljust(WIDTH - 1) + b"\n")
    return _line[2]


def hint(path: Path) -> str:
    """What the holder of the lock on ``path`` wrote about itself ("" when nothing, or shared
    holders, or the file cannot be read)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return ""
    try:
        return os.pread(fd, WIDTH, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""
    finally:
        os.close(fd)


def _unlock(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_UN)


class FileLock:
    """One lock on one sidecar file; a context manager. Not reentrant: take it once per scope.

    Bookkeeping (the thread's held set, the holder hint) is done with SIGINT, SIGTERM and SIGHUP
    held off, so a signal that arrives meanwhile is raised once it is done, never half-way: only
    signals not blocked already are blocked, and exactly those are unblocked, from a ``finally``
    (an exception at any point can never leave them blocked)."""

    def __init__(self, path: Path, *, shared: bool = False, timeout: float = DEFAULT_TIMEOUT):
        self.path = path
        self.shared = shared
        self.timeout = timeout
        self._fd: int | None = None
        #: Whether taking the lock meant waiting for another holder.
        self.waited = False

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
        flags = fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX
        try:
            if not self._take_now(fd, flags):
                self.waited = True
                self._wait(fd, flags)
                mine = _DEFERRED - _sigmask(signal.SIG_BLOCK, ())
                try:
                    _sigmask(signal.SIG_BLOCK, mine)
                    self._mark(fd)
                finally:
                    _sigmask(signal.SIG_UNBLOCK, mine)
        except BaseException:
            self._unwind(fd)
            raise

    def try_acquire(self) -> bool:
        """Take the lock only if it is free right now."""
        if self.path in _held():
            return False
        fd = _lock_fd(self.path)
        try:
            return self._take_now(fd, fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX)
        except BaseException:
            self._unwind(fd)
            raise

    def _take_now(self, fd: int, flags: int) -> bool:
        """Take the lock without waiting and mark it held, signals held off from before the
        ``flock`` to after the mark: False when someone else holds it."""
        mine = _DEFERRED - _sigmask(signal.SIG_BLOCK, ())
        try:
            _sigmask(signal.SIG_BLOCK, mine)
            if not self._try(fd, flags):
                return False
            self._mark(fd)
            return True
        finally:
            _sigmask(signal.SIG_UNBLOCK, mine)  # a signal held off is raised here

    def _unwind(self, fd: int) -> None:
        """After an exception anywhere in acquiring (Ctrl-C included): hold nothing. This fd held
        no lock before (the held set says so), so unlocking it can only drop what we just got."""
        if self._fd is not None:
            self.release()
        else:
            with contextlib.suppress(Exception):
                _unlock(fd)

    def _fd_to_lock(self) -> int:
        if self.path in _held():
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
        _held().add(self.path)
        if not self.shared:
            try:
                fs.step("lock_holder", self.path)
                os.pwrite(fd, _holder_bytes(), 0)
            except OSError:
                pass

    def release(self) -> None:
        """Drop the lock. Signals are held off meanwhile, so Ctrl-C cannot leave the lock taken
        or this thread believing it holds it. Releasing a lock not held does nothing."""
        if self._fd is None:  # let go of early (a write's lock, after its rename), or never taken
            return
        mine = _DEFERRED - _sigmask(signal.SIG_BLOCK, ())
        try:
            _sigmask(signal.SIG_BLOCK, mine)
            fd, self._fd = self._fd, None
            if fd is None:
                return
            _held().discard(self.path)
            try:
                if not self.shared:
                    fs.step("lock_release", self.path)
                    os.pwrite(fd, _BLANK, 0)
            except OSError:
                pass  # only the holder hint is left behind; the lock itself goes below
            finally:
                _unlock(fd)
        finally:
            _sigmask(signal.SIG_UNBLOCK, mine)

    def note(self, size: int) -> bytes:
        """Up to ``size`` bytes a holder left after the hint (empty unless this lock is held)."""
        if self._fd is None:
            return b""
        try:
            return os.pread(self._fd, size, WIDTH)
        except OSError:
            return b""

    def leave(self, note: bytes) -> None:
        """Leave ``note`` after the hint for the next holder (held exclusively only). It is a
        hint too: an I/O error writing it is ignored, and a reader checks what it finds."""
        if self._fd is None or self.shared:
            return
        try:
            fs.step("lock_note", self.path)
            os.pwrite(self._fd, note, WIDTH)
        except OSError:
            pass

    @staticmethod
    def _try(fd: int, flags: int) -> bool:
        try:
            fcntl.flock(fd, flags | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _wait(self, fd: int, flags: int) -> None:
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

    def _wait_blocking(self, fd: int, flags: int) -> None:
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
            fcntl.flock(fd, flags)
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

    def _wait_polling(self, fd: int, flags: int) -> None:
        deadline = time.monotonic() + self.timeout
        pause = 0.0002
        while not self._try(fd, flags):
            if time.monotonic() >= deadline:
                raise self._timeout_error()
            time.sleep(pause * (0.5 + random.random()))
            pause = min(pause * 2, 0.01)

    def _timeout_error(self) -> LockTimeout:
        holder = " ".join(hint(self.path).split())
        who = f"held by {holder}" if holder else "held by other writers (shared)"
        return LockTimeout(
            f"lock not acquired within {self.timeout:g} s, {who}; retry, or stop that process",
            self.path,
        )
