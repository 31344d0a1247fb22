"""A single-file write prepared before its lock is taken: its folder entered once, its temp file
made, so that under the lock only the read, the temp file's bytes and fsync and the rename remain.

This is :func:`gitstore.fs.atomic_write` split in two around the lock, with the same protocol and
the same guarantees: the folder is entered from the store root one component at a time without
following links (:func:`gitstore.fs._enter`), and the read, the temp file and the rename all go
through that one descriptor, so they are in one folder and never through a link; the target is
checked (a link, not a regular file, read-only) under the lock, just before it is replaced; every
step calls :data:`gitstore.fs.fault_hook` first. Creating a file in a folder needs no lock, and on
ext4 costs as much as ~50 µs under it. The caller holds the store lock (shared) from before
:func:`prepare` to after :meth:`Prepared.close`, so no sweep can take the temp file meanwhile; a
temp file that is not used is removed by :meth:`Prepared.close`, and one a crash leaves is swept
like any other.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from gitstore import fs
from gitstore.errors import ReadError, UnsafePath, WriteError


class Prepared:
    """The open folder of ``path`` and an empty temp file in it (see the module)."""

    __slots__ = ("dir_fd", "name", "path", "tmp", "tmp_fd")

    def __init__(self, path: Path, dir_fd: int, name: str, tmp: str, tmp_fd: int):
        self.path, self.dir_fd, self.name, self.tmp, self.tmp_fd = path, dir_fd, name, tmp, tmp_fd

    def read(self, limit: int, keep: list[int] | None = None) -> bytes:
        """:func:`gitstore.fs.read_bytes` of the file, in the folder entered already."""
        try:
            fs.step("read", self.path)
            return fs._read_at(self.dir_fd, self.name, self.path, limit, False, keep)[0]
        except (FileNotFoundError, UnsafePath, ReadError):
            raise
        except OSError as err:
            raise ReadError(f"cannot read: {fs.reason(err)}", self.path) from err

    def replace(self, data: bytes, renamed: Callable[[], None] | None = None) -> None:
        """Write ``data`` into the temp file, fsync it and rename it onto the file, then fsync
        the folder, as :func:`gitstore.fs.atomic_write` does (``renamed`` likewise)."""
        path, dir_fd, fd = self.path, self.dir_fd, self.tmp_fd
        shown = path.with_name(self.tmp) if fs.fault_hook is not None else path
        try:
            try:
                mode = fs._target_mode(dir_fd, self.name, path)
                if mode is not None:
                    fs.step("chmod", shown)
                    os.fchmod(fd, mode)
                view = memoryview(data)
                while view:
                    fs.step("write", shown)
                    view = view[os.write(fd, view) :]
                fs.step("fsync", shown)
                os.fsync(fd)  # an fsync error is fatal: the page cache may have dropped our bytes
            finally:
                self.tmp_fd = -1
                os.close(fd)
            fs.step("replace", path)
            os.replace(self.tmp, self.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            self.tmp = ""  # in place: nothing left to remove
        except (UnsafePath, WriteError):
            raise
        except OSError as err:
            raise fs._failed(err, path) from err
        if renamed is not None:
            renamed()
        try:
            if fs.fault_hook is not None:
                fs.step("fsync_dir", path.parent)
            os.fsync(dir_fd)
        except OSError as err:
            raise WriteError(
                f"new content is in place but the directory fsync failed ({fs.reason(err)}); "
                "it may not survive a power loss",
                path,
            ) from err

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
    :func:`gitstore.fs.atomic_write` under the lock as usual, which reports what is wrong."""
    try:
        folder, name = fs._split_of(path)
        dir_fd = fs._enter(folder, root)
    except (OSError, UnsafePath, ReadError):
        return None
    try:
        tmp = fs._temp_name(name)
        fs.step("open", path.with_name(tmp) if fs.fault_hook is not None else path)
        tmp_fd = os.open(tmp, fs._CREATE, 0o666, dir_fd=dir_fd)  # umask applies
    except OSError:
        os.close(dir_fd)
        return None
    except BaseException:
        os.close(dir_fd)
        raise
    return Prepared(path, dir_fd, name, tmp, tmp_fd)
