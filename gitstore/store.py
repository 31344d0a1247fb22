"""The Store: records on disk, composed from locks, atomic writes, the record format and schema.

Every write is a read-modify-write under the store lock (shared) and the record's lock
(exclusive), bumps ``version`` and stamps ``last_modified``/``modified_by``. A transaction takes the
store lock exclusively and commits through a journal (see :mod:`gitstore.transaction`). Reads take
no lock: a record file is only ever replaced whole, so a reader sees the old or the new bytes.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitstore import folders, fs
from gitstore.errors import (
    Exists,
    GitStoreError,
    NotAStore,
    NotFound,
    RecordError,
    UsageError,
    VersionConflict,
)
from gitstore.ids import effective_mode, random_id
from gitstore.ids import new_id as new_id_for
from gitstore.record import (
    copy_data,
    decode,
    dumps,
    loads,
    same,
)
from gitstore.rewrite import rewrite
from gitstore.schema import CONFIG_NAME, Collection, Config, load_config
from gitstore.statedir import adopt_legacy_journal, state_dir
from gitstore.versions import check_version, stamped

if TYPE_CHECKING:
    from gitstore.lock import FileLock
    from gitstore.query import Condition
    from gitstore.roadmap_store import Roadmap
    from gitstore.transaction import Transaction
    from gitstore.writing import Writing

JOURNAL = "journal.json"
VOLATILE = 2  # gitstore.index.refresh.VOLATILE: a row to read from its file
CACHE_SIZE = 16384  # parses kept per Store: listing 10k records twice parses them once

Record = dict[str, Any]
Names = list[str]  # a folder's entry names (``list`` is a method name inside Store)


def find_root(start: str | Path) -> Path:
    here = Path(start).resolve()
    if not here.is_dir():
        raise NotAStore(f"no such directory: {start}")
    for candidate in (here, *here.parents):
        if os.path.lexists(candidate / CONFIG_NAME):  # a link or a FIFO there is reported later
            return candidate
    raise NotAStore(f"not a gitstore (no {CONFIG_NAME} here or above); run 'gitstore init'", here)


class Store:
    """A store rooted at the folder holding ``gitstore.yaml``. Safe to share across threads."""

    def __init__(
        self,
        root: Path,
        config: Config,
        *,
        actor: str,
        lock_timeout: float = 10.0,
        index: bool | None = None,
    ):
        self.root = root
        self.config = config
        self.actor = actor
        self.lock_timeout = lock_timeout
        self.state = state_dir(root)
        #: Whether queries use the query index (gitstore.index); ``GITSTORE_NO_INDEX=1`` is off.
        self.use_index = _index_wanted() if index is None else index
        # path -> (text, data) of the last version this process read or wrote. A read whose
        # bytes equal the cached text skips parsing; equal bytes always parse the same.
        self._parsed: dict[Path, tuple[str, Record]] = {}
        # (collection, id) -> its checked path; lock name -> its lock file (pure functions of
        # the configuration, which a Store never changes: a write looks each up five times)
        self._paths: dict[tuple[str, str], Path] = {}
        self._lock_paths: dict[str, Path] = {}
        self._journal = self.state / JOURNAL

    @classmethod
    def open(
        cls,
        path: str | Path = ".",
        *,
        actor: str | None = None,
        lock_timeout: float | None = None,
        index: bool | None = None,
    ) -> Store:
        """Open the store at or above ``path``. ``GITSTORE_USER`` and ``GITSTORE_LOCK_TIMEOUT``
        (seconds) set the defaults for ``actor`` and ``lock_timeout`` (10 s); ``index=False``
        (or ``GITSTORE_NO_INDEX=1``) makes every query read the files, without the query
        index."""
        root = find_root(path)
        actor = actor or os.environ.get("GITSTORE_USER") or getpass.getuser()
        if lock_timeout is None:
            lock_timeout = _seconds(os.environ.get("GITSTORE_LOCK_TIMEOUT") or "10")
        store = cls(root, load_config(root), actor=actor, lock_timeout=lock_timeout, index=index)
        adopt_legacy_journal(store.root, store.state, JOURNAL)
        if (store.state / JOURNAL).exists():
            store.recover()  # a transaction committed but unfinished: finish it before anything
        # Stray temp files are swept by sweep(), from the commands that list every folder
        # anyway (status, validate, doctor): listing 100,000 names here costs ~100 ms
        # on every open, and a temp file is harmless where it is (ignored by git and readers).
        return store

    def sweep(self, listed: Mapping[str, list[str]] | None = None) -> None:
        """Remove temp files that interrupted writes left, when no one is writing (they may be
        other writers' in-flight files): never waits for the lock, so a stream of writers cannot
        starve it. ``listed``: temp names a listing of some folders (store-relative) just saw,
        so those need not be listed again."""
        known = {self.root / k: v for k, v in (listed or {}).items()}
        if self.stray_temps(known):
            self.recover(wait=False)

    # ------------------------------------------------------------ paths and locks

    def collection(self, name: str) -> Collection:
        return self.config.collection(name)

    def path_of(self, collection: str, record_id: str) -> Path:
        key = (collection, record_id)
        path = self._paths.get(key)
        if path is None:
            coll = self.collection(collection)
            path = self.root / coll.path / f"{coll.check_id(record_id)}.yaml"
            if len(self._paths) >= CACHE_SIZE:
                self._paths.clear()
            self._paths[key] = path
        return path

    def data_dirs(self) -> list[Path]:
        """Every folder of the working tree a store write may leave a temp file in."""
        dirs = [self.root]
        dirs += [self.root / c.path for c in self.config.collections.values()]
        dirs.append((self.root / self.config.roadmap_path).parent)
        return list(dict.fromkeys(dirs))

    def stray_temps(self, listed: Mapping[Path, list[str]] | None = None) -> list[Path]:
        """Temp files an interrupted write left, in the data folders and the state folder."""
        return folders.stray_temps(self.data_dirs(), self.root, listed) + folders.stray_temps(
            [self.state]
        )

    def lock(self, name: str, *, shared: bool = False) -> FileLock:
        from gitstore.lock import FileLock

        path = self._lock_paths.get(name)
        if path is None:
            path = self.state / "locks" / name
            if len(self._lock_paths) >= CACHE_SIZE:
                self._lock_paths.clear()
            self._lock_paths[name] = path
        return FileLock(path, shared=shared, timeout=self.lock_timeout)

    @contextmanager
    def writing(self, lock_name: str, path: Path | None = None) -> Iterator[Writing]:
        """Hold the store lock shared and ``lock_name`` exclusively (a single-file write). The
        block gets a :class:`~gitstore.writing.Writing`, which reads and replaces ``path``: its
        folder is entered and its temp file made before the lock is taken
        (:func:`gitstore.fs.prepare`), and it lets go of the lock once the new file is in place, so
        the directory fsync that follows, before the write returns, keeps no other writer of
        that record waiting."""
        from gitstore.writing import Writing

        while True:
            with self.lock("store.lock", shared=True):
                if not self._journal.exists():
                    with Writing(self, lock_name, path) as held:
                        yield held
                    return
            self.recover()  # a transaction crashed after its commit point: finish it first

    # ------------------------------------------------------------ crash recovery

    def recover(self, *, wait: bool = True) -> None:
        """Finish a committed transaction, then sweep stray temp files, under the exclusive store
        lock. With ``wait=False`` it does nothing when the lock is busy (writers are active)."""
        from gitstore.transaction import replay

        lock = self.lock("store.lock")
        if wait:
            lock.acquire()
        elif not lock.try_acquire():
            return
        try:
            replay(self)
            for tmp in self.stray_temps():
                fs.discard(tmp)
        finally:
            lock.release()

    # ------------------------------------------------------------ reading

    def read(self, collection: str, record_id: str) -> tuple[str | None, Record | None]:
        """The record's text and data (yours to change), or ``(None, None)`` when there is no
        file."""
        text, data = self._load(collection, record_id)
        return text, copy_data(data)

    def _load(
        self, collection: str, record_id: str, held: Writing | None = None
    ) -> tuple[str | None, Record | None]:
        """Like :meth:`read`, but the data may be shared with the cache: never mutate it. Under
        a write's ``held``, the file's descriptor stays open until the write lets go."""
        path = self.path_of(collection, record_id)
        try:
            if held is not None:
                raw = held.read(self.config.max_record_bytes)
            else:
                raw = fs.read_bytes(path, self.config.max_record_bytes, root=self.root)
        except FileNotFoundError:
            return None, None
        return self._parse(record_id, path, raw, held)

    def _parse(
        self, record_id: str, path: Path, raw: bytes, held: Writing | None = None
    ) -> tuple[str, Record]:
        """A record file's bytes as :meth:`read` gives them (the data shared with the cache).
        Under a write's lock, the last writer's note for exactly these bytes spares the parse."""
        text = decode(raw, path)
        cached = self._parsed.get(path)
        if cached is not None and cached[0] == text:
            return cached
        data = held.recall(raw, self.config.max_depth) if held is not None else None
        if data is None:
            data = loads(text, path, self.config.max_depth)
        if data.get("id") != record_id:
            raise RecordError(
                f"id is {data.get('id')!r} but the file name says {record_id!r}", path
            )
        self._remember(path, text, data)
        return text, data

    def _remember(self, path: Path, text: str, data: Record) -> None:
        """Cache a parse. ``data`` must not be mutated afterwards by anyone. The least recently
        stored entries go first when the cache is full (a dict keeps insertion order)."""
        self._parsed.pop(path, None)
        self._parsed[path] = (text, data)
        while len(self._parsed) > CACHE_SIZE:
            del self._parsed[next(iter(self._parsed))]

    def get(self, collection: str, record_id: str, *, include_deleted: bool = False) -> Record:
        _, data = self.read(collection, record_id)
        if data is None or (data.get("deleted") is True and not include_deleted):
            raise NotFound(
                f"no record {record_id} in {collection}", self.path_of(collection, record_id)
            )
        return data

    def ids(self, collection: str) -> list[str]:
        folder = self.root / self.collection(collection).path
        from gitstore.query import natural_key

        names = [n for n, _ in folders.entries(folder, self.root) if n.endswith(".yaml")]
        ids = [n[:-5] for n in names if not n.startswith(fs.TMP_PREFIX)]
        return sorted(ids, key=natural_key)

    def find(
        self,
        collection: str,
        conditions: Iterable[Condition] = (),
        *,
        sort: Iterable[str] = (),
        limit: int | None = None,
        include_deleted: bool = False,
        on_error: Callable[[GitStoreError], None] | None = None,
    ) -> list[Record]:
        """Records matching every condition (:mod:`gitstore.query`), ordered by ``sort``
        (``FIELD`` or ``-FIELD``), then by id; at most ``limit`` of them. A file that cannot be
        read as a record raises, or, with ``on_error``, is handed to it and skipped (so one
        bad file that arrived by git does not stop a daemon reading the rest)."""
        from gitstore.query import order

        conditions = list(conditions)
        records = []
        for _, data, err in self.scan(collection, conditions, include_deleted=include_deleted):
            if err is not None:
                if on_error is None:
                    raise err
                on_error(err)
                continue
            if data is None or (data.get("deleted") is True and not include_deleted):
                continue
            if all(c.matches(data) for c in conditions):
                records.append(data)
        records = order(records, list(sort))
        return records if limit is None else records[: max(limit, 0)]

    def scan(
        self,
        collection: str,
        conditions: list[Condition] | None = None,
        *,
        include_deleted: bool = True,
        conflicted: bool = False,
    ) -> Iterator[tuple[str, Record | None, GitStoreError | None]]:
        """``(id, data, None)`` for each record file of the collection in id order, as
        :meth:`read` gives it (data None: it is gone), or ``(id, None, error)`` when it cannot be
        read. With the query index, only the records that may meet ``conditions`` (or, with
        ``conflicted``, that may hold ``conflicts:``); the caller still checks each."""
        rows = None
        if self.use_index:
            from gitstore.index.search import rows_of

            rows = rows_of(self, collection, conditions or [], include_deleted, conflicted)
        if rows is None:
            rows = [(record_id, VOLATILE, None, None) for record_id in self.ids(collection)]
        for record_id, state, data, error in rows:
            try:
                if state == VOLATILE:
                    _, data = self.read(collection, record_id)
                elif error is not None:
                    from gitstore.index.refresh import stored_error

                    raise stored_error(error, self.path_of(collection, record_id))
            except GitStoreError as err:
                yield record_id, None, err
                continue
            yield record_id, data, None

    def list(
        self,
        collection: str,
        where: dict[str, Any] | None = None,
        *,
        include_deleted: bool = False,
    ) -> list[Record]:
        """Records in natural id order (T-2 before T-10) whose fields equal ``where``'s values
        (a list field matches when the value is one of its members)."""
        from gitstore.query import Condition

        conditions = [Condition(k, "=", v) for k, v in (where or {}).items()]
        return self.find(collection, conditions, include_deleted=include_deleted)

    def resolve(self, name: str) -> tuple[str, str]:
        """``COLLECTION/ID`` or a bare ``ID`` that is unique in the store."""
        if "/" in name:
            collection, record_id = name.split("/", 1)
            self.path_of(collection, record_id)
            return collection, record_id
        holders = [c for c in self.config.collections if self._has_file(c, name)]
        if not holders:
            import re

            holders = [
                c.name for c in self.config.collections.values() if re.fullmatch(c.id_pattern, name)
            ]
            if len(holders) != 1:
                raise NotFound(f"no record {name!r} in any collection")
        if len(holders) > 1:
            choices = ", ".join(f"{c}/{name}" for c in holders)
            raise UsageError(f"{name!r} is in several collections; say which: {choices}")
        return holders[0], name

    def _has_file(self, collection: str, record_id: str) -> bool:
        try:
            return os.path.lexists(self.path_of(collection, record_id))
        except UsageError:
            return False

    # ------------------------------------------------------------ writing

    def stamp(
        self, collection: str, old: Record | None, new: Record, *, listed: Names | None = None
    ) -> Record:
        """``new`` with fresh metadata and validated: what a write of it puts on disk
        (:func:`gitstore.versions.stamped`); a new record is checked for a case twin first."""
        path = self.path_of(collection, str(new.get("id")))
        if old is None:
            self._check_case_twin(path, listed)
        return stamped(self.collection(collection), old, new, path, self.actor, self.config)

    def _check_case_twin(self, path: Path, listed: Names | None = None) -> None:
        """A new record may not differ from another only by case (:func:`spellings.no_twin`)."""
        from gitstore.spellings import no_twin

        no_twin(path, self.root, listed)

    def render(
        self, collection: str, old_text: str | None, old: Record | None, new: Record
    ) -> bytes:
        if old_text is None or old is None:
            data = dumps(new).encode()
        else:
            data = rewrite(old_text, old, new).encode()
        return self.check_size(data, self.path_of(collection, new["id"]))

    def check_size(self, data: bytes, path: Path) -> bytes:
        """Refuse to write what no read would accept (limits.max_record_bytes)."""
        limit = self.config.max_record_bytes
        if len(data) > limit:
            raise RecordError(
                f"would be {len(data)} bytes, over the {limit}-byte limit "
                "(limits.max_record_bytes); nothing was written",
                path,
            )
        return data

    def put(self, collection: str, data: Record, *, expected_version: int | None = None) -> Record:
        """Write ``data`` as the whole record (metadata is managed); returns what was written."""
        return self._put(collection, data, expected_version)

    def _put(
        self,
        collection: str,
        data: Record,
        expected_version: int | None,
        listed: Names | None = None,
    ) -> Record:
        record_id = self.collection(collection).check_id(data.get("id"))
        path = self.path_of(collection, record_id)
        with self.writing(f"{collection}/{record_id}.lock", path) as held:
            old_text, old = self._load(collection, record_id, held)
            check_version(old, expected_version, self.path_of(collection, record_id))
            return held.write(collection, old_text, old, dict(data), listed)

    @contextmanager
    def update(
        self,
        collection: str,
        record_id: str,
        *,
        create: bool = False,
        expected_version: int | None = None,
        restore: bool = False,
        include_deleted: bool = False,
    ) -> Iterator[Record]:
        """Locked read-modify-write: change the yielded dict; it is written when the block ends.
        A tombstone is refused unless ``restore`` (which brings the record back) or
        ``include_deleted`` (which changes it as it is)."""
        path = self.path_of(collection, record_id)
        with self.writing(f"{collection}/{record_id}.lock", path) as held:
            old_text, old = self._load(collection, record_id, held)
            if old is None and not create:
                raise NotFound(f"no record {record_id} in {collection}", path)
            if old is not None and old.get("deleted") is True and not (restore or include_deleted):
                raise NotFound(
                    f"{collection}/{record_id} is deleted; restore it to change it "
                    "(gitstore set --restore)",
                    path,
                )
            check_version(old, expected_version, path)
            rec: Record = copy_data(old) if old is not None else {"id": record_id}
            if restore:
                rec.pop("deleted", None)
            yield rec
            if rec.get("id") != record_id:
                raise UsageError(f"cannot change a record's id ({record_id} -> {rec.get('id')})")
            if old is None or not same(rec, old):
                written = held.write(collection, old_text, old, rec)
                rec.clear()
                rec.update(written)

    def delete(
        self, collection: str, record_id: str, *, expected_version: int | None = None
    ) -> Record:
        """Write a tombstone (``deleted: true``); ``gitstore gc`` removes old ones later."""
        path = self.path_of(collection, record_id)
        with self.writing(f"{collection}/{record_id}.lock", path) as held:
            old_text, old = self._load(collection, record_id, held)
            if old is None or old.get("deleted") is True:
                raise NotFound(f"no record {record_id} in {collection}", path)
            check_version(old, expected_version, path)
            tombstone = copy_data(old) | {"deleted": True}
            return held.write(collection, old_text, old, tombstone)

    def put_text(
        self, collection: str, record_id: str, text: str, *, expected_version: int | None = None
    ) -> Record:
        """Write a person's edited text as the record, keeping its formatting and comments."""
        path = self.path_of(collection, record_id)
        edited = loads(self.check_size(text.encode(), path).decode(), path, self.config.max_depth)
        if edited.get("id") != record_id:
            raise RecordError(f"id must stay {record_id!r} (found {edited.get('id')!r})", path)
        with self.writing(f"{collection}/{record_id}.lock", path) as held:
            old: Record | None = copy_data(self._load(collection, record_id, held)[1])
            check_version(old, expected_version, path)
            if old is not None and same(edited, old):
                return old
            return held.write_text(collection, text, old, edited)

    def add(self, collection: str, fields: Record, record_id: str | None = None) -> Record:
        """Create a record with the collection's defaults. Without an id it picks one (random by
        default, so another clone cannot pick the same: see :mod:`gitstore.ids`)."""
        coll = self.collection(collection)
        defaults = {f.name: f.default for f in coll.fields.values() if f.default is not None}
        values = defaults | fields
        ordered = {k: values[k] for k in coll.fields if k in values} | values  # schema order
        folder = self.root / coll.path
        while True:
            listed = None
            if record_id is not None:
                new_id = record_id
            elif effective_mode(coll) == "random":
                # no listing: the id is looked up (and its other spellings, for the case check)
                new_id = random_id(
                    coll, lambda name: folders.first_present(folder, [name], self.root)
                )
            else:  # the next number: one listing (names only) serves it and the case check
                listed = folders.names(folder, self.root)
                new_id = new_id_for(coll, listed)
            try:
                return self._put(collection, {"id": new_id} | ordered, 0, listed)
            except VersionConflict as err:
                if record_id is not None:
                    raise Exists(
                        f"{collection}/{record_id} already exists (version {err.actual}); "
                        "change it with 'gitstore set'",
                        err.path,
                    ) from None
                # another writer took that id between our scan and our lock: take the next one

    def roadmap(self) -> Roadmap:
        from gitstore.roadmap_store import Roadmap

        return Roadmap(self)

    def transaction(self) -> Transaction:
        from gitstore.transaction import Transaction

        return Transaction(self)


def _index_wanted() -> bool:
    return os.environ.get("GITSTORE_NO_INDEX", "") in ("", "0")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 86400:  # also refuses nan and inf
        raise UsageError(f"GITSTORE_LOCK_TIMEOUT={text!r}: give seconds, e.g. 10")
    return value
