"""The ROADMAP.md merge (merge/roadmap.py, merge/sections.py, merge/order.py, merge/header.py),
rule by rule (the properties: test_merge_roadmap_properties.py)."""

from __future__ import annotations

from collections.abc import Callable

from gitstore.merge.roadmap import merge_roadmap
from gitstore.roadmap import (
    Document,
)
from gitstore.roadmap_edit import Editor
from tests.roadmap_sides import (
    APPENDIX,
    PARSER,
    editor,
    resolve_all,
    section_text,
)


def doc(n: int, tail: str = "") -> str:
    return (
        "# Roadmap\n\n**Last Updated**: today\n\n"
        + "".join(section_text(str(i), f"Item {i}", f"B{i}") for i in range(1, n + 1))
        + tail
    )


def both(base: str, x: str, y: str) -> str:
    """The clean merge, the same bytes both ways."""
    one, other = merge_roadmap(base, x, y), merge_roadmap(base, y, x)
    assert one.conflicts == other.conflicts == 0, (one.text, other.text)
    assert one.text == other.text
    return one.text


def headings(text: str) -> list[str]:
    return [s.heading for s in PARSER.parse(text).sections]


def edit(text: str, change: Callable[[Editor, Document], object], who: str = "x") -> str:
    parsed = PARSER.parse(text)
    change(editor(who, 0 if who == "x" else 1), parsed)
    return parsed.render()


def test_sections_added_on_both_sides_are_both_kept_in_number_order() -> None:
    base = doc(2)
    text = both(base, base + "### PRIORITY 4: From x\n\n", base + "### PRIORITY 3: From y\n\n")
    assert text.index("PRIORITY 3: From y") < text.index("PRIORITY 4: From x")


def test_both_add_after_1_keeps_both_with_one_number_and_says_so() -> None:  # issue item 10
    base = doc(3)
    x = edit(base, lambda e, d: e.add(d, "From x", after="1"), "x")
    y = edit(base, lambda e, d: e.add(d, "From y", after="1"), "y")
    text = both(base, x, y)
    assert [h.split(":")[0] for h in headings(text)] == [
        "### PRIORITY 1",
        "### PRIORITY 4",
        "### PRIORITY 4",
        "### PRIORITY 2",
        "### PRIORITY 3",
    ]
    result = merge_roadmap(base, x, y)
    assert any("4#1, 4#2 share the number 4" in n for n in result.notes)
    merged = PARSER.parse(text)
    assert [s.name for s in merged.sections][1:3] == ["4#1", "4#2"]
    assert len({s.uid for s in merged.sections[1:3]}) == 2  # each keeps its own stable id


def test_one_sided_reorder_is_kept() -> None:
    base = doc(3)
    parsed = PARSER.parse(base)
    third = parsed.sections[2]
    parsed.blocks.remove(third)
    parsed.blocks.insert(1, third)
    text = both(base, base.replace("Body of B1, line 1.", "Changed."), parsed.render())
    assert [s.id for s in PARSER.parse(text).sections] == ["3", "1", "2"] and "Changed." in text


def test_same_line_edits_conflict_inside_the_section_only() -> None:
    base = doc(3)
    x = base.replace("Body of B2, line 1.", "By x.").replace("Body of B1, line 1.", "One by x.")
    y = base.replace("Body of B2, line 1.", "By y.").replace("Body of B3, line 1.", "Three by y.")
    result = merge_roadmap(base, x, y)
    assert result.conflicts == 1 and result.conflicted == ["2"]
    section = "".join(PARSER.parse(result.text).sections[1].lines)
    assert "<<<<<<< ours\nBy x.\n=======\nBy y.\n>>>>>>> theirs\n" in section
    assert "One by x." in result.text and "Three by y." in result.text


def test_deleted_on_one_side_edited_on_the_other_is_kept_and_reported() -> None:
    base = doc(2)
    gone = base.replace(section_text("2", "Item 2", "B2"), "")
    edited = base.replace("Body of B2, line 1.", "Edited.")
    for x, y in ((gone, edited), (edited, gone)):
        result = merge_roadmap(base, x, y)
        assert result.text == edited and not result.conflicts
        assert result.notes == [
            "section 2 (Item 2) was deleted on one side and edited on the other; kept the edit"
        ]


