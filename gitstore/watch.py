"""``gitstore watch``: follow the store's changes as events (see :mod:`gitstore.changes`), so a
daemon reacts to a person's edits, and to what ``git pull``/``sync`` brings, without polling files
itself.

A stat-polling loop over the collection folders and the roadmap, not an OS file-watching API:
that would need a dependency (``watchdog``) and still a polling fallback for network and
container file systems, while a scan of ``lstat`` results costs a few milliseconds for thousands
of records (docs/performance.md). A file is read again only when its stat key (inode, size,
mtime, ctime) changed, or while its mtime is too recent to trust (a same-size rewrite within one
timestamp tick: git's "racy clean" problem, solved the same way). Its bytes are then compared with
the last ones read, so a file rewritten with the same content is no event.

Every file is reached through :mod:`gitstore.fs`: a link is reported, never followed, and a FIFO
is never opened. A file that cannot be read as a record is reported once per content as
``invalid``, and only when the same bad bytes are seen on two scans (``git checkout`` writes a
file in place, so a scan may catch one half-written). The state each event is diffed against is
kept in memory: at start, the working tree as it is, or with ``since``, the files of that commit,
so the first scan reports what changed since then.

A polling watcher sees states, not writes: two writes of one record between two scans are one
event, for the later version. Each state is reported once; the last state is always reported.
"""

from __future__ import annotations

import posixpath
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from gitstore import fs, gitio
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


class _File:
    """What the watcher knows of one file."""

    __slots__ = ("data", "good", "key", "pending", "problem", "racy", "seen")

    def __init__(self, good: bytes | None = None) -> None:
        self.key: fs.StatKey | None = None  # stat when last read (None: read on the next scan)
        self.racy = False  # that stat is too recent to trust
        self.seen: bytes | None = good  # the bytes last read, valid or not
        self.good: bytes | None = good  # the last bytes that parsed: what events diff against
        self.data: Any = None  # the parse of ``good``, once needed
        self.pending: bytes | None = None  # bad bytes seen once, reported if seen again
        self.problem: str | None = None  # the unreadable-file reason last reported


class Watcher:
    """Scans the store on each :meth:`poll` and returns the events since the previous one."""

    def __init__(self, store: Store, *, since: str | None = None) -> None:
        self.store = store
        self.root = store.root
        self.road = store.roadmap()
        self.roadmap_path = store.config.roadmap_path
        self.folders = {c.path: c.name for c in store.config.collections.values()}
        self.files: dict[str, _File] = {}
        self.failed: dict[str, str] = {}  # folder -> the listing problem reported
        self.quiet = False
        if since is None:
            self.quiet = True  # the first scan is the starting point: nothing to report
            self.poll()
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
        wanted = {}
        for item in listing.split("\0"):
            meta, _, full = item.partition("\t")
            parts = meta.split()
            if len(parts) != 3 or parts[1] != "blob" or parts[0] not in ("100644", "100755"):
                continue  # a link, a submodule, a folder: never followed, so never a state
            rel = full[len(prefix) :] if full.startswith(prefix) else None
            if rel is not None and self._watched(rel):
                wanted[rel] = f"{sha}:{full}"
        blobs = gitio.cat_files(self.root, list(wanted.values()))
        for rel, name in wanted.items():
            self.files[rel] = _File(blobs[name])

    def _watched(self, rel: str) -> bool:
        if rel == self.roadmap_path:
            return True
        folder, name = posixpath.split(rel)
        return folder in self.folders and _record_name(name)

    # ------------------------------------------------------------ scanning

    def poll(self) -> list[Event]:
        """One scan: the events for every file that changed since the last one."""
        started = time.time_ns()
        found, failed, events = self._scan()
        for rel in sorted(set(found) | set(self.files)):
            if posixpath.dirname(rel) in failed:
                continue  # its folder could not be listed: say nothing of its files
            state = self.files.get(rel)
            if rel not in found:
                if state is not None:
                    events += self._gone(rel, state)
                    del self.files[rel]
                continue
            if state is None:
                state = self.files[rel] = _File()
            kind, key = found[rel]
            if kind != "file":
                why = {
                    "link": "is a symlink; gitstore never follows links",
                    "dir": "is a directory, not a file",
                }.get(kind, "is not a regular file (a FIFO, socket or device)")
                events += self._unreadable(rel, state, why)
                continue
            if state.key == key and not state.racy:
                continue
            try:
                raw = fs.read_bytes(self.root / rel, self._limit(rel), root=self.root)
            except FileNotFoundError:
                continue  # removed since the listing: the next scan says so
            except GitStoreError as err:
                events += self._unreadable(rel, state, err.message)
                continue
            state.key, state.racy = key, key[2] >= started - RACY_NS
            if raw != state.seen or state.pending is not None:
                events += self._read(rel, state, raw)
        return [] if self.quiet else events

    def _scan(self) -> tuple[dict[str, tuple[str, fs.StatKey]], set[str], list[Event]]:
        """Every watched path with its kind and stat key; the folders that could not be listed
        (reported once per problem)."""
        found: dict[str, tuple[str, fs.StatKey]] = {}
        failed: set[str] = set()
        events: list[Event] = []
        road_folder, road_name = posixpath.split(self.roadmap_path)
        listings: list[tuple[str, Callable[[str], bool]]] = [
            (folder, _record_name) for folder in self.folders
        ]
        listings.append((road_folder, lambda name: name == road_name))
        for folder, want in listings:
            try:
                entries = fs.stat_entries(self.root / folder, self.root, want)
            except GitStoreError as err:
                failed.add(folder)
                if self.failed.get(folder) != err.message and not self.quiet:
                    collection = self.folders.get(folder)
                    kind = "record" if collection else "section"
                    events.append(invalid_event(kind, "", collection, folder or ".", err.message))
                self.failed[folder] = err.message
                continue
            self.failed.pop(folder, None)
            for name, seen in entries.items():
                found[posixpath.join(folder, name)] = seen
        return found, failed, events

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
            state.key, state.seen, state.pending = None, None, None
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
