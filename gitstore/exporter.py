"""Exporting the store for dashboards and reporting tools: JSON, JSON Lines, CSV and SQLite.

JSON, JSON Lines and CSV hold one collection each: every live record with its metadata (``id``,
``version``, ``last_modified``, ``modified_by``) and fields; the merge bookkeeping (``clocks``,
``conflicts``) stays in the store. SQLite holds every collection, one table each with typed
columns (from the schema, or from the values of undeclared fields: see :mod:`gitstore.tabular`),
and the roadmap's sections in a ``roadmap`` table. A re-export to the same database is
incremental: ``_gitstore_rows`` remembers each row's version and content hash, so only rows that
changed are written, in one SQLite transaction (a reader sees the old export or the new one).
``_gitstore_columns`` records each column's kind, so an import reads the values back exactly.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitstore.errors import GitStoreError, UsageError
from gitstore.readers import EXPORT_TABLES, quote_ident
from gitstore.record import META
from gitstore.tabular import column_kind, jsonable, sql_type, to_cell, to_sql

if TYPE_CHECKING:
    from gitstore.store import Record, Store

ROADMAP_TABLE = "roadmap"
FORMAT_VERSION = "1"


def records(store: Store, collection: str, *, include_deleted: bool = False) -> list[Record]:
    """The collection's records as exported: metadata and fields, no merge bookkeeping."""
    out = []
    for rec in store.find(collection, include_deleted=include_deleted):
        out.append({k: v for k, v in rec.items() if k not in ("clocks", "conflicts")})
    return out


def columns(store: Store, collection: str, rows: list[Record]) -> list[str]:
    """Metadata first, then the declared fields in schema order, then the others as found."""
    found = dict.fromkeys(k for row in rows for k in row)
    declared = [f for f in store.collection(collection).fields if f in found]
    return list(dict.fromkeys([*(k for k in (*META, "deleted") if k in found), *declared, *found]))


def to_json(rows: list[Record]) -> bytes:
    return (json.dumps(jsonable(rows), ensure_ascii=False, indent=2) + "\n").encode()


def to_jsonl(rows: list[Record]) -> bytes:
    lines = (json.dumps(jsonable(row), ensure_ascii=False) + "\n" for row in rows)
    return "".join(lines).encode()


def to_csv(rows: list[Record], names: list[str]) -> bytes:
    """A header row, then one row per record; lists and mappings as JSON in their cell."""
    import csv
    import io

    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([to_cell(row.get(name)) for name in names])
    return out.getvalue().encode()


def render(store: Store, collection: str, fmt: str, *, include_deleted: bool = False) -> bytes:
    """One collection in ``fmt`` (json, jsonl or csv)."""
    rows = records(store, collection, include_deleted=include_deleted)
    if fmt == "json":
        return to_json(rows)
    if fmt == "jsonl":
        return to_jsonl(rows)
    if fmt == "csv":
        return to_csv(rows, columns(store, collection, rows))
    raise UsageError(f"unknown export format {fmt!r}")


# ---------------------------------------------------------------- SQLite


def to_sqlite(
    store: Store,
    path: str | Path,
    collections: list[str] | None = None,
    *,
    roadmap: bool = True,
    include_deleted: bool = False,
) -> dict[str, dict[str, int]]:
    """Export to (or bring up to date) the database at ``path``; per table, how many rows were
    inserted, updated, deleted and left unchanged."""
    import sqlite3

    names = list(collections or store.config.collections)
    tables: list[tuple[str, str, list[tuple[str, str]], list[dict[str, Any]]]] = []
    for name in names:
        rows = records(store, name, include_deleted=include_deleted)
        tables.append((name, "id", _record_columns(store, name, rows), rows))
    if roadmap:
        table = ROADMAP_TABLE if ROADMAP_TABLE not in names else "roadmap_sections"
        rows = roadmap_rows(store)
        tables.append((table, "name", _ROADMAP_COLUMNS, rows))
    _check_names([t[0] for t in tables], path)
    try:
        conn = sqlite3.connect(str(path))
    except sqlite3.Error as err:
        raise GitStoreError(f"cannot open the database: {err}", str(path)) from None
    try:
        with conn:
            _prepare(conn, path)
            return {name: _sync(conn, name, key, cols, rows) for name, key, cols, rows in tables}
    except sqlite3.Error as err:
        raise GitStoreError(f"export failed, nothing changed: {err}", str(path)) from None
    finally:
        conn.close()


def _check_names(tables: list[str], path: str | Path) -> None:
    folded = [t.casefold() for t in tables]
    for table in tables:
        if table in EXPORT_TABLES or folded.count(table.casefold()) > 1:
            raise UsageError(
                f"collection {table!r} cannot be a table of its own (SQLite names ignore case, "
                "and _gitstore_* tables are the export's); export it to JSON instead",
                str(path),
            )


def _record_columns(store: Store, collection: str, rows: list[Record]) -> list[tuple[str, str]]:
    declared = store.collection(collection).fields
    names = dict.fromkeys([*META, *declared, *columns(store, collection, rows)])
    out = []
    for name in names:
        if name in ("id", "last_modified", "modified_by"):
            out.append((name, "str"))
        elif name == "version":
            out.append((name, "int"))
        elif name == "deleted":
            out.append((name, "bool"))
        else:
            spec = declared.get(name)
            out.append(
                (name, column_kind(spec.type if spec else None, [r.get(name) for r in rows]))
            )
    folded = [n.casefold() for n, _ in out]
    twins = sorted({n for n, _ in out if folded.count(n.casefold()) > 1})
    if twins:
        raise UsageError(
            f"{collection}: fields {', '.join(twins)} differ only by case, which SQLite column "
            "names cannot; rename one"
        )
    return out


