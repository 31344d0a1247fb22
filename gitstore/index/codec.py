"""Parsed records as JSON for the query index, type for type, or not at all.

A record holds what YAML gave: text, integers of any size, floats (NaN and infinities too),
booleans, null, dates, times with or without a zone, lists and mappings. JSON carries most of
them as they are, which is what lets SQLite's ``json_extract`` look inside. The rest is written
as a tagged object (a mapping whose first key is ``"\\u0000"``): dates, times, floats that are
not finite, integers beyond 64 bits, text SQLite might mangle (a NUL, a lone surrogate), and a
mapping that has a ``"\\u0000"`` key itself. A query that pushes a condition into SQL treats
every object as "maybe": only Python decides (see :mod:`gitstore.index.search`).

:func:`encode` checks its own work: it decodes what it wrote and compares it with the input,
type for type, key order included. Anything that does not come back exactly (a value of a type
this module does not know) is refused with :class:`Unfaithful`, and the index keeps no parse of
that file: it is read from disk every time, as without the index.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

TAG = "\u0000"
_INT64 = 1 << 63


class Unfaithful(ValueError):
    """The value would not come back from JSON exactly as it is."""


def _wrap(value: Any) -> Any:
    if value is None or value is True or value is False:
        return value
    kind = type(value)
    if kind is str:
        if not _plain_text(value):
            return {TAG: "s", "v": [ord(c) for c in value]}
        return value
    if kind is int:
        return value if -_INT64 <= value < _INT64 else {TAG: "i", "v": str(value)}
    if kind is float:
        return value if math.isfinite(value) else {TAG: "f", "v": repr(value)}
    if kind is list:
        return [_wrap(item) for item in value]
    if kind is dict:
        if not all(type(k) is str and k != TAG and _plain_text(k) for k in value):
            return {TAG: "m", "v": [[_wrap(k), _wrap(v)] for k, v in value.items()]}
        return {k: _wrap(v) for k, v in value.items()}
    if kind is dt.date:
        return {TAG: "d", "v": value.isoformat()}
    if kind is dt.datetime:
        zone = value.tzinfo
        if zone is not None and type(zone) is not dt.timezone:
            raise Unfaithful(f"a time zone of type {type(zone).__name__}")
        offset = zone.utcoffset(None) if zone is not None else None
        return {
            TAG: "t",
            "v": value.replace(tzinfo=None).isoformat(),
            "o": None if offset is None else offset // dt.timedelta(microseconds=1),
            "n": None if zone is None else zone.tzname(None),
        }
    raise Unfaithful(f"a value of type {kind.__name__}")


def _plain_text(text: str) -> bool:
    """Text SQLite stores and compares as Python does: UTF-8 without NUL."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _unwrap(value: Any) -> Any:
    if isinstance(value, list):
        return [_unwrap(item) for item in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(TAG)
    if tag is None:
        return {k: _unwrap(v) for k, v in value.items()}
    raw = value["v"]
    if tag == "s":
        return "".join(chr(c) for c in raw)
    if tag == "i":
        return int(raw)
    if tag == "f":
        return float(raw)
    if tag == "m":
        return {_unwrap(k): _unwrap(v) for k, v in raw}
    if tag == "d":
        return dt.date.fromisoformat(raw)
    if tag == "t":
        moment = dt.datetime.fromisoformat(raw)
        if value["o"] is None:
            return moment
        offset = dt.timedelta(microseconds=value["o"])
        return moment.replace(tzinfo=dt.timezone(offset, value["n"]))
    raise ValueError(f"unknown tag {tag!r}")


def encode(record: dict[str, Any]) -> str:
    """JSON text that :func:`decode` turns back into exactly ``record``, or :class:`Unfaithful`."""
    try:
        wrapped = _wrap(record)
        if not isinstance(wrapped, dict) or TAG in wrapped:
            # SQL looks fields up at the top: the record itself must stay a plain object
            raise Unfaithful("the record's keys need a tagged mapping")
        text = json.dumps(wrapped, ensure_ascii=False, allow_nan=False)
    except (ValueError, RecursionError) as err:
        raise Unfaithful(str(err)) from None
    if not identical(decode(text), record):
        raise Unfaithful("the value does not come back from JSON unchanged")
    return text


def decode(text: str) -> dict[str, Any]:
    # only a tag (a "\u0000" key) needs the walk; JSON writes that key escaped
    value = _unwrap(json.loads(text)) if "\\u0000" in text else json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("a stored record is not a mapping")
    return value


def decode_value(text: str) -> Any:
    """One field's value, as SQLite's ``data -> '$."key"'`` returns it (JSON text)."""
    return _unwrap(json.loads(text)) if "\\u0000" in text else json.loads(text)


def identical(a: Any, b: Any) -> bool:
    """Equal, of the same types all the way down, mappings in the same key order, NaN equal to
    NaN, -0.0 unequal to 0.0, times in the same zone under the same name."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, dict):
            if list(x) != list(y):
                return False
            stack += [(x[k], y[k]) for k in x]
        elif isinstance(x, list):
            if len(x) != len(y):
                return False
            stack += list(zip(x, y, strict=True))
        elif isinstance(x, float):
            if not (x == y and math.copysign(1, x) == math.copysign(1, y)) and not (
                math.isnan(x) and math.isnan(y)
            ):
                return False
        elif isinstance(x, dt.datetime):
            if x != y or str(x) != str(y) or x.tzname() != y.tzname():
                return False
        elif x != y:
            return False
    return True
