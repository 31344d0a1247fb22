"""Reaching, reading and writing store files safely: folder walks, bounded reads, atomic writes.

Every file in a store may have come from someone else's clone, so nothing here follows a
symlink or blocks on a special file. Given the store's ``root``, a path is reached one folder at a
time from there with ``O_NOFOLLOW|O_DIRECTORY`` directory descriptors, so a committed symlink
(``records/tasks -> /``) is refused, never followed; a file is checked with ``lstat`` before it is
opened (a FIFO or a device is never opened) and opened ``O_NOFOLLOW|O_NONBLOCK``, then ``fstat``
must agree; reads are bounded.

Every write is git's lockfile protocol: create a temp file beside the target with
``O_CREAT|O_EXCL|O_NOFOLLOW`` under a reserved, git-ignored prefix, write it whole, ``fsync`` it,
``os.replace`` it onto the target and ``fsync`` the directory. A crash at any point leaves the old
bytes or the new bytes, never a mix; a stray temp file is swept later. Each step first calls
:data:`fault_hook`, so tests can inject a crash or an ``OSError`` at every step in turn. Every
``OSError`` leaves this module as a :class:`~gitstore.errors.GitStoreError` naming the path.
A single-record write does the same steps in two parts around its lock (:func:`prepare`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from gitstore.errors import ReadError, UnsafePath, WriteError

TMP_PREFIX = ".gitstore-tmp-"
MAX_FILE_BYTES = 1 << 20

#: Called as ``fault_hook(step, path)`` before every I/O step; tests raise from it.
fault_hook: Callable[[str, str], None] | None = None

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def step(name: str, path: str | Path) -> None:
    if fault_hook is not None:
        fault_hook(name, str(path))


def reason(err: OSError) -> str:
    """The system's own words for an error (what people search for: "No space left on
    device"), without Python's ``[Errno 28]`` prefix."""
    return err.strerror or str(err)


# ---------------------------------------------------------------- walking folders


def _unsafe(dir_fd: int, name: str, path: Path) -> UnsafePath:
    """Why ``name`` in ``dir_fd`` could not be entered or opened as what we need."""
    try:
        mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
    except OSError:
        mode = 0
    if stat.S_ISLNK(mode):
        return UnsafePath("is a symlink; gitstore never follows links", path)
    if stat.S_ISDIR(mode):
        return UnsafePath("is a directory, not a file", path)
    if stat.S_ISREG(mode):
        return UnsafePath("is a file, not a directory", path)
    return UnsafePath("is not a regular file (a FIFO, socket or device)", path)


_parts: dict[tuple[Path, Path], tuple[str, ...]] = {}  # (folder, root) -> folder's parts below root


def _below(folder: Path, root: Path | None) -> tuple[Path, tuple[str, ...]]:
    """The folder to start from (trusted) and the components below it (each to be checked)."""
    if root is None:
        return folder, ()
    parts = _parts.get((folder, root))
    if parts is None:
        try:
            parts = folder.relative_to(root).parts
        except ValueError:
            raise UnsafePath(f"is outside the store at {root}", folder) from None
        if ".." in parts:
            raise UnsafePath("is not inside the store", folder)
        if len(_parts) >= 4096:
            _parts.clear()
        _parts[(folder, root)] = parts
    return root, parts


def enter(folder: Path, root: Path | None, *, create: bool = False) -> int:
    """A descriptor of ``folder``. Every component below ``root`` is entered without following
    links (and created, durably, when missing and ``create`` is set)."""
    start, parts = _below(folder, root)
    try:
        fd = os.open(start, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as err:
        if isinstance(err, FileNotFoundError) and not create:
            raise
        raise ReadError(f"cannot open the folder: {reason(err)}", start) from err
    depth = 0
    try:
        for depth, part in enumerate(parts, 1):
            try:
                child = os.open(part, _DIR, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                step("mkdir", start.joinpath(*parts[:depth]))
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o777, dir_fd=fd)
                os.fsync(fd)
                child = os.open(part, _DIR, dir_fd=fd)
            os.close(fd)
            fd = child
    except OSError as err:
        os.close(fd)
        if err.errno in (errno.ELOOP, errno.ENOTDIR):
            here = start.joinpath(*parts[:depth])
            with _opened(here.parent) as parent:
                raise _unsafe(parent, here.name, here) from None
        raise
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextlib.contextmanager
def _opened(folder: Path) -> Iterator[int]:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield fd
    finally:
        os.close(fd)


_split: dict[Path, tuple[Path, str]] = {}  # path -> its folder and name (pathlib makes them anew)


def _split_of(path: Path) -> tuple[Path, str]:
    split = _split.get(path)
    if split is None:
        if len(_split) >= 4096:
            _split.clear()
        split = _split[path] = (path.parent, path.name)
    return split


class _parent:
    """``with _parent(path, root) as (dir_fd, name)``: a descriptor of the folder holding path,
    entered as :func:`enter` does, closed after the block; and the file's name in it."""

    __slots__ = ("fd", "name")

    def __init__(self, path: Path, root: Path | None, *, create: bool = False):
        folder, self.name = _split_of(path)
        self.fd = enter(folder, root, create=create)

    def __enter__(self) -> tuple[int, str]:
        return self.fd, self.name

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)


