"""Reading import sources into rows: JSON (an array of objects, or JSON Lines), CSV and SQLite.

Each reader returns a :class:`Source`: its rows in order, each with where it came from (``item
3``, ``line 7``, ``table tasks, row 12``) so that every later error can name the file and the
place. Files are read whole with a size limit; a SQLite database is opened read-only
(``file:...?mode=ro``) and never written. Malformed input is one :class:`RecordError` naming the
file: a JSON that is not a list of objects, a CSV row with more or fewer cells than its header.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

from gitstore import fs
from gitstore.errors import RecordError, UsageError

FORMATS = ("json", "jsonl", "csv", "sqlite")
MAX_INPUT_BYTES = 256 << 20  # JSON and CSV are read whole
MAX_SQLITE_BYTES = 4 << 30
MAX_ROWS = 1_000_000
EXTENSIONS = {
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".db": "sqlite",
    ".sqlite": "sqlite",
    ".sqlite3": "sqlite",
}
#: Tables an export writes for its own bookkeeping (and the roadmap's), never imported as records.
EXPORT_TABLES = ("_gitstore_export", "_gitstore_columns", "_gitstore_rows")


class Row:
    __slots__ = ("values", "where")

    def __init__(self, values: dict[str, Any], where: str):
        self.values, self.where = values, where


class Source:
    """Rows read from one file (one table of a database). ``kinds`` are the column kinds an
    export recorded (``_gitstore_columns``), used to decode text back into lists, dates ..."""

    def __init__(self, label: str, rows: list[Row], columns: list[str], kinds: dict[str, str]):
        self.label, self.rows, self.columns, self.kinds = label, rows, columns, kinds


def format_of(path: str, given: str | None) -> str:
    if given is not None:
        if given not in FORMATS:
            raise UsageError(f"unknown format {given!r}: use one of {', '.join(FORMATS)}")
        return given
    found = EXTENSIONS.get(Path(path).suffix.lower())
    if found is None:
        raise UsageError(
            f"{path}: cannot tell the format from the name; say --format {'|'.join(FORMATS)}"
        )
    return found


def read_text(path: str, limit: int = MAX_INPUT_BYTES) -> str:
    """The whole text of ``path`` (``-`` is standard input), at most ``limit`` bytes, UTF-8 (a
    byte-order mark is dropped)."""
    if path == "-":
        raw = sys.stdin.buffer.read(limit + 1)
        if len(raw) > limit:
            raise RecordError(f"is over the {limit}-byte input limit (--max-bytes)", "<stdin>")
    else:
        try:
            raw = fs.read_bytes(Path(path), limit)
        except FileNotFoundError:
            raise UsageError("no such file", path) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise RecordError(f"is not UTF-8 text (byte {err.start})", path) from None


def read_json(path: str, limit: int = MAX_INPUT_BYTES, *, lines: bool | None = None) -> Source:
    """A JSON array of objects, or JSON Lines (one object per line; ``lines=None`` decides by
    the text: an array, or several objects one per line)."""
    text = read_text(path, limit)
    data: Any = None
    if lines is None:
        try:
            data = json.loads(text)
            lines = False
        except json.JSONDecodeError as err:
            lines = err.msg == "Extra data"  # several values: JSON Lines
            if not lines:
                raise RecordError(f"line {err.lineno}: invalid JSON: {err.msg}", path) from None
        except RecursionError:
            raise RecordError("JSON nested too deeply", path) from None
    elif not lines:
        data = _parse_json(text, path, None)
    if lines:
        rows = []
        # Only "\n" ends a line: str.splitlines would also split at U+2028 and friends, which
        # JSON writes raw inside strings.
        for number, line in enumerate(text.split("\n"), 1):
            if line.strip():
                where = f"line {number}"
                rows.append(Row(_object(_parse_json(line, path, where), path, where), where))
        return _source(path, rows)
    if not isinstance(data, list):
        raise RecordError(
            f"is a JSON {_json_type(data)}, not a list of objects (an array, or JSON Lines)", path
        )
    rows = [Row(_object(item, path, f"item {i}"), f"item {i}") for i, item in enumerate(data, 1)]
    return _source(path, rows)


def _parse_json(text: str, path: str, where: str | None) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        at = where or f"line {err.lineno}"
        raise RecordError(f"{at}: invalid JSON: {err.msg}", path) from None
    except RecursionError:
        raise RecordError(f"{where or 'the document'}: JSON nested too deeply", path) from None


def _object(item: object, path: str, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise RecordError(
            f"{where} is a JSON {_json_type(item)}, not an object: expected a list of objects", path
        )
    return item


def _json_type(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def read_csv(path: str, limit: int = MAX_INPUT_BYTES) -> Source:
    """A CSV file with a header row; every row must have as many cells as the header."""
    text = read_text(path, limit)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            return Source(path, [], [], {})
        if len(set(header)) != len(header):
            twice = sorted({h for h in header if header.count(h) > 1})
            raise RecordError(f"line 1: the header names {', '.join(twice)} more than once", path)
        rows = []
        start = reader.line_num + 1
        for cells in reader:
            where = f"line {start}"
            start = reader.line_num + 1
            if not cells:
                continue  # a blank line
            if len(cells) != len(header):
                raise RecordError(
                    f"{where}: row has {len(cells)} cells, the header has {len(header)} "
                    "(a ragged row: quote cells holding commas or newlines)",
                    path,
                )
            values = {h: (c if c != "" else None) for h, c in zip(header, cells, strict=True)}
            rows.append(Row(values, where))
    except csv.Error as err:
        raise RecordError(f"line {reader.line_num}: bad CSV: {err}", path) from None
    return _source(path, rows, header)


def _source(path: str, rows: list[Row], columns: list[str] | None = None) -> Source:
    if len(rows) > MAX_ROWS:
        raise RecordError(f"has {len(rows)} rows, over the {MAX_ROWS}-row limit", path)
    if columns is None:
        columns = list(dict.fromkeys(k for row in rows for k in row.values))
    return Source(path, rows, columns, {})


# ---------------------------------------------------------------- SQLite


def _connect(path: str, limit: int) -> Any:
    import sqlite3
    from urllib.parse import quote

    try:
        st = os.stat(path)  # a user's argument: following a link they gave is what they mean
    except FileNotFoundError:
        raise UsageError("no such file", path) from None
    if not stat.S_ISREG(st.st_mode):
        raise RecordError("is not a regular file", path)  # a FIFO would block sqlite's open
    if st.st_size > limit:
        raise RecordError(f"is {st.st_size} bytes, over the {limit}-byte limit", path)
    uri = f"file:{quote(os.path.abspath(path))}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True)
        conn.execute("PRAGMA query_only = ON")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as err:
        raise RecordError(f"is not a readable SQLite database ({err})", path) from None
    return conn


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sqlite_tables(path: str, limit: int = MAX_SQLITE_BYTES) -> list[str]:
    """The tables (and views) of a database, without an export's bookkeeping tables."""
    conn = _connect(path, limit)
    try:
        return _tables(conn)
    finally:
        conn.close()


