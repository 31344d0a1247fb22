"""Merge three versions of a record file field by field (SPEC 3.1). Pure: text in, text out.

Each side is cut into top-level key spans (the lines of one key and its value) without a YAML
parser, so the common merge never imports ruamel.yaml. A field is compared by its span text: the
same on both sides, keep; changed on one side, take that side's lines; changed on both, the field's
strategy decides (``lww``, ``flag``, ``union``, ``text``; only ``union`` and ``text`` parse the
values). The result is built on the text of the side that wins the tie-break order, so merging A
into B and B into A give the same bytes; when the result equals a side, it is that side's bytes.
A side that is not a plain mapping of key spans goes through the slow path (full parse), and one
that does not parse at all makes the caller fall back to a line merge.
"""

from __future__ import annotations

import re

from gitstore.errors import TYPE_CHECKING, RecordError
from gitstore.merge.lines import merge3
from gitstore.record import META, clocks_lines, key_spans, parse_time, value_lines

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Strategy = Callable[[str], str]  # field name -> lww | flag | union | text


class Side:
    """One version of a record file, cut into key spans. (A plain class: the driver's start-up
    time matters, and dataclasses costs 7 ms to import.)"""

    def __init__(
        self,
        text: str,
        lines: list[str],
        spans: dict[str, tuple[int, int]],
        values: dict[str, str] | None = None,
    ):
        self.text, self.lines, self.spans = text, lines, spans
        self.values = values or {}  # key -> span text, normalised

    def scalar(self, key: str) -> str:
        span = self.values.get(key, "")
        value = span.split(":", 1)[1].strip() if ":" in span else ""
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        return value

    def order(self) -> tuple[Any, ...]:
        """Tie-break order: (last_modified, version, modified_by). Never favours a side: see
        :func:`later`, which settles a full tie by content hash."""
        try:
            stamp = parse_time(self.scalar("last_modified")).isoformat()
        except ValueError:
            stamp = ""
        version = self.scalar("version")
        return (stamp, int(version) if version.isdigit() else -1, self.scalar("modified_by"))


def later(o: Side, t: Side) -> tuple[Side, Side]:
    """(winner, loser) by (last_modified, version, modified_by, content hash)."""
    ko, kt = o.order(), t.order()
    if ko == kt:
        import hashlib  # only for a full tie, so most merges never import it

        ko += (hashlib.sha256(o.text.encode()).hexdigest(),)
        kt += (hashlib.sha256(t.text.encode()).hexdigest(),)
    return (t, o) if kt > ko else (o, t)


