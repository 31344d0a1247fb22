"""``gitstore log`` over the whole store: who changed which fields of which record, and when.

Read from git's history in two processes, whatever its length: one ``git log --raw`` lists, per
commit, every store file it changed with the blob ids before and after; one ``git cat-file
--batch`` streams those blobs, each parsed once (and dropped after its last use, so memory follows
the records touched, not the history's length). Record blobs are compared field by field;
roadmap blobs section by section. Merge commits list no changes of their own: each change is
reported at the commit that made it. Nothing is executed or followed: blobs are only parsed, and
one over the record size limit is reported, not read.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from gitstore import gitio
from gitstore.errors import GitStoreError, RecordError, UsageError
from gitstore.record import META, loads, same

if TYPE_CHECKING:
    from gitstore.store import Store

NULL_SHA = "0" * 40
ROADMAP = "roadmap"


class _Change:
    __slots__ = ("author", "commit", "date", "email", "new", "old", "path")

    def __init__(self, commit: tuple[str, str, str, str], old: str, new: str, path: str):
        self.commit, self.author, self.email, self.date = commit
        self.old, self.new, self.path = old, new, path


def store_log(
    store: Store,
    *,
    since: str | None = None,
    author: str | None = None,
    collection: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Every change to a record (and roadmap section), newest first. ``since`` and ``author``
    are git's own ``--since`` (``2 weeks ago``, ``2026-11-01``) and ``--author`` (a pattern
    matching the name or e-mail); ``collection`` is a collection name or ``roadmap``."""
    folders = _folders(store, collection)
    changes = _changes(store, folders, since, author)
    limit_bytes = max(store.config.max_record_bytes, 16 << 20)
    wanted = [sha for c in changes for sha in (c.old, c.new) if sha != NULL_SHA]
    uses = Counter(wanted)
    parsed: dict[str, Any] = {}
    blobs = gitio.stream_blobs(store.root, list(dict.fromkeys(wanted)), limit_bytes)
    entries: list[dict[str, Any]] = []

    def value(sha: str, path: str) -> Any:
        if sha == NULL_SHA:
            return None
        while sha not in parsed:
            got, data, size = next(blobs)
            parsed[got] = _parse(store, path, data, size)
        found = parsed[sha]
        uses[sha] -= 1
        if not uses[sha]:
            del parsed[sha]
        return found

    try:
        for change in changes:
            before, after = value(change.old, change.path), value(change.new, change.path)
            if change.path == store.config.roadmap_path:
                entries += _section_entries(change, before, after)
            else:
                entry = _record_entry(store, change, before, after)
                if entry is not None:
                    entries.append(entry)
            if limit is not None and len(entries) >= limit:
                return entries[:limit]
    finally:
        blobs.close()
    return entries


def _folders(store: Store, collection: str | None) -> dict[str, str]:
    """Pathspec -> collection name (``roadmap`` for the roadmap file)."""
    colls = store.config.collections
    if collection is not None and collection != ROADMAP and collection not in colls:
        store.collection(collection)  # raises, naming the known collections
    folders = {c.path.rstrip("/"): name for name, c in colls.items() if collection in (None, name)}
    if collection in (None, ROADMAP):
        folders[store.config.roadmap_path] = ROADMAP
    return folders


def _changes(
    store: Store, folders: dict[str, str], since: str | None, author: str | None
) -> list[_Change]:
    args = ["log", "--raw", "--no-renames", "--no-abbrev", "-z", "--no-color"]
    args.append("--format=%x1e%H%x1f%an%x1f%ae%x1f%aI")
    if since:
        args.append(f"--since={since}")
    if author:
        args.append(f"--author={author}")
    prefix = gitio.git("rev-parse", "--show-prefix", cwd=store.root, check=False).stdout.strip()
    args += ["--", *(f":(top,literal){prefix}{f}" for f in folders)]
    done = gitio.git(*args, cwd=store.root, check=False)
    if done.returncode != 0:
        if "does not have any commits" in done.stderr or "bad default revision" in done.stderr:
            return []
        last = done.stderr.strip().splitlines()
        raise GitStoreError(f"git log failed: {last[-1] if last else done.returncode}", store.root)
    roadmap = prefix + store.config.roadmap_path
    out = []
    for chunk in done.stdout.split("\x1e")[1:]:
        header, _, rest = chunk.partition("\0")
        fields = header.split("\x1f")
        if len(fields) != 4:
            continue
        commit = (fields[0], fields[1], fields[2], fields[3])
        tokens = rest.lstrip("\n").split("\0")
        for info, path in zip(tokens[::2], tokens[1::2], strict=False):
            parts = info.lstrip(":").split()
            if len(parts) < 5 or not path.startswith(prefix):
                continue
            if path != roadmap and not path.endswith(".yaml"):
                continue
            relative = path[len(prefix) :]
            out.append(_Change(commit, parts[2], parts[3], relative))
    return out