def _tables(conn: Any) -> list[str]:
    names = conn.execute(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
        "AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()
    return [n for (n,) in names if n not in EXPORT_TABLES]


def read_sqlite(path: str, table: str, limit: int = MAX_SQLITE_BYTES) -> Source:
    import sqlite3

    conn = _connect(path, limit)
    label = f"table {table}"
    try:
        tables = _tables(conn)
        if table not in tables:
            raise UsageError(
                f"has no table {table!r} (tables: {', '.join(tables) or 'none'}); "
                "name one with --table",
                path,
            )
        cursor = conn.execute(f"SELECT * FROM {quote_ident(table)}")
        columns = [d[0] for d in cursor.description]
        rows = []
        for number, values in enumerate(cursor, 1):
            if number > MAX_ROWS:
                raise RecordError(f"{label} has over {MAX_ROWS} rows (the limit)", path)
            cells = dict(zip(columns, values, strict=True))
            for column, cell in cells.items():
                if isinstance(cell, bytes):
                    raise RecordError(
                        f"{label}, row {number}: column {column!r} holds binary data (a BLOB), "
                        "which a record cannot hold; drop it with --map {column}=",
                        path,
                    )
            rows.append(Row(cells, f"{label}, row {number}"))
        kinds: dict[str, str] = {}
        if "_gitstore_columns" in {n for (n,) in conn.execute("SELECT name FROM sqlite_master")}:
            found = conn.execute(
                'SELECT "column", kind FROM _gitstore_columns WHERE "table" = ?', (table,)
            )
            kinds = {str(c): str(k) for c, k in found}
    except sqlite3.DatabaseError as err:
        raise RecordError(f"{label}: cannot read ({err})", path) from None
    finally:
        conn.close()
    return Source(path, rows, columns, kinds)


def read(path: str, fmt: str, *, table: str | None = None, limit: int | None = None) -> Source:
    """The rows of ``path`` in format ``fmt`` (``table`` for SQLite)."""
    if fmt == "sqlite":
        if table is None:
            raise UsageError("a SQLite import reads one --table at a time")
        return read_sqlite(path, table, limit or MAX_SQLITE_BYTES)
    if fmt == "csv":
        return read_csv(path, limit or MAX_INPUT_BYTES)
    return read_json(path, limit or MAX_INPUT_BYTES, lines=True if fmt == "jsonl" else None)
