"""Every error gitstore raises, under one base so callers can catch "any gitstore error".

Each class carries the CLI exit code that represents it; only ``gitstore.cli`` turns that into a
process exit. Library code raises, it never exits.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the driver 5 ms
if TYPE_CHECKING:
    from pathlib import Path


class GitStoreError(Exception):
    """Base class. ``path`` (and ``line``) say where, ``str(err)`` says what and what to do."""

    exit_code = 1
    code = "error"

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return f"{where}{self.message}"


class UsageError(GitStoreError):
    """The caller asked for something malformed: a bad id, an unknown collection or field."""

    exit_code = 2
    code = "usage"


class NotAStore(GitStoreError):
    exit_code = 5
    code = "not_a_store"


class NotFound(GitStoreError):
    code = "not_found"


class Exists(GitStoreError):
    """A record created with an id that is already taken."""

    code = "exists"


class RecordError(GitStoreError, ValueError):
    """A record file or a proposed record is invalid (YAML, schema, size, safety)."""

    code = "invalid"


class UnsafePath(RecordError):
    """A store path that gitstore will not follow or open: a symlink, a special file, a folder
    where a file belongs, a file over the size limit, or a path outside the store."""

    code = "unsafe_path"


class ConfigError(GitStoreError):
    code = "config"


class WriteError(GitStoreError, OSError):
    """Writing failed (full disk, failed fsync, read-only file); the old content is intact."""

    code = "write_failed"


class ReadError(GitStoreError, OSError):
    """A file could not be read (an I/O error, not bad content)."""

    code = "read_failed"


class LockTimeout(GitStoreError, TimeoutError):
    exit_code = 3
    code = "lock_timeout"


class Offline(GitStoreError):
    """The remote could not be reached; local commits are kept for the next sync."""

    exit_code = 6
    code = "offline"


class VersionConflict(GitStoreError):
    exit_code = 4
    code = "version_conflict"

    def __init__(self, message: str, path: str | Path | None = None, *, expected: int, actual: int):
        super().__init__(message, path)
        self.expected = expected
        self.actual = actual
