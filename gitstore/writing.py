"""A single-record write: what it holds, the write under it, and the order it lets go of it in
(:meth:`Store.writing`).

Under the store lock (shared): the file's folder is entered and its temp file made
(:func:`gitstore.fs.prepare`), then the file's own lock is taken. Under it: the read, the change,
the temp file's bytes and fsync, the rename. Then, in :meth:`Writing.let_go`: a writer that had
to wait for the lock leaves its parse for the next one (:mod:`gitstore.handoff`), the lock is
released, the file as it was read is closed (so its blocks are freed outside the lock: the rename
did not drop its last link), and the folder is fsynced before the write returns. A write that
does not happen (nothing changed, an error) removes its unused temp file.

A new record's name also takes the lock of its case fold: ``T-x`` and ``T-X`` have two record
locks but may be one file, so the case check and the write must be one step against a twin's.
That lock is kept through the fsync (a new record is rare).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from gitstore import fs
from gitstore.fs import Prepared, prepare
from gitstore.record import copy_data
from gitstore.rewrite import rewrite

if TYPE_CHECKING:
    from gitstore.store import Store

Record = dict[str, Any]


class Writing:
    """A context manager: the file's lock held, the folder and temp file prepared before it."""

    __slots__ = ("lock", "opened", "path", "prepared", "root", "store", "written")

    def __init__(self, store: Store, lock_name: str, path: Path | None):
        self.store, self.lock = store, store.lock(lock_name)
        self.path, self.root = path, store.root
        self.prepared: Prepared | None = None
        self.opened: list[int] = []  # the file as it was read, open until the lock is let go
        #: What is being written, as the cache keeps its parse: for the next writer's note.
        self.written: tuple[bytes, Record, int] | None = None

    def __enter__(self) -> Writing:
        if self.path is not None:
            self.prepared = prepare(self.path, self.root)
        try:
            self.lock.acquire()
        except BaseException:
            self._close_prepared()
            raise
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._close_opened()
            self.lock.release()  # nothing, if the write let go of it already
        finally:
            self._close_prepared()

    def read(self, limit: int) -> bytes:
        """The file's bytes (FileNotFoundError when there is none), kept open until let go."""
        assert self.path is not None
        if self.prepared is not None:
            return self.prepared.read(limit, self.opened)
        return fs.read_bytes(self.path, limit, root=self.root, keep=self.opened)

    def recall(self, raw: bytes, max_depth: int) -> Record | None:
        """The parse of ``raw`` a previous holder left (:mod:`gitstore.handoff`), or None."""
        from gitstore import handoff

        note = self.lock.note(handoff.MAX_NOTE)
        return handoff.unpack(note, raw, max_depth) if note else None

    def write(
        self,
        collection: str,
        old_text: str | None,
        old: Record | None,
        new: Record,
        listed: list[str] | None = None,
    ) -> Record:
        """Write ``new`` over ``old`` (the record as read under this lock, ``old_text`` its
        text): stamped, rendered, in place; the parse is kept for the next read and writer.
        ``listed``: the folder's names, when the caller listed it already (the case check)."""
        store, path = self.store, self.path
        assert path is not None
        with self._new_name(collection, new, old):
            stamped = store.stamp(collection, old, new, listed=listed)
            data = store.render(collection, old_text, old, stamped)
            remembered = copy_data(stamped)
            self.replace(data, (remembered, store.config.max_depth), early=old is not None)
        store._remember(path, data.decode(), remembered)  # a parse memo: no lock needed
        return stamped

    def write_text(self, collection: str, text: str, old: Record | None, edited: Record) -> Record:
        """Write a person's ``text`` (parsed: ``edited``) over ``old``, keeping its formatting
        and comments; only the metadata lines change."""
        store, path = self.store, self.path
        assert path is not None
        with self._new_name(collection, edited, old):
            stamped = store.stamp(collection, old, edited)
            data = store.check_size(rewrite(text, edited, stamped).encode(), path)
            self.replace(data, None, early=old is not None)
        return stamped

    @contextmanager
    def _new_name(self, collection: str, new: Record, old: Record | None) -> Iterator[None]:
        """The lock of a new record's case fold, held for the block (see above)."""
        if old is not None:
            yield
            return
        from gitstore.spellings import fold

        with self.store.lock(f"{collection}/{fold(str(new.get('id')))}.twin"):
            yield

    def replace(self, data: bytes, parsed: tuple[Record, int] | None, *, early: bool) -> None:
        """Replace the file with ``data`` (whose parse, with the depth limit it was made under,
        is ``parsed``, for the next writer); with ``early``, let go of the lock once it is in
        place, before the folder's fsync."""
        assert self.path is not None
        self.written = (data, *parsed) if parsed is not None else None
        renamed = self.let_go if early else None
        if self.prepared is not None:
            self.prepared.replace(data, renamed)
        else:
            fs.atomic_write(self.path, data, root=self.root, renamed=renamed)

    def let_go(self) -> None:
        """Once the new file is in place: the note for the next writer (when this one had to
        wait for the lock: others write this record too), the lock, then the old file."""
        if self.written is not None and self.lock.waited:
            from gitstore import handoff

            note = handoff.pack(*self.written)
            if note is not None:
                self.lock.leave(note)
        self.lock.release()
        self._close_opened()

    def _close_opened(self) -> None:
        while self.opened:
            os.close(self.opened.pop())

    def _close_prepared(self) -> None:
        if self.prepared is not None:
            prepared, self.prepared = self.prepared, None
            prepared.close()
