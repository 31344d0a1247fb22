"""A folder's listing as the query index keeps it: names in listing order, five numbers each.

Every use of the index lists the collection's folder and ``lstat``s every entry (file type bits,
size, mtime_ns, ctime_ns, inode): the one step that is linear in the store, as ``git status``'s
is. The last listing is stored as one row (``dirs``: the names joined by ``/``, which no name
holds, and the numbers as one array of 64-bit integers), so that when nothing changed the check
is two byte-string comparisons and a row count (:func:`unchanged`), and when something did, the
entries that differ are found without a Python object per entry where possible.
"""

from __future__ import annotations

import array
import contextlib
import json
import os
import sqlite3
import stat
import time
from typing import TYPE_CHECKING, Any, TypeVar

from gitstore import folders

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from gitstore.schema import Collection
    from gitstore.store import Store

MARGIN_NS = 20_000_000  # the file system clock of the state folder, same device
FAR_MARGIN_NS = 3_000_000_000  # another device, or no marker: allow for skew and coarse clocks
REG = stat.S_IFREG
T = TypeVar("T")


class Listing:
    """One call's listing of a folder: names in listing order and five numbers per name."""

    def __init__(
        self,
        folder: str,
        names: list[str],
        stats: array.array[int],
        temps: list[str] | None = None,
        scanned: int | None = None,
        dirstat: str | None = None,
    ):
        self.folder, self.names, self.stats = folder, names, stats
        self.temps = temps or []  # temp-file names the listing skipped (for a sweep)
        # when it began (ns, the state folder's clock): every entry's numbers were seen, or its
        # bytes vouched for by git (see .vouch), after this moment
        self.scanned = scanned
        # the folder's own stat before it was listed, when no later change could keep it
        # (see dirstat_of): while the folder keeps it, these are its names
        self.dirstat = dirstat
        self._joined: str | None = None

    @property
    def joined(self) -> str:
        """The names as the listing row keeps them ('/' is the one character no name has)."""
        if self._joined is None:
            self._joined = "/".join(self.names)
        return self._joined

    def records(self) -> int:
        """How many names are record file names (end in .yaml)."""
        joined = self.joined
        return joined.count(".yaml/") + joined.endswith(".yaml")

    def numbers(self) -> dict[str, tuple[int, ...]]:
        return dict(zip(self.names, zip(*[iter(self.stats)] * 5, strict=True), strict=True))