_ROADMAP_COLUMNS = [
    ("name", "str"),
    ("position", "int"),
    ("id", "str"),
    ("title", "str"),
    ("status", "str"),
    ("state", "str"),
    ("owner", "str"),
    ("fields", "json"),
    ("level", "int"),
    ("line", "int"),
    ("uid", "str"),
    ("version", "int"),
    ("last_modified", "str"),
    ("modified_by", "str"),
    ("text", "str"),
]


def roadmap_rows(store: Store) -> list[dict[str, Any]]:
    """One row per roadmap section (see ``Roadmap.describe``), with its whole text."""
    from gitstore.errors import NotFound

    road = store.roadmap()
    try:
        doc = road.document()
    except NotFound:
        return []
    rows = []
    for position, section in enumerate(doc.sections, 1):
        row = road.describe(section) | {"position": position, "text": "".join(section.lines)}
        rows.append({name: row.get(name) for name, _ in _ROADMAP_COLUMNS})
    return rows


def _prepare(conn: Any, path: str | Path) -> None:
    tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if tables and "_gitstore_export" not in tables:
        raise UsageError(
            "is a database that gitstore did not write; export to a new file (nothing changed)",
            str(path),
        )
    conn.execute("CREATE TABLE IF NOT EXISTS _gitstore_export (key TEXT PRIMARY KEY, value TEXT)")
    conn.execute("INSERT OR REPLACE INTO _gitstore_export VALUES ('format', ?)", (FORMAT_VERSION,))
    conn.execute(
        'CREATE TABLE IF NOT EXISTS _gitstore_columns ("table" TEXT, "column" TEXT, kind TEXT, '
        'position INTEGER, PRIMARY KEY ("table", "column"))'
    )
    conn.execute(
        'CREATE TABLE IF NOT EXISTS _gitstore_rows ("table" TEXT, key TEXT, version INTEGER, '
        'hash TEXT, PRIMARY KEY ("table", key))'
    )


def _sync(
    conn: Any, table: str, key: str, cols: list[tuple[str, str]], rows: list[dict[str, Any]]
) -> dict[str, int]:
    """Bring one table to ``rows``: create or reshape it, then write only the changed rows."""
    counts = {"inserted": 0, "updated": 0, "deleted": 0, "unchanged": 0}
    had = conn.execute(
        'SELECT "column", kind FROM _gitstore_columns WHERE "table" = ? ORDER BY position',
        (table,),
    ).fetchall()
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    wanted = dict(cols)
    old = dict(had)
    q = quote_ident(table)
    if exists and any(wanted.get(c) != k for c, k in old.items()):
        conn.execute(f"DROP TABLE {q}")  # a column changed kind or went away: rebuild
        conn.execute('DELETE FROM _gitstore_rows WHERE "table" = ?', (table,))
        exists, old = None, {}
    if not exists:
        spec = ", ".join(
            f"{quote_ident(c)} {sql_type(k)}" + (" PRIMARY KEY" if c == key else "")
            for c, k in cols
        )
        conn.execute(f"CREATE TABLE {q} ({spec})")
    else:
        for c, k in cols:
            if c not in old:
                conn.execute(f"ALTER TABLE {q} ADD COLUMN {quote_ident(c)} {sql_type(k)}")
    conn.execute('DELETE FROM _gitstore_columns WHERE "table" = ?', (table,))
    conn.executemany(
        "INSERT INTO _gitstore_columns VALUES (?, ?, ?, ?)",
        [(table, c, k, i) for i, (c, k) in enumerate(cols)],
    )
    known = {
        k: (v, h)
        for k, v, h in conn.execute(
            'SELECT key, version, hash FROM _gitstore_rows WHERE "table" = ?', (table,)
        )
    }
    names = ", ".join(quote_ident(c) for c, _ in cols)
    marks = ", ".join("?" for _ in cols)
    upsert = f"INSERT OR REPLACE INTO {q} ({names}) VALUES ({marks})"
    changed, stamps = [], []
    for row in rows:
        cells = [to_sql(row.get(c), k) for c, k in cols]
        # Only the values a row holds: a column added for other rows leaves its hash alone.
        held = {c: cell for (c, _), cell in zip(cols, cells, strict=True) if cell is not None}
        digest = hashlib.sha1(json.dumps(held, sort_keys=True).encode()).hexdigest()
        ident, version = str(row[key]), row.get("version")
        before = known.pop(ident, None)
        if before == (version, digest):
            counts["unchanged"] += 1
            continue
        counts["updated" if before else "inserted"] += 1
        changed.append(cells)
        stamps.append((table, ident, version, digest))
    conn.executemany(upsert, changed)
    conn.executemany("INSERT OR REPLACE INTO _gitstore_rows VALUES (?, ?, ?, ?)", stamps)
    gone = [(ident,) for ident in known]
    conn.executemany(f"DELETE FROM {q} WHERE {quote_ident(key)} = ?", gone)
    conn.executemany(f'DELETE FROM _gitstore_rows WHERE "table" = {_lit(table)} AND key = ?', gone)
    counts["deleted"] = len(gone)
    return counts


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
