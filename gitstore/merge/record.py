"""Merge three versions of a record file field by field. Pure: text in, text out.

Each side is cut into a tree of entries by lines (:mod:`.tree`), so the common merge never
imports ruamel.yaml; :mod:`.fields` decides each entry. This module holds what is about the
record as a whole: who is later (the record's order, and each field's clock), which edits carry
no time (hand edits), add/add, tombstones, a virtual base's conflicts, the merged metadata and
clocks, the ``conflicts:`` block, and the file's line endings. The text is composed the same way
whichever side is ours, so merging A into B and B into A give the same bytes; when the result
equals a side, it is that side's bytes. A side that is not a plain mapping of ``key: value``
lines goes through the slow path (full parse); one that does not parse at all makes the caller
fall back to a line merge.
"""

from __future__ import annotations

from gitstore.errors import TYPE_CHECKING, RecordError
from gitstore.merge.fields import Context, Outcome, merge_comments, merge_entry
from gitstore.merge.key_order import merge_order
from gitstore.merge.tree import Block, Entry, code, cut_block, split_lines
from gitstore.textrules import is_key, is_stamp, key_colon

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Strategy = Callable[[str], str]  # field name -> lww | flag | union | text | auto

STAMPED = ("version", "last_modified", "modified_by")  # written by the merge itself
# record.META; gitstore.record is not imported here: most merges never need it (start-up).
META = ("id", *STAMPED)


class Side:
    """One version of a record file, cut into entries. (A plain class: the driver's start-up
    time matters, and dataclasses costs 7 ms to import.)"""

    def __init__(self, text: str, block: Block):
        self.text, self.block = text, block
        self.entries = block.entries
        self.crlf = text.count("\r\n") * 2 > text.count("\n")  # the file's line endings
        self._clocks: dict[str, str] | None = None

    def value(self, key: str) -> str | None:
        entry = self.entries.get(key)
        return entry.value if entry is not None else None

    def scalar(self, key: str) -> str:
        entry = self.entries.get(key)
        if entry is None:
            return ""
        value = code(entry.lines[0]).split(":", 1)[1].strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        return value

    def order(self) -> tuple[Any, ...]:
        """Tie-break order: (last_modified, version, modified_by). Never favours a side: see
        :func:`later`, which settles a full tie by content."""
        version = self.scalar("version")
        return (
            _stamp_key(self.scalar("last_modified")),
            int(version) if version.isdigit() else -1,
            self.scalar("modified_by"),
        )

    def clocks(self) -> dict[str, str]:
        """The side's per-field clocks (``clocks:`` block): when each field last changed."""
        if self._clocks is None:
            self._clocks = {}
            entry = self.entries.get("clocks")
            for line in entry.lines[1:] if entry is not None else []:
                found = _clock_line(line.rstrip("\n"))
                if found is not None:
                    self._clocks[found[0]] = found[1]
        return self._clocks


_STAMP_CHARS = "0123456789T:.-Z+"


def _clock_line(line: str) -> tuple[str, str] | None:
    r"""A ``clocks:`` entry's key and time, or None: the groups of
    ``[ \t]+([A-Za-z_][A-Za-z0-9_.-]*):[ \t]*["']?([0-9T:.\-Z+]+)["']?[ \t]*`` in full."""
    start = len(line) - len(line.lstrip(" \t"))
    colon = key_colon(line, start) if start else -1
    if colon < 0:
        return None
    rest = line[colon + 1 :].lstrip(" \t").rstrip(" \t")
    if rest[:1] in ("'", '"'):
        rest = rest[1:]
    if rest[-1:] in ("'", '"'):
        rest = rest[:-1]
    if not rest or rest.strip(_STAMP_CHARS):
        return None
    return line[start:colon], rest


_EMPTY = Side("", Block({}, [], 0))


def later(o: Side, t: Side) -> tuple[Side, Side]:
    """(winner, loser) by (last_modified, version, modified_by, content hash, content)."""
    ko, kt = o.order(), t.order()
    if ko == kt:
        # CRC-32, not SHA-256: hashlib costs the driver 4 ms to import, and the text itself
        # settles a collision, so a tie never falls to a side.
        from zlib import crc32

        ko += (crc32(o.text.encode()), o.text)
        kt += (crc32(t.text.encode()), t.text)
    return (t, o) if kt > ko else (o, t)


def cut(text: str) -> Side | None:
    """A side cut into entries, or None when it is not a plain one-key-per-line mapping."""
    block = cut_block(split_lines(text), top=True)
    return Side(text, block) if block is not None else None


