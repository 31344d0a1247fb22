"""The query index: each record file's parse, kept in SQLite in the per-clone state, by stat.

A derived copy of what reading the files gives, so that ``list --where``, ``status``,
``conflicts`` and ``validate`` need not parse every record on every call. It is never trusted over
the files: each use lists the folder and compares every file's numbers (:mod:`.refresh`), a
query runs only once the stored listing equals this call's own, and anything the index cannot
do now (it is busy, broken, read-only, or the folder keeps changing) makes the caller answer
from the files, exactly as with ``GITSTORE_NO_INDEX=1``. Results are the same either way: a
differential test holds them side by side, including files changed behind the index's back.

Layout: :mod:`.db` the file and its schema, :mod:`.codec` parses as JSON, :mod:`.refresh`
keeping it current, :mod:`.search` queries, :mod:`.checks` validation outcomes.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING

from gitstore.index.db import Unusable, connect, corrupt, remove
from gitstore.index.listing import Listing, confirm, generations, list_folder, unchanged
from gitstore.index.refresh import Refresh

if TYPE_CHECKING:
    from gitstore.schema import Collection
    from gitstore.store import Store
    from gitstore.validate import Validator

__all__ = ["Index", "Unusable"]

ATTEMPTS = 4
#: How many times this process answered from the files because the index was unusable.
fallbacks = 0


def fell_back() -> None:
    global fallbacks
    fallbacks += 1


class Index:
    """One use of the index: a context manager holding a connection. Any SQLite error inside
    becomes :class:`Unusable` (and a corrupt file is removed, to be made again next time)."""

    def __init__(self, store: Store):
        self.store = store
        self._conn: sqlite3.Connection | None = None
        self._ino = 0
        # one listing of each folder per use: a command that asks twice (status: validation,
        # then conflicts) lists once, like one pass over the files
        self._listings: dict[str, tuple[Listing, int | None]] = {}
        self._vouched: set[str] = set()
        #: git's index file's mtime, when a caller will ask git to vouch for the files (see
        #: .vouch): a listing confirmed whole is then marked as seen after it
        self.confirm_after: int | None = None

    def __enter__(self) -> Index:
        self._conn, self._ino = connect(self.store.state)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if err is not None:
            self.failed(err)

    def failed(self, err: BaseException) -> None:
        """Raise :class:`Unusable` for an error of the index itself (removing a corrupt
        file); return for any other error, which the caller raises as it is."""
        if isinstance(err, sqlite3.Error):
            if corrupt(err):
                with contextlib.suppress(Unusable):
                    remove(self.store.state, self._ino)
            raise Unusable(str(err)) from err
        if isinstance(err, (ValueError, KeyError, TypeError)) and not _ours(err):
            # a stored value that does not decode: the file is not what this code wrote
            with contextlib.suppress(Unusable):
                remove(self.store.state, self._ino)
            raise Unusable(f"unreadable index: {err}") from err

    def adopt(self, folder: str, listed: tuple[Listing, int | None]) -> None:
        """Take ``listed`` as this use's listing of ``folder``: one with numbers git vouched
        for (:mod:`.vouch`) instead of an ``lstat`` of each entry."""
        self._listings[folder] = listed
        self._vouched.add(folder)

    def temps(self) -> dict[str, list[str]]:
        """The temp-file names each folder listed in this use held, by folder (store-relative)."""
        return {folder: listed.temps for folder, (listed, _) in self._listings.items()}

    @property
    def conn(self) -> sqlite3.Connection:
        assert self._conn is not None, "use the index inside 'with'"
        return self._conn

    @contextlib.contextmanager
    def fresh(
        self, coll: Collection, validator: Validator | None = None, pkey: str | None = None
    ) -> Iterator[Listing]:
        """A read transaction in which the rows of ``coll``'s folder are the files as listed in
        this call (and, with ``validator``, hold validation outcomes under ``pkey``)."""
        refresh = Refresh(self.conn, self.store, coll, validator, pkey)
        for attempt in range(ATTEMPTS):
            if attempt > 1 or coll.path not in self._listings:
                # a refresh did not settle it: a file changed between the listing and its read
                self._listings[coll.path] = list_folder(self.store, coll)
                self._vouched.discard(coll.path)
            now, device = self._listings[coll.path]
            seen = None
            self.conn.execute("BEGIN")
            try:
                current = unchanged(self.conn, now, refresh.key, refresh.seen)
                if current and validator is not None:
                    current = set(refresh.unchecked()) <= refresh.seen
                if current and self.confirm_after is not None and coll.path not in self._vouched:
                    seen = generations(self.conn, coll.path)
                if current:
                    yield now
            finally:
                if self.conn.in_transaction:
                    self.conn.execute("COMMIT")
            if current:
                after = self.confirm_after
                if seen is not None and after is not None and (seen[2] is None or seen[2] <= after):
                    confirm(self.conn, now, seen)  # so that git's index can vouch next time
                return
            refresh.run(now, device)
        raise Unusable(f"{coll.path} kept changing while it was indexed")


def _ours(err: BaseException) -> bool:
    """Errors gitstore raises on purpose (a GitStoreError may also be a ValueError)."""
    from gitstore.errors import GitStoreError

    return isinstance(err, GitStoreError)


_local = threading.local()


@contextlib.contextmanager
def session(store: Store) -> Iterator[Index | None]:
    """One use of the index for every query of ``store`` in this thread inside the block (None
    when there is no usable index: the queries then read the files)."""
    if not store.use_index or getattr(_local, "index", None) is not None:
        yield current(store)
        return
    try:
        index = Index(store).__enter__()
    except Unusable:
        fell_back()
        yield None
        return
    _local.index = index
    try:
        yield index
    finally:
        _local.index = None
        with contextlib.suppress(Unusable):
            index.__exit__(None, None, None)


def current(store: Store) -> Index | None:
    """The index of an open :func:`session` for ``store`` in this thread, if any."""
    index: Index | None = getattr(_local, "index", None)
    return index if index is not None and index.store is store else None


@contextlib.contextmanager
def using(store: Store) -> Iterator[Index]:
    """The session's index, or a new use of it for this block alone (Unusable if none)."""
    index = current(store)
    if index is None:
        with Index(store) as index:
            yield index
        return
    try:
        yield index
    except BaseException as err:
        index.failed(err)
        raise
