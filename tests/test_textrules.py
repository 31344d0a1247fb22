"""Every regular expression the merge driver's path used to hold, against the str function that
replaced it (the expressions are kept here as the oracles, verbatim).

The driver is a process per file and no longer imports ``re``; these hold each function to the
expression it replaces on generated text: matches of the expression (hypothesis builds them from
it), those mutated by one character, and text from an alphabet of the characters the rules turn
on, with the sharp ones (line breaks, tab, DEL, NUL, a surrogate, Unicode digits such as '٣',
which ``\\d`` matches and ``[0-9]`` does not, superscripts, which ``str.isdigit`` takes and
``\\d`` does not). The character-class rules are also checked on every code point.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Callable
from typing import TypeVar

from hypothesis import example, given
from hypothesis import strategies as st

from gitstore import clock, schema, textrules
from gitstore.merge import record as merge_record
from gitstore.merge import tree, values
from gitstore.plainyaml import _is_int, _key, _unreadable
from gitstore.record import _nesting_prefix

EDGE = (
    "\n\r\t\x00\x0b\x1f\x7f\x85\xa0\u2028\u2029\ufeff\ufffe\ud800\U0001f600"
    " #:'\"\\-_./()+@,[]{}<>|?*~$^&!%=`"
    "aAzZ_T019eE٣۹²¹³ſKCOMNUL"
)
T = TypeVar("T")
ALL = "".join(map(chr, range(sys.maxunicode + 1)))  # every code point, surrogates too


def _mutate(text: str, at: int, char: str, how: int) -> str:
    at = at % (len(text) + 1)
    if how == 0:
        return text[:at] + char + text[at:]  # insert
    if how == 1:
        return text[:at] + char + text[at + 1 :]  # replace
    return text[:at] + text[at + 1 :]  # delete


def texts(pattern: str | re.Pattern[str], fullmatch: bool = True) -> st.SearchStrategy[str]:
    """Matches of ``pattern``, near misses, and text from the sharp alphabet."""
    found = st.from_regex(pattern, fullmatch=fullmatch)
    mutated = st.builds(
        _mutate, found, st.integers(0, 60), st.sampled_from(EDGE), st.integers(0, 2)
    )
    twice = st.builds(
        _mutate, mutated, st.integers(0, 60), st.sampled_from(EDGE), st.integers(0, 2)
    )
    return st.one_of(found, mutated, twice, st.text(st.sampled_from(EDGE), max_size=40), st.text())


def examples(*cases: tuple[object, ...]) -> Callable[[T], T]:
    """Each case as an ``@example`` of the test."""

    def apply(test: T) -> T:
        for case in reversed(cases):
            test = example(*case)(test)
        return test

    return apply


def matched_chars(klass: str) -> set[str]:
    """Every character the one-character expression ``klass`` matches."""
    return set(re.findall(klass, ALL))


# ------------------------------------------------------------------ gitstore.textrules

KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")  # record.KEY, merge.record._CLOCK_KEY, schema._FIELD
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")  # record.STAMP, plainyaml._STAMP,
# merge.record._CANONICAL
DATE = re.compile(r"\d{4}-\d\d-\d\d")  # plainyaml._DATE
PLAIN = re.compile(r"[A-Za-z_/(][A-Za-z0-9_ ./()+@-]*")  # record._PLAIN
PRINTABLE = "[\t\n\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]*"  # record


@given(texts(KEY))
@examples(("",), ("a.b-c_9",), ("9a",), ("a:",), ("a\n",), ("ſ",))
def test_is_key(text: str) -> None:
    assert textrules.is_key(text) == bool(KEY.fullmatch(text))


@given(texts(r"[ ]*[A-Za-z_][A-Za-z0-9_.-]*:.*", fullmatch=False), st.integers(0, 8))
@examples(
    (
        "a:",
        0,
    ),
    (
        ":",
        0,
    ),
    (
        "  a.b:c",
        2,
    ),
    (
        "a b:",
        0,
    ),
    (
        "a",
        0,
    ),
)
def test_key_colon(text: str, start: int) -> None:
    start = min(start, len(text))
    found = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*:").match(text, start)
    assert textrules.key_colon(text, start) == (found.end() - 1 if found else -1)


@given(st.text(st.sampled_from("a\n\r "), max_size=6))
def test_at_end(text: str) -> None:
    end = re.compile("$")
    for at in range(len(text) + 1):
        assert textrules.at_end(text, at) == bool(end.match(text, at))


@given(texts(STAMP))
@examples(
    ("2026-01-02T03:04:05.000006Z",),
    ("٢٠٢٦-01-02T03:04:05.000006Z",),
    ("2026-01-02T03:04:05.00000²Z",),
    ("2026-01-02T03:04:05.000006Z\n",),
    ("2026-01-02 03:04:05.000006Z",),
    ("2026-01-02T03:04:05.000006z",),
)
def test_is_stamp(text: str) -> None:
    assert textrules.is_stamp(text) == bool(STAMP.fullmatch(text))


@given(texts(DATE))
@examples(("2026-01-02",), ("٢٠٢٦-٠١-٠٢",), ("2026-01-0²",), ("2026-01-02\n",))
def test_is_date(text: str) -> None:
    assert textrules.is_date(text) == bool(DATE.fullmatch(text))


def _reads(stamp: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(stamp)
    except ValueError:
        return None


@given(
    st.one_of(
        texts(STAMP),
        st.from_regex(
            r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z", fullmatch=True
        ),
        st.datetimes(dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31)).map(
            lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.%fZ").rjust(27, "0")
        ),
    )
)
@examples(
    ("2024-02-29T23:59:59.999999Z",),
    ("2023-02-29T00:00:00.000000Z",),
    ("1900-02-29T00:00:00.000000Z",),
    ("2000-02-29T00:00:00.000000Z",),
    ("0000-01-01T00:00:00.000000Z",),
    ("0001-01-01T00:00:00.000000Z",),
    ("9998-12-31T23:59:59.999999Z",),
    ("9999-01-01T00:00:00.000000Z",),
    ("2026-01-01T24:00:00.000000Z",),
    ("2026-01-01T00:60:00.000000Z",),
    ("2026-01-01T00:00:60.000000Z",),
    ("2026-13-01T00:00:00.000000Z",),
    ("2026-04-31T00:00:00.000000Z",),
    ("2026-00-10T00:00:00.000000Z",),
    ("٢٠٢٦-01-01T00:00:00.000000Z",),
)
def test_usable_stamp(text: str) -> None:
    """True exactly for the stamps datetime reads (and ``time_problem`` passes) before 9999, in
    ASCII digits; those in other digits are left to datetime."""
    moment = _reads(text) if STAMP.fullmatch(text) and text.isascii() else None
    assert textrules.usable_stamp(text) == (moment is not None and moment.year <= 9998)
    if textrules.usable_stamp(text):
        assert clock.time_problem(text) is None


@given(texts(PLAIN))
@examples(("",), ("a b",), ("(x)",), ("/p+q@r",), ("9",), ("a\n",))
def test_is_plain(text: str) -> None:
    assert textrules.is_plain(text) == bool(PLAIN.fullmatch(text))


@given(st.one_of(texts(PRINTABLE), st.text(st.sampled_from(EDGE))))
def test_yaml_printable(text: str) -> None:
    assert textrules.yaml_printable(text) == bool(re.fullmatch(PRINTABLE, text))


def test_character_classes_on_every_code_point() -> None:
    not_printable = matched_chars(f"[^{PRINTABLE[1:-2]}]")
    assert {c for c in ALL if not textrules.yaml_printable(c)} == not_printable
    assert {c for c in ALL if textrules.is_key(c)} == matched_chars("[A-Za-z_]")
    assert {c for c in ALL if textrules.is_plain(c)} == matched_chars("[A-Za-z_/(]")
    assert {c for c in ALL if textrules.is_key("a" + c)} == matched_chars("[A-Za-z0-9_.-]")
    assert {c for c in ALL if textrules.is_plain("a" + c)} == matched_chars("[A-Za-z0-9_ ./()+@-]")
    digits = matched_chars(r"\d")
    assert {c for c in ALL if textrules.is_date(c + "000-00-00")} == digits
    assert {c for c in ALL if textrules.is_stamp("0000-00-00T00:00:00.00000" + c + "Z")} == digits


# ------------------------------------------------------------------ gitstore.plainyaml

PY_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_.-]*):(?: +|$)")
PY_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")
ASCII_BAD = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
WIDE_OK = "\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff"
WIDE_BAD = re.compile(f"[^{WIDE_OK}]")


@given(texts(r" *[A-Za-z_][A-Za-z0-9_.-]*: *.*\n?", fullmatch=False), st.integers(0, 4))
@examples(
    (
        "a:",
        0,
    ),
    (
        "a:\n",
        0,
    ),
    (
        "a:\n\n",
        0,
    ),
    (
        "a:  x",
        0,
    ),
    (
        "a:\tx",
        0,
    ),
    (
        "  a: x",
        2,
    ),
    (
        "- a: b",
        2,
    ),
    (
        "a:b",
        0,
    ),
)
def test_plainyaml_key(line: str, start: int) -> None:
    start = min(start, len(line))
    found = PY_KEY.match(line, start)
    assert _key(line, start) == ((found.group(1), line[found.end() :]) if found else None)


@given(texts(PY_INT))
@examples(
    ("0",), ("-0",), ("00",), ("-",), ("1" * 18,), ("1" * 19,), ("٣",), ("²",), ("+1",), ("1\n",)
)
def test_plainyaml_int(text: str) -> None:
    assert _is_int(text) == bool(PY_INT.fullmatch(text))


def _old_unreadable(text: str) -> bool:
    return bool(ASCII_BAD.search(text) if text.isascii() else WIDE_BAD.search(text))


@given(st.one_of(st.text(st.sampled_from(EDGE)), st.text(), texts(f"[{WIDE_OK}]*")))
@examples(("a\tb",), ("é\t",), ("\x85",), ("a\u2028",), ("\x7f",))
def test_plainyaml_unreadable(text: str) -> None:
    assert _unreadable(text) == _old_unreadable(text)


def test_plainyaml_unreadable_on_every_code_point() -> None:
    assert {c for c in ALL if _unreadable(c)} == set(WIDE_BAD.findall(ALL))
    assert {c for c in ALL if c.isascii() and _unreadable(c)} == set(ASCII_BAD.findall(ALL))


# ------------------------------------------------------------------ gitstore.record

NESTING_PREFIX = re.compile(r"^[ \t]*(?:[-?][ \t]+)*", re.MULTILINE)


@given(st.one_of(st.text(st.sampled_from(" \t-?a\n:[")), texts(r"(?:[ \t]*(?:[-?][ \t]+)*\w*\n)*")))
@examples(("- - a\n  ?\t- b",), ("-a",), ("- -",), ("\t?  -  x",), ("",))
def test_nesting_prefix(text: str) -> None:
    old = max((len(m) for m in NESTING_PREFIX.findall(text)), default=0)
    assert max(map(_nesting_prefix, text.split("\n"))) == old


# ------------------------------------------------------------------ gitstore.merge.record

CLOCK_LINE = re.compile(r"[ \t]+([A-Za-z_][A-Za-z0-9_.-]*):[ \t]*[\"']?([0-9T:.\-Z+]+)[\"']?[ \t]*")


@given(texts(CLOCK_LINE))
@examples(
    ("  a: 2026-01-01T00:00:00.000000Z",),
    ("  a: '1'",),
    ("  a: \"1'",),
    ('  a: ""',),
    ('  a: "',),
    ("a: 1",),
    ("  a: 1 1",),
    ("\ta:1\t",),
    ("  a: x",),
    ("  a:: 1",),
    ("  a: 1:2+Z",),
    ("  a: ٣",),
)
def test_clock_line(line: str) -> None:
    found = CLOCK_LINE.fullmatch(line)
    assert merge_record._clock_line(line) == (found.groups() if found else None)


# ------------------------------------------------------------------ gitstore.merge.tree

KEY_LINE = re.compile(r"[ ]*([A-Za-z_][A-Za-z0-9_.-]*):(?:[ \t]|$)")
QUOTED = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\n]|'')*'")
COMMENT = re.compile(r"(?:^|[ \t])#")
QUOTY = st.text(st.sampled_from("\"'\\#a \t\n"), max_size=30)


@given(texts(KEY_LINE, fullmatch=False))
@examples(("a:\n",), ("a:\n\n",), ("  a:\tb",), ("a:b",), (" \ta: b",))
def test_tree_key_line(line: str) -> None:
    found = KEY_LINE.match(line)
    assert tree._key_of(line) == (found.group(1) if found else None)


@given(st.one_of(QUOTY, texts(QUOTED, fullmatch=False)))
@examples(
    ("'a''",),
    ("'a'' b'' c",),
    ("'a''\n'",),
    ('"a\\"',),
    ('"a\\\n"',),
    ('"a\\"b" \'c\'',),
    ('"x\n"y"',),
    ("''''",),
    ('"\\',),
    ("'",),
    ('" "a"',),
)
def test_tree_masked(line: str) -> None:
    assert tree._masked(line) == QUOTED.sub(lambda m: "\0" * len(m.group()), line)


@given(st.one_of(QUOTY, texts(COMMENT, fullmatch=False)))
@examples(("#",), ("a#",), ("a #",), ("a\t#",), ("a#b #",), ("",))
def test_tree_comment(text: str) -> None:
    found = COMMENT.search(text)
    assert tree._comment_at(text) == (found.start() if found else -1)


def _old_code(line: str) -> str:
    line = line.rstrip("\r\n")
    if "#" not in line:
        return line
    masked = (
        QUOTED.sub(lambda m: "\0" * len(m.group()), line) if ("'" in line or '"' in line) else line
    )
    found = COMMENT.search(masked)
    return line if found is None else line[: found.start()].rstrip()


@given(st.one_of(QUOTY, st.text(st.sampled_from(EDGE))))
def test_tree_code(line: str) -> None:
    assert tree.code(line) == _old_code(line)


# ------------------------------------------------------------------ gitstore.merge.values

WORD = re.compile(r"[A-Za-z_/(][A-Za-z0-9_ ./()+@-]*|-?[1-9][0-9]*|0")


@given(texts(WORD))
@examples(("0",), ("-0",), ("-",), ("-12",), ("012",), ("٣",), ("-a",), ("yes",), ("a ",))
def test_values_word(token: str) -> None:
    old = bool(WORD.fullmatch(token)) and token.lower() not in values._RESOLVES and token[-1] != " "
    assert values._word(token) == old


# ------------------------------------------------------------------ gitstore.schema

UNSAFE_ID = re.compile(r"[/\\\0\r\n]|^\.|^$")
WINDOWS_BAD = re.compile(r'[<>:"|?*\x00-\x1f\x7f]|[. ]$')
WINDOWS_DEVICE = re.compile(r"CON|PRN|AUX|NUL|(?:COM|LPT)[1-9\u00b9\u00b2\u00b3]", re.IGNORECASE)
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
DEVICEY = st.text(st.sampled_from("cCoOmMnNpPrRtTlLuUaAxX19¹²³٣ſ. \n"), max_size=5)


@given(texts(r"[A-Za-z0-9./\\\0\r\n-]*"))
@examples(("",), ("\n",), (".a",), ("a/b",), ("a\\b",), ("a.",))
def test_schema_unsafe_id(text: str) -> None:
    assert schema._unsafe_id(text) == bool(UNSAFE_ID.search(text))


@given(st.one_of(texts(r"[A-Za-z0-9<>:|?*. \x00-\x1f\x7f-]*"), DEVICEY))
@examples(("a.",), ("a ",), ("a.\n",), ("a\n",), ("",), ("a:b",))
def test_schema_windows_bad(text: str) -> None:
    assert schema._windows_bad(text) == bool(WINDOWS_BAD.search(text))


@given(st.one_of(DEVICEY, texts(WINDOWS_DEVICE)))
@examples(("con",), ("CoM1",), ("lpt¹",), ("COM0",), ("COM",), ("NUL\n",))
def test_schema_windows_device(text: str) -> None:
    assert schema._windows_device(text) == bool(WINDOWS_DEVICE.fullmatch(text))


def test_schema_windows_device_on_every_code_point() -> None:
    lines = re.compile(rf"^(?:{WINDOWS_DEVICE.pattern})$", re.IGNORECASE | re.MULTILINE)
    for word in ("CON", "COM1"):
        for at in range(len(word)):
            variants = [word[:at] + c + word[at + 1 :] for c in ALL]
            found = {v for v in variants if schema._windows_device(v)}
            old = set(lines.findall("\n".join(v for v in variants if "\n" not in v)))
            old |= {v for v in variants if "\n" in v and WINDOWS_DEVICE.fullmatch(v)}
            assert found == old


@given(texts(NAME))
@examples(("a.b",), ("a-b",), ("_",), ("9",))
def test_schema_name(text: str) -> None:
    assert schema._is_name(text) == bool(NAME.fullmatch(text))


@given(texts(PART))
@examples((".a",), ("-a",), ("9.x",), ("_",), ("",))
def test_schema_part(text: str) -> None:
    assert schema._is_part(text) == bool(PART.fullmatch(text))


@given(
    st.one_of(
        texts(STAMP),
        st.datetimes(dt.datetime(2, 1, 1), dt.datetime(9998, 12, 30)).map(clock.format_time),
        st.sampled_from(["2026-01-01T00:00:00Z", "2026-01-01", "9999-01-01T00:00:00.000000Z"]),
        st.integers(),
        st.none(),
    )
)
def test_schema_time_problem(value: object) -> None:
    assert schema._time_problem(value) == clock.time_problem(value)
