"""``gitstore watch``: follow the store's changes as events (see :mod:`gitstore.changes`), so a
daemon reacts to a person's edits, and to what ``git pull``/``sync`` brings, without polling files
itself.

A stat-polling loop over the collection folders and the roadmap, not an OS file-watching API:
that would need a dependency (``watchdog``) and still a polling fallback for network and
container file systems. A folder whose stat did not change had no file created, removed or
renamed in it (every gitstore write renames, every git checkout creates), so it is skipped; each
folder is still listed in full every ``FULL_SCAN`` seconds, for a file rewritten in place. A
listing (names and ``lstat`` numbers) is compared with the folder's last one, and a file is read
only when it is new, its numbers (inode, size, mtime, ctime) changed, or it is in doubt: its
mtime too recent to trust (a same-size rewrite within one timestamp tick: git's "racy clean"
problem, solved the same way) or its last read failed. Its bytes are then compared with the last
ones read, so a file rewritten with the same content is no event. At 100,000 records an
unchanged full listing costs about what the listing does, not a look at each file.

Every file is reached through :mod:`gitstore.fs` and :mod:`gitstore.folders`: a link is
reported, never followed, and a FIFO is never opened. A file that cannot be read as a record is
reported once per content as ``invalid``, and only when the same bad bytes are seen on two
scans. While git holds the index lock it is changing the working tree in place, so no scan is
made then (see :meth:`Watcher.poll`).

The state each event is diffed against is kept in memory as each file's bytes (parsed when an
event needs them, never every record's parse at once): at start, the working tree as it is, or
with ``since``, the files of that commit, so the first scan reports what changed since then.

A polling watcher sees states, not writes: two writes of one record between two scans are one
event, for the later version. Each state is reported once; the last state is always reported.
"""

from __future__ import annotations

import array
import os
import posixpath
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitstore import folders, fs, gitio
from gitstore.changes import (
    Event,
    invalid_event,
    record_event,
    section_events,
    sections_of,
)
from gitstore.errors import GitStoreError, RecordError, UsageError
from gitstore.record import decode, loads
from gitstore.roadmap_store import MAX_ROADMAP_BYTES

if TYPE_CHECKING:
    from gitstore.store import Store

DEFAULT_INTERVAL = 0.2
#: A file modified this recently (ns) may change again without its stat key changing.
RACY_NS = 2_000_000_000
#: A folder is listed in full at least this often (s), for a file rewritten in place.
FULL_SCAN = 2.0
Found = tuple[str, "folders.StatKey"]  # an entry's kind (file, link, dir, other) and stat key

#: How long (s) a git index lock holds scans back before it is taken for a crashed git's.
LOCK_PATIENCE = 10.0


class _File:
    """What the watcher knows of one file."""

    __slots__ = ("data", "good", "key", "pending", "problem", "racy", "seen")

    def __init__(self, good: bytes | None = None) -> None:
        self.key: folders.StatKey | None = None  # stat when last read (None: read on the next scan)
        self.racy = False  # that stat is too recent to trust
        self.seen: bytes | None = good  # the bytes last read, valid or not
        self.good: bytes | None = good  # the last bytes that parsed: what events diff against
        self.data: Any = None  # the parse of ``good``, once needed
        self.pending: bytes | None = None  # bad bytes seen once, reported if seen again
        self.problem: str | None = None  # the unreadable-file reason last reported


class _Listing:
    """One folder the watcher lists, the names in it it wants, and what it knows of them."""

    __slots__ = ("checked", "doubt", "files", "folder", "key", "listed", "problem", "racy", "want")

    def __init__(self, folder: str, want: Callable[[str], bool]) -> None:
        self.folder, self.want = folder, want
        self.files: dict[str, _File] = {}  # restored whole by an undo: see _restorer
        self.key: folders.StatKey | None = None  # the folder's stat at the last full listing
        self.racy = True  # list it in full on the next scan, whatever its stat
        self.checked = -FULL_SCAN  # when it was last listed in full (monotonic seconds)
        self.problem: str | None = None  # why it could not be listed, as last reported
        #: The last full listing (folders.scan's names and numbers) and the names in it whose
        #: file is in doubt (too recent, unread, or changed since): the next listing's files are
        #: looked at only where it differs from this one, and those in doubt (None: every file).
        self.listed: Listed | None = None
        self.doubt: frozenset[str] = frozenset()


Listed = tuple[list[str], bytes]  # a folder's names and their lstat numbers (5 int64 a name)
_WIDTH = 5 * 8  # bytes of numbers a name