class Result:
    def __init__(self, text: str, conflicts: list[str], notes: list[str] | None = None):
        self.text = text
        self.conflicts = conflicts  # the fields left in conflict (in the conflicts: block)
        self.notes = notes or []  # what a person should know about this merge (for stderr)


def merge_record(base: str | None, ours: str, theirs: str, strategy: Strategy) -> Result:
    """Merge record texts. ``strategy(field)`` names a field's strategy (``auto`` for a field the
    schema does not declare), and ``strategy("deleted")`` the tombstone policy (``lww``,
    ``delete`` or ``edit``). Raises RecordError when a side is not a record (the caller falls
    back to a line merge)."""
    if ours == theirs or theirs == base:
        return Result(ours, [])
    if ours == base:
        return Result(theirs, [])
    b = cut(base) if base else _EMPTY
    o, t = cut(ours), cut(theirs)
    if b is None or o is None or t is None:
        return _slow(base, ours, theirs, strategy)
    return _Merge(b, o, t, strategy, added=not base).run()


class _Merge:
    def __init__(self, b: Side, o: Side, t: Side, strategy: Strategy, added: bool):
        self.b, self.o, self.t, self.strategy, self.added = b, o, t, strategy, added
        self.winner, self.loser = later(o, t)
        self.notes: list[str] = []
        held = b.entries.get("conflicts")
        # Fields a (virtual) base holds in conflict: git's recursive merge builds a base by
        # merging the merge bases, and a conflict found there must not pass for agreement.
        self.unknown = set(held.children.entries) if held and held.children else set()

    # ------------------------------------------------------------ who is later

    def time(self, side: Side, key: str) -> tuple[Any, ...] | None:
        """When ``side`` changed ``key``: its clock for the field when that moved past the
        base's; the record's time for a writer that keeps no clocks; None for a hand edit (the
        field changed but no time did)."""
        stamp, old = side.clocks().get(key), self.b.clocks().get(key)
        if stamp and (old is None or _stamp_key(stamp) > _stamp_key(old)):
            return (_stamp_key(stamp), *side.order()[1:])
        legacy = "clocks" not in side.entries and "clocks" not in self.b.entries
        if legacy and any(side.value(k) != self.b.value(k) for k in ("version", "last_modified")):
            return side.order()
        return None

    def later_of(self, key: str) -> str | None:
        to, tt = self.time(self.o, key), self.time(self.t, key)
        if to is None or tt is None:
            return None
        if to == tt:
            return "ours" if self.winner is self.o else "theirs"
        return "ours" if to > tt else "theirs"

    def how(self, key: str) -> str:
        return "lww" if key == "deleted" else self.strategy(key)

    # ------------------------------------------------------------ the merge

    def run(self) -> Result:
        b, o, t = self.b, self.o, self.t
        ctx = Context(self.how, self.later_of, "ours" if self.winner is o else "theirs")
        first, second = (self.loser, self.winner)
        order = merge_order(list(b.entries), list(first.entries), list(second.entries))
        outcomes: dict[str, Outcome] = {}
        for key in order:
            assert isinstance(key, str)
            if key in STAMPED or key == "clocks":
                continue
            be, oe, te = (s.entries.get(key) for s in (b, o, t))
            if self.added and key not in META and _value(oe) != _value(te):
                # Both sides created the file: two records that got one id, or one record made
                # twice. Never fused field by field: what differs is a conflict.
                outcomes[key] = Outcome(oe.lines if oe else None, te.lines if te else None, True)
                continue
            if key == "conflicts" and len({b.value(key), o.value(key), t.value(key)}) == 3:
                held = self.winner.entries.get(key) or self.loser.entries.get(key)
                outcomes[key] = Outcome(held.lines if held else None)  # rewritten if need be
                continue
            outcomes[key] = merge_entry(key, be, oe, te, ctx, key, 0, unknown=key in self.unknown)
        if "deleted" in outcomes:
            self.tombstone(outcomes)
        conflicted = sorted(k for k, out in outcomes.items() if out.conflict)
        clocks = self.merged_clocks()
        text = self.compose(order, outcomes, clocks, conflicted)
        self.explain(conflicted)
        return Result(text, conflicted, self.notes)

    def tombstone(self, outcomes: dict[str, Outcome]) -> None:
        """Delete versus edit: ``delete`` (the tombstone wins), ``edit`` (the edit wins) or
        ``lww`` (the later side wins, and a conflict when a hand edit leaves that unknown). The
        other side's field edits are kept either way."""
        b = self.b
        for deleter, editor in ((self.o, self.t), (self.t, self.o)):
            if deleter.value("deleted") in (b.value("deleted"), editor.value("deleted")):
                continue  # not deleted here, or deleted on both sides
            if "true" not in (deleter.value("deleted") or ""):
                continue
            edited = [
                k
                for k in dict.fromkeys([*editor.entries, *b.entries])
                if k not in META
                and k not in ("deleted", "clocks", "conflicts")
                and editor.value(k) != b.value(k)
            ]
            if not edited:
                continue
            policy = self.strategy("deleted")
            if policy == "delete":
                keep = deleter
            elif policy == "edit":
                keep = editor
                self.notes.append(
                    "deleted on one side and edited on the other: the edit is kept "
                    "(merge.tombstones: edit)"
                )
            elif self.time(deleter, "deleted") is None or any(
                self.time(editor, k) is None for k in edited
            ):
                ours, theirs = (self.o.entries.get("deleted"), self.t.entries.get("deleted"))
                outcomes["deleted"] = Outcome(
                    ours.lines if ours else None, theirs.lines if theirs else None, True
                )
                return
            else:
                keep = self.winner
            entry = keep.entries.get("deleted")
            outcomes["deleted"] = Outcome(entry.lines if entry else None)
            return

    def merged_clocks(self) -> list[str] | None:
        """The clocks blocks merged per field by the later time (so the next merge is right)."""
        b, o, t = self.b, self.o, self.t
        bv, ov, tv = (s.value("clocks") for s in (b, o, t))
        pick = o if (ov == tv or tv == bv) else t if ov == bv else None
        if pick is not None:
            entry = pick.entries.get("clocks")
            return entry.lines if entry is not None else None
        merged = dict(self.winner.clocks())  # the winner's order first: either direction agrees
        for key, stamp in self.loser.clocks().items():
            if key not in merged or _stamp_key(stamp) > _stamp_key(merged[key]):
                merged[key] = stamp
        if not all(is_key(k) and is_stamp(v) for k, v in merged.items()):
            kept = self.winner.entries.get("clocks") or self.loser.entries["clocks"]
            return kept.lines  # a clock gitstore did not write: the later side's block as it is
        # As record.clocks_lines writes it (not imported: it is 6 ms of start-up without .pyc).
        return ["clocks:\n", *(f"  {k}: {v}\n" for k, v in merged.items())]

    # ------------------------------------------------------------ writing it out

    def compose(
        self,
        order: list[Any],
        outcomes: dict[str, Outcome],
        clocks: list[str] | None,
        conflicted: list[str],
    ) -> str:
        b, o, t = self.b, self.o, self.t
        # The file's line endings: as both sides have them, else as the side that changed them.
        if o.crlf == t.crlf or t.crlf == b.crlf:
            crlf = o.crlf
        else:
            crlf = t.crlf if o.crlf == b.crlf else self.winner.crlf
        ours_first = self.winner is t
        body: list[tuple[str, list[str], list[str] | None]] = []
        for key in order:
            entries = [s.entries.get(key) for s in (b, o, t)]
            bp, op, tp = (e.prefix if e else [] for e in entries)
            prefix = merge_comments(bp, op, tp, ours_first)
            if key in STAMPED:
                body.append((key, prefix, None))
                continue
            if key == "clocks":
                body.append((key, prefix, clocks))
                continue
            done = outcomes[key]
            if key == "conflicts" and conflicted:
                body.append((key, prefix + done.rescued, None))  # rewritten below, at the end
                continue
            body.append((key, prefix + done.rescued, done.ours))
        tail = merge_comments(b.block.tail, o.block.tail, t.block.tail, ours_first)
        if not conflicted:
            for side in (self.winner, self.loser):
                if side.crlf == crlf and self._join(body, tail, side.entries) == _lf(side):
                    return side.text
        meta = self.metadata()
        if "id" in (k for k, _, _ in body):
            at = [k for k, _, _ in body].index("id") + 1
            present = {k for k, _, _ in body}
            body[at:at] = [(k, [], None) for k in STAMPED if k not in present]
        else:
            body[:0] = [(k, [], None) for k in STAMPED]
        text = self._join(body, tail, meta)
        if conflicted:
            text += self.conflict_block(outcomes, conflicted)
        return text.replace("\n", "\r\n") if crlf else text

    @staticmethod
    def _join(
        body: list[tuple[str, list[str], list[str] | None]],
        tail: list[str],
        stamped: dict[str, Entry] | dict[str, list[str] | None],
    ) -> str:
        out: list[str] = []
        for key, prefix, lines in body:
            out += prefix
            if key in STAMPED:
                found = stamped.get(key)
                lines = found.lines if isinstance(found, Entry) else found
            out += lines or []
        return "".join(out + tail)

    def metadata(self) -> dict[str, list[str] | None]:
        o, t = self.o, self.t
        versions = [int(v) for v in (o.scalar("version"), t.scalar("version")) if v.isdigit()]
        stamps = [s for s in (o.scalar("last_modified"), t.scalar("last_modified")) if s]
        by = self.winner.entries.get("modified_by") or self.loser.entries.get("modified_by")
        return {
            "version": [f"version: {max(versions, default=0) + 1}\n"],
            "last_modified": [f"last_modified: {max(stamps, key=_stamp_key)}\n"]
            if stamps
            else None,
            "modified_by": by.lines if by is not None else None,
        }

    def conflict_block(self, outcomes: dict[str, Outcome], conflicted: list[str]) -> str:
        """The reserved ``conflicts:`` mapping: base, ours and theirs of each field in conflict
        (a key absent on a side is absent there), after any entries already held."""
        out = ["conflicts:\n"]
        held = outcomes.get("conflicts")
        if held is not None and held.ours:
            kept = cut_block(held.ours[1:])
            for key, entry in (kept.entries if kept else {}).items():
                if key not in conflicted:
                    out += entry.prefix + entry.lines
        for key in conflicted:
            base = self.b.entries.get(key)
            done = outcomes[key]
            out.append(f"  {key}:\n")
            for label, lines in (
                ("base", self.held_base(key) if key in self.unknown else base and base.lines),
                ("ours", done.ours),
                ("theirs", done.theirs),
            ):
                if not lines:
                    continue  # a missing key is a value too: absent here means absent there
                first, *rest = lines
                out.append("    " + label + first[len(key) :])
                out += ["    " + line if line.strip() else line for line in rest]
        return "".join(out)

    def held_base(self, key: str) -> list[str] | None:
        """The base value that the (virtual) base's own conflicts block holds for ``key``, as
        lines of ``key``: the common ancestor's value, not one side's left in the field."""
        held = self.b.entries["conflicts"].children
        entry = held.entries[key].children if held is not None else None
        found = entry.entries.get("base") if entry is not None else None
        if found is None:
            return None
        first, *rest = (line[4:] if line[:4] == "    " else line for line in found.lines)
        return [key + first[len("base") :], *rest]

    def explain(self, conflicted: list[str]) -> None:
        if self.added and conflicted:
            self.notes.append(
                "both sides created this record with different content (two records that got "
                "the same id?): ours' values are kept and theirs' are in its conflicts: block; "
                "'gitstore resolve ID --ours' or '--theirs', or give one of them a new id"
            )
            return
        hand = [
            k
            for k in conflicted
            if k != "deleted" and self.how(k) != "flag" and self.later_of(k) is None
        ]
        if hand:
            self.notes.append(
                f"{', '.join(hand)}: changed on both sides, and a hand edit carries no time "
                "(no clock moved), so which is later is unknown"
            )
        held = [k for k in conflicted if k in self.unknown]
        if held:
            self.notes.append(
                f"{', '.join(held)}: in conflict in the merge base too (a criss-cross merge), "
                "and settled differently on the two sides"
            )


def _value(entry: Entry | None) -> str | None:
    return entry.value if entry is not None else None


def _lf(side: Side) -> str:
    return "".join(split_lines(side.text))


def _stamp_key(stamp: str) -> str:
    """A time as text that sorts as the time does ("" for no time). gitstore writes one format,
    which is compared as it is; any other RFC 3339 time is parsed and written so first."""
    if is_stamp(stamp):
        return stamp
    from gitstore.clock import format_time, parse_time

    try:
        return format_time(parse_time(stamp))
    except (ValueError, OverflowError):
        return ""


def _slow(base: str | None, ours: str, theirs: str, strategy: Strategy) -> Result:
    """Sides that are valid YAML but not plain key spans: parse, merge values, write canonically."""
    from gitstore.record import dumps, loads

    b = loads(base) if base else {}
    o, t = loads(ours), loads(theirs)
    canonical = [dumps(x) if x else "" for x in (b, o, t)]
    if any(c and cut(c) is None for c in canonical):
        raise RecordError("cannot be merged field by field")
    return merge_record(canonical[0] or None, canonical[1], canonical[2], strategy)