def cut(text: str) -> Side | None:
    """Key spans of a plain one-key-per-line mapping, or None when that is not what it is."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    spans: dict[str, tuple[int, int]] = {}
    for key, start, end in key_spans(lines):
        if key is None or key in spans:
            return None
        spans[key] = (start, end)
    first = min((s for s, _ in spans.values()), default=len(lines))
    if any(line.strip() and not line.startswith("#") for line in lines[:first]):
        return None  # a document marker, a directive or stray text before the first key
    if any(line.startswith(("<<<<<<<", ">>>>>>>")) for line in lines):
        return None
    values = {k: "\n".join(line.rstrip() for line in lines[s:e]) for k, (s, e) in spans.items()}
    return Side(text, lines, spans, values)


class Result:
    def __init__(self, text: str, conflicts: list[str]):
        self.text = text
        self.conflicts = conflicts  # the fields flagged as true conflicts


_MISSING = None


def merge_record(base: str | None, ours: str, theirs: str, strategy: Strategy) -> Result:
    """Merge record texts. ``strategy(field)`` names a field's strategy, and ``strategy("deleted")``
    the tombstone policy (``lww``, ``delete`` or ``edit``). Raises RecordError when a side is not
    a record (the caller falls back to a line merge)."""
    if ours == theirs:
        return Result(ours, [])
    b = cut(base) if base else Side("", [], {})
    o, t = cut(ours), cut(theirs)
    if b is None or o is None or t is None:
        return _slow(base, ours, theirs, strategy)
    winner, loser = later(o, t)
    chosen: dict[str, str | None] = {}  # key -> the lines to write (None: key absent)
    conflicts: dict[str, tuple[str | None, str | None, str | None]] = {}
    keys = [
        k for k in dict.fromkeys([*o.spans, *t.spans, *b.spans]) if k not in META and k != "clocks"
    ]
    for key in keys:
        bv, ov, tv = b.values.get(key), o.values.get(key), t.values.get(key)
        if ov == tv or tv == bv:
            chosen[key] = _span(o, key)
        elif ov == bv:
            chosen[key] = _span(t, key)
        else:
            how = "tombstone" if key == "deleted" else strategy(key)
            chosen[key] = _both_changed(
                key, how, b, o, t, field_winner(o, t, key, winner), conflicts
            )
    if any("clocks" in side.spans for side in (o, t)):
        chosen["clocks"] = _merge_clocks(b, o, t, winner)
        keys.append("clocks")
    if "deleted" in keys:
        _tombstone(chosen, strategy, b, o, t, winner, keys)
    if not conflicts:
        for side in (winner, loser):
            if all(chosen[k] == _span(side, k) for k in keys):
                return Result(side.text, [])
    skeleton = o if conflicts else winner
    other = t if skeleton is o else o
    text = _compose(skeleton, other, chosen, o, t, winner)
    if conflicts:
        text += _conflict_block(conflicts)
    return Result(text, sorted(conflicts))


_CLOCK_LINE = re.compile(
    r"[ \t]+([A-Za-z_][A-Za-z0-9_.-]*):[ \t]*[\"']?([0-9T:.\-Z+]+)[\"']?[ \t]*"
)


def clocks(side: Side) -> dict[str, str]:
    """The side's per-field clocks (``clocks:`` block): when each field last changed."""
    span = _span(side, "clocks")
    if span is None:
        return {}
    found = {}
    for line in span.splitlines()[1:]:
        match = _CLOCK_LINE.fullmatch(line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def field_winner(o: Side, t: Side, key: str, winner: Side) -> Side:
    """For a field both sides changed: the side that changed it later, by the field's own clock;
    the record's order when a side has no clock for it (or they tie)."""
    co, ct = clocks(o).get(key), clocks(t).get(key)
    if co and ct and _stamp_key(co) != _stamp_key(ct):
        return o if _stamp_key(co) > _stamp_key(ct) else t
    return winner


def _merge_clocks(b: Side, o: Side, t: Side, winner: Side) -> str | None:
    bv, ov, tv = (side.values.get("clocks") for side in (b, o, t))
    if ov == tv or tv == bv:
        return _span(o, "clocks")
    if ov == bv:
        return _span(t, "clocks")
    loser = t if winner is o else o
    merged = clocks(winner)  # the winner's order first, so either merge direction agrees
    for key, stamp in clocks(loser).items():
        if key not in merged or _stamp_key(stamp) > _stamp_key(merged[key]):
            merged[key] = stamp
    return clocks_lines(merged) or _span(winner, "clocks")


def _span(side: Side, key: str) -> str | None:
    if key not in side.spans:
        return None
    start, end = side.spans[key]
    return "".join(side.lines[start:end])


def _both_changed(
    key: str,
    how: str,
    b: Side,
    o: Side,
    t: Side,
    winner: Side,
    conflicts: dict[str, tuple[str | None, str | None, str | None]],
) -> str | None:
    if how in ("union", "text"):
        merged = _merge_values(key, how, b, o, t)
        if merged is not None:
            return merged
        how = "lww"  # overlapping text edits, or values of the wrong type: the later side wins
    if how == "flag":
        conflicts[key] = (_span(b, key), _span(o, key), _span(t, key))
        return _span(o, key)
    return _span(winner, key)  # lww, and "tombstone" before its policy is applied


def _value(side: Side, key: str) -> Any:
    span = _span(side, key)
    if span is None:
        return _MISSING
    from gitstore.record import loads

    return loads(span).get(key)


def _merge_values(key: str, how: str, b: Side, o: Side, t: Side) -> str | None:
    """Union of lists, or a line merge of texts; None when it does not apply cleanly."""
    try:
        bv, ov, tv = _value(b, key), _value(o, key), _value(t, key)
    except RecordError:
        return None
    if how == "union":
        if not all(v is None or isinstance(v, list) for v in (bv, ov, tv)):
            return None
        base, mine, yours = bv or [], ov or [], tv or []
        merged = [x for x in mine if not (x in base and x not in yours)]
        merged += [x for x in yours if x not in base and x not in merged]
        return value_lines(key, merged)
    if not all(v is None or isinstance(v, str) for v in (bv, ov, tv)) or ov is None or tv is None:
        return None
    lines, conflicted = merge3(
        (bv or "").splitlines(keepends=True),
        ov.splitlines(keepends=True),
        tv.splitlines(keepends=True),
    )
    return None if conflicted else value_lines(key, "".join(lines))


def _tombstone(
    chosen: dict[str, str | None],
    strategy: Strategy,
    b: Side,
    o: Side,
    t: Side,
    winner: Side,
    keys: list[str],
) -> None:
    """Delete versus edit: ``delete`` (the tombstone wins), ``edit`` (the edit wins) or ``lww``
    (the later side wins). The other side's field edits are kept either way."""
    for deleter, editor in ((o, t), (t, o)):
        deleted = deleter.values.get("deleted") != b.values.get("deleted")
        edited = any(editor.values.get(k) != b.values.get(k) for k in keys if k != "deleted")
        if deleted and edited and "true" in (deleter.values.get("deleted") or ""):
            policy = strategy("deleted")
            keep_tombstone = policy == "delete" or (policy == "lww" and winner is deleter)
            chosen["deleted"] = _span(deleter if keep_tombstone else editor, "deleted")


def _compose(
    skeleton: Side, other: Side, chosen: dict[str, str | None], o: Side, t: Side, winner: Side
) -> str:
    versions = [int(v) for v in (o.scalar("version"), t.scalar("version")) if v.isdigit()]
    stamps = [s for s in (o.scalar("last_modified"), t.scalar("last_modified")) if s]
    meta = {
        "version": f"version: {max(versions, default=0) + 1}\n",
        "last_modified": f"last_modified: {max(stamps, key=_stamp_key)}\n" if stamps else None,
        "modified_by": _span(winner, "modified_by"),
    }
    by_start = {start: key for key, (start, _) in skeleton.spans.items()}
    # Fields only the other side has: after the skeleton's fields, before a clocks block.
    added = [
        chosen[k] or ""
        for k in other.spans
        if k in chosen and k not in skeleton.spans and k != "clocks"
    ]
    out: list[str] = []
    i = 0
    while i < len(skeleton.lines):
        key = by_start.get(i)
        if key == "clocks":
            out += added
            added = []
        if key is None:
            out.append(skeleton.lines[i])
            i += 1
            continue
        start, end = skeleton.spans[key]
        if key in META and key != "id":
            replacement = meta.get(key)
            out.append(
                replacement if replacement is not None else "".join(skeleton.lines[start:end])
            )
        elif key in chosen:
            out.append(chosen[key] or "")
        else:
            out.append("".join(skeleton.lines[start:end]))
        i = end
    out += added
    if "clocks" in chosen and "clocks" not in skeleton.spans:
        out.append(chosen["clocks"] or "")
    out += [
        line
        for key, line in meta.items()
        if line
        and key not in skeleton.spans
        and not (key == "modified_by" and "modified_by" in chosen)
    ]
    return "".join(out)


def _stamp_key(stamp: str) -> str:
    try:
        return parse_time(stamp).isoformat()
    except ValueError:
        return ""


def _conflict_block(conflicts: dict[str, tuple[str | None, str | None, str | None]]) -> str:
    out = ["conflicts:\n"]
    for key in sorted(conflicts):
        out.append(f"  {key}:\n")
        for label, span in zip(("base", "ours", "theirs"), conflicts[key], strict=True):
            if span is None:
                continue  # a missing key is a value too: absent here means absent there
            first, *rest = span.splitlines(keepends=True)
            out.append("    " + label + first[len(key) :])
            out += ["    " + line if line.strip() else line for line in rest]
    return "".join(out)


def _slow(base: str | None, ours: str, theirs: str, strategy: Strategy) -> Result:
    """Sides that are valid YAML but not plain key spans: parse, merge values, write canonically."""
    from gitstore.record import dumps, loads

    b = loads(base) if base else {}
    o, t = loads(ours), loads(theirs)
    canonical = [dumps(x) if x else "" for x in (b, o, t)]
    if any(c and cut(c) is None for c in canonical):
        raise RecordError("cannot be merged field by field")
    return merge_record(canonical[0] or None, canonical[1], canonical[2], strategy)
