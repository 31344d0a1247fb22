"""What changed between two states of a record or of the roadmap's sections, as the events
``gitstore watch`` prints. Pure: parsed values in, event dictionaries out; no I/O.

An event is ``{"kind", "event", "collection", "id", "version", "changed", "who",
"last_modified", "path"}``: ``kind`` is ``record`` or ``section``; ``event`` is ``created``,
``changed``, ``deleted`` (a tombstone appeared), ``removed`` (the file or section is gone) or
``invalid`` (a file that cannot be read as a record: reported once per content); ``changed`` lists
the fields whose values differ (metadata left out; for a section its ``**Field**:`` keys as
written, ``title``, ``heading`` and ``body``); ``who`` is the new state's ``modified_by``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gitstore.record import META, same

if TYPE_CHECKING:
    from gitstore.roadmap import Document, Section
    from gitstore.roadmap_store import Roadmap

Event = dict[str, Any]
_SKIP = (*META, "clocks")  # stamped on every write: not a change of their own
_MISSING = object()


def changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Keys whose values differ between ``old`` and ``new`` (a missing key is a value too), in
    ``new``'s order then ``old``'s; metadata left out."""
    keys = dict.fromkeys([*new, *old])
    return [
        k for k in keys if k not in _SKIP and not same(old.get(k, _MISSING), new.get(k, _MISSING))
    ]


def event(
    kind: str,
    name: str,
    collection: str | None,
    path: str,
    what: str,
    new: dict[str, Any] | None,
    changed: list[str],
    meta: dict[str, Any] | None = None,
) -> Event:
    source = meta if meta is not None else (new or {})
    gone = what == "removed"  # who removed it is not in the file: git log says
    return {
        "kind": kind,
        "event": what,
        "collection": collection,
        "id": name,
        "version": source.get("version"),
        "changed": changed,
        "who": None if gone else source.get("modified_by"),
        "last_modified": source.get("last_modified"),
        "path": path,
    }


def record_event(
    collection: str, path: str, old: dict[str, Any] | None, new: dict[str, Any] | None
) -> Event | None:
    """The event for a record that went from ``old`` to ``new`` (None: no file), or None when
    nothing changed."""
    if old is None and new is None:
        return None
    if new is None:
        assert old is not None
        return event("record", str(old.get("id")), collection, path, "removed", None, [], old)
    if old is not None and same(old, new):
        return None
    changed = changed_fields(old or {}, new)
    tombstone = new.get("deleted") is True
    if tombstone and (old is None or old.get("deleted") is not True):
        what = "deleted"
    else:
        what = "created" if old is None else "changed"
    return event("record", str(new.get("id")), collection, path, what, new, changed)


def section_values(road: Roadmap, section: Section) -> dict[str, Any]:
    """A section as the values ``watch`` compares: its title, heading, field lines and body,
    plus its metadata under ``_meta``."""
    described = road.describe(section)
    field_lines = {i for i, _, _ in section.fields().values()}
    skip = {0, 1} if section.meta() else {0}
    body = "".join(
        line for i, line in enumerate(section.lines) if i not in skip and i not in field_lines
    )
    meta = {k: described[k] for k in ("version", "modified_by", "last_modified") if k in described}
    fields = {key: value.strip() for _, key, value in section.fields().values()}
    return {"title": described["title"], "heading": section.heading, **fields, "body": body} | {
        "_meta": meta
    }


def sections_of(road: Roadmap, doc: Document) -> dict[str, dict[str, Any]]:
    """Each section of ``doc`` by name (its id, ``id#n`` for a duplicate)."""
    return {s.name: section_values(road, s) for s in doc.sections}


def section_events(
    path: str, old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]
) -> list[Event]:
    """Events for sections added, changed or removed between two parses of the roadmap (matched
    by name: a renumbered section is one removed and one created). A move alone changes nothing
    in a section, so it is no event."""
    events = []
    for name, values in new.items():
        before = old.get(name)
        if before is not None and same(before, values):
            continue
        changed = changed_fields(_strip(before or {}), _strip(values))
        what = "created" if before is None else "changed"
        events.append(event("section", name, None, path, what, None, changed, values["_meta"]))
    for name, values in old.items():
        if name not in new:
            events.append(event("section", name, None, path, "removed", None, [], values["_meta"]))
    return events


def _strip(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k != "_meta"}


def invalid_event(kind: str, name: str, collection: str | None, path: str, why: str) -> Event:
    return event(kind, name, collection, path, "invalid", None, []) | {"error": why}
