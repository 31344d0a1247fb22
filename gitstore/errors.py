"""Every error gitstore raises, under one base so callers can catch "any gitstore error".

Each class carries the CLI exit code that represents it; only ``gitstore.cli`` turns that into a
process exit. Library code raises, it never exits.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the driver 5 ms
if TYPE_CHECKING:
    from pathlib import Path


# Every exit code the CLI uses: (code, short name, what produces it). The help text, README and
# docs/cli.md give the short form (a test checks they agree, and that a real command produces each).
EXIT_CODES = (
    (0, "ok", "the command did what it says"),
    (
        1,
        "problems found",
        "validation problems, conflicts, a failed doctor check; a value or record the schema "
        "refuses (a missing required field, a wrong type, a value outside an enum), a record or "
        "section not found, an id that exists already, a declined confirmation",
    ),
    (
        2,
        "usage",
        "a malformed command: an unknown command or option, a missing argument, a bad option "
        "value, KEY=VALUE syntax, an invalid id, an unknown collection, remote or remote "
        "branch, options that exclude each other, `roadmap rm` without --yes off a terminal",
    ),
    (3, "lock timeout", "another process held the lock longer than the lock timeout"),
    (4, "version conflict", "--if-version / expected_version did not match: re-read, retry"),
    (5, "not a store", "no gitstore.yaml here or above"),
    (6, "remote unreachable", "sync could not reach the remote; local commits are kept"),
    (130, "interrupted", "Ctrl-C"),
    (143, "terminated", "SIGTERM"),
)


def exit_summary() -> str:
    """``0 ok, 1 problems found, ..., 6 remote unreachable``: the documented codes."""
    return ", ".join(f"{code} {name}" for code, name, _ in EXIT_CODES if code < 128)


class GitStoreError(Exception):
    """Base class. ``path`` (and ``line``) say where, ``str(err)`` says what and what to do."""

    exit_code = 1
    code = "error"

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.details: list[str] = []  # lines to show above the message (what a hook printed)

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return f"{where}{self.message}"


class UsageError(GitStoreError):
    """The caller asked for something malformed: a bad id, an unknown collection or field."""

    exit_code = 2
    code = "usage"


class Interrupted(GitStoreError):
    """What the CLI says of a Ctrl-C: "interrupted", and what was left half done when the
    interrupted step says so (the text of its ``KeyboardInterrupt``)."""

    exit_code = 130
    code = "interrupted"


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
