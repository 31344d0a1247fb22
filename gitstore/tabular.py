"""Record values in flat formats: the kinds a column can hold, and turning values into text or
SQLite cells and back.

CSV cells and SQLite columns carry fewer types than a record. A value is written as itself when the
format has its type (SQLite INTEGER, REAL, TEXT) and otherwise as text: dates in ISO form, lists and
mappings as JSON, booleans as ``true``/``false`` in CSV and 0/1 in SQLite. Reading back, a column's
*kind* (from the schema, from ``--type``, or from the kinds an export recorded) says how to decode
the text. Everything here is pure: no files, no store.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

#: What a column may hold. ``json`` is any value, written as JSON text.
KINDS = ("str", "text", "enum", "int", "float", "bool", "date", "list", "json")

INT64 = (-(1 << 63), (1 << 63) - 1)


class Mismatch(ValueError):
    """A value that cannot be read as the kind asked for (the message says why)."""


def kind_of(value: object) -> str:
    """The narrowest kind holding ``value`` as SQLite stores it without loss."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int" if INT64[0] <= value <= INT64[1] else "json"
    if isinstance(value, float):
        return "json" if math.isnan(value) else "float"  # SQLite stores NaN as NULL
    if isinstance(value, str):
        return "str"
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return "date"
    if isinstance(value, list):
        return "list"
    return "json"


def fits(value: object, kind: str) -> bool:
    """Whether ``value`` is written and read back as itself in a column of ``kind``."""
    if kind in ("str", "text", "enum"):
        return isinstance(value, str)
    if kind == "float":
        return kind_of(value) == "float"  # an int in a REAL column would come back a float
    if kind == "json":
        return True
    return kind_of(value) == kind


def column_kind(declared: str | None, values: list[Any]) -> str:
    """The kind of a column: the declared one when every value fits it, else the narrowest kind
    all values share, else ``json``."""
    present = [v for v in values if v is not None]
    if declared is not None and all(fits(v, declared) for v in present):
        return "str" if declared in ("text", "enum") else declared
    kinds = {kind_of(v) for v in present}
    if len(kinds) == 1:
        return kinds.pop()
    return "str" if not kinds else "json"


SQL_TYPES = {"int": "INTEGER", "float": "REAL", "bool": "INTEGER"}


def sql_type(kind: str) -> str:
    return SQL_TYPES.get(kind, "TEXT")


def to_json_text(value: object) -> str:
    return json.dumps(jsonable(value), ensure_ascii=False, allow_nan=True, sort_keys=False)


def jsonable(value: Any) -> Any:
    """``value`` with dates as ISO text (JSON has no date type)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def to_sql(value: object, kind: str) -> Any:
    """A record value as a SQLite cell of a column of ``kind``."""
    if value is None:
        return None
    if kind == "bool":
        return int(bool(value))
    if kind in ("int", "float") or (kind in ("str", "text", "enum") and isinstance(value, str)):
        return value
    if kind == "date" and isinstance(value, dt.date):
        return value.isoformat()
    return to_json_text(value)


def to_cell(value: object) -> str:
    """A record value as CSV text: empty for no value, JSON for lists and mappings."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, dt.date)) and not isinstance(value, dt.datetime):
        return json.dumps(value) if isinstance(value, float) else str(value)
    return to_json_text(value)


_TRUE = ("true", "yes", "1", "on")
_FALSE = ("false", "no", "0", "off")


def convert(value: Any, kind: str, *, forced: bool = False) -> Any:
    """``value`` (as a source gave it) as a value of ``kind``, or :class:`Mismatch`.

    Text is parsed into the kind (CSV gives only text; SQLite often keeps numbers and dates as
    text). A value of another type is refused unless ``forced`` (``--type``) asks for text of it:
    a number is not silently turned into a name."""
    if kind in ("str", "text", "enum"):
        if isinstance(value, str):
            return value
        if forced and not isinstance(value, (list, dict)):
            return to_cell(value)
        raise Mismatch(f"{_shown(value)} is a {_type(value)}, not text")
    if isinstance(value, str):
        return _parse(value, kind)
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if (
        kind == "json"
        or (kind == "int" and number and isinstance(value, int))
        or (kind == "float" and number)
        or (kind == "bool" and isinstance(value, bool))
        or (kind == "date" and isinstance(value, dt.date) and not isinstance(value, dt.datetime))
        or (kind == "list" and isinstance(value, list))
    ):
        return value
    if kind == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    if kind == "bool" and number and value in (0, 1):
        return bool(value)
    raise Mismatch(f"{_shown(value)} is a {_type(value)}, not {_article(kind)}")


def _parse(text: str, kind: str) -> Any:
    stripped = text.strip()
    try:
        if kind == "int":
            return int(stripped)
        if kind == "float":
            return float(stripped)
        if kind == "date":
            return dt.date.fromisoformat(stripped)
        if kind == "json":
            return json.loads(text)
    except (ValueError, RecursionError):
        raise Mismatch(f"{_shown(text)} is not {_article(kind)}") from None
    if kind == "bool":
        if stripped.lower() in _TRUE:
            return True
        if stripped.lower() in _FALSE:
            return False
        raise Mismatch(f"{_shown(text)} is not a boolean (true/false, yes/no, 1/0)")
    if kind == "list":
        if stripped.startswith("["):
            try:
                parsed = json.loads(stripped)
            except (ValueError, RecursionError):
                parsed = None
            if isinstance(parsed, list):
                return parsed
        inner = stripped.removeprefix("[").removesuffix("]")
        return [item.strip() for item in inner.split(",") if item.strip()]
    raise Mismatch(f"unknown type {kind!r}")


def _type(value: object) -> str:
    return {bool: "boolean", int: "number", float: "number", str: "text", list: "list"}.get(
        type(value), "mapping" if isinstance(value, dict) else type(value).__name__
    )


def _article(kind: str) -> str:
    words = {"int": "an integer", "float": "a number", "date": "a date (YYYY-MM-DD)"}
    return words.get(kind, f"a {kind}" if kind != "json" else "JSON")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
