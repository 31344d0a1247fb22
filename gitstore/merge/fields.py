"""Decide one entry of a record that the two sides may have changed (pure: lines in, lines out).

A field changed on one side takes that side's lines, and keeps comments the other side edited
in it (merged line by line, or moved above the field when they no longer fit). A field changed on
both sides goes by its shape and strategy: a mapping is merged key by key; ``union`` merges list
items; ``text`` (and, undeclared, any multi-line string) merges lines, keeping both sides' lines
where both inserted at one point; otherwise the later edit wins when both edits carry a time, and
it is a conflict when one does not (a hand edit) or the field is ``flag``. A conflict carries the
entry twice, settled toward ours and toward theirs, so both versions stay recoverable.
"""

from __future__ import annotations

from gitstore.errors import TYPE_CHECKING
from gitstore.merge.key_order import merge_order
from gitstore.merge.tree import Block, Entry, code, is_comment

# merge.lines and merge.values are imported where a merge needs them: most merges take each
# field from one side and never do (the driver starts once per file; docs/performance.md).

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from gitstore.merge.lines import Resolver

Lines = list[str]
UNKNOWN = "\0unknown"  # the base value of a field that the (virtual) base holds in conflict


class Context:
    """What deciding a field needs besides its three entries."""

    def __init__(
        self,
        how: Callable[[str], str],
        later: Callable[[str], str | None],
        record_later: str,
    ):
        self.how = how  # field -> lww | flag | union | text | auto (undeclared)
        self.later = later  # field -> "ours"/"theirs": whose edit of it is later; None: unknown
        self.record_later = record_later  # the later side by the record's own order

    def ours_first(self, field: str) -> bool:
        """Whether ours' additions go first where both sides added at one place (the earlier
        side's first: by the field's clocks, else by the record's order)."""
        return (self.later(field) or self.record_later) == "theirs"


class Outcome:
    __slots__ = ("conflict", "ours", "rescued", "theirs")

    def __init__(
        self,
        ours: Lines | None,
        theirs: Lines | None = None,
        conflict: bool = False,
        rescued: Lines | None = None,
    ):
        self.ours = ours  # the merged entry's lines (None: the key is absent)
        self.theirs = theirs if conflict else ours  # the same, settled toward theirs
        self.conflict = conflict
        self.rescued = rescued or []  # comment lines to put above the entry


def merge_entry(
    key: str,
    b: Entry | None,
    o: Entry | None,
    t: Entry | None,
    ctx: Context,
    field: str,
    indent: int,
    unknown: bool = False,
) -> Outcome:
    """Merge one entry. ``field`` is the top-level field it belongs to (strategies and clocks
    are per field); ``unknown`` says the base value is not to be trusted (a virtual base held
    this field in conflict), so any difference between the sides is a change on both."""
    bv = UNKNOWN if unknown else (b.value if b else None)
    ov, tv = (o.value if o else None), (t.value if t else None)
    if ov == tv:
        return _same_value(b, o, t, ctx, field, indent)
    if tv == bv:
        return _graft(o, b, t, indent)
    if ov == bv:
        return _graft(t, b, o, indent)
    return _both_changed(key, b, o, t, ctx, field, indent, unknown)


def merge_comments(base: Lines, ours: Lines, theirs: Lines, ours_first: bool) -> Lines:
    """Comment lines merged by lines; where both sides changed the same lines, both are kept."""
    if ours == theirs or theirs == base:
        return ours
    if ours == base:
        return theirs
    from gitstore.merge.lines import merge3

    return merge3(base, ours, theirs, resolve=keep_both(ours_first))[0]


def keep_both(ours_first: bool) -> Callable[[Lines, Lines, Lines], Lines]:
    def resolve(region: Lines, mine: Lines, yours: Lines) -> Lines:
        if _contains(mine, yours):
            return mine
        if _contains(yours, mine):
            return yours
        return mine + yours if ours_first else yours + mine

    return resolve


def _contains(outer: Lines, inner: Lines) -> bool:
    n = len(inner)
    return any(outer[i : i + n] == inner for i in range(len(outer) - n + 1))


# ---------------------------------------------------------------- one value, comments aside


def _same_value(
    b: Entry | None, o: Entry | None, t: Entry | None, ctx: Context, field: str, indent: int
) -> Outcome:
    if o is None or t is None:
        return Outcome(None)
    if o.lines == t.lines or (b is not None and t.lines == b.lines):
        return Outcome(o.lines)
    if b is not None and o.lines == b.lines:
        return Outcome(t.lines)
    ours_first = ctx.ours_first(field)
    merged = merge_comments(b.lines if b else [], o.lines, t.lines, ours_first)
    if _value_of(o.key, merged, indent) == o.value:
        return Outcome(merged)
    kept, other = (t, o) if ours_first else (o, t)  # the later side's lines, and
    return Outcome(kept.lines, rescued=_rescue(kept.lines, other, b, indent))  # its comments


