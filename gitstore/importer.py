"""Importing rows (see :mod:`gitstore.readers`) as records, through the store's own write path.

Two steps. :func:`to_records` turns a source's rows into records of one collection: the id from
the id column (through an optional template such as ``T-{}``), columns renamed (``--map``),
metadata columns an export wrote (``version``, ``last_modified`` ...) left out, and every value
converted to its field's type (the schema's, or ``--type``'s); any problem is one error naming
the file and the row, before anything is written. :func:`apply` then writes them all in one
transaction: each record is matched by id, so a re-run updates what changed and never duplicates;
each is stamped and validated like any write, and the first failure leaves every file as it was.
``dry_run`` does all of that and writes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gitstore.errors import GitStoreError, RecordError, UsageError
from gitstore.readers import Row, Source
from gitstore.record import RESERVED, same
from gitstore.spellings import fold
from gitstore.tabular import KINDS, Mismatch, convert

if TYPE_CHECKING:
    from gitstore.schema import Collection
    from gitstore.store import Record, Store

_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


class Mapping:
    """How rows become records: ``renames`` maps a column to a field (``""`` drops it),
    ``types`` forces a field's type, ``id_template`` builds the id from the id column's value."""

    def __init__(
        self,
        id_column: str = "id",
        id_template: str = "{}",
        renames: dict[str, str] | None = None,
        types: dict[str, str] | None = None,
    ):
        if id_template.count("{}") != 1 or re.search(r"[{}]", id_template.replace("{}", "")):
            raise UsageError(f"--id-template {id_template!r}: holds {{}} once, e.g. 'T-{{}}'")
        for name, kind in (types or {}).items():
            if kind not in KINDS:
                raise UsageError(f"--type {name}={kind}: the types are {', '.join(KINDS)}")
        self.id_column, self.id_template = id_column, id_template
        self.renames, self.types = dict(renames or {}), dict(types or {})


def pairs(items: list[str], option: str) -> dict[str, str]:
    """``A=B`` options (``--map col=field``, ``--type field=int``) as a mapping."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"{option} {item!r}: expected NAME=VALUE")
        out[key] = value
    return out


def to_records(source: Source, coll: Collection, mapping: Mapping) -> list[tuple[Row, Record]]:
    """Each row as a record of ``coll`` (validated against the schema later, by the store)."""
    where = source.label
    columns = set(source.columns)
    if source.columns and mapping.id_column not in columns:
        raise RecordError(
            f"no id column {mapping.id_column!r} (columns: {', '.join(source.columns)}); "
            "name it with --id-column",
            where,
        )
    unknown = sorted(set(mapping.renames) - columns)
    if unknown and source.rows:
        raise UsageError(f"--map names no column of it: {', '.join(unknown)}", where)
    targets: dict[str, str] = {}
    for column in source.columns:
        if column == mapping.id_column:
            continue
        field = mapping.renames.get(column, column)
        if field == "" or field in RESERVED:
            continue  # dropped, or metadata an export wrote: the store stamps its own
        if not _FIELD.fullmatch(field):
            raise UsageError(
                f"column {column!r} is not a field name (letters, digits, _ . -); "
                f"rename it: --map '{column}=new_name' (or --map '{column}=' to drop it)",
                where,
            )
        if field in targets.values():
            raise UsageError(f"two columns become the field {field!r}; --map one elsewhere", where)
        targets[column] = field
    out: list[tuple[Row, Record]] = []
    seen: dict[str, str] = {}
    for row in source.rows:
        record_id = _record_id(row, coll, mapping, where)
        folded = fold(record_id)
        if folded in seen:
            raise RecordError(
                f"{row.where}: duplicate id {record_id} (first at {seen[folded]}); ids must be "
                "unique (ids differing only by case are one file on macOS and Windows)",
                where,
            )
        seen[folded] = row.where
        record: Record = {"id": record_id}
        for column, value in row.values.items():
            target = targets.get(column)
            if target is None or value is None:
                continue  # no value (NULL, null, an empty cell): the field is left out
            record[target] = _value(value, target, column, source, coll, mapping, row)
        out.append((row, record))
    return out


def _record_id(row: Row, coll: Collection, mapping: Mapping, where: str) -> str:
    raw = row.values.get(mapping.id_column)
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if raw is None or raw == "" or isinstance(raw, (bool, list, dict)):
        raise RecordError(
            f"{row.where}: no usable id in column {mapping.id_column!r} ({raw!r})", where
        )
    record_id = mapping.id_template.replace("{}", str(raw).strip())
    try:
        return coll.check_id(record_id)
    except UsageError as err:
        hint = "" if mapping.id_template != "{}" else " (--id-template can add a prefix: 'T-{}')"
        raise RecordError(f"{row.where}: {err.message}{hint}", where) from None


def _value(
    value: Any,
    field: str,
    column: str,
    source: Source,
    coll: Collection,
    mapping: Mapping,
    row: Row,
) -> Any:
    forced = mapping.types.get(field)
    declared = coll.fields[field].type if field in coll.fields else None
    kind = forced or declared or source.kinds.get(column)
    if kind is None:
        return value
    try:
        return convert(value, kind, forced=forced is not None)
    except Mismatch as err:
        why = f"--type {field}={forced}" if forced else f"{field} is {kind}"
        if not forced and not declared:
            why = f"the export recorded {column} as {kind}"
        raise RecordError(f"{row.where}: {field}: {err} ({why})", source.label) from None


# ---------------------------------------------------------------- writing


class _DryRun(Exception):
    """Raised inside the transaction so that it ends without writing."""


Batch = tuple[str, Source, list[tuple[Row, "Record"]]]


def apply(
    store: Store,
    batches: list[Batch],
    *,
    replace: bool = False,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Write every batch ``(collection, source, [(row, record)])`` in one transaction; per batch
    the ids added, updated and unchanged. With ``replace`` a record becomes exactly its row
    (fields the row lacks are removed); by default the row's fields are set and others kept."""
    total = sum(len(records) for _, _, records in batches)
    results: list[dict[str, Any]] = []
    done = 0
    try:
        with store.transaction() as tx:
            for collection, source, records in batches:
                result: dict[str, Any] = {
                    "collection": collection,
                    "source": source.label,
                    "added": [],
                    "updated": [],
                    "unchanged": [],
                }
                for row, record in records:
                    # Under the transaction's exclusive store lock: nobody else writes meanwhile.
                    _, old = store.read(collection, record["id"])
                    new, outcome = _merged(old, record, replace)
                    result[outcome].append(record["id"])
                    if outcome != "unchanged":
                        try:
                            tx.put(collection, new)
                        except GitStoreError as err:
                            raise RecordError(
                                f"{row.where} (id {record['id']}): {err.message}", source.label
                            ) from None
                    done += 1
                    if progress is not None:
                        progress(done, total)
                results.append(result)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return results


def _merged(old: Record | None, record: Record, replace: bool) -> tuple[Record, str]:
    """What to write for ``record`` over ``old``, and whether that adds, updates or keeps it."""
    if old is None or old.get("deleted") is True:
        return dict(record), "added"
    kept = {k: v for k, v in old.items() if k not in RESERVED}
    given = {k: v for k, v in record.items() if k != "id"}
    fields = given if replace else kept | given
    if same(fields, kept):
        return old, "unchanged"
    new: Record = {"id": record["id"]} | fields
    if "conflicts" in old:
        new["conflicts"] = old["conflicts"]  # an import settles no merge conflict
    return new, "updated"
