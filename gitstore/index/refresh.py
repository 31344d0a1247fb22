"""Bringing the index up to date with a collection's folder by stat, the way git refreshes its own.

Each use lists the folder and ``lstat``s every entry (type, size, mtime_ns, ctime_ns, inode). The
folder's last listing is kept as one row (``dirs``: the names and their numbers in listing order),
so when nothing changed the whole check is two byte-string comparisons. Otherwise only entries
whose numbers changed are read again; a file read again whose bytes hash as before keeps its parse.
Rows of vanished files are deleted.

Racy files: a file changed twice within one tick of the file system's clock keeps its numbers.
So an entry whose mtime or ctime is not older than the moment this refresh started (taken from
the file system's own clock, by touching a marker in the state folder, less a margin) is stored
as not trusted, and read again by the next refresh until it is old enough. Everything read is
keyed by the numbers of the file it was read from (``fstat`` after the read), never by the
listing's.

Rows are written in small transactions and the listing row last, in its own transaction, from the
rows as they are then: so a refresh killed at any point, or racing another, leaves rows that match
their numbers, and a listing that matches the rows. A query then runs in one read transaction
that first checks the listing against this call's own listing of the folder, and does the whole
refresh again when another process changed it in between.
"""

from __future__ import annotations

import array
import collections
import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitstore import fs
from gitstore.errors import ReadError, RecordError, UnsafePath, UsageError
from gitstore.index import codec, listing
from gitstore.index.db import writing
from gitstore.index.keys import parse_key
from gitstore.index.listing import REG, Listing, _count, _differing, _moved, _places, stored_listing
from gitstore.index.vouch import blob_id

if TYPE_CHECKING:
    import sqlite3
    from concurrent.futures import Future

    from gitstore.schema import Collection
    from gitstore.store import Store
    from gitstore.validate import Validator

BATCH = 256
PARALLEL = 2000  # files to read before it pays to fork a worker per core
OK, ERROR, VOLATILE = 0, 1, 2  # a parse, a cached error, read from disk at every use
ROW = (
    "folder, name, fmt, size, mtime, ctime, ino, trusted, hash, state, deleted, conflicted, "
    "data, error, folded, problems, pkey, pdue"
)
_ERRORS: dict[str, type[RecordError]] = {"RecordError": RecordError, "UnsafePath": UnsafePath}
# A row is replaced only by what was read from the same or a later version of its file (ctime
# moves forward with every change): a refresh that read a file just before it changed must not
# put the old parse back over a newer one another refresh stored meanwhile. A row from the future
# (a clock set back since) gives way.
# A vanished file's row goes, unless a newer version of the file came back and was stored.
GONE = "DELETE FROM files WHERE folder = ? AND name = ? AND ctime <= ?"
UPSERT = (
    f"INSERT INTO files({ROW}) VALUES ({','.join('?' * 18)}) ON CONFLICT(folder, name) DO UPDATE "
    f"SET {', '.join(f'{c} = excluded.{c}' for c in ROW.split(', ')[2:])} "
    "WHERE excluded.ctime >= files.ctime OR files.ctime > ?"
)


