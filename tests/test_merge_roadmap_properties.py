"""The ROADMAP.md merge under hypothesis: random CLI-equivalent and hand edits on two branches,
checked by each section's token line (the model never trusts the merge's own matching)."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from gitstore.merge.roadmap import merge_roadmap
from gitstore.roadmap import (
    Document,
    Section,
    split_lines,
)
from tests.roadmap_sides import (
    APPENDIX,
    HEADING_EDITS,
    PARSER,
    PHASE,
    TOKEN,
    by_token,
    editor,
    lf,
    resolve_all,
    section_text,
    substance,
    token_lines,
)


@st.composite
def bases(draw: st.DrawFn) -> str:
    n = draw(st.integers(1, 6))
    numbers = [str(i) for i in range(1, n + 1)]
    for i in draw(st.lists(st.integers(1, max(n - 1, 1)), max_size=2)):
        if i < n:
            numbers[i] = numbers[i - 1]  # duplicate numbers (and so identical headings)
    parts = ["# Roadmap\n\n**Last Updated**: today\n\n"]
    phase_at = draw(st.integers(0, n + 2))
    for k in range(n):
        if k == phase_at and k:
            parts.append(PHASE)
        meta = ""
        if draw(st.booleans()):
            meta = (
                f"<!-- gitstore: id=b{k:07d} version=1 "
                "last_modified=2025-12-01T00:00:00.000000Z modified_by=base -->\n"
            )
        parts.append(section_text(numbers[k], f"Item {numbers[k]}", f"B{k}", meta))
    if draw(st.booleans()):
        parts.append(APPENDIX)
    return "".join(parts)


# ---------------------------------------------------------------- edits, on text


def _sections(doc: Document) -> list[Section]:
    return doc.sections


def _pick(draw: st.DrawFn, doc: Document) -> Section | None:
    found = _sections(doc)
    return draw(st.sampled_from(found)) if found else None


@st.composite
def edits(draw: st.DrawFn, base: str, who: str, offset: int) -> str:
    """A branch: a few CLI-equivalent edits (the Roadmap API's) and hand edits of the text.

    Within the documented matching rule for hand-written sections: a section's heading changes
    once at most per branch (renumbered, or renamed: never both by hand), and edits keep its
    token line."""
    ed = editor(who, offset)
    text = base
    fresh = itertools.count(1)
    reheaded: set[str] = set()
    for _ in range(draw(st.integers(1, 5))):
        doc = PARSER.parse(text)
        kind = draw(
            st.sampled_from(
                [
                    "add", "set", "status", "move", "rm", "renumber",
                    "hand renumber", "hand duplicate", "hand rename", "hand body", "hand append",
                    "hand move", "hand delete", "hand add", "hand add before rule", "hand trailing",
                ]
            )
        )  # fmt: skip
        n = next(fresh)
        target = _pick(draw, doc)
        if target is not None and kind in HEADING_EDITS:
            token = next(m.group("t") for line in target.lines if (m := TOKEN.match(line)))
            if token in reheaded:
                continue
            reheaded.add(token)
        if kind == "add":
            after = draw(st.one_of(st.none(), st.just(target.name) if target else st.none()))
            ed.add(doc, f"Added {who}{n}", after=after, fields={"Token": f"A{who}{n}"})
        elif target is None:
            continue
        elif kind == "set":
            ed.set_fields(doc, target.name, {"Owner": f"{who}{n}"})
        elif kind == "status":
            ed.set_fields(
                doc,
                target.name,
                {"Status": draw(st.sampled_from(["complete", "blocked", f"by {who}"]))},
            )
        elif kind == "move":
            other = _pick(draw, doc)
            if other is None or other is target:
                continue
            where = draw(st.sampled_from(["after", "before"]))
            ed.move(doc, target.name, **{where: other.name})
        elif kind == "rm":
            ed.remove(doc, target.name)
        elif kind == "renumber":
            ed.renumber(doc, target.name, f"{50 + offset + n}")
        elif kind in ("hand renumber", "hand duplicate", "hand rename"):
            span = PARSER.id_span(target.lines[0])
            assert span is not None
            heading = target.lines[0]
            if kind == "hand renumber":
                heading = heading[: span[0]] + f"{20 + offset + n}" + heading[span[1] :]
            elif kind == "hand duplicate":
                other = _pick(draw, doc)
                assert other is not None
                heading = heading[: span[0]] + other.id + heading[span[1] :]
            else:
                heading = heading[: heading.index(":") + 1] + f" Renamed by {who}{n}\n"
            target.lines[0] = heading
        elif kind in ("hand body", "hand append"):
            body = [i for i, line in enumerate(target.lines) if line.startswith("Body of")]
            if not body:
                continue
            at = draw(st.sampled_from(body))
            if kind == "hand body":
                target.lines[at] = f"{target.lines[at].rstrip()} Edited by {who}{n}.\n"
            else:
                target.lines.insert(body[-1] + 1, f"Appended by {who}{n}.\n")
        elif kind == "hand move":
            other = _pick(draw, doc)
            if other is None or other is target:
                continue
            doc.blocks.remove(target)
            doc.blocks.insert(doc.blocks.index(other), target)
        elif kind == "hand delete":
            doc.blocks.remove(target)
        elif kind == "hand add":
            new = section_text(f"{30 + offset + n}", f"Hand {who}{n}", f"H{who}{n}")
            doc.blocks.insert(doc.blocks.index(target), split_lines(new))
        elif kind == "hand add before rule":
            last = _sections(doc)[-1]
            if "---\n" not in last.lines:
                continue
            at = last.lines.index("---\n")
            new = section_text(f"{30 + offset + n}", f"Hand {who}{n}", f"H{who}{n}")
            last.lines[at:at] = split_lines(new)
        elif kind == "hand trailing":
            text_ = doc.render()
            doc = PARSER.parse(
                text_.replace("Notes.", f"Notes by {who}{n}.").replace(
                    "**Last Updated**: today", f"**Last Updated**: {who}{n}"
                )
            )
        text = doc.render()
    if draw(st.integers(0, 9)) == 0:
        text = text.replace("\n", "\r\n")  # a whole-file line-ending conversion
    return text


# ---------------------------------------------------------------- the oracle


def check(base: str, x: str, y: str) -> None:
    one, other = merge_roadmap(base, x, y, PARSER), merge_roadmap(base, y, x, PARSER)
    assert bool(one.conflicts) == bool(other.conflicts)
    if not one.conflicts:
        assert one.text == other.text  # the same bytes whichever side is ours
    tb, tx, ty = by_token(base), by_token(x), by_token(y)
    for result, (mine, yours) in ((one, (tx, ty)), (other, (ty, tx))):
        text = result.text
        assert PARSER.parse(text).render() == text
        lines = token_lines(text)
        assert len(lines) == len(set(lines)), "a section appears twice"
        for once in ("# Roadmap\n", "## Appendix\n", "## Phase 2\n"):
            assert lf(text).count(once) <= 1, once
        if not result.conflicts:
            assert "<<<<<<<" not in text
        else:
            for side in ("ours", "theirs"):
                assert "<<<<<<<" not in resolve_all(text, side)  # conflicts can all be settled
        tr = by_token(text)
        for token in {*tb, *mine, *yours}:
            b, o, t = tb.get(token), mine.get(token), yours.get(token)
            got = tr.get(token)
            if o == b and t == b:
                assert got == b, token
            elif t == b or o == b:
                changed = o if t == b else t
                if changed is None:
                    assert got is None, f"{token} deleted on one side came back"
                else:
                    assert got == changed, f"{token}: a one-sided edit was not taken whole"
            elif o is None and t is None:
                assert got is None, token
            elif o is None or t is None:
                kept = o if o is not None else t
                assert kept is not None and b is not None
                if substance(kept) == substance(b):
                    assert got is None, f"{token}: a delete must beat a move"
                else:
                    assert got == kept, token
                    assert any("deleted on one side and edited" in n for n in result.notes)
            elif not result.conflicts:
                assert got is not None, f"{token} edited on both sides is missing"


@given(st.data())
def test_roadmap_merge_properties(data: st.DataObject) -> None:
    base = data.draw(bases())
    x = data.draw(edits(base, "x", 0))
    y = data.draw(edits(base, "y", 1))
    assert merge_roadmap(base, x, x).text == x
    assert merge_roadmap(base, base, y).text == y
    assert merge_roadmap(base, x, base).text == x
    check(base, x, y)


@given(st.data())
def test_order_both_sides_agree_on_is_kept(data: st.DataObject) -> None:
    base = data.draw(bases())
    x = data.draw(edits(base, "x", 0))
    y = data.draw(edits(base, "y", 1))
    result = merge_roadmap(base, x, y)
    if result.conflicts:
        return

    def order(text: str) -> list[str]:
        return [TOKEN.match(line).group("t") for line in token_lines(text)]  # type: ignore[union-attr]

    ox, oy, om = order(x), order(y), order(result.text)
    for a, b in itertools.combinations([t for t in om if t in ox and t in oy], 2):
        agree_x = ox.index(a) < ox.index(b)
        if agree_x == (oy.index(a) < oy.index(b)):
            assert (om.index(a) < om.index(b)) == agree_x, (a, b)


# ---------------------------------------------------------------- the rules, one by one