# ---------------------------------------------------------------- reading


def read_bytes(
    path: str | Path,
    limit: int = MAX_FILE_BYTES,
    *,
    root: Path | None = None,
    keep: list[int] | None = None,
) -> bytes:
    """A whole regular file of at most ``limit`` bytes. Refuses symlinks (of the file, and of any
    folder below ``root``) and special files; raises FileNotFoundError when it does not exist.
    With ``keep``, the file's descriptor is left open there for the caller to close: a writer
    about to replace the file closes it after letting go of its lock, so that the rename, not
    holding the last link, does not free the old file's blocks (~100 µs on ext4) under it."""
    return _read(path, limit, root, False, keep)[0]


def read_stat(
    path: str | Path, limit: int = MAX_FILE_BYTES, *, root: Path | None = None
) -> tuple[bytes, os.stat_result]:
    """Like :func:`read_bytes`, with the file's ``fstat`` taken after the read: the stat of the
    very file whose bytes these are (a query index keys what it parsed by it)."""
    data, st = _read(path, limit, root, True, None)
    assert st is not None
    return data, st


class Folder:
    """Reads many files of one folder as :func:`read_bytes` reads each, the folder entered once
    (at the first read) instead of once a file; :meth:`close` after."""

    __slots__ = ("fd", "folder", "root")

    def __init__(self, folder: Path, root: Path | None):
        self.folder, self.root, self.fd = folder, root, -1

    def read(self, name: str, limit: int = MAX_FILE_BYTES) -> bytes:
        """The file ``name`` of the folder (a plain name, as a listing gives it)."""
        path = self.folder / name
        try:
            step("read", path)
            if self.fd < 0:
                self.fd = enter(self.folder, self.root)
            return _read_at(self.fd, name, path, limit, False)[0]
        except (FileNotFoundError, UnsafePath, ReadError):
            raise
        except OSError as err:
            raise ReadError(f"cannot read: {reason(err)}", path) from err

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)

    def __enter__(self) -> Folder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read(
    path: str | Path, limit: int, root: Path | None, want_stat: bool, keep: list[int] | None
) -> tuple[bytes, os.stat_result | None]:
    path = path if isinstance(path, Path) else Path(path)
    try:
        step("read", path)
        with _parent(path, root) as (dir_fd, name):
            return _read_at(dir_fd, name, path, limit, want_stat, keep)
    except (FileNotFoundError, UnsafePath, ReadError):
        raise
    except OSError as err:
        raise ReadError(f"cannot read: {reason(err)}", path) from err


