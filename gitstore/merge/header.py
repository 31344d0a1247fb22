"""Merge the header of a section both sides changed — its heading line, its metadata comment and
its ``**Key**: value`` lines — field by field, before the section's lines are merged.

Each header element one side changed and the other left as in the base is made the same on both
sides (so the line merge that follows takes it without a conflict from an edit next to it); a
field line added or removed on one side is added or removed on the other. An element both sides
changed differently is settled by the later metadata stamp when *both* sides re-stamped the
section since the base (a gitstore edit; a hand edit leaves the stamp as it was, so its time is
unknown); otherwise it is left for the line merge to mark as a conflict — except a heading that
one side renumbered and the other renamed, which takes the number from one and the rest from the
other. The merged metadata comment: ``version`` max + 1, the later ``last_modified`` and
``modified_by``, and one stable id (the base's, else the smaller), the other kept as ``aka=``.
"""

from __future__ import annotations

from gitstore.merge.sections import stamp_key
from gitstore.roadmap import Parser, Section, content, ending, meta_line, meta_of


def reconcile(base: list[str], ours: list[str], theirs: list[str], parser: Parser) -> None:
    """Change ``ours`` and ``theirs`` in place so that their headers agree wherever the rule
    above decides."""
    old, mine, yours = (_section(lines, parser) for lines in (base, ours, theirs))
    if old is None or mine is None or yours is None:
        return
    mb, mo, mt = meta_of(base), meta_of(ours), meta_of(theirs)
    stamped = bool(mo) and bool(mt) and mo != mb and mt != mb
    ours_later = (stamp_key(mo), "".join(ours)) >= (stamp_key(mt), "".join(theirs))
    _heading(old, mine, yours, stamped, ours_later, parser)
    if mo != mt:
        if mo == mb:
            _set_meta(mine, meta_line(mt))
        elif mt == mb:
            _set_meta(yours, meta_line(mo))
        else:
            line = meta_line(_merged_meta(mb, mo, mt, ours_later))
            _set_meta(mine, line)
            _set_meta(yours, line)
    _fields(old, mine, yours, stamped, ours_later)


def _section(lines: list[str], parser: Parser) -> Section | None:
    if not lines:
        return None
    sections = parser.parse("".join(lines)).sections
    if not sections or sections[0].line_no != 1:
        return None
    found = sections[0]
    # a view over the caller's list, so that edits here are edits there
    return Section(found.id, found.label, found.level, lines, header_end=found.header_end)


def _heading(
    old: Section, mine: Section, yours: Section, stamped: bool, ours_later: bool, parser: Parser
) -> None:
    hb, ho, ht = old.heading, mine.heading, yours.heading
    if ho == ht:
        return
    if ho == hb:
        chosen = ht
    elif ht == hb:
        chosen = ho
    elif stamped:
        chosen = ho if ours_later else ht
    else:
        composed = _compose(hb, ho, ht, parser) or _compose(hb, ht, ho, parser)
        if composed is None:
            return  # both changed the same part: a conflict
        chosen = composed
    for section in (mine, yours):
        section.lines[0] = chosen + ending(section.lines[0])


def _compose(base: str, renumbered: str, renamed: str, parser: Parser) -> str | None:
    """``renamed``'s heading with ``renumbered``'s number, when one side changed only the
    number and the other only the rest."""
    spans = [parser.id_span(h) for h in (base, renumbered, renamed)]
    if None in spans:
        return None
    (b0, b1), (n0, n1), (r0, r1) = spans  # type: ignore[misc]
    b_rest, n_rest = base[:b0] + base[b1:], renumbered[:n0] + renumbered[n1:]
    if base[b0:b1] != renumbered[n0:n1] and n_rest == b_rest and renamed[r0:r1] == base[b0:b1]:
        return renamed[:r0] + renumbered[n0:n1] + renamed[r1:]
    return None


def _merged_meta(
    mb: dict[str, str], mo: dict[str, str], mt: dict[str, str], ours_later: bool
) -> dict[str, str]:
    later = mo if ours_later else mt
    ids = {mo.get("id", ""), mt.get("id", "")} - {""}
    akas = {a for m in (mo, mt) for a in m.get("aka", "").split(",") if a}
    chosen = mb.get("id") if mb.get("id") in ids else min(ids, default="")
    versions = [int(m["version"]) for m in (mo, mt) if m.get("version", "").isdigit()]
    out = {"id": chosen} if chosen else {}
    out |= {
        "version": str(max(versions, default=0) + 1),
        "last_modified": max(mo.get("last_modified", ""), mt.get("last_modified", "")),
        "modified_by": later.get("modified_by", ""),
    }
    others = sorted((ids | akas) - {chosen})
    if others:
        out["aka"] = ",".join(others)
    return out


def _set_meta(section: Section, line: str) -> None:
    lines = section.lines
    if meta_of(lines):
        lines[1] = line + (ending(lines[1]) or "\n")
        return
    if not lines[0].endswith("\n"):
        lines[0] += "\n"
    lines.insert(1, line + ending(lines[0]))
    section.header_end += 1


def _fields(old: Section, mine: Section, yours: Section, stamped: bool, ours_later: bool) -> None:
    base_lines = {k: content(old.lines[i]) for k, (i, _, _) in old.fields().items()}
    keys = list(dict.fromkeys([*old.fields(), *mine.fields(), *yours.fields()]))
    for key in keys:
        fo, ft = mine.fields(), yours.fields()
        lo = content(mine.lines[fo[key][0]]) if key in fo else None
        lt = content(yours.lines[ft[key][0]]) if key in ft else None
        lb = base_lines.get(key)
        if lo == lt:
            continue
        if lo == lb:
            source, target = yours, mine
        elif lt == lb:
            source, target = mine, yours
        elif stamped:
            source, target = (mine, yours) if ours_later else (yours, mine)
        else:
            continue  # both changed it, and no order is known: the line merge marks it
        _copy_field(key, source, target)


def _copy_field(key: str, source: Section, target: Section) -> None:
    have, want = target.fields(), source.fields()
    if key not in want:
        del target.lines[have[key][0]]
        target.header_end -= 1
        return
    line = content(source.lines[want[key][0]])
    if key in have:
        index = have[key][0]
        target.lines[index] = line + ending(target.lines[index])
        return
    # after the field that precedes it on the source side, where the target has that field
    previous = [k for k, (i, _, _) in want.items() if i < want[key][0] and k in have]
    at = max(have[k][0] for k in previous) if previous else 1 if meta_of(target.lines) else 0
    if not target.lines[at].endswith("\n"):
        target.lines[at] += "\n"
    target.lines.insert(at + 1, line + ending(target.lines[at]))
    target.header_end += 1
