"""Merge three versions of ROADMAP.md section by section (SPEC 3.2). Pure: text in, text out.

The units are the preamble and each section together with the text that follows it up to the next
section, matched across sides by id and occurrence (``2.5``, ``2.5#2``). A unit changed on one side
is taken whole; changed on both, its field lines are reconciled first (the later side wins when
both carry gitstore metadata, else the line is left to conflict) and the rest is merged line by
line, so conflict markers never leave the section. Units added on either side are kept, each after
its predecessor (ours first); a one-sided reorder is kept; a unit deleted on one side and edited
on the other is kept and reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gitstore.merge.lines import merge3
from gitstore.roadmap import Parser, Section

Units = dict[str, list[str]]


@dataclass
class Result:
    text: str
    conflicts: int = 0  # conflict hunks written
    conflicted: list[str] = field(default_factory=list)  # units holding them
    notes: list[str] = field(default_factory=list)


def units(text: str, parser: Parser) -> Units:
    out: Units = {"": []}
    current = ""
    for block in parser.parse(text).blocks:
        if isinstance(block, Section):
            current = block.name
            out[current] = list(block.lines)
        else:
            out[current] += block
    return out


def merge_roadmap(base: str, ours: str, theirs: str, parser: Parser | None = None) -> Result:
    parser = parser or Parser()
    if ours == theirs:
        return Result(ours)
    b, o, t = units(base, parser), units(ours, parser), units(theirs, parser)
    result = Result("")
    merged: Units = {}
    for key in dict.fromkeys([*o, *t, *b]):
        bv, ov, tv = b.get(key), o.get(key), t.get(key)
        if ov == tv or tv == bv:
            chosen = ov
        elif ov == bv:
            chosen = tv
        elif ov is None or tv is None:
            chosen = ov if ov is not None else tv
            side = "theirs" if ov is None else "ours"
            result.notes.append(
                f"section {key or '(preamble)'} was deleted on one side and edited on "
                f"the other; kept {side}' edit"
            )
        else:
            chosen, hunks = _merge_unit(bv or [], ov, tv, parser)
            if hunks:
                result.conflicts += hunks
                result.conflicted.append(key or "(preamble)")
        if chosen is not None:
            merged[key] = chosen
    order = _order(b, o, t, merged)
    lines: list[str] = []
    for key in order:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\r\n" if lines[-1].endswith("\r") else "\n"
        lines += merged[key]
    result.text = "".join(lines)
    return result


def _order(b: Units, o: Units, t: Units, merged: Units) -> list[str]:
    """Ours' order, or theirs' when only theirs reordered; additions after their predecessor."""
    common = [k for k in b if k in o and k in t]
    skeleton, other = o, t
    if [k for k in o if k in common] == common and [k for k in t if k in common] != common:
        skeleton, other = t, o
    sequence = [k for k in skeleton if k in merged]
    added_by_skeleton = {k for k in skeleton if k not in b and k not in other}
    previous = ""
    for key in other:
        if key in merged and key not in sequence:
            at = sequence.index(previous) + 1 if previous in sequence else len(sequence)
            while at < len(sequence) and sequence[at] in added_by_skeleton:
                at += 1  # ours first: skip the skeleton's own additions at this point
            sequence.insert(at, key)
        if key in sequence:
            previous = key
    return [k for k in sequence if k in merged]


def _merge_unit(
    base: list[str], ours: list[str], theirs: list[str], parser: Parser
) -> tuple[list[str], int]:
    ours, theirs = list(ours), list(theirs)
    mine, yours, old = _section(ours, parser), _section(theirs, parser), _section(base, parser)
    if mine is not None and yours is not None:
        _reconcile_fields(old, mine, yours, ours, theirs)
    return merge3(base, ours, theirs)


def _section(lines: list[str], parser: Parser) -> Section | None:
    if not lines:
        return None
    sections = parser.parse("".join(lines)).sections
    return sections[0] if sections and sections[0].line_no == 1 else None


def _order_key(meta: dict[str, str]) -> tuple[str, int, str]:
    version = meta.get("version", "")
    return (
        meta.get("last_modified", ""),
        int(version) if version.isdigit() else -1,
        meta.get("modified_by", ""),
    )


def _reconcile_fields(
    old: Section | None, mine: Section, yours: Section, ours: list[str], theirs: list[str]
) -> None:
    """Make field lines agree where the later side wins, so the line merge takes them cleanly."""
    meta_o, meta_t = mine.meta(), yours.meta()
    if not (meta_o and meta_t):
        return  # without metadata on both sides there is no order: same-line edits conflict
    ours_later = _order_key(meta_o) >= _order_key(meta_t)
    base_fields = old.fields() if old else {}
    fields_o, fields_t = mine.fields(), yours.fields()
    for key in fields_o.keys() & fields_t.keys():
        (io, _, vo), (it, _, vt) = fields_o[key], fields_t[key]
        vb = base_fields[key][2] if key in base_fields else None
        if vo == vt:
            continue
        # Make both sides agree on every field line, so that the merged metadata line above them
        # (the same on both sides too) does not turn into a conflict with a one-sided edit.
        take_ours = vt == vb or (vo != vb and ours_later)
        if take_ours:
            theirs[it] = ours[io]
        else:
            ours[io] = theirs[it]
    if meta_o != meta_t:
        later = meta_o if ours_later else meta_t
        versions = [int(m["version"]) for m in (meta_o, meta_t) if m.get("version", "").isdigit()]
        stamp = max(meta_o.get("last_modified", ""), meta_t.get("last_modified", ""))
        line = (
            f"<!-- gitstore: version={max(versions, default=0) + 1} last_modified={stamp} "
            f"modified_by={later.get('modified_by', '')} -->"
        )
        ending_o = ours[1][len(ours[1].rstrip("\r\n")) :]
        ending_t = theirs[1][len(theirs[1].rstrip("\r\n")) :]
        ours[1], theirs[1] = line + ending_o, line + ending_t