def test_a_delete_beats_a_move_or_a_restamp() -> None:  # issue item 13
    base = doc(4)
    moved = edit(base, lambda e, d: e.move(d, "3", after="4"))
    gone = edit(base, lambda e, d: e.remove(d, "3"), "y")
    assert both(base, moved, gone) == gone
    restamped = edit(base, lambda e, d: e.set_fields(d, "3", {"Status": "📝 Planned"}))
    assert both(base, restamped, gone) == gone
    assert merge_roadmap(base, moved, gone).notes == [
        "section 3 (Item 3) was deleted on one side and only moved or re-stamped on the other; "
        "deleted"
    ]


def test_renumbered_on_one_side_edited_on_the_other() -> None:  # issue item 11
    base = doc(3)
    for renumbered in (
        base.replace("### PRIORITY 2: Item 2", "### PRIORITY 2.5: Item 2"),
        edit(base, lambda e, d: e.renumber(d, "2", "2.5")),
    ):
        text = both(base, renumbered, base.replace("Body of B2, line 1.", "Edited."))
        assert text.count("Token B2.") == 1 and "Edited." in text
        assert headings(text)[1] == "### PRIORITY 2.5: Item 2"


def test_renumbered_on_one_side_renamed_on_the_other_takes_both() -> None:
    base = doc(3)
    x = base.replace("### PRIORITY 2: Item 2", "### PRIORITY 2.5: Item 2")
    y = base.replace("### PRIORITY 2: Item 2", "### PRIORITY 2: Second item")
    assert headings(both(base, x, y))[1] == "### PRIORITY 2.5: Second item"


def test_a_heading_both_sides_changed_by_hand_conflicts_under_the_base_heading() -> None:
    base = doc(3)
    x = base.replace("### PRIORITY 2: Item 2", "### PRIORITY 2: Item 2 ✅ Complete")
    y = base.replace("### PRIORITY 2: Item 2", "### PRIORITY 2: Item 2 🚧 Blocked")
    result = merge_roadmap(base, x, y)
    assert result.conflicts == 1 and result.conflicted == ["2"]
    section = PARSER.parse(result.text).sections[1]
    assert section.heading == "### PRIORITY 2: Item 2"  # the base's, above the hunk
    assert section.lines[1:6] == [
        "<<<<<<< ours\n",
        "### PRIORITY 2: Item 2 ✅ Complete\n",
        "=======\n",
        "### PRIORITY 2: Item 2 🚧 Blocked\n",
        ">>>>>>> theirs\n",
    ]
    assert len(PARSER.parse(result.text).sections) == 3  # headings in a hunk start no section
    for side, mark in (("ours", "✅ Complete"), ("theirs", "🚧 Blocked")):
        resolved = resolve_all(result.text, side)
        assert headings(resolved)[1] == f"### PRIORITY 2: Item 2 {mark}"
        assert resolved.count("### PRIORITY 2:") == 1 and "<<<<<<<" not in resolved


def test_a_heading_both_sides_changed_through_gitstore_later_wins() -> None:
    base = doc(3)
    x = edit(base, lambda e, d: e.renumber(d, "2", "2.5"), "x")  # earlier
    y = edit(base, lambda e, d: e.renumber(d, "2", "2.6"), "y")  # later
    assert headings(both(base, x, y))[1] == "### PRIORITY 2.6: Item 2"


def test_a_stable_id_survives_renumbering_renaming_and_rewriting() -> None:
    base = edit(doc(3), lambda e, d: e.set_fields(d, "2", {"Owner": "a"}), "b")
    rewritten = base.replace("### PRIORITY 2: Item 2", "### PRIORITY 9: Something else").replace(
        "Token B2.\nBody of B2, line 1.\nBody of B2, line 2.\n", "All new text.\n"
    )
    owner = edit(base, lambda e, d: e.set_fields(d, "2", {"Owner": "bob"}), "y")
    text = both(base, rewritten, owner)
    assert "### PRIORITY 9: Something else" in text and "All new text." in text
    assert "**Owner**: bob" in text and "PRIORITY 2:" not in text


