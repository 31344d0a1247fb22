"""``gitstore schema``: what the store holds, from its configuration and its files: each
collection's folder, ids and fields (type, required, default, values, merge rule, description),
how many records it has, and the roadmap.

Descriptions are the optional ``description:`` of a collection or a field in gitstore.yaml.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gitstore.errors import GitStoreError

if TYPE_CHECKING:
    from gitstore.schema import Collection
    from gitstore.store import Store


def describe(store: Store, names: list[str] | None = None) -> dict[str, Any]:
    """``{"collections": [...], "roadmap": {...}}``; only the collections in ``names`` when
    given (an unknown one is a UsageError)."""
    chosen = [store.collection(n) for n in names] if names else store.config.collections.values()
    raw = store.config.raw.get("collections") or {}
    return {
        "collections": [_collection(store, c, raw.get(c.name) or {}) for c in chosen],
        "roadmap": _roadmap(store) if not names else None,
    }


def _collection(store: Store, coll: Collection, spec: dict[str, Any]) -> dict[str, Any]:
    from gitstore.ids import effective_mode

    raw_fields = spec.get("fields")
    if not isinstance(raw_fields, dict):
        raw_fields = {}
    fields = []
    for field in coll.fields.values():
        fspec = raw_fields.get(field.name)
        fields.append(
            {
                "name": field.name,
                "type": field.type,
                "required": field.required,
                "default": field.default,
                "values": list(field.values) if field.type == "enum" else None,
                "merge": field.merge,
                "description": _description(fspec),
            }
        )
    return {
        "name": coll.name,
        "path": coll.path,
        "description": _description(spec),
        "id_pattern": coll.id_pattern,
        "id_prefix": coll.id_prefix,
        "ids": effective_mode(coll),
        "extra": coll.extra,
        "fields": fields,
        **_counts(store, coll.name),
    }


def _description(spec: object) -> str | None:
    text = spec.get("description") if isinstance(spec, dict) else None
    return text.strip() if isinstance(text, str) and text.strip() else None


def _counts(store: Store, name: str) -> dict[str, int]:
    """Live records, tombstones, and files that cannot be read as records."""
    bad: list[GitStoreError] = []
    found = store.find(name, include_deleted=True, on_error=bad.append)
    deleted = sum(1 for r in found if r.get("deleted") is True)
    return {"records": len(found) - deleted, "deleted": deleted, "unreadable": len(bad)}


def _roadmap(store: Store) -> dict[str, Any]:
    road = store.roadmap()
    try:
        sections: int | None = len(road.document().sections)
    except GitStoreError:
        sections = None  # missing or unreadable: 'gitstore validate' says why
    return {"path": store.config.roadmap_path, "sections": sections}
