"""Listing store folders: names, kinds and ``lstat`` numbers of their entries, and the temp
files interrupted writes left in them.

Folders are reached as :mod:`gitstore.fs` reaches them (one component at a time from the store's
root, never through a link), entries are only ever ``lstat``-ed, never opened, so a committed
symlink is described and never followed, and a FIFO never blocks. Every ``OSError`` leaves as a
:class:`~gitstore.errors.ReadError` naming the folder.
"""

from __future__ import annotations

import array
import contextlib
import marshal
import os
import signal
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from gitstore import fs
from gitstore.errors import ReadError, UnsafePath


@contextlib.contextmanager
def _in_folder(folder: Path, root: Path | None) -> Iterator[int | None]:
    """A descriptor of ``folder`` for the block (None when it does not exist), closed after it;
    a folder below ``root`` that is a link is refused, and any other OSError opening it or in
    the block becomes one ReadError naming the folder."""
    fd: int | None
    try:
        fd = fs.enter(folder, root)
    except FileNotFoundError:
        fd = None
    except (UnsafePath, ReadError):
        raise
    except OSError as err:
        raise ReadError(f"cannot list: {fs.reason(err)}", folder) from err
    if fd is None:
        yield None
        return
    try:
        yield fd
    except ReadError:
        raise
    except OSError as err:
        raise ReadError(f"cannot list: {fs.reason(err)}", folder) from err
    finally:
        os.close(fd)


def entries(folder: Path, root: Path | None = None, prefix: str = "") -> list[tuple[str, str]]:
    """``(name, kind)`` for each entry of ``folder`` (whose name starts with ``prefix``), kind
    one of ``file`` (regular), ``link``, ``dir`` or ``other``, without following links; empty
    when the folder does not exist. A folder below ``root`` that is a link is refused."""
    with _in_folder(folder, root) as fd:
        if fd is None:
            return []
        if prefix:  # names only, then a look at the few that match (100,000 entries: 2x)
            return [
                (name, kind)
                for name in os.listdir(fd)
                if name.startswith(prefix) and (kind := _kind_at(fd, name))
            ]
        with os.scandir(fd) as found:
            return [(e.name, _kind(e)) for e in found]


#: What a file looks like from outside: inode, size, mtime and ctime (in ns). A change of any
#: means the file may have changed; no change, with an mtime well in the past, means it has not.
StatKey = tuple[int, int, int, int]


def folder_key(folder: Path, root: Path | None = None) -> StatKey | None:
    """The stat key of ``folder`` (entered as :func:`entries` does: a link is refused), or None
    when it does not exist. It changes whenever an entry is created, removed or renamed."""
    try:
        st = folder_stat(folder, root)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def scan(
    folder: Path,
    root: Path | None = None,
    temps: list[str] | None = None,
    known: Callable[[str], Sequence[int] | None] | None = None,
) -> tuple[os.stat_result, list[str], array.array[int]]:
    """The folder's own stat, the names in it and, for each name, five numbers from its
    ``lstat`` (file type bits, size, mtime_ns, ctime_ns, inode) in one flat list, without
    following links; ``known(name)``, when given, supplies the numbers of names it knows, which
    are then not looked at. Temp files of writes in flight are left out (their names go to
    ``temps``, for a sweep that need not list the folder again). Raises FileNotFoundError when
    the folder does not exist; a folder below ``root`` that is a link is refused."""
    fd = _entered(folder, root, "cannot list")
    try:
        own = os.fstat(fd)
        listed = []
        for name in os.listdir(fd):
            if not name.startswith(fs.TMP_PREFIX):
                listed.append(name)
            elif temps is not None:
                temps.append(name)
        names, numbers = _looked_at(fd, listed, known)
        return own, names, numbers
    except OSError as err:
        raise ReadError(f"cannot list: {fs.reason(err)}", folder) from err
    finally:
        os.close(fd)


Known = Callable[[str], Sequence[int] | None] | None

#: The signals held off across a fork (see :meth:`_Child.start`).
_DEFERRED = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})

#: Fewer names than this are ``lstat``-ed in this process alone: forking costs more than the
#: half of them it saves (~1 ms against ~1.5 µs a name).
SPLIT_FROM = 16384


