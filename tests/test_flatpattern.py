"""Flat id patterns, matched without ``re``, against ``re`` itself.

``gitstore.flatpattern`` compiles the patterns people write for ``id_pattern`` (``T-[0-9a-z]+``)
and matches them itself, so the merge driver never imports ``re``; every other pattern goes to
``re``. These hold it to ``re.fullmatch``, and ``pattern_problem``'s shortcut for flat patterns to
the check on ``re``'s parse tree, on generated patterns: flat ones from the subset's grammar,
near misses (groups, alternation, lazy and counted repeats, negated classes, ``\\w``, set
operations), and arbitrary text.
"""

from __future__ import annotations

import re
import warnings

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from gitstore.flatpattern import compile_flat, fullmatch, matches
from gitstore.ids import ALPHABET, admits_random
from gitstore.patterns import _parsed_problem, pattern_problem

CLASS_ITEMS = ["a-z", "0-9", "A-F", "a", "_", ".", r"\d", r"\.", r"\-", "x-x", "0-z", "Z"]
ATOMS = st.one_of(
    st.sampled_from(["a", "T", "z", "-", "_", "0", "9", "Z", r"\d", r"\.", r"\-", "."]),
    st.builds(
        lambda lead, items, tail: "[" + lead + "".join(items) + tail + "]",
        st.sampled_from(["", "-"]),
        st.lists(st.sampled_from(CLASS_ITEMS), min_size=1, max_size=3),
        st.sampled_from(["", "-"]),
    ),
)
FLAT = st.lists(st.tuples(ATOMS, st.sampled_from(["", "", "*", "+", "?"])), max_size=6).map(
    lambda parts: "".join(a + q for a, q in parts)
)
NOT_FLAT = st.sampled_from(
    [
        "(",
        ")",
        "|",
        "{2}",
        "{1,3}",
        "*?",
        "+?",
        "?+",
        "**",
        "[^a]",
        r"\w",
        "^",
        "$",
        "[]",
        "]",
        "[--]",
        "[a--]",
        "[z-a]",
        "[_-a]",
        "[.-z]",
        "[a-z-0]",
        "[&&]",
        r"\b",
        "é",
        " ",
        r"\\",
        "[",
        "{",
    ]
)
NEAR = st.builds(
    lambda flat, bad, at: flat[: at % (len(flat) + 1)] + bad + flat[at % (len(flat) + 1) :],
    FLAT,
    NOT_FLAT,
    st.integers(0, 20),
)
# Classes of random items: ranges that start or end at '_' or '.', dashes in the middle...
CLASSES = st.text(st.sampled_from("az09_.-\\d^]["), min_size=1, max_size=6).map(
    lambda body: "[" + body + "]"
)
PATTERNS = st.one_of(
    FLAT,
    NEAR,
    CLASSES,
    st.text(st.sampled_from(r"aT0-_.\d[]()*+?{}|^$,"), max_size=12),
)
TEXT = st.text(st.sampled_from("aTzZ09_-.\n٣²Ab é`/^[]\\"), max_size=12)


def _re_fullmatch(pattern: str, text: str) -> bool | re.error:
    try:
        return re.fullmatch(pattern, text) is not None
    except re.error as err:
        return err


@given(PATTERNS, st.lists(TEXT, min_size=1, max_size=5), st.data())
@example("T-[0-9a-z]+", ["T-k3x9q2", "T-", "t-1", "T-1\n", "T-٣"], None)
@example(r"[A-Za-z0-9][A-Za-z0-9_.-]*", ["a", ".a", "a.b-c", "", "a\n"], None)
@example(r"\d+", ["٣٤", "²", "12"], None)
@example(".*", ["a\nb", "abc", ""], None)
@example("a?a?aa", ["aa", "aaa", "aaaa", "a"], None)
def test_matches_as_re_does(pattern: str, texts: list[str], data: st.DataObject | None) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # re warns of some near misses (set operations)
        expected = [_re_fullmatch(pattern, t) for t in texts]
        if data is not None and not isinstance(expected[0], re.error):
            extra = data.draw(st.from_regex(pattern, fullmatch=True), label="a match")
            texts, expected = [*texts, extra], [*expected, True]
        steps = compile_flat(pattern)
        for text, want in zip(texts, expected, strict=True):
            if isinstance(want, re.error):
                assert steps is None
                with pytest.raises(re.error):
                    matches(pattern, text)
            else:
                assert matches(pattern, text) == want, (pattern, text)
                if steps is not None:  # what the driver, which has no re, matches with
                    assert fullmatch(steps, text) == want, (pattern, text)


@given(FLAT)
def test_flat_patterns_are_compiled_and_valid(pattern: str) -> None:
    """The grammar makes flat patterns (but for a class holding ``--``, which is left to re, a
    possible set difference), or the shortcut would be dead code; re compiles each without a
    warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        re.compile(pattern)
    assert compile_flat(pattern) is not None or "--" in pattern


@given(NEAR)
def test_near_misses_are_left_to_re(pattern: str) -> None:
    assert compile_flat(pattern) is None


@given(PATTERNS)
@example("[a-z]*[a-z]*[a-z]*[a-z]*")
@example("[a-z]*[a-z]*[a-z]+")
@example("a+b?c*d+e+")
@example("")
def test_pattern_problem_as_on_the_parse_tree(pattern: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert pattern_problem(pattern) == _parsed_problem(pattern)


@given(FLAT, st.sampled_from(["", "T-", "a", "N-"]))
@example("T-[0-9a-z]+", "T-")
@example("T-[0-9]+", "T-")
def test_admits_random_as_with_re(pattern: str, prefix: str) -> None:
    probes = [prefix + c * 6 for c in ALPHABET] + [prefix + "0a" * 3]
    expected = all(re.fullmatch(pattern, p) for p in probes if not p[len(prefix) :].isdigit())
    assert admits_random(pattern, prefix) == expected