def _graft(v: Entry | None, b: Entry | None, other: Entry | None, indent: int) -> Outcome:
    """``v`` changed the value; ``other`` left it as in ``b`` but may have edited comments."""
    if other is None or b is None or other.lines == b.lines:
        return Outcome(v.lines if v else None)
    if v is None:
        return Outcome(None, rescued=_rescue([], other, b, indent))
    if len(v.lines) == len(b.lines) == len(other.lines) == 1 and not _block_scalar(v, indent):
        cb, cv, co = (_comment(e.lines[0]) for e in (b, v, other))
        chosen = cv if co == cb else co if cv == cb else cv
        line = code(v.lines[0]) + chosen + "\n"
        return Outcome([line], rescued=_rescue([line], other, b, indent))
    from gitstore.merge.lines import merge3

    merged, conflicts = merge3(b.lines, v.lines, other.lines)
    if not conflicts and _value_of(v.key, merged, indent) == v.value:
        return Outcome(merged)
    return Outcome(v.lines, rescued=_rescue(v.lines, other, b, indent))


def _comment(line: str) -> str:
    return line.rstrip("\n")[len(code(line)) :]


def _block_scalar(entry: Entry, indent: int) -> bool:
    return code(entry.lines[0])[indent + len(entry.key) + 1 :].strip()[:1] in ("|", ">")


def _comments_in(lines: Lines, entry_indent: int, block_scalar: bool) -> list[str]:
    if block_scalar:
        lines = lines[:1]
    found = []
    for line in lines:
        if is_comment(line):
            if line.strip():
                found.append(line.strip())
        else:
            comment = _comment(line).strip()
            if comment:
                found.append(comment)
    return found


def _rescue(result: Lines, side: Entry, b: Entry | None, indent: int) -> Lines:
    """Comments ``side`` added to an entry that are not in ``result``: as lines above it."""
    scalar = _block_scalar(side, indent)
    had = set(_comments_in(b.lines, indent, _block_scalar(b, indent))) if b else set()
    kept = set(_comments_in(result, indent, scalar))
    added = [c for c in _comments_in(side.lines, indent, scalar) if c not in had and c not in kept]
    return [" " * indent + c + "\n" for c in dict.fromkeys(added)]


def _value_of(key: str, lines: Lines, indent: int) -> str | None:
    if not lines:
        return None
    return Entry(key, [], lines, indent).value


# ---------------------------------------------------------------- both sides changed the value


def _both_changed(
    key: str,
    b: Entry | None,
    o: Entry | None,
    t: Entry | None,
    ctx: Context,
    field: str,
    indent: int,
    unknown: bool,
) -> Outcome:
    how = ctx.how(field)
    from gitstore.merge.values import multiline

    if not unknown:
        if (
            o is not None
            and t is not None
            and o.children is not None
            and t.children is not None
            and (b is None or b.children is not None)
        ):
            nested = _nested(b, o, t, ctx, field, indent)
            if nested is not None:
                return nested
        merged = None
        if how == "union":
            merged = _union(key, b, o, t, ctx, field, indent)
        elif how == "text" or (how == "auto" and (multiline(o, indent) or multiline(t, indent))):
            merged = _text(key, b, o, t, ctx, field, indent)
        if merged is not None:
            return merged
    if how == "flag":
        return _conflict(o, t)
    later = ctx.later(field)
    if later is None:
        return _conflict(o, t)  # a hand edit on a side: nobody knows which edit is later
    winner, loser = (o, t) if later == "ours" else (t, o)
    kept = winner.lines if winner is not None else None
    # A comment the losing side added is still a person's text: it stays, above the field.
    rescued = _rescue(kept or [], loser, b, indent) if loser is not None else []
    return Outcome(kept, rescued=rescued)


def _conflict(o: Entry | None, t: Entry | None) -> Outcome:
    return Outcome(o.lines if o else None, t.lines if t else None, conflict=True)


def _nested(
    b: Entry | None, o: Entry, t: Entry, ctx: Context, field: str, indent: int
) -> Outcome | None:
    ob, tb = o.children, t.children
    assert ob is not None and tb is not None
    bb = b.children if b is not None and b.children is not None else Block({}, [], ob.indent)
    if not ob.indent == tb.indent == bb.indent:
        return None  # re-indented on a side: not the same structure line for line
    ours_first = ctx.ours_first(field)
    head = merge_comments([b.lines[0]] if b else [], [o.lines[0]], [t.lines[0]], ours_first)
    if len(head) != 1:
        head = [o.lines[0]] if not ours_first else [t.lines[0]]
    lines_o, lines_t, conflict = merge_block(bb, ob, tb, ctx, field)
    return Outcome(head + lines_o, head + lines_t, conflict)