class Refresh:
    """One refresh of one folder: what changed since the stored listing, read again and stored."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        store: Store,
        coll: Collection,
        validator: Validator | None = None,
        pkey: str | None = None,
    ):
        self.conn, self.store, self.coll = conn, store, coll
        self.validator, self.pkey = validator, pkey
        self.folder = coll.path
        self.key = parse_key(store, coll)
        self.limit = store.config.max_record_bytes
        self.read_limit = max(self.limit, fs.MAX_FILE_BYTES) if validator else self.limit
        self.seen: set[str] = set()  # names read in this call

    def run(self, now: Listing, device: int | None) -> None:
        """Bring rows and the listing row up to date with ``now``."""
        conn = self.conn
        threshold = listing.racy_threshold(self.store.state, device)
        wipe = False
        conn.execute("BEGIN")
        try:
            row = conn.execute(
                "SELECT key, names, stats, racy FROM dirs WHERE folder = ?", (self.folder,)
            ).fetchone()
            old = stored_listing(conn, self.folder, self.key)
            if row is not None and row[0] != self.key:
                wipe, old = True, None  # the limits, the id rules or this code changed
            elif old is None or _count(conn, self.folder) != old.records():
                old = self._listing_from_rows()  # the rows are what counts
                row = None
            racy = set(json.loads(row[3])) if row is not None and old is not None else set()
        finally:
            conn.execute("COMMIT")
        if wipe:
            with writing(conn):
                conn.execute("DELETE FROM files WHERE folder = ?", (self.folder,))
                conn.execute("DELETE FROM dirs WHERE folder = ?", (self.folder,))
                conn.execute("DELETE FROM dirmeta WHERE folder = ?", (self.folder,))
        base = old or Listing(self.folder, [], array.array("q"))
        seen = self.seen
        if base.names == now.names:
            changed = _differing(base, now)
            todo = changed + [n for n in racy if n not in seen]
            gone: list[tuple[str, int]] = []
        else:
            todo, gone = _moved(base, now)
            todo += [n for n in racy if n not in seen]
        if self.validator is not None:
            chosen = set(todo) | seen
            todo += [n for n in self.unchecked() if n not in chosen]
        where = _places(now, set(todo))
        todo = [n for n in dict.fromkeys(todo) if n in where]  # listed now, once each
        numbers = {n: tuple(now.stats[5 * i : 5 * i + 5]) for n, i in where.items()}
        self._store_all(todo, numbers, threshold)
        stored = (row[1], row[2]) if row is not None else None
        self._finish(now, stored, where, gone, threshold)

    # ------------------------------------------------------------ reading files

    def _listing_from_rows(self) -> Listing:
        rows = self.conn.execute(
            "SELECT name, fmt, size, mtime, ctime, ino FROM files WHERE folder = ?",
            (self.folder,),
        ).fetchall()
        stats = array.array("q")
        for row in rows:
            stats.extend(row[1:])
        return Listing(self.folder, [r[0] for r in rows], stats)

    def unchecked(self) -> list[str]:
        """Record files whose validation outcome is missing, under another key, or due again
        (a time ahead of the clock then)."""
        # +fmt: not an index column here, so SQLite searches files_pkey / files_pdue (a few
        # rows) instead of every row of the folder through files_folded (100,000: 0.17 s)
        query = "SELECT name FROM files WHERE folder = ? AND +fmt = ? AND "
        args = (self.folder, REG)
        found = self.conn.execute(query + "pkey IS NULL", args).fetchall()
        found += self.conn.execute(query + "pkey < ?", (*args, self.pkey)).fetchall()
        found += self.conn.execute(query + "pkey > ?", (*args, self.pkey)).fetchall()
        found += self.conn.execute(
            query + "pdue IS NOT NULL AND pdue > ?", (*args, now_micros())
        ).fetchall()
        return list(dict.fromkeys(n for (n,) in found))

    def _store_all(
        self, todo: list[str], numbers: dict[str, tuple[int, ...]], threshold: int
    ) -> None:
        """Read and store ``todo`` in batches, on every core when there are many (a first
        build: parsing is what costs)."""
        self.seen.update(todo)
        records = [n for n in todo if n.endswith(".yaml")]
        jobs = (
            (batch, {n: numbers[n] for n in batch}, self._old_rows(batch), threshold)
            for batch in _chunks(records, BATCH)
        )
        cores = os.cpu_count() or 1
        if len(records) < PARALLEL or cores < 2 or not hasattr(os, "fork"):
            for job in jobs:
                self._write_batch(*self._examine_batch(job), numbers)
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        global _worker
        _worker = self  # inherited by the forked workers, never pickled; they touch no SQLite
        try:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(
                cores, mp_context=context, initializer=_watch, initargs=(os.getpid(),)
            ) as pool:
                waiting: collections.deque[Future[Done]] = collections.deque()
                for job in jobs:  # a few batches in flight: memory stays bounded
                    waiting.append(pool.submit(_examine_in_worker, job))
                    if len(waiting) > 2 * cores:
                        self._write_batch(*waiting.popleft().result(), numbers)
                while waiting:
                    self._write_batch(*waiting.popleft().result(), numbers)
        finally:
            _worker = None

    def _old_rows(self, names: list[str]) -> dict[str, tuple[Any, ...]]:
        marks = ",".join("?" * len(names))
        return {
            row[0]: tuple(row)
            for row in self.conn.execute(
                f"SELECT name, hash, state, deleted, conflicted, data, error, problems, pkey, pdue "
                f"FROM files WHERE folder = ? AND name IN ({marks})",
                (self.folder, *names),
            )
        }

    def _examine_batch(self, job: Job) -> Done:
        names, numbers, old, threshold = job
        rows, gone = [], []
        for name in names:
            row = self._examine(name, numbers[name], old.get(name), threshold)
            if row is None:
                gone.append(name)
            else:
                rows.append(row)
        return rows, gone

    def _write_batch(
        self, rows: list[tuple[Any, ...]], gone: list[str], numbers: dict[str, tuple[int, ...]]
    ) -> None:
        with writing(self.conn) as conn:
            conn.executemany(UPSERT, [(*row, time.time_ns()) for row in rows])
            conn.executemany(GONE, [(self.folder, n, numbers[n][3]) for n in gone])

    def _examine(
        self, name: str, listed: tuple[int, ...], old: Any, threshold: int
    ) -> tuple[Any, ...] | None:
        """The row for one record file as it is now, or None when it is gone."""
        path = self.store.root / self.folder / name
        numbers = listed
        digest = raw = None
        state, deleted, conflicted, data, error = VOLATILE, 0, 0, None, None
        try:
            raw, st = fs.read_stat(path, self.read_limit, root=self.store.root)
        except FileNotFoundError:
            return None
        except ReadError:
            pass  # perhaps passing (a permission): never stored, read at every use
        except RecordError as err:  # not a regular file, or over the limit
            state, error = self._error(err, path)
        else:
            numbers = (stat.S_IFMT(st.st_mode), st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            numbers += (st.st_ino,)
            digest = blob_id(raw)
        problems = pkey = pdue = None
        if raw is not None and old is not None and old[1] == digest and old[2] != VOLATILE:
            state, deleted, conflicted, data, error = old[2:7]
            problems, pkey, pdue = old[7:10]
        elif raw is not None:
            state, deleted, conflicted, data, error = self._parse(name, path, raw)
        if self.validator is not None:
            if numbers[0] != REG:
                pkey = self.pkey  # validation reads no such file: the listing says why
            elif pkey != self.pkey or _due(pdue):
                problems, pkey, pdue = self._validate(name, path, raw)
        return (
            self.folder,
            name,
            *numbers,
            int(max(numbers[2], numbers[3]) < threshold),
            digest,
            state,
            deleted,
            conflicted,
            data,
            error,
            _folded(name) if numbers[0] == REG else None,
            problems,
            pkey,
            pdue,
        )

    def _error(self, err: RecordError, path: Path) -> tuple[int, str | None]:
        """A read's error as stored: only the kinds that depend on nothing but the file, and
        only when they name the file itself."""
        kind = type(err).__name__
        if _ERRORS.get(kind) is type(err) and err.path == str(path):
            return ERROR, json.dumps([kind, err.message, err.line])
        return VOLATILE, None

    def _parse(self, name: str, path: Path, raw: bytes) -> tuple[int, int, int, Any, Any]:
        """What ``Store.read`` makes of these bytes: (state, deleted, conflicted, data, error)."""
        record_id = name[: -len(".yaml")]
        try:
            self.coll.check_id(record_id)
        except UsageError:
            return VOLATILE, 0, 0, None, None  # the read raises before it reads: let it
        try:
            if len(raw) > self.limit:  # read past the store's limit for validation's
                raw = fs.read_bytes(path, self.limit, root=self.store.root)
            _, rec = self.store._parse(record_id, path, raw)
        except RecordError as err:
            state, error = self._error(err, path)
            return state, 0, 0, None, error
        except (OSError, ReadError):
            return VOLATILE, 0, 0, None, None
        try:
            text = codec.encode(rec)
        except codec.Unfaithful:
            return VOLATILE, 0, 0, None, None
        conflicts = isinstance(rec.get("conflicts"), dict)
        return OK, int(rec.get("deleted") is True), int(conflicts), text, None

    def _validate(self, name: str, path: Path, raw: bytes | None) -> tuple[str | None, Any, Any]:
        """Validation's outcome for the file: (problems, key, due)."""
        from gitstore.index.checks import outcome

        assert self.validator is not None and self.pkey is not None
        return outcome(self.validator, self.pkey, f"{self.folder}/{name}", path, raw, self.store)

    # ------------------------------------------------------------ the listing row

    def _finish(
        self,
        now: Listing,
        stored: tuple[str, bytes] | None,
        where: dict[str, int],
        gone: list[tuple[str, int]],
        threshold: int,
    ) -> None:
        """Store the listing in ``now``'s order, a record's numbers always its row's. The names
        read now (``where``: name -> place in ``now``) take their rows' numbers; every other
        name's numbers did not change from the listing row this refresh started from, so they
        are ``now``'s own, unless another refresh wrote a listing meanwhile: then every number
        comes from the rows."""
        conn = self.conn
        with writing(conn):
            conn.executemany(GONE, [(self.folder, n, ctime) for n, ctime in gone])
            committed = conn.execute(
                "SELECT names, stats, racy FROM dirs WHERE folder = ?", (self.folder,)
            ).fetchone()
            scanned = now.scanned
            if stored is None or committed is None or tuple(committed[:2]) != stored:
                where = {n: i for i, n in enumerate(now.names)}
                earlier: set[str] = set()
                if stored is not None:  # another refresh's rows: read when, this one can't say
                    scanned = None
            else:
                earlier = set(json.loads(committed[2]))
            rows = self._numbers_in_rows([n for n in where if n.endswith(".yaml")])
            stats = array.array("q", now.stats)
            racy = earlier - set(where)
            dropped = []
            for name, i in where.items():
                if name.endswith(".yaml"):
                    if name not in rows:
                        dropped.append(i)  # gone meanwhile: the next refresh reads it
                        continue
                    numbers, trusted = rows[name]
                    stats[5 * i : 5 * i + 5] = array.array("q", numbers)
                else:
                    trusted = max(stats[5 * i + 2], stats[5 * i + 3]) < threshold
                if not trusted:
                    racy.add(name)
            names = now.names
            if dropped:
                keep = sorted(set(range(len(names))) - set(dropped))
                names = [names[i] for i in keep]
                kept = array.array("q")
                for i in keep:
                    kept.extend(stats[5 * i : 5 * i + 5])
                stats = kept
            if racy:
                racy &= set(names)  # not a name that is gone
            listed = Listing(self.folder, names, stats)
            if _count(conn, self.folder) != listed.records():
                self._drop_orphans(set(names))
            conn.execute(
                "INSERT OR REPLACE INTO dirs(folder, key, names, stats, racy) "
                "VALUES (?, ?, ?, ?, ?)",
                (self.folder, self.key, listed.joined, stats.tobytes(), json.dumps(sorted(racy))),
            )
            dirstat = now.dirstat if names is now.names else None  # (nothing dropped)
            conn.execute(
                "INSERT OR REPLACE INTO dirmeta(folder, listgen, scanned, dirstat, rowgen) "
                "VALUES (?, random(), ?, ?, random())",
                (self.folder, scanned, dirstat),
            )

    def _numbers_in_rows(self, names: list[str]) -> dict[str, tuple[tuple[int, ...], bool]]:
        found = {}
        for chunk in _chunks(names):
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(
                f"SELECT name, fmt, size, mtime, ctime, ino, trusted FROM files "
                f"WHERE folder = ? AND name IN ({marks})",
                (self.folder, *chunk),
            ):
                found[row[0]] = (tuple(row[1:6]), bool(row[6]))
        return found

    def _drop_orphans(self, keep: set[str]) -> None:
        """Rows of no listed file (a refresh killed between its rows and its listing row)."""
        stored = self.conn.execute(
            "SELECT name FROM files WHERE folder = ?", (self.folder,)
        ).fetchall()
        self.conn.executemany(
            "DELETE FROM files WHERE folder = ? AND name = ?",
            [(self.folder, n) for (n,) in stored if n not in keep],
        )


Job = tuple[list[str], dict[str, tuple[int, ...]], dict[str, tuple[Any, ...]], int]
Done = tuple[list[tuple[Any, ...]], list[str]]
_worker: Refresh | None = None


def _watch(parent: int) -> None:
    """In a worker: end when the parent is gone (a kill -9 leaves nobody to stop us)."""
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _examine_in_worker(job: Job) -> Done:
    assert _worker is not None
    return _worker._examine_batch(job)


def _chunks(names: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(names), size):
        yield names[start : start + size]


def _folded(name: str) -> str:
    """The key two names share when macOS or Windows would take them for one file."""
    from gitstore.spellings import fold

    return fold(name)


def now_micros() -> int:
    return time.time_ns() // 1000


def _due(pdue: int | None) -> bool:
    """Whether a stored validation outcome must be computed again now (see checks.outcome)."""
    return pdue is not None and pdue > now_micros()


def stored_error(text: str, path: Path) -> RecordError:
    kind, message, line = json.loads(text)
    return _ERRORS[kind](message, path, line)
