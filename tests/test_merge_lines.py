"""The line matcher of ``gitstore.merge.lines`` against difflib, which it replaced.

A text field's three-way merge diffs its lines; difflib imports ``re``, a third of the merge
driver's budget, so the matcher is written out. It must find the very blocks difflib's
``SequenceMatcher(None, a, b, autojunk=False)`` finds (the merged text depends on which of
several equally long blocks is taken), so this holds it to difflib on generated line lists
with many repeats and ties, long ones (past difflib's 200-line threshold for popular lines,
which ``autojunk=False`` turns off) included.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from hypothesis import example, given
from hypothesis import strategies as st

from gitstore.merge.lines import _changes, matching_blocks

LINES = st.lists(st.sampled_from(["a\n", "b\n", "c\n", "\n", "a", "x\r\n"]), max_size=30)
LONG = st.lists(st.sampled_from(["a\n", "b\n", "c\n"]), min_size=190, max_size=260)


def _old_changes(base: list[str], side: list[str]) -> list[tuple[int, int, list[str]]]:
    matcher = SequenceMatcher(None, base, side, autojunk=False)
    return [
        (i1, i2, side[j1:j2]) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"
    ]


@given(st.one_of(st.tuples(LINES, LINES), st.tuples(LONG, LONG)))
@example(([], []))
@example((["a\n"], []))
@example((["a\n", "b\n", "a\n", "b\n"], ["b\n", "a\n", "b\n", "a\n"]))
def test_matching_blocks_as_difflib(pair: tuple[list[str], list[str]]) -> None:
    a, b = pair
    expected = [tuple(m) for m in SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()]
    assert matching_blocks(a, b) == expected
    assert _changes(a, b) == _old_changes(a, b)