def _looked_at(fd: int, names: list[str], known: Known) -> tuple[list[str], array.array[int]]:
    """:func:`scan`'s names and numbers for ``names`` in the folder ``fd``. A big folder's
    second half is looked at by a forked child meanwhile, when there is a core for it and this
    process runs no other thread (a fork copies locks a thread may hold); the child only
    ``lstat``-s and sends its numbers back. If it fails in any way, its half is done here."""
    if len(names) < SPLIT_FROM or not _may_fork():
        return _numbers(fd, names, known)
    half = len(names) // 2
    child = _Child(names[half:])
    try:
        child.start(fd, known)
        mine, numbers = _numbers(fd, names[:half], known)
        theirs = child.result()
    finally:
        child.close()
    if theirs is None:
        theirs = _numbers(fd, names[half:], known)
    mine += theirs[0]
    numbers += theirs[1]
    return mine, numbers


def _may_fork() -> bool:
    import threading

    if threading.active_count() > 1 or not hasattr(os, "fork"):
        return False
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(1)
    return len(cores) > 1


def _numbers(fd: int, names: list[str], known: Known) -> tuple[list[str], array.array[int]]:
    """The names still there and their five numbers each (a name removed since the listing is
    left out)."""
    kept: list[str] = []
    numbers = array.array("q")
    keep, extend, lstat, fmt = kept.append, numbers.extend, os.lstat, 0o170000  # S_IFMT
    for name in names:
        if known is not None and (given := known(name)) is not None:
            keep(name)
            extend(given)
            continue
        try:
            st = lstat(name, dir_fd=fd)
        except FileNotFoundError:
            continue  # removed since the listing
        keep(name)
        extend((st.st_mode & fmt, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
    return kept, numbers


class _Child:
    """A forked process that runs :func:`_numbers` on ``names`` and sends back which of them it
    left out and the numbers of the others (``marshal``: only this process reads them)."""

    def __init__(self, names: list[str]):
        self.pid = 0
        self.names = names
        self.read = -1

    def start(self, fd: int, known: Known) -> None:
        """Fork it (or, when there is no pipe or no fork, leave its half to this process). Ctrl-C
        and the like are held off across the fork: one landing in the child before its ``try``
        would unwind its parent's frames there (unlocking its parent's locks)."""
        try:
            self.read, write = os.pipe()
        except OSError:
            return
        mine = _DEFERRED - signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
        try:
            try:
                self.pid = os.fork()
            except OSError:
                return
            if self.pid == 0:  # the child: never returns
                code = 1
                try:
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, mine)
                    os.close(self.read)
                    kept, numbers = _numbers(fd, self.names, known)
                    there = set(kept) if len(kept) < len(self.names) else None
                    gone = (
                        [i for i, n in enumerate(self.names) if n not in there]
                        if there is not None
                        else []
                    )
                    view = memoryview(marshal.dumps((gone, numbers.tobytes())))
                    while view:
                        view = view[os.write(write, view) :]
                    code = 0
                finally:
                    os._exit(code)
        finally:  # this process (the child never gets here)
            os.close(write)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, mine)  # one held off is raised here

    def result(self) -> tuple[list[str], array.array[int]] | None:
        """What the child found, or None when it could not say (its half is then done here)."""
        if self.pid == 0:
            return None
        chunks = []
        while chunk := os.read(self.read, 1 << 20):
            chunks.append(chunk)
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        if status != 0:
            return None
        try:
            gone, raw = marshal.loads(b"".join(chunks))
            numbers = array.array("q")
            numbers.frombytes(raw)
        except (EOFError, ValueError, TypeError):
            return None
        skip = set(gone)
        kept = [n for i, n in enumerate(self.names) if i not in skip] if skip else self.names
        return (kept, numbers) if len(numbers) == 5 * len(kept) else None

    def close(self) -> None:
        """Reap a child not yet waited for (this process was interrupted) and close the pipe."""
        if self.pid:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            self.pid = 0
        if self.read >= 0:
            os.close(self.read)
            self.read = -1


def folder_stat(folder: Path, root: Path | None = None) -> os.stat_result:
    """The ``fstat`` of a folder reached without following links (FileNotFoundError if none)."""
    fd = _entered(folder, root, "cannot open the folder")
    try:
        return os.fstat(fd)
    finally:
        os.close(fd)


