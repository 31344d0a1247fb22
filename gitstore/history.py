"""``gitstore log``: the history of one record or roadmap section, read from git."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gitstore import gitio
from gitstore.errors import GitStoreError, NotFound, RecordError
from gitstore.record import META, loads, same

if TYPE_CHECKING:
    from gitstore.store import Store


def _commits(store: Store, path: str) -> list[tuple[str, str, str]]:
    out = gitio.git(
        "log", "--format=%H%x1f%an%x1f%aI", "--", path, cwd=store.root, check=False
    ).stdout
    return [tuple(line.split("\x1f")) for line in out.splitlines() if line.count("\x1f") == 2]  # type: ignore[misc]


def record_log(store: Store, collection: str, record_id: str) -> list[dict[str, Any]]:
    """Each commit that changed the record, newest first, with the fields it changed."""
    path = str(store.path_of(collection, record_id).relative_to(store.root))
    return _history(store, path, _record_values)


def section_log(store: Store, name: str) -> list[dict[str, Any]]:
    """Each commit that changed one roadmap section, newest first."""
    road = store.roadmap()

    def values(data: bytes) -> dict[str, Any] | None:
        from gitstore.roadmap import find

        try:
            section = find(road.parser.parse(data.decode("utf-8")), name)
        except (GitStoreError, UnicodeDecodeError):
            return None
        described = road.describe(section)
        return {
            "title": described["title"],
            "version": described.get("version"),
            **described["fields"],
            "text": "".join(section.lines),
        }

    return _history(store, store.config.roadmap_path, values)


def _record_values(data: bytes) -> dict[str, Any] | None:
    try:
        return loads(data.decode("utf-8"))
    except (RecordError, UnicodeDecodeError):
        return None


def _history(store: Store, path: str, read: Any) -> list[dict[str, Any]]:
    commits = _commits(store, path)
    if not commits:
        raise NotFound("no history in git (not committed yet?)", store.root / path)
    prefix = gitio.git("rev-parse", "--show-prefix", cwd=store.root).stdout.strip()
    blobs = gitio.cat_files(store.root, [f"{sha}:{prefix}{path}" for sha, _, _ in commits])
    entries = []
    previous: dict[str, Any] | None = None
    for sha, author, date in reversed(commits):  # oldest first, to diff each against the last
        blob = blobs[f"{sha}:{prefix}{path}"]
        current = read(blob) if blob is not None else None
        if current == previous and blob is not None:
            continue
        changes = {}
        keys = dict.fromkeys([*(previous or {}), *(current or {})])
        for key in keys:
            if key in META or key in ("text", "clocks"):
                continue
            old = (previous or {}).get(key)
            new = (current or {}).get(key)
            if not same(old, new):
                changes[key] = [old, new]
        if (
            previous is not None
            and not changes
            and current is not None
            and current.get("text") == previous.get("text")
        ):
            continue
        entries.append(
            {
                "commit": sha,
                "author": author,
                "date": date,
                "version": (current or {}).get("version"),
                "event": "created"
                if previous is None
                else ("removed" if current is None else "changed"),
                "changes": changes,
            }
        )
        previous = current
    if not entries:
        raise NotFound("not in any commit's version of this file", store.root / path)
    return list(reversed(entries))
