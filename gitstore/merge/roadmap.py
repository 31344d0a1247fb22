"""Merge three versions of ROADMAP.md unit by unit (the rules: docs/merging.md).
Pure: text in, text out, the same bytes whichever side is ours when nothing conflicts.

Each version is cut into units (the preamble, each section, the text between sections) and each
side's units are matched to the base's by identity (:mod:`gitstore.merge.sections`: the stable id
gitstore writes, then fallbacks for hand-written sections), so a renumbered, renamed or moved
section is still the same section and a duplicate number is never confused with another.

Per unit: changed on one side only, that side's version whole; changed on both, the header (the
heading line, the metadata comment and the ``**Key**: value`` lines) is merged field by field —
an edit made on one side only is taken, one made on both is settled by the later metadata stamp
when both sides were stamped since the base, else left to conflict — and the rest line by line,
so conflict markers never leave the unit (a conflict in the heading itself is written under the
base's heading, which ``gitstore resolve`` replaces). Deleted on one side: gone, unless the other
side really edited it (a move or a restamp is no edit: a delete beats a move), then kept and
reported. Added: kept, once. The order: :mod:`gitstore.merge.order`. When one side changed every
line ending of the file (LF to CRLF), the text is merged and the new line endings applied.
"""

from __future__ import annotations

from gitstore.errors import TYPE_CHECKING
from gitstore.merge.lines import merge3
from gitstore.merge.order import Side, merged_order
from gitstore.merge.sections import (
    PREAMBLE,
    SECTION,
    Unit,
    cut,
    match,
    match_added,
    stamp_key,
)
from gitstore.roadmap import Parser, Section, content, meta_of

if TYPE_CHECKING:
    from typing import Any


