"""Filtering and ordering records: ``--where``, ``--sort``, ``--limit`` and natural id order.

A condition is ``FIELD OP VALUE`` with OP one of ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` and
``~`` (contains: a substring of a text, a member of a list). The value is read with the field's
schema type, so ``priority<3`` compares numbers and ``due>=2026-12-01`` dates. A list field
matches ``=`` when the value is one of its members. A record without the field matches only
``!=``. Several conditions must all hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gitstore.errors import RecordError, UsageError
from gitstore.schema import Collection

_CONDITION = re.compile(r"([A-Za-z_][A-Za-z0-9_.-]*)\s*(!=|<=|>=|=|<|>|~)(.*)", re.DOTALL)
_MISSING = object()


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any

    def matches(self, record: dict[str, Any]) -> bool:
        have = record.get(self.field, _MISSING)
        if have is _MISSING or have is None:
            return self.op == "!="
        if self.op in ("=", "!="):
            equal = (
                any(_equal(item, self.value) for item in have)
                if isinstance(have, list) and not isinstance(self.value, list)
                else _equal(have, self.value)
            )
            return equal if self.op == "=" else not equal
        if self.op == "~":
            if isinstance(have, list):
                return any(_equal(item, self.value) for item in have)
            return str(self.value).lower() in str(have).lower()
        left, right = have, self.value
        if isinstance(left, (int, float)) and isinstance(right, str):  # an undeclared field
            try:
                right = float(right)
            except ValueError:
                return False
        try:
            return bool(_COMPARE[self.op](left, right))
        except TypeError:  # e.g. a date against text: compare as written
            return bool(_COMPARE[self.op](str(left), str(right)))


_COMPARE = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _equal(have: object, wanted: object) -> bool:
    return have == wanted or str(have) == str(wanted)


def parse(text: str, collection: Collection) -> Condition:
    """``status=doing``, ``tags~p0``, ``priority<3`` as a condition, typed by the schema."""
    match = _CONDITION.fullmatch(text.strip())
    if not match:
        raise UsageError(
            f"bad condition {text!r}: write FIELD=VALUE (or !=, <, <=, >, >=, ~ for contains)"
        )
    name, op, raw = match.groups()
    spec = collection.field(name)
    value: Any = raw
    if spec.type in ("int", "float", "bool", "date", "enum" if op in ("=", "!=") else "-"):
        try:
            value = spec.coerce(raw)
        except RecordError as err:  # a condition is part of the command line
            raise UsageError(f"--where {text!r}: {err.message}") from None
    return Condition(name, op, value)


def natural_key(value: object) -> tuple[Any, ...]:
    """Order T-2 before T-10: digit runs compare as numbers."""
    if value is None:
        return ((2, ""),)
    if isinstance(value, bool):
        return ((0, int(value)),)
    if isinstance(value, (int, float)):
        return ((0, value),)
    parts = re.split(r"(\d+)", str(value))
    return tuple((0, int(p)) if p.isdigit() else (1, p.lower()) for p in parts if p)


def order(records: list[dict[str, Any]], sort: list[str]) -> list[dict[str, Any]]:
    """Records ordered by each ``FIELD`` (``-FIELD`` descending), then by id, naturally."""
    out = sorted(records, key=lambda r: natural_key(r.get("id")))
    for spec in reversed(sort):
        descending = spec.startswith("-")
        name = spec.removeprefix("-")
        present = [r for r in out if r.get(name) is not None]
        absent = [r for r in out if r.get(name) is None]  # always last, either direction
        present.sort(key=lambda r: natural_key(r.get(name)), reverse=descending)
        out = present + absent
    return out
