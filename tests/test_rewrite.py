"""rewrite.py: the surgical edit found with regular expressions over the whole text gives
exactly what the line-by-line one gives, on any layout people write (hypothesis)."""

from __future__ import annotations

import string

from hypothesis import example, given
from hypothesis import strategies as st

from gitstore.rewrite import _surgical, _surgical_by_lines

KEYS = ["id", "version", "last_modified", "modified_by", "title", "tags", "notes", "clocks", "a"]

top_lines = st.one_of(
    st.tuples(
        st.sampled_from(KEYS),
        st.sampled_from(
            [
                " x",
                ": y",
                " 'q # not a comment'",
                ' "dq"',
                ' "open',
                " [a, b]",
                " [a,",
                " |",
                " |-",
                " >",
                "",
                " x  # a comment",
                " &anchor v",
                " {}",
                "\t5",
            ]
        ),
    ).map(lambda kv: f"{kv[0]}:{kv[1]}"),
    st.sampled_from(["weird line", "key:value", "---", "a.b-c: 1", "_k: 2"]),
)
inner_lines = st.sampled_from(
    ["  - item", "- item", "  nested: v", "  text", "", "   ", "# comment", "  # indented", "\t x"]
)
entries = st.lists(st.tuples(top_lines, st.lists(inner_lines, max_size=3)), max_size=8)
texts = st.tuples(st.sampled_from(["", "id: T-1\n"]), entries, st.booleans()).map(
    lambda t: _joined(
        t[0] + "".join(f"{top}\n" + "".join(f"{i}\n" for i in inner) for top, inner in t[1]), t[2]
    )
)


def _joined(text: str, cut: bool) -> str:
    """The text, without its last newline when ``cut``."""
    return text[:-1] if cut and text else text


stamps = st.sampled_from(["2026-01-02T03:04:05.000006Z", "2026-12-01T15:34:43.106864Z"])
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 99),
    st.text(string.ascii_letters + " #:'\"\n-", max_size=12),
    st.lists(st.sampled_from(["a", "b c", "#", "x,y"]), max_size=3),
    st.dictionaries(st.sampled_from(["title", "count", "bad key"]), stamps, max_size=3),
    stamps,
)


@given(texts, st.lists(st.sampled_from([*KEYS, "new", "count"]), unique=True), st.data())
@example("id: T-1\ntitle: x\nclocks:\n  title: 2026-01-02T03:04:05.000006Z\n", ["version"], None)
@example("id: T-1\ntitle: x\n", ["version", "title", "new"], None)  # three edits at one offset
@example("id: T-1\n# about it\n\nclocks:\n  a: b\n", ["modified_by", "new"], None)
def test_the_whole_text_edit_equals_the_line_by_line_one(
    text: str, touched: list[str], data: st.DataObject | None
) -> None:
    if data is None:
        new = dict.fromkeys(touched, 2)
        removed: list[str] = []
    else:
        removed = data.draw(st.lists(st.sampled_from(KEYS), unique=True, max_size=3))
        removed = [k for k in removed if k not in touched]
        new = {k: data.draw(values) for k in touched}
    changed = list(new)
    made = _surgical(text, changed, removed, new)
    assert made == _surgical_by_lines(text, changed, removed, new), text
    if made is not None:  # the next edit starts from what this one made (its layout known)
        again = {k: 3 for k in ("version", "title", "clocks", "fresh") if k not in removed}
        assert _surgical(made[0], list(again), removed, again) == _surgical_by_lines(
            made[0], list(again), removed, again
        ), made[0]