def _read_at(
    dir_fd: int, name: str, path: Path, limit: int, want_stat: bool, keep: list[int] | None = None
) -> tuple[bytes, os.stat_result | None]:
    st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    if not stat.S_ISREG(st.st_mode):
        raise _unsafe(dir_fd, name, path)
    if st.st_size > limit:
        raise UnsafePath(f"is {st.st_size} bytes, over the {limit}-byte limit", path)
    try:
        fd = os.open(name, _READ, dir_fd=dir_fd)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise _unsafe(dir_fd, name, path) from None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped between the lstat and the open
            raise _unsafe(dir_fd, name, path)
        chunks, size = [], 0
        while size <= limit and (chunk := os.read(fd, min(1 << 16, limit + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # grew while we read it
            raise UnsafePath(f"is over the {limit}-byte limit", path)
        data = (b"".join(chunks), os.fstat(fd) if want_stat else None)
    except BaseException:
        os.close(fd)
        raise
    if keep is None:
        os.close(fd)
    else:
        keep.append(fd)
    return data


# ---------------------------------------------------------------- writing


def _target_mode(dir_fd: int, name: str, path: Path) -> int | None:
    """The permission bits to keep, or None for a new file; refuses what must not be replaced."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
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


def _write_temp_at(dir_fd: int, name: str, path: Path, data: bytes) -> str:
    mode = _target_mode(dir_fd, name, path)
    tmp = _temp_name(name)
    shown = path.with_name(tmp) if fault_hook is not None else path  # only a fault hook sees it
    step("open", shown)
    fd = os.open(tmp, _CREATE, 0o666, dir_fd=dir_fd)  # umask applies, as for any new file
    try:
        try:
            if mode is not None:
                step("chmod", shown)
                os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                step("write", shown)
                view = view[os.write(fd, view) :]
            step("fsync", shown)
            os.fsync(fd)  # an fsync error is fatal: the page cache may have dropped our bytes
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise
    return tmp


def _temp_name(name: str) -> str:
    """A new temp file's name beside ``name``: the reserved prefix, the pid and 32 random bits."""
    return f"{TMP_PREFIX}{name}.{os.getpid()}.{os.urandom(4).hex()}"  # `secrets` costs 11 ms


def _failed(err: OSError, path: Path) -> WriteError:
    return WriteError(f"write failed: {reason(err)}; the file is unchanged", path)


def write_temp(path: str | Path, data: bytes, *, root: Path | None = None) -> Path:
    """Write ``data`` durably to a new temp file beside ``path``; return the temp's path."""
    path = Path(path)
    try:
        with _parent(path, root, create=True) as (dir_fd, name):
            return path.with_name(_write_temp_at(dir_fd, name, path, data))
    except (UnsafePath, WriteError):
        raise
    except OSError as err:
        raise _failed(err, path) from err


def atomic_write(
    path: str | Path,
    data: bytes,
    *,
    root: Path | None = None,
    renamed: Callable[[], None] | None = None,
) -> None:
    """Replace ``path`` with ``data`` atomically and durably; on error the old file is intact.
    Folders below ``root`` are created as needed, never through a link. ``renamed`` is called
    once the new file is in place, before the directory fsync that makes the rename durable
    (a writer lets go of its lock there: the fsync needs no lock, and the write still returns
    only after it)."""
    path = path if isinstance(path, Path) else Path(path)
    try:
        with _parent(path, root, create=True) as (dir_fd, name):
            tmp = _write_temp_at(dir_fd, name, path, data)
            try:
                step("replace", path)
                os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=dir_fd)
                raise
            if renamed is not None:
                renamed()
            _commit_rename(dir_fd, path)
    except (UnsafePath, WriteError):
        raise
    except OSError as err:
        raise _failed(err, path) from err


def _commit_rename(dir_fd: int, path: Path) -> None:
    """The folder's fsync that makes a rename in it durable; its failure is a WriteError that
    says the new content is in place."""
    try:
        if fault_hook is not None:
            step("fsync_dir", path.parent)
        os.fsync(dir_fd)
    except OSError as err:
        raise WriteError(
            f"new content is in place but the directory fsync failed ({reason(err)}); "
            "it may not survive a power loss",
            path,
        ) from err


def replace(tmp: Path, path: Path, *, root: Path | None = None) -> None:
    """Rename a durable temp file (a regular file beside ``path``) onto ``path``, durably."""
    if tmp.parent != path.parent or not tmp.name.startswith(TMP_PREFIX):
        raise UnsafePath(f"{tmp.name} is not a temp file beside it", path)
    try:
        with _parent(path, root) as (dir_fd, name):
            if not stat.S_ISREG(os.stat(tmp.name, dir_fd=dir_fd, follow_symlinks=False).st_mode):
                raise _unsafe(dir_fd, tmp.name, tmp)
            _target_mode(dir_fd, name, path)
            step("replace", path)
            os.replace(tmp.name, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            step("fsync_dir", path.parent)
            os.fsync(dir_fd)
    except (FileNotFoundError, UnsafePath, WriteError):
        raise
    except OSError as err:
        raise _failed(err, path) from err


# ---------------------------------------------------------------- a write prepared before its lock
#
# atomic_write split in two around a lock, with the same protocol and guarantees: the folder is
# entered once, as enter does, and the read, the temp file and the rename all go through that
# descriptor, so they are in one folder and never through a link; the target is checked (a link,
# not a regular file, read-only) just before it is replaced; every step calls fault_hook first.
# Making a file in a folder needs no lock, and costs ~50 µs on ext4 under it. The caller holds
# the store lock (shared) from before prepare to after Prepared.close, so no sweep can take the
# temp file meanwhile; one that is not used is removed by close, one a crash leaves is swept.


class Prepared:
    """The open folder of ``path`` and an empty temp file in it (see above)."""

    __slots__ = ("dir_fd", "name", "path", "tmp", "tmp_fd")

    def __init__(self, path: Path, dir_fd: int, name: str, tmp: str, tmp_fd: int):
        self.path, self.dir_fd, self.name, self.tmp, self.tmp_fd = path, dir_fd, name, tmp, tmp_fd

    def read(self, limit: int, keep: list[int] | None = None) -> bytes:
        """:func:`read_bytes` of the file, in the folder entered already."""
        try:
            step("read", self.path)
            return _read_at(self.dir_fd, self.name, self.path, limit, False, keep)[0]
        except (FileNotFoundError, UnsafePath, ReadError):
            raise
        except OSError as err:
            raise ReadError(f"cannot read: {reason(err)}", self.path) from err

    def replace(self, data: bytes, renamed: Callable[[], None] | None = None) -> None:
        """Write ``data`` into the temp file, fsync it and rename it onto the file, then fsync
        the folder, as :func:`atomic_write` does (``renamed`` likewise)."""
        path, dir_fd, fd = self.path, self.dir_fd, self.tmp_fd
        shown = path.with_name(self.tmp) if fault_hook is not None else path
        try:
            try:
                mode = _target_mode(dir_fd, self.name, path)
                if mode is not None:
                    step("chmod", shown)
                    os.fchmod(fd, mode)
                view = memoryview(data)
                while view:
                    step("write", shown)
                    view = view[os.write(fd, view) :]
                step("fsync", shown)
                os.fsync(fd)  # an fsync error is fatal: the page cache may have dropped our bytes
            finally:
                self.tmp_fd = -1
                os.close(fd)
            step("replace", path)
            os.replace(self.tmp, self.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            self.tmp = ""  # in place: nothing left to remove
        except (UnsafePath, WriteError):
            raise
        except OSError as err:
            raise _failed(err, path) from err
        if renamed is not None:
            renamed()
        _commit_rename(dir_fd, path)

    def close(self) -> None:
        """Remove the temp file if it was not used, and close the descriptors."""
        if self.tmp_fd >= 0:
            fd, self.tmp_fd = self.tmp_fd, -1
            os.close(fd)
        if self.tmp:
            tmp, self.tmp = self.tmp, ""
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=self.dir_fd)
        if self.dir_fd >= 0:
            fd, self.dir_fd = self.dir_fd, -1
            os.close(fd)


def prepare(path: Path, root: Path | None) -> Prepared | None:
    """``path``'s folder entered and a temp file made in it; None when that cannot be done now
    (no folder yet, a link, an I/O error): the write then goes through
    :func:`atomic_write` under the lock as usual, which reports what is wrong."""
    try:
        folder, name = _split_of(path)
        dir_fd = enter(folder, root)
    except (OSError, UnsafePath, ReadError):
        return None
    try:
        tmp = _temp_name(name)
        step("open", path.with_name(tmp) if fault_hook is not None else path)
        tmp_fd = os.open(tmp, _CREATE, 0o666, dir_fd=dir_fd)  # umask applies
    except OSError:
        os.close(dir_fd)
        return None
    except BaseException:
        os.close(dir_fd)
        raise
    return Prepared(path, dir_fd, name, tmp, tmp_fd)


def fsync_dir(directory: str | Path) -> None:
    step("fsync_dir", directory)
    fd = os.open(directory, _DIR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove(path: str | Path) -> None:
    """Remove a file durably (used for the transaction journal)."""
    path = Path(path)
    step("unlink", path)
    os.unlink(path)
    fsync_dir(path.parent)


def discard(path: str | Path) -> None:
    """Best-effort removal of a temp file we created; never raises."""
    with contextlib.suppress(OSError):
        os.unlink(path)


def ensure_dir(directory: str | Path) -> None:
    """Create a trusted folder (the per-clone state, a hooks folder) and its parents, durably."""
    directory = Path(directory)
    if directory.is_dir():
        return
    step("mkdir", directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fsync_dir(directory.parent)
    except OSError as err:
        raise WriteError(f"cannot create the folder: {reason(err)}", directory) from err
