"""The query index's SQLite file: where it lives, its schema, and what happens when it is wrong.

The file is ``index.sqlite`` in the per-clone state folder (``.git/gitstore/``), where no commit can
put a file; it is derived data, so anything wrong with it costs a rebuild, never a wrong answer.
Opening it checks that it is a regular file (a link or anything else there is removed first),
that SQLite can read it and that its schema is this version's. A file SQLite calls corrupt or
not a database is deleted and made again (under a lock, so two processes do not delete each
other's new file); a wrong schema version is dropped and created again in one transaction.

Several processes may use it at once: WAL mode lets readers go on while one writer writes, and
writers wait for each other up to :data:`BUSY_SECONDS`. Whatever keeps the index from being
read or written now (busy past that, a read-only folder, a full disk) raises :class:`Unusable`,
and the caller answers from the files instead. A ``kill -9`` at any moment leaves the last
committed transaction: every change the index makes is one.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

from gitstore import fs

NAME = "index.sqlite"
SCHEMA = "gitstore-index 4"
BUSY_SECONDS = 5.0

# SQLite's primary result codes that mean "the file is not a good database": rebuild it.
_CORRUPT = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB

TABLES = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE dirs(
    folder TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    names TEXT NOT NULL,
    stats BLOB NOT NULL,
    racy TEXT NOT NULL
);
CREATE TABLE dirmeta(
    folder TEXT PRIMARY KEY,
    listgen INTEGER NOT NULL,
    scanned INTEGER,
    dirstat TEXT,
    rowgen INTEGER NOT NULL,
    derived TEXT
);
CREATE TABLE files(
    id INTEGER PRIMARY KEY,
    folder TEXT NOT NULL,
    name TEXT NOT NULL,
    fmt INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime INTEGER NOT NULL,
    ctime INTEGER NOT NULL,
    ino INTEGER NOT NULL,
    trusted INTEGER NOT NULL,
    hash TEXT,
    state INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    conflicted INTEGER NOT NULL DEFAULT 0,
    data TEXT,
    error TEXT,
    folded TEXT,
    problems TEXT,
    pkey TEXT,
    pdue INTEGER,
    UNIQUE(folder, name)
);
CREATE INDEX files_state ON files(folder, state);
CREATE INDEX files_conflicted ON files(folder) WHERE conflicted = 1;
CREATE INDEX files_folded ON files(folder, fmt, folded);
CREATE INDEX files_pkey ON files(folder, pkey);
CREATE INDEX files_problems ON files(folder) WHERE problems IS NOT NULL;
CREATE INDEX files_pdue ON files(folder, pdue) WHERE pdue IS NOT NULL;
CREATE INDEX files_blob ON files(folder, trusted, name, hash);
CREATE TRIGGER files_added AFTER INSERT ON files BEGIN
    UPDATE dirmeta SET derived = NULL, rowgen = random() WHERE folder = NEW.folder;
END;
CREATE TRIGGER files_changed AFTER UPDATE ON files BEGIN
    UPDATE dirmeta SET derived = NULL, rowgen = random() WHERE folder IN (OLD.folder, NEW.folder);
END;
CREATE TRIGGER files_removed AFTER DELETE ON files BEGIN
    UPDATE dirmeta SET derived = NULL, rowgen = random() WHERE folder = OLD.folder;
END;
"""


class Unusable(Exception):
    """The index cannot be used for this call (busy, read-only, full, broken): use the files."""


def corrupt(err: sqlite3.Error) -> bool:
    code = getattr(err, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in _CORRUPT:
        return True
    text = str(err)
    return "malformed" in text or "not a database" in text


def _clear_strays(path: Path) -> bool:
    """Remove anything at the index's paths that is not a regular file (a link is never
    followed). False when something there cannot be removed."""
    for candidate in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        try:
            mode = os.lstat(candidate).st_mode
        except FileNotFoundError:
            continue
        except OSError:
            return False
        if stat.S_ISREG(mode):
            continue
        try:
            if stat.S_ISDIR(mode):
                os.rmdir(candidate)
            else:
                os.unlink(candidate)
        except OSError:
            return False
    return True


def connect(state: Path) -> tuple[sqlite3.Connection, int]:
    """An open, checked connection to the index (made when missing) and the inode of its file,
    or :class:`Unusable`."""
    path = state / NAME
    for attempt in range(2):
        try:
            fs.ensure_dir(state)
        except OSError as err:  # WriteError is an OSError
            raise Unusable(str(err)) from None
        if not _clear_strays(path):
            raise Unusable(f"{path}: not a regular file and cannot be removed")
        conn = None
        ino = 0
        try:
            conn = sqlite3.connect(
                str(path), timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False
            )
            ino = _check(conn, path)
            return conn, ino
        except (sqlite3.Error, UnicodeDecodeError) as err:
            if conn is not None:
                conn.close()
            broken = isinstance(err, UnicodeDecodeError) or corrupt(err)
            if not broken or attempt:
                raise Unusable(str(err)) from None
            remove(state, ino or _inode(path))
    raise Unusable("unreachable")  # pragma: no cover


def _inode(path: Path) -> int:
    try:
        return os.lstat(path).st_ino
    except OSError:
        return 0


def _check(conn: sqlite3.Connection, path: Path) -> int:
    """WAL mode, and this version's schema (made or replaced in one transaction); the inode."""
    st = os.lstat(path)  # sqlite follows links: what it opened must still be a plain file
    if not stat.S_ISREG(st.st_mode):
        raise sqlite3.DatabaseError("file is not a database (not a regular file)")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA cell_size_check=ON")  # more of a damaged page is seen as damage
    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        conn.execute("PRAGMA journal_mode=WAL")
    if _version(conn) == SCHEMA:
        return st.st_ino
    conn.execute("BEGIN IMMEDIATE")
    try:
        if _version(conn) != SCHEMA:  # another process may have made it meanwhile
            tables = conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            ).fetchall()
            for (name,) in tables:
                conn.execute(f'DROP TABLE IF EXISTS "{name}"')
            for statement in _statements(TABLES):
                conn.execute(statement)
            conn.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA,))
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    return st.st_ino


def _statements(script: str) -> list[str]:
    """The SQL statements of ``script`` (a trigger's body holds semicolons of its own)."""
    found, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            found.append(pending)
            pending = ""
    return found


def _version(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    except sqlite3.OperationalError as err:
        if "no such table" in str(err):
            return None
        raise
    return None if row is None else str(row[0])


def remove(state: Path, ino: int) -> None:
    """Delete a broken index (and its WAL) if it is still the file found broken (inode
    ``ino``), under a lock: two processes that both found it broken must not delete each
    other's new one."""
    from gitstore.lock import FileLock

    path = state / NAME
    try:
        with FileLock(state / "locks" / "index.lock", timeout=BUSY_SECONDS):
            if _inode(path) not in (ino, 0):
                return  # made again meanwhile
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path.with_name(path.name + suffix))
    except (OSError, TimeoutError) as err:  # LockTimeout is a TimeoutError
        raise Unusable(str(err)) from None


@contextlib.contextmanager
def writing(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction (rolled back on any error). SQLite's errors go up as they are:
    the :class:`~gitstore.index.Index` around every use turns them into :class:`Unusable` and
    removes a corrupt file."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