def merge_block(
    bb: Block, ob: Block, tb: Block, ctx: Context, field: str
) -> tuple[Lines, Lines, bool]:
    """A nested mapping merged key by key: (settled toward ours, toward theirs, any conflict)."""
    ours_first = ctx.ours_first(field)
    first, second = (ob, tb) if ours_first else (tb, ob)
    order = merge_order(list(bb.entries), list(first.entries), list(second.entries))
    out_o: Lines = []
    out_t: Lines = []
    conflict = False
    for key in order:
        assert isinstance(key, str)
        be, oe, te = bb.entries.get(key), ob.entries.get(key), tb.entries.get(key)
        done = merge_entry(key, be, oe, te, ctx, field, ob.indent)
        prefix = merge_comments(
            be.prefix if be else [], oe.prefix if oe else [], te.prefix if te else [], ours_first
        )
        conflict = conflict or done.conflict
        out_o += prefix + done.rescued + (done.ours or [])
        out_t += prefix + done.rescued + (done.theirs or [])
    tail = merge_comments(bb.tail, ob.tail, tb.tail, ours_first)
    return out_o + tail, out_t + tail, conflict


def _union(
    key: str,
    b: Entry | None,
    o: Entry | None,
    t: Entry | None,
    ctx: Context,
    field: str,
    indent: int,
) -> Outcome | None:
    from gitstore.merge.values import identity, indented, list_lines, read_list

    lists = [read_list(e, indent) for e in (b, o, t)]
    if any(found is None for found in lists):
        return None
    lb, lo, lt = (found for found in lists if found is not None)
    if not all(found.words for found in (lb, lo, lt)):
        from gitstore.errors import RecordError
        from gitstore.merge.values import loaded

        try:
            values = [loaded(e, indent) if e is not None else [] for e in (b, o, t)]
        except RecordError:
            return None
        if not all(isinstance(v, list) for v in values):
            return None
        for found, value in zip((lb, lo, lt), values, strict=True):
            found.items, found.words = value, False
    words = lb.words
    ident: Callable[[Any], Any] = (lambda x: x) if words else identity
    item_of = {ident(x): x for found in (lb, lo, lt) for x in found.items}
    base_ids, in_o, in_t = ({ident(x) for x in f.items} for f in (lb, lo, lt))
    ours_first = ctx.ours_first(field)
    first, second = (lo, lt) if ours_first else (lt, lo)
    order = merge_order(
        [ident(x) for x in lb.items],
        [ident(x) for x in first.items],
        [ident(x) for x in second.items],
    )
    items = [
        item_of[x]
        for x in order
        if (x in in_o or x in in_t) and not (x in base_ids and (x not in in_o or x not in in_t))
    ]
    if not items and (o is None or t is None):
        return Outcome(None)  # a side removed the field, and nothing added is left
    styles = [f.block for f in (first, second) if f.block is not None]
    block = styles[-1] if styles else None  # the later side's indentation when both are blocks
    text = list_lines(key, items, words, block)
    if text is None:
        return None
    lines = indented(text, indent)
    rescued = [r for e in (o, t) if e is not None for r in _rescue(lines, e, b, indent)]
    return Outcome(lines, rescued=list(dict.fromkeys(rescued)))


def _lines(text: str) -> Lines:
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _text(
    key: str,
    b: Entry | None,
    o: Entry | None,
    t: Entry | None,
    ctx: Context,
    field: str,
    indent: int,
) -> Outcome | None:
    from gitstore.merge.lines import merge3
    from gitstore.merge.values import MISSING, indented, read_text

    bs, os_, ts = (read_text(e, indent) for e in (b, o, t))
    if not isinstance(os_, str) or not isinstance(ts, str):
        return None  # a side removed it, or it is not a string there
    if bs is MISSING:
        bs = ""
    if not isinstance(bs, str):
        return None
    trim = not any(s.endswith("\n") for s in (bs, os_, ts))
    if trim:  # a last line without a newline: give all three one, so appends stay appends
        bs, os_, ts = bs + "\n", os_ + "\n", ts + "\n"
    later = ctx.later(field)
    ours_first = ctx.ours_first(field)
    both = keep_both(ours_first)
    clash: list[bool] = []

    def settle(prefer_ours: bool) -> Resolver:
        def resolve(region: Lines, mine: Lines, yours: Lines) -> Lines:
            if not region:
                return both(region, mine, yours)  # both inserted here: keep both
            if later is not None:
                return mine if later == "ours" else yours
            clash.append(True)
            return mine if prefer_ours else yours

        return resolve

    lb, lo, lt = _lines(bs), _lines(os_), _lines(ts)
    merged_o = "".join(merge3(lb, lo, lt, resolve=settle(True))[0])
    merged_t = "".join(merge3(lb, lo, lt, resolve=settle(False))[0]) if clash else merged_o
    from gitstore.record import value_lines

    texts = [value_lines(key, m[:-1] if trim else m) for m in (merged_o, merged_t)]
    if texts[0] is None or texts[1] is None:
        return None
    lines_o, lines_t = indented(texts[0], indent), indented(texts[1], indent)
    rescued = [r for e in (o, t) if e is not None for r in _rescue(lines_o, e, b, indent)]
    return Outcome(
        lines_o,
        lines_t,
        conflict=bool(clash),
        rescued=list(dict.fromkeys(rescued)),
    )
