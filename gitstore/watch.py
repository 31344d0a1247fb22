"""``gitstore watch``: follow the store's changes as events (see :mod:`gitstore.changes`), so a
daemon reacts to a person's edits, and to what ``git pull``/``sync`` brings, without polling files
itself.

A stat-polling loop over the collection folders and the roadmap, not an OS file-watching API:
that would need a dependency (``watchdog``) and still a polling fallback for network and
container file systems. A folder whose stat did not change had no file created, removed or
renamed in it (every gitstore write renames, every git checkout creates), so it is skipped; each
folder is still listed in full every ``FULL_SCAN`` seconds, for a file rewritten in place. A
listed file is read only when its ``lstat`` key (inode, size, mtime, ctime) changed, or while its
mtime is too recent to trust (a same-size rewrite within one timestamp tick: git's "racy clean"
problem, solved the same way); its bytes are then compared with the last ones read, so a file
rewritten with the same content is no event.

Every file is reached through :mod:`gitstore.fs` and :mod:`gitstore.folders`: a link is
reported, never followed, and a FIFO is never opened. A file that cannot be read as a record is
reported once per content as ``invalid``, and only when the same bad bytes are seen on two
scans. While git holds the index lock it is changing the working tree in place, so no scan is
made then (see :meth:`Watcher.poll`).
The state each event is diffed against is kept in memory: at start, the working tree as it is,
or with ``since``, the files of that commit, so the first scan reports what changed since then.

A polling watcher sees states, not writes: two writes of one record between two scans are one
event, for the later version. Each state is reported once; the last state is always reported.
"""

from __future__ import annotations

import os
import posixpath
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

    __slots__ = ("checked", "files", "folder", "key", "problem", "racy", "want")

    def __init__(self, folder: str, want: Callable[[str], bool]) -> None:
        self.folder, self.want = folder, want
        self.files: dict[str, _File] = {}  # restored whole by an undo: see _restorer
        self.key: folders.StatKey | None = None  # the folder's stat at the last full listing
        self.racy = True  # list it in full on the next scan, whatever its stat
        self.checked = -FULL_SCAN  # when it was last listed in full (monotonic seconds)
        self.problem: str | None = None  # why it could not be listed, as last reported


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
        listed in full every FULL_SCAN seconds for a file rewritten in place."""
        path = self.root / lst.folder
        try:
            key = folders.folder_key(path, self.root)
            unchanged = key is not None and key == lst.key and not lst.racy
            if unchanged and now - lst.checked < FULL_SCAN:
                return []
            entries = folders.stat_entries(path, self.root, lst.want) if key is not None else {}
        except GitStoreError as err:
            undo.append(_restorer(lst, _Listing.__slots__))
            lst.key, lst.racy = None, True
            if lst.problem == err.message:
                return []
            lst.problem = err.message
            collection = self.folders.get(lst.folder)
            kind = "record" if lst.want is _record_name else "section"
            return [invalid_event(kind, "", collection, lst.folder or ".", err.message)]
        undo.append(_restorer(lst, _Listing.__slots__))
        lst.problem, lst.key, lst.checked = None, key, now
        lst.racy = key is not None and key[2] >= started - RACY_NS
        events: list[Event] = []
        for name in sorted(set(entries) | set(lst.files)):
            rel = posixpath.join(lst.folder, name)
            state = lst.files.get(name)
            if name not in entries:
                if state is not None:
                    events += self._gone(rel, state)
                    del lst.files[name]
                continue
            if state is None:
                state = lst.files[name] = _File()
            elif state.key != entries[name][1] or state.racy:
                undo.append(_restorer(state, _File.__slots__))
            events += self._check(rel, state, entries[name], started)
            lst.racy = lst.racy or state.racy or state.key is None
        return events

    def _check(
        self, rel: str, state: _File, found: tuple[str, folders.StatKey], started: int
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
            raw = fs.read_bytes(self.root / rel, self._limit(rel), root=self.root)
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
        state.seen, state.good, state.data = raw, raw, new
        state.pending = state.problem = None
        if rel == self.roadmap_path:
            return section_events(rel, old or {}, new)
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