class Watcher:
    """Scans the store on each :meth:`poll` and returns the events since the previous one."""

    def __init__(self, store: Store, *, since: str | None = None) -> None:
        self.store = store
        self.root = store.root
        self.road = store.roadmap()
        self.roadmap_path = store.config.roadmap_path
        self.folders = {c.path: c.name for c in store.config.collections.values()}
        road_folder, road_name = posixpath.split(self.roadmap_path)
        self.listings = [_Listing(folder, _record_name) for folder in self.folders]
        self.listings.append(_Listing(road_folder, lambda name: name == road_name))
        self.quiet = False
        found = gitio.git("rev-parse", "--absolute-git-dir", cwd=self.root, check=False)
        self.index_lock = (
            Path(found.stdout.strip()) / "index.lock" if found.returncode == 0 else None
        )
        self.locked_since: float | None = None
        if since is None:
            self.quiet = True  # the first scan is the starting point: nothing to report
            while self._scan() is None:
                time.sleep(0.05)  # git is changing the working tree: start when it is done
            self.quiet = False
        else:
            self._baseline(since)

    # ------------------------------------------------------------ the starting point

    def _baseline(self, rev: str) -> None:
        """Start from the files of commit ``rev`` (any git revision)."""
        found = None
        if rev.strip() and not rev.startswith("-"):
            found = gitio.git(
                "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", cwd=self.root, check=False
            )
        if found is None or found.returncode:
            raise UsageError(f"--since {rev!r}: not a commit of this repository")
        sha = found.stdout.strip()
        prefix = gitio.git("rev-parse", "--show-prefix", cwd=self.root).stdout.strip()
        specs = [*self.folders, self.roadmap_path]
        listing = gitio.git(
            "ls-tree", "-r", "-z", "--full-name", sha, "--", *specs, cwd=self.root
        ).stdout
        wanted: dict[tuple[_Listing, str], str] = {}
        for item in listing.split("\0"):
            meta, _, full = item.partition("\t")
            parts = meta.split()
            if len(parts) != 3 or parts[1] != "blob" or parts[0] not in ("100644", "100755"):
                continue  # a link, a submodule, a folder: never followed, so never a state
            if not full.startswith(prefix):
                continue
            folder, name = posixpath.split(full[len(prefix) :])
            for lst in self.listings:
                if lst.folder == folder and lst.want(name):
                    wanted[lst, name] = f"{sha}:{full}"
        blobs = gitio.cat_files(self.root, list(wanted.values()))
        for (lst, name), blob in wanted.items():
            lst.files[name] = _File(blobs[blob])

    # ------------------------------------------------------------ scanning

    def poll(self) -> list[Event]:
        """One scan: the events for every file that changed since the last one.

        While git updates the working tree (a checkout, merge, pull, reset) it holds the index
        lock and writes files in place, so a scan could see one half-written or missing for a
        moment: a scan is skipped while the lock is there, and undone when it appears during the
        scan. A lock left there for LOCK_PATIENCE seconds (a git that crashed) stops holding
        the watcher back."""
        return self._scan() or []

    def _scan(self) -> list[Event] | None:
        """The events of one scan, or None when git was busy and nothing was scanned."""
        started, now = time.time_ns(), time.monotonic()
        if self._git_busy(now):
            return None
        events: list[Event] = []
        undo: list[Callable[[], None]] = []
        for lst in self.listings:
            events += self._poll(lst, started, now, undo)
        if self._git_busy(now):
            for step in reversed(undo):
                step()
            return None
        return [] if self.quiet else events

    def _git_busy(self, now: float) -> bool:
        if self.index_lock is None or not os.path.lexists(self.index_lock):
            self.locked_since = None
            return False
        if self.locked_since is None:
            self.locked_since = now
        return now - self.locked_since < LOCK_PATIENCE

    def _poll(
        self, lst: _Listing, started: int, now: float, undo: list[Callable[[], None]]
    ) -> list[Event]:
        """A folder whose stat did not change has had no file created, removed or renamed into
        it (every gitstore write and every git checkout does one of those): it is skipped, but
        listed in full every FULL_SCAN seconds for a file rewritten in place. Of a listing, only
        the files where it differs from the last one, and those in doubt, are looked at."""
        path = self.root / lst.folder
        try:
            key = folders.folder_key(path, self.root)
            unchanged = key is not None and key == lst.key and not lst.racy
            if unchanged and now - lst.checked < FULL_SCAN:
                return []
            listed = _listing(path, self.root) if key is not None else ([], b"")
        except GitStoreError as err:
            undo.append(_restorer(lst, _Listing.__slots__))
            lst.key, lst.racy, lst.listed = None, True, None
            if lst.problem == err.message:
                return []
            lst.problem = err.message
            collection = self.folders.get(lst.folder)
            kind = "record" if lst.want is _record_name else "section"
            return [invalid_event(kind, "", collection, lst.folder or ".", err.message)]
        if lst.listed == listed and not lst.doubt:  # no file changed, came or went
            undo.append(_restorer(lst, ("checked", "key", "problem", "racy")))
            lst.problem, lst.key, lst.checked = None, key, now
            lst.racy = key is not None and key[2] >= started - RACY_NS
            return []
        undo.append(_restorer(lst, _Listing.__slots__))
        lst.problem, lst.key, lst.checked = None, key, now
        lst.racy = key is not None and key[2] >= started - RACY_NS
        looks, gone = _changes(lst.listed, listed, lst.doubt, lst.files)
        names, numbers = listed[0], array.array("q")
        numbers.frombytes(listed[1])
        events: list[Event] = []
        doubt = []
        with fs.Folder(path, self.root) as folder:
            for name, i in sorted([(n, -1) for n in gone] + [(names[i], i) for i in looks]):
                rel = posixpath.join(lst.folder, name)
                state = lst.files.get(name)
                if i < 0:
                    if state is not None:
                        events += self._gone(rel, state)
                        del lst.files[name]
                    continue
                if not lst.want(name):
                    continue
                fmt, size, mtime, ctime, ino = numbers[5 * i : 5 * i + 5]
                found = (_KINDS.get(fmt, "other"), (ino, size, mtime, ctime))
                if state is None:
                    state = lst.files[name] = _File()
                elif state.key != found[1] or state.racy:
                    undo.append(_restorer(state, _File.__slots__))
                events += self._check(rel, state, found, started, folder)
                if state.racy or state.key != found[1]:
                    doubt.append(name)
        lst.listed, lst.doubt = listed, frozenset(doubt)
        lst.racy = lst.racy or bool(doubt)
        return events

    def _check(
        self, rel: str, state: _File, found: Found, started: int, folder: fs.Folder
    ) -> list[Event]:
        """The events of one listed file, read again only when its stat says it may differ."""
        kind, key = found
        if state.key == key and not state.racy:
            return []
        if kind != "file":
            state.key, state.racy = key, False
            why = {
                "link": "is a symlink; gitstore never follows links",
                "dir": "is a directory, not a file",
            }.get(kind, "is not a regular file (a FIFO, socket or device)")
            return self._unreadable(rel, state, why)
        try:
            raw = folder.read(posixpath.basename(rel), self._limit(rel))
        except FileNotFoundError:
            return []  # removed since the listing: the next scan says so
        except GitStoreError as err:
            state.key, state.racy = key, key[2] >= started - RACY_NS
            return self._unreadable(rel, state, err.message)
        state.key, state.racy = key, key[2] >= started - RACY_NS
        if raw == state.seen and state.pending is None:
            return []
        return self._read(rel, state, raw)

    def _limit(self, rel: str) -> int:
        return MAX_ROADMAP_BYTES if rel == self.roadmap_path else self.store.config.max_record_bytes

    # ------------------------------------------------------------ one file's events

    def _read(self, rel: str, state: _File, raw: bytes) -> list[Event]:
        if self.quiet:  # the starting point: parsed when first needed (see _good)
            state.seen = state.good = raw
            state.data = state.pending = state.problem = None
            return []
        try:
            new = self._parse(rel, raw)
        except (GitStoreError, UnicodeDecodeError) as err:
            why = err.message if isinstance(err, GitStoreError) else "is not UTF-8 text"
            if not self.quiet and state.pending != raw:
                state.pending, state.key = raw, None  # perhaps half-written: look again
                return []
            state.seen, state.pending = raw, None
            return self._unreadable(rel, state, why, reset=False)
        old = self._good(rel, state)
        state.seen, state.good = raw, raw
        state.pending = state.problem = None
        if rel == self.roadmap_path:
            state.data = new  # one file, costly to parse: kept
            return section_events(rel, old or {}, new)
        state.data = None  # parsed again if it changes again: no parse of every record kept
        found = record_event(self._collection(rel), rel, old, new)
        return [found] if found is not None else []

    def _gone(self, rel: str, state: _File) -> list[Event]:
        old = self._good(rel, state)
        if rel == self.roadmap_path:
            return section_events(rel, old or {}, {})
        found = record_event(self._collection(rel), rel, old, None)
        return [found] if found is not None else []

    def _unreadable(self, rel: str, state: _File, why: str, *, reset: bool = True) -> list[Event]:
        """Report a file that cannot be read, once for as long as the reason stays the same."""
        if reset:
            state.seen, state.pending = None, None
        if state.problem == why and reset:
            return []
        state.problem = why
        if self.quiet:
            return []
        if rel == self.roadmap_path:
            return [invalid_event("section", "", None, rel, why)]
        name = posixpath.basename(rel).removesuffix(".yaml")
        return [invalid_event("record", name, self._collection(rel), rel, why)]

    def _collection(self, rel: str) -> str:
        return self.folders[posixpath.dirname(rel)]

    def _good(self, rel: str, state: _File) -> Any:
        """The parse of the file's last good bytes (None when it never had any)."""
        if state.data is None and state.good is not None:
            try:
                state.data = self._parse(rel, state.good)
            except (GitStoreError, UnicodeDecodeError):
                state.good = None  # a commit's copy that never parsed: no state to diff
        return state.data

    def _parse(self, rel: str, raw: bytes) -> Any:
        path = self.root / rel
        if rel == self.roadmap_path:
            return sections_of(self.road, self.road.parser.parse(raw.decode("utf-8")))
        if len(raw) > self.store.config.max_record_bytes:
            raise RecordError("is over the limits.max_record_bytes limit", path)
        data = loads(decode(raw, path), path, self.store.config.max_depth)
        record_id = posixpath.basename(rel).removesuffix(".yaml")
        if data.get("id") != record_id:
            raise RecordError(f"id is {data.get('id')!r} but the file name says {record_id!r}")
        return data