def fs_clock(state: Path) -> os.stat_result | None:
    """'Now' on the state folder's file system clock (the ``fstat`` of a marker beside the
    index, just touched), or None when the marker cannot be touched."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(state / "index.clock", flags, 0o666)
        try:
            os.utime(fd)
            return os.fstat(fd)
        finally:
            os.close(fd)
    except OSError:
        return None


def racy_threshold(state: Path, folder_dev: int | None) -> int:
    """Times at or after this (ns) are too recent to trust: 'now' on the file system's clock,
    read by touching a marker beside the index, less a margin."""
    now = time.time_ns()
    st = fs_clock(state)
    if st is None:
        return now - FAR_MARGIN_NS
    margin = MARGIN_NS if st.st_dev == folder_dev else FAR_MARGIN_NS
    return min(now, st.st_mtime_ns) - margin


def list_folder(
    store: Store,
    coll: Collection,
    known: Callable[[str], Sequence[int] | None] | None = None,
    scanned: int | None = None,
) -> tuple[Listing, int | None]:
    """This call's listing of ``coll``'s folder (empty when it does not exist) and its device.
    ``known`` gives the numbers of entries vouched for without an ``lstat`` (see .vouch), and
    ``scanned`` the moment they were vouched for; else it is now, on the state folder's clock
    (the moment git's index file is compared with)."""
    temps: list[str] = []
    clock = fs_clock(store.state)
    if scanned is None and clock is not None:
        scanned = clock.st_mtime_ns
    try:
        own, names, numbers = folders.scan(store.root / coll.path, store.root, temps, known)
    except FileNotFoundError:
        return Listing(coll.path, [], array.array("q"), scanned=scanned), None
    listed = Listing(coll.path, names, numbers, temps, scanned, dirstat_of(own, clock, temps))
    return listed, own.st_dev


def dirstat_of(own: os.stat_result, clock: os.stat_result | None, temps: list[str]) -> str | None:
    """The folder's inode, mtime and ctime, as a listing keeps them (``dirstat``): only when
    both times are older than ``clock`` (the state folder's clock, read before the folder was
    opened) by the margin, so that any later change of its entries changes them; and only with
    no temp file in it, so that its names are all a sweep needs."""
    if clock is None or temps:
        return None
    margin = MARGIN_NS if clock.st_dev == own.st_dev else FAR_MARGIN_NS
    if max(own.st_mtime_ns, own.st_ctime_ns) >= clock.st_mtime_ns - margin:
        return None
    return f"{own.st_ino} {own.st_mtime_ns} {own.st_ctime_ns}"


def stored_listing(conn: sqlite3.Connection, folder: str, key: str) -> Listing | None:
    """The folder's listing row when it is sound and made under ``key``."""
    row = conn.execute(
        "SELECT key, names, stats, scanned, dirstat FROM dirs LEFT JOIN dirmeta USING (folder) "
        "WHERE folder = ?",
        (folder,),
    ).fetchone()
    if row is None or row[0] != key:
        return None
    names = row[1].split("/") if row[1] else []
    stats = array.array("q")
    stats.frombytes(row[2])
    if len(stats) != 5 * len(names):
        return None
    return Listing(folder, names, stats, scanned=row[3], dirstat=row[4])


def unchanged(conn: sqlite3.Connection, now: Listing, key: str, seen: set[str]) -> bool:
    """Whether the stored listing is ``now`` exactly, every racy name was read in this call
    (``seen``), and there is one row for each record file, no more (a listing is only written
    with a row for each of its record files; rows added since are counted)."""
    row = conn.execute(
        "SELECT key, names, stats, racy FROM dirs WHERE folder = ?", (now.folder,)
    ).fetchone()
    if row is None or row[0] != key or row[1] != now.joined or row[2] != now.stats.tobytes():
        return False
    if not set(json.loads(row[3])) <= seen:
        return False
    return bool(
        derived(conn, now.folder, "count", lambda: _count(conn, now.folder)) == now.records()
    )


def cached(conn: sqlite3.Connection, folder: str) -> tuple[dict[str, Any], int] | None:
    """What is kept about the folder's rows (``derived``: a JSON object, forgotten by the
    triggers on ``files`` whenever a row changes), with the generation it was kept under
    (``rowgen``, made new by the same triggers); None without a listing row."""
    row = conn.execute("SELECT derived, rowgen FROM dirmeta WHERE folder = ?", (folder,)).fetchone()
    if row is None:
        return None
    found = json.loads(row[0]) if row[0] is not None else {}
    if not isinstance(found, dict):
        raise ValueError(f"derived of {folder} is not an object")
    return found, int(row[1])


def keep(conn: sqlite3.Connection, folder: str, rowgen: int, name: str, value: Any) -> None:
    """Keep ``value`` (computed from the folder's rows of generation ``rowgen``) as ``name``,
    unless a row changed since."""
    _quietly(
        conn,
        "UPDATE dirmeta SET derived = json_set(coalesce(derived, '{}'), ?, json(?)) "
        "WHERE folder = ? AND rowgen = ?",
        (f"$.{name}", json.dumps(value), folder, rowgen),
    )


def derived(conn: sqlite3.Connection, folder: str, name: str, compute: Callable[[], T]) -> T:
    """``compute()`` (a value of the folder's rows alone), kept until a row changes."""
    found = cached(conn, folder)
    if found is not None and name in found[0]:
        return found[0][name]  # type: ignore[no-any-return]
    value = compute()
    if found is not None:
        keep(conn, folder, found[1], name, value)
    return value


def generations(conn: sqlite3.Connection, folder: str) -> tuple[int, int, int | None] | None:
    """The folder's listing and row generations and the moment its listing was last seen
    whole (see :func:`confirm`)."""
    row = conn.execute(
        "SELECT listgen, rowgen, scanned FROM dirmeta WHERE folder = ?", (folder,)
    ).fetchone()
    return None if row is None else (int(row[0]), int(row[1]), row[2])


def confirm(conn: sqlite3.Connection, now: Listing, seen: tuple[int, int, int | None]) -> None:
    """Record that an ``lstat`` of every entry found the stored listing as it is (``now``) at
    ``now.scanned``, unless the listing or a row changed since (``seen``: their generations
    then): git's index, written before that moment, can then vouch for its files (.vouch)."""
    _quietly(
        conn,
        "UPDATE dirmeta SET scanned = ?, dirstat = ? WHERE folder = ? AND listgen = ? "
        "AND rowgen = ?",
        (now.scanned, now.dirstat, now.folder, seen[0], seen[1]),
    )


def _quietly(conn: sqlite3.Connection, sql: str, args: tuple[Any, ...]) -> None:
    """A write that only saves work later: done at once or not at all (never waited for)."""
    from gitstore.index.db import BUSY_SECONDS

    conn.execute("PRAGMA busy_timeout = 0")
    try:
        with contextlib.suppress(sqlite3.OperationalError):
            conn.execute(sql, args)
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_SECONDS * 1000)}")


def _count(conn: sqlite3.Connection, folder: str) -> int:
    return int(conn.execute("SELECT count(*) FROM files WHERE folder = ?", (folder,)).fetchone()[0])


def _differing(old: Listing, now: Listing) -> list[str]:
    """Names (the same in both, in the same order) whose numbers differ, compared a block of 64
    entries at a time."""
    a, b = old.stats, now.stats
    if a == b:
        return []
    found = []
    step = 5 * 64
    for start in range(0, len(a), step):
        if a[start : start + step] != b[start : start + step]:
            for i in range(start, min(start + step, len(a)), 5):
                if a[i : i + 5] != b[i : i + 5]:
                    found.append(now.names[i // 5])
    return found


def _moved(old: Listing, now: Listing) -> tuple[list[str], list[tuple[str, int]]]:
    """Names new in ``now`` or whose numbers changed, and the record names gone (with their
    ctime), when the two listings differ in names: each entry's 40 bytes compared by place."""
    before = dict(zip(old.names, range(len(old.names)), strict=True))
    a, b = old.stats.tobytes(), now.stats.tobytes()
    changed = []
    for i, name in enumerate(now.names):
        j = before.pop(name, None)
        if j is None or a[40 * j : 40 * j + 40] != b[40 * i : 40 * i + 40]:
            changed.append(name)
    gone = [(n, old.stats[5 * j + 3]) for n, j in before.items() if n[-5:] == ".yaml"]
    return changed, gone


def _places(now: Listing, names: set[str]) -> dict[str, int]:
    """Where ``names`` are in ``now``."""
    if not names:
        return {}
    return {n: i for i, n in enumerate(now.names) if n in names}
