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
import json
import os
import stat
import time
from typing import TYPE_CHECKING

from gitstore import fs

if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path

    from gitstore.schema import Collection
    from gitstore.store import Store

MARGIN_NS = 20_000_000  # the file system clock of the state folder, same device
FAR_MARGIN_NS = 3_000_000_000  # another device, or no marker: allow for skew and coarse clocks
REG = stat.S_IFREG


class Listing:
    """One call's listing of a folder: names in listing order and five numbers per name."""

    def __init__(
        self, folder: str, names: list[str], stats: array.array[int], temps: list[str] | None = None
    ):
        self.folder, self.names, self.stats = folder, names, stats
        self.temps = temps or []  # temp-file names the listing skipped (for a sweep)
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


def racy_threshold(state: Path, folder_dev: int | None) -> int:
    """Times at or after this (ns) are too recent to trust: 'now' on the file system's clock,
    read by touching a marker beside the index, less a margin."""
    now = time.time_ns()
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(state / "index.clock", flags, 0o666)
        try:
            os.utime(fd)
            st = os.fstat(fd)
        finally:
            os.close(fd)
    except OSError:
        return now - FAR_MARGIN_NS
    margin = MARGIN_NS if st.st_dev == folder_dev else FAR_MARGIN_NS
    return min(now, st.st_mtime_ns) - margin


def list_folder(store: Store, coll: Collection) -> tuple[Listing, int | None]:
    """This call's listing of ``coll``'s folder (empty when it does not exist) and its device."""
    temps: list[str] = []
    try:
        own, names, numbers = fs.scan(store.root / coll.path, store.root, temps)
    except FileNotFoundError:
        return Listing(coll.path, [], array.array("q")), None
    return Listing(coll.path, names, numbers, temps), own.st_dev


def stored_listing(conn: sqlite3.Connection, folder: str, key: str) -> Listing | None:
    """The folder's listing row when it is sound and made under ``key``."""
    row = conn.execute("SELECT key, names, stats FROM dirs WHERE folder = ?", (folder,)).fetchone()
    if row is None or row[0] != key:
        return None
    names = row[1].split("/") if row[1] else []
    stats = array.array("q")
    stats.frombytes(row[2])
    if len(stats) != 5 * len(names):
        return None
    return Listing(folder, names, stats)


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
    count = conn.execute("SELECT count(*) FROM files WHERE folder = ?", (now.folder,)).fetchone()
    return bool(count[0] == now.records())


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