def _entered(folder: Path, root: Path | None, failed: str) -> int:
    """:func:`gitstore.fs.enter`, any other ``OSError`` than a missing folder as a ReadError."""
    try:
        return fs.enter(folder, root)
    except (FileNotFoundError, UnsafePath):
        raise
    except OSError as err:
        raise ReadError(f"{failed}: {fs.reason(err)}", folder) from err


def listed(folder: Path, root: Path | None, temps: list[str]) -> tuple[os.stat_result, list[str]]:
    """The folder's own stat and the names in it (as :func:`scan` lists them, temp files to
    ``temps``), without looking at any entry. FileNotFoundError when it does not exist."""
    with _in_folder(folder, root) as fd:
        if fd is None:
            raise FileNotFoundError(folder)
        found: list[str] = []
        for name in os.listdir(fd):
            (temps if name.startswith(fs.TMP_PREFIX) else found).append(name)
        return os.fstat(fd), found


def numbers(folder: Path, root: Path | None, wanted: Iterable[str]) -> dict[str, tuple[int, ...]]:
    """:func:`scan`'s five numbers for each of ``wanted`` still in ``folder`` (one ``lstat``
    each, links not followed)."""
    found: dict[str, tuple[int, ...]] = {}
    with _in_folder(folder, root) as fd:
        for name in wanted if fd is not None else ():
            try:
                st = os.lstat(name, dir_fd=fd)
            except (FileNotFoundError, NotADirectoryError):
                continue
            found[name] = (
                st.st_mode & 0o170000,
                st.st_size,
                st.st_mtime_ns,
                st.st_ctime_ns,
                st.st_ino,
            )
        return found


def names(folder: Path, root: Path | None = None) -> list[str]:
    """The names in ``folder`` (nothing else: no type, no order), empty when it does not exist."""
    with _in_folder(folder, root) as fd:
        return [] if fd is None else os.listdir(fd)


def first_present(folder: Path, candidates: list[str], root: Path | None = None) -> str | None:
    """The first of ``candidates`` that is an entry of ``folder`` (of any type; a link is not
    followed), or None: one ``lstat`` each instead of listing the folder."""
    with _in_folder(folder, root) as fd:
        for name in candidates if fd is not None else ():
            try:
                os.stat(name, dir_fd=fd, follow_symlinks=False)
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError as err:
                raise ReadError(f"cannot look up {name!r}: {fs.reason(err)}", folder) from err
            return name
        return None


def _kind_at(fd: int, name: str) -> str:
    """:func:`_kind` of ``name`` in the folder ``fd``; "" when it is gone."""
    try:
        mode = os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return ""
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISDIR(mode):
        return "dir"
    return "file" if stat.S_ISREG(mode) else "other"


def _kind(entry: os.DirEntry[str]) -> str:
    if entry.is_symlink():
        return "link"
    if entry.is_dir(follow_symlinks=False):
        return "dir"
    return "file" if entry.is_file(follow_symlinks=False) else "other"


def stray_temps(
    directories: Iterable[Path],
    root: Path | None = None,
    listed: Mapping[Path, list[str]] | None = None,
) -> list[Path]:
    """Temp files left in ``directories`` by an interrupted write (links are never entered).
    ``listed``: the temp names already seen in some of them (by :func:`scan`), which are then
    looked at but not listed again."""
    found = []
    for directory in directories:
        try:
            if listed is not None and directory in listed:
                names = _kinds(directory, root, listed[directory])
            else:
                names = entries(directory, root, fs.TMP_PREFIX)
        except (UnsafePath, ReadError):
            continue  # validate reports a linked folder; a sweep just stays out of it
        found += [directory / n for n, kind in names if kind == "file"]
    return found


def _kinds(folder: Path, root: Path | None, names: list[str]) -> list[tuple[str, str]]:
    """``(name, kind)`` of those ``names`` still in ``folder`` (as :func:`entries` gives)."""
    with _in_folder(folder, root) as fd:
        return [] if fd is None else [(n, kind) for n in names if (kind := _kind_at(fd, n))]
