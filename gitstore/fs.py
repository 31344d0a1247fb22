"""The only module that writes store files: temp file, fsync, rename, directory fsync, sweep.

Every write is git's lockfile protocol: create a temp file beside the target with
``O_CREAT|O_EXCL|O_NOFOLLOW`` under a reserved, git-ignored prefix, write it whole, ``fsync`` it,
``os.replace`` it onto the target and ``fsync`` the directory. A crash at any point leaves the old
bytes or the new bytes, never a mix; a stray temp file is swept later. Each step first calls
:data:`fault_hook`, so tests can inject a crash or an ``OSError`` at every step in turn.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

from gitstore.errors import ReadError, RecordError, WriteError

TMP_PREFIX = ".gitstore-tmp-"
MAX_FILE_BYTES = 1 << 20

#: Called as ``fault_hook(step, path)`` before every I/O step; tests raise from it.
fault_hook: Callable[[str, str], None] | None = None


def _step(name: str, path: str | Path) -> None:
    if fault_hook is not None:
        fault_hook(name, str(path))


def read_bytes(path: str | Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """Read a whole regular file, refusing symlinks and files over ``limit`` bytes."""
    _step("read", path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise RecordError("is a symlink; gitstore never follows links", path) from None
        raise ReadError(f"cannot read: {err.strerror or err}", path) from err
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise RecordError("is not a regular file", path)
        if st.st_size > limit:
            raise RecordError(f"is {st.st_size} bytes, over the {limit}-byte limit", path)
        chunks = []
        try:
            while chunk := os.read(fd, 1 << 16):
                chunks.append(chunk)
        except OSError as err:
            raise ReadError(f"cannot read: {err.strerror or err}", path) from err
        data = b"".join(chunks)
        if len(data) > limit:  # grew while we read it
            raise RecordError(f"is over the {limit}-byte limit", path)
        return data
    finally:
        os.close(fd)


def _target_mode(path: Path) -> int | None:
    """The permission bits to keep, or None for a new file; refuses what must not be replaced."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        raise WriteError("is a symlink; refusing to replace it", path)
    if not stat.S_ISREG(st.st_mode):
        raise WriteError("is not a regular file; refusing to replace it", path)
    if not st.st_mode & 0o222:
        # Checked on the bits, not with os.access: root may write anything, but a file a person
        # made read-only is a request not to change it.
        raise WriteError("is read-only; make it writable (chmod u+w) to change it", path)
    return stat.S_IMODE(st.st_mode)


def write_temp(path: Path, data: bytes) -> Path:
    """Write ``data`` durably to a new temp file beside ``path``; return the temp's path."""
    mode = _target_mode(path)
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    _step("open", tmp)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(tmp, flags, 0o666)  # umask applies, as for any new file
    try:
        try:
            if mode is not None:
                _step("chmod", tmp)
                os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                _step("write", tmp)
                view = view[os.write(fd, view) :]
            _step("fsync", tmp)
            os.fsync(fd)  # an fsync error is fatal: the page cache may have dropped our bytes
        finally:
            os.close(fd)
    except Exception:
        discard(tmp)
        raise
    return tmp


def replace(tmp: Path, path: Path) -> None:
    """Rename a durable temp file onto ``path`` and make the rename durable."""
    _step("replace", path)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def atomic_write(path: str | Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically and durably; on error the old file is intact."""
    path = Path(path)
    try:
        tmp = write_temp(path, data)
        try:
            _step("replace", path)
            os.replace(tmp, path)
        except Exception:
            discard(tmp)
            raise
    except WriteError:
        raise
    except OSError as err:
        raise WriteError(
            f"write failed: {err.strerror or err}; the file is unchanged", path
        ) from err
    try:
        fsync_dir(path.parent)
    except OSError as err:
        raise WriteError(
            f"new content is in place but the directory fsync failed ({err.strerror or err}); "
            "it may not survive a power loss",
            path,
        ) from err


def fsync_dir(directory: str | Path) -> None:
    _step("fsync_dir", directory)
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove(path: str | Path) -> None:
    """Remove a file durably (used for the transaction journal)."""
    _step("unlink", path)
    os.unlink(path)
    fsync_dir(Path(path).parent)


def discard(path: str | Path) -> None:
    """Best-effort removal of a temp file we created; never raises."""
    with contextlib.suppress(OSError):
        os.unlink(path)


def ensure_dir(directory: str | Path) -> None:
    directory = Path(directory)
    if directory.is_dir():
        return
    _step("mkdir", directory)
    directory.mkdir(parents=True, exist_ok=True)
    fsync_dir(directory.parent)


def stray_temps(directories: Iterable[Path]) -> list[Path]:
    found = []
    for directory in directories:
        try:
            with os.scandir(directory) as entries:
                found += [Path(e.path) for e in entries if e.name.startswith(TMP_PREFIX)]
        except FileNotFoundError:
            continue
    return found
