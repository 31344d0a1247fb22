"""Notifications: the daemon tells the user, the user acknowledges. Records of the
``notifications`` collection, written through the store like any record.

So they get what records get: atomic writes, locks, versions, and field-level merges across clones
(an acknowledgement made in one clone and another made in a second merge clean; a new notification
from each side is two files, never one). A new notification's id is random (``N-k3x9q2``), picked
under the record's lock with create-only semantics, so two processes, or two clones, notifying at
once never overwrite each other.

Levels are the collection's own ``level`` values (the starter configuration's: ``info``,
``question``, ``warning``, ``error``). ``warn`` and ``action`` are accepted as aliases of
``warning`` and ``question`` when the configuration does not declare them itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gitstore.errors import ConfigError, NotFound, UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

    from gitstore.errors import GitStoreError
    from gitstore.schema import Collection
    from gitstore.store import Record, Store

COLLECTION = "notifications"
UNREAD, READ = "unread", "read"
ALIASES = {"warn": "warning", "action": "question"}


def collection(store: Store) -> Collection:
    """The store's notifications collection, or a ConfigError saying how to add one."""
    coll = store.config.collections.get(COLLECTION)
    if coll is None:
        raise ConfigError(
            f"no '{COLLECTION}' collection in gitstore.yaml; add one (docs/notifications.md)",
            store.root / "gitstore.yaml",
        )
    return coll


def level_value(coll: Collection, level: str) -> str:
    """``level`` as the collection spells it (an alias resolved), or a UsageError listing them."""
    spec = coll.fields.get("level")
    if spec is None or spec.type != "enum":
        return level  # an undeclared or free-text level: any text will do
    if level in spec.values:
        return level
    if ALIASES.get(level) in spec.values:
        return ALIASES[level]
    raise UsageError(f"level {level!r}: must be one of {', '.join(spec.values)}")


def about_target(store: Store, about: str) -> str:
    """Check that ``about`` names a live record (``T-42``, ``tasks/T-42``) or a roadmap section
    (``2.5``, ``PRIORITY 2.5``); return it as given. A dangling reference is refused: a person
    reading the inbox could not follow it."""
    if not about.strip():
        raise UsageError("--about: give a record or roadmap section id")
    try:
        coll, record_id = store.resolve(about)
        store.get(coll, record_id)
        return about
    except (NotFound, UsageError) as err:
        record_problem = err
    try:
        store.roadmap().get(about)
        return about
    except NotFound:
        pass
    except UsageError as err:  # e.g. an ambiguous section id
        raise UsageError(f"--about {about!r}: {err.message}") from None
    raise NotFound(
        f"--about {about!r}: no record or roadmap section with that id ({record_problem.message})"
    )


def notify(
    store: Store,
    message: str,
    *,
    level: str = "info",
    about: str | None = None,
    source: str | None = None,
    check_about: bool = True,
    **extra: Any,
) -> Record:
    """Write a new unread notification and return it. An empty message, an unknown level or
    (with ``check_about``) an ``about`` that names nothing raise before anything is written."""
    coll = collection(store)
    if not isinstance(message, str) or not message.strip():
        raise UsageError("a notification needs a message (it is empty)")
    fields: dict[str, Any] = {"message": message, "level": level_value(coll, level)}
    if about is not None:
        fields["about"] = about_target(store, about) if check_about else about
    if source is not None:
        fields["source"] = source
    if "status" in coll.fields:
        fields["status"] = UNREAD
    if "created" in coll.fields or coll.extra == "allow":  # never a warning of validate
        from gitstore.clock import next_clock

        fields["created"] = next_clock(None)
    return store.add(COLLECTION, fields | extra)


def _created(rec: Record) -> str:
    return str(rec.get("created") or rec.get("last_modified") or "")


def inbox(
    store: Store,
    *,
    include_read: bool = False,
    on_error: Callable[[GitStoreError], None] | None = None,
) -> list[Record]:
    """Unread notifications, newest first; with ``include_read`` the others follow, newest
    first too. Tombstones are left out. A file that cannot be read as a record raises, or with
    ``on_error`` is handed to it and skipped (one bad file does not hide the others)."""
    collection(store)
    records = store.find(COLLECTION, on_error=on_error)
    records.sort(key=_created, reverse=True)
    unread = [r for r in records if is_unread(r)]
    if not include_read:
        return unread
    return unread + [r for r in records if not is_unread(r)]


def is_unread(rec: Record) -> bool:
    return bool(rec.get("status", UNREAD) == UNREAD)


def ack(store: Store, ids: list[str]) -> list[tuple[Record, bool]]:
    """Mark notifications read: ``(record, changed)`` for each, ``changed`` False when it was
    read (or dismissed) already, so acknowledging twice is harmless. Every id is checked before
    anything is written: one unknown id and nothing changes."""
    collection(store)
    if not ids:
        raise UsageError("give the notification ids to acknowledge, or --all")
    wanted = []
    for name in dict.fromkeys(ids):
        coll, record_id = _resolve(store, name)
        store.get(coll, record_id)  # NotFound for an unknown or deleted one
        wanted.append(record_id)
    return [_mark_read(store, record_id) for record_id in wanted]


def ack_all(
    store: Store, *, on_error: Callable[[GitStoreError], None] | None = None
) -> list[Record]:
    """Mark every unread notification read; the ones that changed. ``on_error`` as for
    :func:`inbox`."""
    done = []
    for rec in inbox(store, on_error=on_error):
        try:
            written, changed = _mark_read(store, rec["id"])
        except NotFound:
            continue  # deleted meanwhile: nothing to acknowledge
        if changed:
            done.append(written)
    return done


def _resolve(store: Store, name: str) -> tuple[str, str]:
    coll, _, record_id = name.rpartition("/")
    if coll and coll != COLLECTION:
        raise UsageError(f"{name!r} is not a notification (it names the {coll} collection)")
    record_id = record_id.strip()
    try:
        store.collection(COLLECTION).check_id(record_id)
    except UsageError:
        raise NotFound(f"no notification {record_id!r} (ids look like N-k3x9q2)") from None
    return COLLECTION, record_id


def _mark_read(store: Store, record_id: str) -> tuple[Record, bool]:
    with store.update(COLLECTION, record_id) as rec:
        if not is_unread(rec):
            return rec, False
        rec["status"] = READ
    return rec, True