def _restorer(obj: object, slots: tuple[str, ...]) -> Callable[[], None]:
    """Undo for the changes a scan is about to make to ``obj`` (a dict slot is copied)."""
    saved = {k: (dict(v) if isinstance(v := getattr(obj, k), dict) else v) for k in slots}

    def restore() -> None:
        for k, v in saved.items():
            setattr(obj, k, v)

    return restore


def _listing(path: Path, root: Path) -> tuple[list[str], bytes]:
    """The folder's names and their ``lstat`` numbers (:func:`gitstore.folders.scan`; temp
    files left out), as one value two listings compare by."""
    _, names, numbers = folders.scan(path, root)
    return names, numbers.tobytes()


_KINDS = {stat.S_IFREG: "file", stat.S_IFLNK: "link", stat.S_IFDIR: "dir"}


def _changes(
    before: Listed | None, now: Listed, doubt: frozenset[str], known: dict[str, _File]
) -> tuple[list[int], list[str]]:
    """Where listing ``now`` differs from ``before``: the places in it of the names to look at
    (new, changed numbers, or in ``doubt``), and the names gone (of ``before``, or of the files
    ``known`` when there is no listing before)."""
    names, raw = now
    if before is None:
        there = set(names)
        return list(range(len(names))), [n for n in known if n not in there]
    old_names, old_raw = before
    if old_names == names:  # same names in the same order: only the numbers may differ
        looks = _differing(old_raw, raw, 0, len(raw))
        if doubt:
            looks = sorted(set(looks) | {i for i, n in enumerate(names) if n in doubt})
        return looks, []
    old = {n: i for i, n in enumerate(old_names)}
    looks = []
    for i, name in enumerate(names):
        j = old.pop(name, None)
        w = _WIDTH
        if j is None or name in doubt or raw[w * i : w * i + w] != old_raw[w * j : w * j + w]:
            looks.append(i)
    return looks, list(old)