def _parse(store: Store, path: str, data: bytes | None, size: int) -> Any:
    """A blob's record (a dict), roadmap sections (name -> description), or a problem (str)."""
    if data is None:
        return "missing" if size < 0 else f"not read: {size} bytes, over the size limit"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8 text"
    if path == store.config.roadmap_path:
        return _sections(store, text)
    try:
        return loads(text, path, store.config.max_depth)
    except RecordError as err:
        return err.message
    except RecursionError:
        return "nested too deeply"


def _sections(store: Store, text: str) -> dict[str, dict[str, Any]]:
    road = store.roadmap()
    out = {}
    for section in road.parser.parse(text).sections:
        described = road.describe(section)
        out[section.name] = {
            "title": described["title"],
            "version": described.get("version"),
            "modified_by": described.get("modified_by"),
            "fields": described["fields"],
            "text": "".join(section.lines),
        }
    return out


def _entry(change: _Change, collection: str, name: str, event: str) -> dict[str, Any]:
    return {
        "commit": change.commit,
        "author": change.author,
        "email": change.email,
        "date": change.date,
        "collection": collection,
        "id": name,
        "path": change.path,
        "event": event,
    }


def _record_entry(store: Store, change: _Change, before: Any, after: Any) -> dict[str, Any] | None:
    folder, _, name = change.path.rpartition("/")
    collection = next(
        (n for n, c in store.config.collections.items() if c.path.rstrip("/") == folder), None
    )
    if collection is None:
        return None  # a file in a folder below a collection's: not a record of it
    record_id = name[: -len(".yaml")]
    old = before if isinstance(before, dict) else None
    new = after if isinstance(after, dict) else None
    if after is None:
        event = "removed"
    elif before is None:
        event = "created"
    elif new is not None and new.get("deleted") is True and (old or {}).get("deleted") is not True:
        event = "deleted"
    else:
        event = "changed"
    entry = _entry(change, collection, record_id, event)
    entry["version"] = new.get("version") if new else None
    entry["modified_by"] = new.get("modified_by") if new else None
    entry["changes"] = _diff(old or {}, new or {})
    problem = next((v for v in (after, before) if isinstance(v, str)), None)
    if problem is not None:
        entry["problem"] = problem
    return entry


def _diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    changes = {}
    for key in dict.fromkeys([*old, *new]):
        if key in META or key == "clocks":
            continue
        if not same(old.get(key), new.get(key)):
            changes[key] = [old.get(key), new.get(key)]
    return changes


def _section_entries(change: _Change, before: Any, after: Any) -> list[dict[str, Any]]:
    old = before if isinstance(before, dict) else {}
    new = after if isinstance(after, dict) else {}
    entries = []
    for name in dict.fromkeys([*new, *old]):
        a, b = old.get(name), new.get(name)
        if a == b:
            continue
        event = "created" if a is None else "removed" if b is None else "changed"
        entry = _entry(change, ROADMAP, name, event)
        entry["version"] = (b or {}).get("version")
        entry["modified_by"] = (b or {}).get("modified_by")
        fields_a = {"title": (a or {}).get("title"), **(a or {}).get("fields", {})}
        fields_b = {"title": (b or {}).get("title"), **(b or {}).get("fields", {})}
        entry["changes"] = _diff(fields_a if a else {}, fields_b if b else {})
        entry["text_changed"] = (a or {}).get("text") != (b or {}).get("text")
        entries.append(entry)
    return entries


def check_filters(name: str | None, **filters: object) -> None:
    """``log ID`` is one record's history; the filters belong to the whole-store log."""
    given = [f"--{k}" for k, v in filters.items() if v]
    if name is not None and given:
        raise UsageError(
            f"{', '.join(given)}: only for the whole-store log (gitstore log without an ID)"
        )