def test_a_section_with_a_stable_id_is_never_taken_for_another() -> None:
    base = edit(doc(3), lambda e, d: e.set_fields(d, "3", {"Owner": "a"}), "b")
    replaced = edit(base, lambda e, d: (e.remove(d, "3"), e.add(d, "Item 3")), "x")
    owner = edit(base, lambda e, d: e.set_fields(d, "3", {"Owner": "bob"}), "y")
    result = merge_roadmap(base, replaced, owner)
    assert result.text.count("### PRIORITY 3: Item 3") == 2  # the edited one and the new one
    assert "Token B3." in result.text and "**Owner**: bob" in result.text
    assert any("deleted on one side and edited on the other" in n for n in result.notes)


def test_a_hand_written_section_first_edited_on_both_sides_gets_one_id() -> None:
    base = doc(2)
    x = edit(base, lambda e, d: e.set_fields(d, "2", {"Owner": "x"}), "x")
    y = edit(base, lambda e, d: e.move(d, "2", before="1"), "y")
    ids = {PARSER.parse(t).sections[-1 if t is x else 0].uid for t in (x, y)}
    assert len(ids) == 1  # derived from the section's text, the same in both clones
    text = both(base, x, y)
    assert text.count("<!-- gitstore: id=") == 1 and "**Owner**: x" in text
    assert [s.id for s in PARSER.parse(text).sections] == ["2", "1"]


def test_two_stable_ids_for_one_section_are_merged_and_both_still_match() -> None:
    base = doc(2)
    # x edits section 2 by hand before gitstore first stamps it: its id comes from other text
    x = edit(
        base.replace("Body of B2, line 1.", "By x."),
        lambda e, d: e.set_fields(d, "2", {"Owner": "x"}),
    )
    y = edit(base, lambda e, d: e.set_fields(d, "2", {"Status": "complete"}), "y")
    ids = {PARSER.parse(t).sections[1].uid for t in (x, y)}
    assert len(ids) == 2
    merged = both(base, x, y)
    meta = PARSER.parse(merged).sections[1].meta()
    assert {meta["id"], meta["aka"]} == ids  # one id, the other kept as aka
    # each clone's next merge still knows the section by the id it has
    x2 = x.replace("By x.", "By x, again.")
    assert both(x, x2, merged).count("Token B2.") == 1
    y2 = y.replace("Body of B2, line 2.", "By y.")
    text = both(y, y2, merged)
    assert text.count("Token B2.") == 1 and "By y." in text and "By x." in text


def test_duplicates_delete_the_first_edit_the_second() -> None:  # issue item 12
    for title in ("Same", "Other"):
        base = doc(1) + section_text("2", "Same", "D1") + section_text("2", title, "D2")
        x = base.replace(section_text("2", "Same", "D1"), "")
        y = base.replace("Body of D2, line 1.", "Edited.")
        text = both(base, x, y)
        assert "Token D1." not in text and text.count("Token D2.") == 1 and "Edited." in text


def test_trailing_text_is_never_doubled() -> None:  # issue item 14
    base = doc(2, APPENDIX)
    edited = base.replace("Notes.", "Notes, edited.")
    added = edit(base, lambda e, d: e.add(d, "New last", after="2"))
    text = both(base, added, edited)
    assert text.count("## Appendix") == 1 and text.endswith("## Appendix\n\nNotes, edited.\n")
    by_hand = base.replace("---\n", section_text("3", "By hand", "H") + "---\n")
    text = both(base, by_hand, edited)
    assert text.count("## Appendix") == 1 and text.count("---") == 1
    assert text.index("Token H.") < text.index("---") < text.index("Notes, edited.")
    emptied = "# Roadmap\n\n**Last Updated**: today\n\n## Appendix\n\nNotes.\n"
    text = both(base, emptied, edited)  # every section deleted: the appendix is still one unit
    assert text == "# Roadmap\n\n**Last Updated**: today\n\n## Appendix\n\nNotes, edited.\n"