def _differing(a: bytes, b: bytes, start: int, end: int) -> list[int]:
    """The names (places) whose numbers differ between ``a`` and ``b`` in ``[start, end)``:
    halved until found, so a few changes among 100,000 names cost a few dozen ``memcmp``."""
    if a[start:end] == b[start:end]:
        return []
    if end - start <= _WIDTH:
        return [start // _WIDTH]
    middle = start + (end - start) // (2 * _WIDTH) * _WIDTH
    return _differing(a, b, start, middle) + _differing(a, b, middle, end)


def _record_name(name: str) -> bool:
    return name.endswith(".yaml") and not name.startswith(fs.TMP_PREFIX)


def check_interval(seconds: float) -> float:
    if not 0 < seconds <= 3600:  # also refuses nan
        raise UsageError(f"--interval {seconds!r}: give seconds, more than 0 and at most 3600")
    return seconds


def watch(
    store: Store,
    *,
    since: str | None = None,
    interval: float = DEFAULT_INTERVAL,
    stop: Callable[[], bool] = lambda: False,
) -> Iterator[list[Event]]:
    """The events of each scan that found any, until ``stop()`` is true (checked at least every
    0.1 s while waiting). In Python: ``for batch in watch(store): ...``."""
    check_interval(interval)
    watcher = Watcher(store, since=since)
    while not stop():
        events = watcher.poll()
        if events:
            yield events
        deadline = time.monotonic() + interval
        while not stop() and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.1))