class Result:
    __slots__ = ("conflicted", "conflicts", "notes", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.conflicts = 0  # conflict hunks written
        self.conflicted: list[str] = []  # names of the sections (or text) holding them
        self.notes: list[str] = []


def merge_roadmap(base: str, ours: str, theirs: str, parser: Parser | None = None) -> Result:
    parser = parser or Parser()
    if ours == theirs or theirs == base:
        return Result(ours)
    if ours == base:
        return Result(theirs)
    newline = _converted_newline(base, ours, theirs)
    if newline is None:
        return _merge(base, ours, theirs, parser)
    lf = [text.replace("\r\n", "\n") for text in (base, ours, theirs)]
    result = _merge(lf[0], lf[1], lf[2], parser)
    if newline == "\r\n":
        result.text = result.text.replace("\n", "\r\n")
    return result


def _style(text: str) -> str | None:
    crlf = text.count("\r\n")
    return "\n" if crlf == 0 else "\r\n" if crlf == text.count("\n") else None


def _converted_newline(base: str, ours: str, theirs: str) -> str | None:
    """The line ending a side converted the whole file to, or None (nobody did, or a file mixes
    them, and then lines are merged as they are)."""
    styles = [_style(t) for t in (base, ours, theirs)]
    if None in styles or len(set(styles)) == 1:
        return None
    return styles[1] if styles[1] == styles[2] or styles[1] != styles[0] else styles[2]


class _Identity:
    __slots__ = ("base", "ours", "theirs")

    def __init__(self, base: Unit | None, ours: Unit | None, theirs: Unit | None):
        self.base, self.ours, self.theirs = base, ours, theirs


def _merge(base: str, ours: str, theirs: str, parser: Parser) -> Result:
    b, o, t = cut(base, parser), cut(ours, parser), cut(theirs, parser)
    in_o, in_t = match(b, o), match(b, t)
    added_o = [i for i in range(len(o)) if i not in in_o]
    added_t = [i for i in range(len(t)) if i not in in_t]
    same_added = match_added([o[i] for i in added_o], [t[i] for i in added_t])

    identities: dict[Any, _Identity] = {("b", i): _Identity(u, None, None) for i, u in enumerate(b)}
    keys_o: list[Any] = []
    keys_t: list[Any] = []
    for i, unit in enumerate(o):
        key = ("b", in_o[i]) if i in in_o else ("o", i)
        identities.setdefault(key, _Identity(None, None, None)).ours = unit
        keys_o.append(key)
    theirs_key = {added_t[j]: ("o", added_o[i]) for i, j in same_added.items()}
    for i, unit in enumerate(t):
        key = ("b", in_t[i]) if i in in_t else theirs_key.get(i, ("t", i))
        identities.setdefault(key, _Identity(None, None, None)).theirs = unit
        keys_t.append(key)

    result = Result("")
    merged: dict[Any, list[str]] = {}
    for key, identity in identities.items():
        unit_lines = _merge_identity(identity, result, parser)
        if unit_lines is not None:
            merged[key] = unit_lines

    numbers = {key: _number_of(lines, parser) for key, lines in merged.items()}

    def sibling(key: Any) -> tuple[Any, ...]:
        # from the merged lines only: nothing here may depend on which side is ours
        lines = merged[key]
        return (
            numbers[key] is None,
            _number(numbers[key] or ""),
            meta_of(lines).get("last_modified", ""),
            "".join(lines),
        )

    sides = (
        Side(keys_o, _unchanged(identities, "ours"), _stamps(identities, "ours")),
        Side(keys_t, _unchanged(identities, "theirs"), _stamps(identities, "theirs")),
    )
    order = merged_order([("b", i) for i in range(len(b))], sides, set(merged), sibling)
    lines: list[str] = []
    for done in order:
        if lines and not lines[-1].endswith("\n") and merged[done]:
            lines[-1] += "\r\n" if lines[-1].endswith("\r") else "\n"
        lines += merged[done]
    result.text = "".join(lines)
    _note_duplicates(result, [numbers[k] for k in order], o, t)
    if result.conflicts:
        result.conflicted = _conflicted_names(result.text, parser)
    return result


def _number(number: str) -> tuple[Any, ...]:
    parts = number.split(".")
    if number and all(p.isdigit() for p in parts):
        return (0, *(int(p) for p in parts))
    return (1, number)


def _unchanged(identities: dict[Any, _Identity], side: str) -> set[Any]:
    return {
        key
        for key, i in identities.items()
        if i.base is not None
        and getattr(i, side) is not None
        and getattr(i, side).lines == i.base.lines
    }


def _stamps(identities: dict[Any, _Identity], side: str) -> dict[Any, tuple[str, int, str]]:
    """A side's metadata stamp of each section it re-stamped since the base."""
    out = {}
    for key, identity in identities.items():
        unit = getattr(identity, side)
        if unit is None or unit.kind != SECTION:
            continue
        meta = meta_of(unit.lines)
        if meta and (identity.base is None or meta != meta_of(identity.base.lines)):
            out[key] = stamp_key(meta)
    return out


def _label(unit: Unit) -> str:
    if unit.kind == PREAMBLE:
        return "the preamble"
    if unit.kind == SECTION:
        return f"section {unit.number} ({unit.title})" if unit.title else f"section {unit.number}"
    return f"the text {unit.heading.strip()!r}"


def _substance(lines: list[str]) -> list[str]:
    """A unit's lines without its metadata comment or line endings: what a move leaves alone."""
    drop = 1 if meta_of(lines) else -1
    return [content(line) for i, line in enumerate(lines) if i != drop]


def _merge_identity(identity: _Identity, result: Result, parser: Parser) -> list[str] | None:
    b, o, t = identity.base, identity.ours, identity.theirs
    if b is not None:
        if o is None and t is None:
            return None
        if o is None or t is None:
            kept = o if o is not None else t
            assert kept is not None
            if kept.lines == b.lines:
                return None
            if _substance(kept.lines) == _substance(b.lines):
                result.notes.append(
                    f"{_label(b)} was deleted on one side and only moved or re-stamped on the "
                    "other; deleted"
                )
                return None
            result.notes.append(
                f"{_label(kept)} was deleted on one side and edited on the other; kept the edit"
            )
            return list(kept.lines)
        if o.lines == t.lines or t.lines == b.lines:
            return list(o.lines)
        if o.lines == b.lines:
            return list(t.lines)
        return _merge_unit(b.lines, o, t, result, parser)
    if o is not None and t is not None and o.lines != t.lines:
        return _merge_unit(_common(o.lines, t.lines), o, t, result, parser)
    unit = o if o is not None else t
    return list(unit.lines) if unit is not None else None


def _common(ours: list[str], theirs: list[str]) -> list[str]:
    """A virtual base for a unit both sides added: the lines they share, in order."""
    from difflib import SequenceMatcher

    blocks = SequenceMatcher(None, ours, theirs, autojunk=False).get_matching_blocks()
    return [line for a, _, size in blocks for line in ours[a : a + size]]


def _merge_unit(base: list[str], o: Unit, t: Unit, result: Result, parser: Parser) -> list[str]:
    ours, theirs = list(o.lines), list(t.lines)
    if o.kind == SECTION and t.kind == SECTION and base:
        from gitstore.merge.header import reconcile

        reconcile(base, ours, theirs, parser)
    merged, hunks = merge3(base, ours, theirs)
    if hunks:
        result.conflicts += hunks
        if o.kind != PREAMBLE and merged and merged[0].startswith("<<<<<<<"):
            # The first line is in conflict: keep the base's first line above the hunk, so the
            # hunk stays inside this unit (``resolve`` puts the chosen side's line in its place).
            first = base[0] if base else ours[0]
            merged.insert(0, first if first.endswith("\n") else first + "\n")
    return merged


def _note_duplicates(
    result: Result, merged: list[str | None], ours: list[Unit], theirs: list[Unit]
) -> None:
    def counts(numbers: list[str | None]) -> dict[str, int]:
        out: dict[str, int] = {}
        for number in numbers:
            if number is not None:
                out[number] = out.get(number, 0) + 1
        return out

    mine = counts([u.number for u in ours if u.kind == SECTION])
    yours = counts([u.number for u in theirs if u.kind == SECTION])
    for number, n in counts(merged).items():
        if n > max(mine.get(number, 0), yours.get(number, 0)):
            names = ", ".join(f"{number}#{k}" for k in range(1, n + 1))
            result.notes.append(
                f"sections {names} share the number {number} (added on both sides): both kept; "
                f"renumber one, e.g. 'gitstore roadmap renumber {number}#{n} NEW'"
            )


def _number_of(lines: list[str], parser: Parser) -> str | None:
    """The section number a merged unit's first line gives it (None: not a section heading)."""
    found = parser.match(lines[0]) if lines else None
    return found[1] if found else None


def _conflicted_names(text: str, parser: Parser) -> list[str]:
    from gitstore.roadmap import conflict_hunks
    from gitstore.roadmap_edit import block_name

    doc = parser.parse(text)
    names = []
    for index, block in enumerate(doc.blocks):
        lines = block.lines if isinstance(block, Section) else block
        if conflict_hunks(lines):
            names.append(block_name(doc, index))
    return names