def test_two_reorders_are_both_kept() -> None:  # issue item 15
    base = doc(4)
    x = edit(base, lambda e, d: e.move(d, "4", before="1"), "x")
    y = edit(base, lambda e, d: e.move(d, "1", after="3"), "y")
    assert [s.id for s in PARSER.parse(both(base, x, y)).sections] == ["4", "2", "3", "1"]


def test_one_section_moved_both_ways_goes_where_the_later_move_put_it() -> None:
    base = doc(4)
    x = edit(base, lambda e, d: e.move(d, "4", before="2"), "x")  # earlier
    y = edit(base, lambda e, d: e.move(d, "4", before="1"), "y")  # later
    assert [s.id for s in PARSER.parse(both(base, x, y)).sections] == ["4", "1", "2", "3"]


def test_one_section_moved_both_ways_by_hand_goes_to_the_earlier_place() -> None:
    base = doc(4)
    four = section_text("4", "Item 4", "B4")
    x = base.replace(four, "").replace("### PRIORITY 2:", four + "### PRIORITY 2:")
    y = base.replace(four, "").replace("### PRIORITY 1:", four + "### PRIORITY 1:")
    assert [s.id for s in PARSER.parse(both(base, x, y)).sections] == ["4", "1", "2", "3"]


def test_field_lines_merge_by_field() -> None:
    base = doc(2)
    owner = edit(base, lambda e, d: e.set_fields(d, "2", {"Owner": "x"}), "x")
    status = edit(base, lambda e, d: e.set_fields(d, "2", {"Status": "complete"}), "y")
    text = both(base, owner, status)  # an added field line next to a changed one: no conflict
    section = PARSER.parse(text).sections[1]
    assert section.field("Owner") == "x" and section.field("Status") == "✅ Complete"
    assert section.meta()["version"] == "2"
    by_hand = base.replace("**Status**: 📝 Planned\n\nToken B2", "**Status**: Done\n\nToken B2")
    both(base, owner, by_hand)  # a hand edit of another field line: no conflict either


def test_one_field_both_sides_changed() -> None:
    base = doc(2)
    x = edit(base, lambda e, d: e.set_fields(d, "2", {"Status": "complete"}), "x")  # earlier
    y = edit(base, lambda e, d: e.set_fields(d, "2", {"Status": "blocked"}), "y")  # later
    assert PARSER.parse(both(base, x, y)).sections[1].field("Status") == "⏸️ Blocked"
    by_hand = base.replace("**Status**: 📝 Planned\n\nToken B2", "**Status**: Done\n\nToken B2")
    result = merge_roadmap(base, x, by_hand)  # a hand edit has no time: a conflict
    assert result.conflicts == 1 and result.conflicted == ["2"]


def test_a_whole_file_line_ending_conversion_merges_with_edits() -> None:
    base = doc(3)
    crlf = base.replace("\n", "\r\n")
    edited = base.replace("Body of B2, line 1.", "Edited.")
    text = both(base, crlf, edited)
    assert text == edited.replace("\n", "\r\n")


def test_a_conflict_in_text_between_sections_is_named_for_resolve() -> None:
    base = doc(2, APPENDIX)
    x, y = base.replace("Notes.", "By x."), base.replace("Notes.", "By y.")
    result = merge_roadmap(base, x, y)
    assert result.conflicted == ["(text after 2)"]
    assert resolve_all(result.text, "theirs") == y


def test_the_same_section_added_on_both_sides_is_kept_once() -> None:
    base = doc(2)
    new = section_text("3", "Both", "N")
    assert both(base, base + new, base + new).count("Token N.") == 1
    stamped = (
        "### PRIORITY 3: Both\n<!-- gitstore: id=same0001 version=1 -->\n**Status**: 📝 Planned\n\n"
    )
    x = base + stamped + "From x.\n"
    y = base + stamped + "From y.\n"
    result = merge_roadmap(base, x, y)  # one stable id: one section, its two versions merged
    assert result.text.count("### PRIORITY 3: Both") == 1 and result.conflicted == ["3"]
    assert "<<<<<<< ours\nFrom x.\n=======\nFrom y.\n>>>>>>> theirs\n" in result.text
