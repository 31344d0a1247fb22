"""Queries over the index: which record files a ``find`` or ``conflicts`` must look at.

SQL only narrows: it returns every row that *may* match (a superset), and the caller applies the
conditions to the decoded record exactly as it would to a record read from its file. Rows that
hold an error, or that the index does not keep parsed, are always returned; the caller raises,
reports or reads them in id order as the files path does.

A ``FIELD=TEXT`` condition is pushed into SQL through an expression index on that field (made on
first use, at most :data:`MAX_FIELD_INDEXES` of them): rows whose field is that text, plus rows
whose field is a number, a boolean, a list or a mapping (which Python's comparison might still
match: ``1`` equals ``"1"`` there, a list matches a member). Other conditions read just their
fields out of the stored JSON (``data -> '$."field"'``) and are decided in Python, so only
matching records are decoded whole.
"""

from __future__ import annotations

import re
import sqlite3
from typing import TYPE_CHECKING, Any

from gitstore.index import codec
from gitstore.index.db import writing
from gitstore.index.refresh import ERROR, OK, VOLATILE
from gitstore.query import natural_key

if TYPE_CHECKING:
    from collections.abc import Iterable

    from gitstore.index import Index
    from gitstore.query import Condition
    from gitstore.schema import Collection
    from gitstore.store import Store

MAX_FIELD_INDEXES = 16
_SAFE_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_NOT_TEXT = "('integer', 'real', 'true', 'false', 'object', 'array')"

#: (record id, state, data or None, stored error or None), in the order the files path visits.
Row = tuple[str, int, dict[str, Any] | None, str | None]


def _path(field: str) -> str:
    return f"'$.\"{field}\"'"


def pushable(condition: Condition) -> bool:
    value = condition.value
    return (
        condition.op == "="
        and isinstance(value, str)
        and bool(_SAFE_FIELD.fullmatch(condition.field))
        and codec._plain_text(value)
    )


def field_index(index: Index, field: str) -> None:
    """Make the expression index a ``FIELD=TEXT`` lookup uses, unless there are enough of them
    or the index cannot be written now (the query then scans)."""
    name = "field_" + field.encode().hex()
    conn = index.conn
    known = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'field_%'")}
    if name in known or len(known) >= MAX_FIELD_INDEXES:
        return
    path = _path(field)
    try:
        with writing(conn):
            conn.execute(
                f'CREATE INDEX IF NOT EXISTS "{name}" ON files'
                f"(folder, json_type(data, {path}), json_extract(data, {path}))"
            )
    except sqlite3.Error:
        pass  # busy, say: the query scans this time (a broken file shows in the query)


def candidates(
    index: Index, coll: Collection, conditions: list[Condition], include_deleted: bool
) -> list[Row]:
    """Rows that may match, in the order the files path would visit them (see :func:`ordered`)."""
    pushed = next((c for c in conditions if pushable(c)), None)
    if pushed is not None:
        field_index(index, pushed.field)
    with index.fresh(coll) as now:
        conn = index.conn
        folder = coll.path
        live = "" if include_deleted else " AND deleted = 0"
        rows: list[tuple[str, int, str | None, str | None]] = [
            (n, s, None, e)
            for n, s, e in conn.execute(
                "SELECT name, state, error FROM files WHERE folder = ? AND state IN (?, ?)",
                (folder, ERROR, VOLATILE),
            )
        ]
        if pushed is not None:
            path = _path(pushed.field)
            rows += conn.execute(
                f"SELECT name, state, data, NULL FROM files WHERE folder = ? "
                f"AND json_type(data, {path}) = 'text' AND json_extract(data, {path}) = ?{live}",
                (folder, pushed.value),
            ).fetchall()
            rows += conn.execute(
                f"SELECT name, state, data, NULL FROM files WHERE folder = ? "
                f"AND json_type(data, {path}) IN {_NOT_TEXT}{live}",
                (folder,),
            ).fetchall()
        elif conditions and all(_SAFE_FIELD.fullmatch(c.field) for c in conditions):
            rows += _filtered(index, folder, conditions, live)
        else:
            rows += conn.execute(
                f"SELECT name, state, data, NULL FROM files WHERE folder = ? AND state = ?{live}",
                (folder, OK),
            ).fetchall()
        decoded = [(n, s, codec.decode(d) if d is not None else None, e) for n, s, d, e in rows]
    return ordered(decoded, now.names)


def _filtered(
    index: Index, folder: str, conditions: list[Condition], live: str
) -> list[tuple[str, int, str | None, str | None]]:
    """Parsed rows whose fields, read out of the stored JSON, meet every condition."""
    fields = list(dict.fromkeys(c.field for c in conditions))
    columns = ", ".join(f"data -> {_path(f)}" for f in fields)
    conn = index.conn
    matched = []
    for name, *values in conn.execute(
        f"SELECT name, {columns} FROM files WHERE folder = ? AND state = ?{live}", (folder, OK)
    ):
        record = {f: codec.decode_value(v) for f, v in zip(fields, values, strict=True) if v}
        if all(c.matches(record) for c in conditions):
            matched.append(name)
    rows = []
    for start in range(0, len(matched), 500):
        chunk = matched[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows += conn.execute(
            f"SELECT name, state, data, NULL FROM files WHERE folder = ? AND name IN ({marks})",
            (folder, *chunk),
        ).fetchall()
    return rows


def conflict_rows(index: Index, coll: Collection) -> list[Row]:
    """Rows holding a ``conflicts:`` mapping, and every row with an error or not kept parsed."""
    with index.fresh(coll) as now:
        conn = index.conn
        rows = conn.execute(
            "SELECT name, state, data, error FROM files WHERE folder = ? AND state IN (?, ?)",
            (coll.path, ERROR, VOLATILE),
        ).fetchall()
        rows += conn.execute(
            "SELECT name, state, data, error FROM files INDEXED BY files_conflicted "
            "WHERE folder = ? AND conflicted = 1",
            (coll.path,),
        ).fetchall()
        decoded = [(n, s, codec.decode(d) if d is not None else None, e) for n, s, d, e in rows]
    return ordered(decoded, now.names)


def ordered(rows: Iterable[tuple[str, int, Any, Any]], listing: list[str]) -> list[Row]:
    """Rows by record id in natural order, ids that order equally by their place in the
    folder's listing: exactly the order of ``Store.ids``."""
    keyed = sorted(((natural_key(n[:-5]), n, s, d, e) for n, s, d, e in rows), key=_first)
    ties = {keyed[i][1] for i in range(1, len(keyed)) if keyed[i][0] == keyed[i - 1][0]}
    ties |= {keyed[i - 1][1] for i in range(1, len(keyed)) if keyed[i][0] == keyed[i - 1][0]}
    if ties:
        place = {n: i for i, n in enumerate(listing) if n in ties}
        keyed.sort(key=lambda r: (r[0], place.get(r[1], -1)))
    return [(n[:-5], s, d, e) for _, n, s, d, e in keyed]


def _first(row: tuple[Any, ...]) -> Any:
    return row[0]


def rows_of(
    store: Store,
    collection: str,
    conditions: list[Condition],
    include_deleted: bool,
    conflicted: bool,
) -> list[Row] | None:
    """The index's rows for ``Store.scan``, or None when there is no usable index."""
    from gitstore.index import Unusable, fell_back, using

    coll = store.collection(collection)
    try:
        with using(store) as index:
            if conflicted:
                return conflict_rows(index, coll)
            return candidates(index, coll, conditions, include_deleted)
    except Unusable:
        fell_back()
        return None
