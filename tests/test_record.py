"""record.py: parsing, canonical dumping, surgical rewrites, the clock — with hypothesis."""

from __future__ import annotations

import contextlib
import datetime as dt
import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gitstore.clock import clock_problems, format_time, next_clock, parse_time, too_far_ahead
from gitstore.errors import RecordError
from gitstore.record import RESERVED, copy_data, dumps, loads, same, yaml_loads
from gitstore.rewrite import rewrite

TRAPS = [
    "no",
    "yes",
    "No",
    "off",
    "null",
    "Null",
    "~",
    "",
    " ",
    "0o17",
    "017",
    "0x1f",
    "1e3",
    "1_000",
    ".5",
    "-",
    "- x",
    ": ",
    "a: b",
    "#",
    "a #b",
    " lead",
    "trail ",
    "'q'",
    '"dq"',
    "@at",
    "`tick",
    "%pct",
    "!tag",
    "&anchor",
    "*alias",
    "[x]",
    "{x}",
    "|",
    ">",
    "?",
    "2026-01-01",
    "2026-01-01T00:00:00Z",
    "1.0",
    "true",
    "NaN",
    ".inf",
    "\ttab",
    "é",
    "😀",
    "line1\nline2",
    "a\n",
    "\n",
    "a\n\n",
    " indented\nx",
    "x\n  y\n",
    "\r\n",
    "x\x85y",
    "\u2028",
    "\ufeffbom",
    "\x00nul",
    "\x7f",
    "back\\slash",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(),
    st.text(),
    st.sampled_from(TRAPS),
    st.text(alphabet=st.sampled_from("ab \n#:-\t'\""), max_size=20),
)
values = st.one_of(scalars, st.lists(scalars, max_size=5))
keys = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True).filter(lambda k: k not in RESERVED)
records = st.dictionaries(keys, values, max_size=8).map(
    lambda d: {"id": "T-1", "version": 1, "last_modified": next_clock(), "modified_by": "x"} | d
)


@given(records)
def test_dump_load_round_trip_keeps_values_and_types(rec: dict[str, object]) -> None:
    text = dumps(rec)
    back = loads(text)
    assert same(back, rec), text
    assert list(back) == list(rec)


@given(records, records)
def test_rewrite_keeps_comments_and_reads_back_exactly(
    old: dict[str, object], new: dict[str, object]
) -> None:
    base = dumps(old)
    lines = base.splitlines(keepends=True)
    commented = "# header comment\n" + "".join(f"{line}" for line in lines) + "# footer\n"
    old_loaded = loads(commented)
    text = rewrite(commented, old_loaded, new)
    assert same(loads(text), new), text
    assert "# header comment" in text


@given(records, st.data())
def test_an_update_as_the_store_makes_it_reads_back_exactly(
    old: dict[str, object], data: st.DataObject
) -> None:
    # What Store.update does: some fields changed, version and clocks stamped. The rewrite that
    # trusts its own output (no read-back) is held here to ruamel's reading of it.
    fields = [k for k in old if k not in RESERVED]
    touched = data.draw(st.lists(st.sampled_from(fields), unique=True)) if fields else []
    stamp = next_clock()
    clocks = {"title": next_clock()}
    before = old | {"clocks": clocks}
    text = dumps(before)
    new = dict(before)
    for key in touched:
        new[key] = data.draw(values)
    new |= {"version": 2, "last_modified": stamp, "clocks": clocks | dict.fromkeys(touched, stamp)}
    out = rewrite(text, loads(text), new)
    assert same(yaml_loads(out), new), out


def test_rewrite_changes_only_the_changed_lines() -> None:
    text = (
        "# Owned by the planning team\nid: T-1\nversion: 3\nlast_modified: 2026-11-22T09:41:07.123456Z\n"
        "modified_by: alice\ntitle: Fix notification loop   # keep this\nstatus: doing\n"
        "tags: [daemon, p0]\nnotes: |\n  Multi-line text\n  stays a block.\n"
    )
    old = loads(text)
    new = old | {"status": "done", "version": 4}
    out = rewrite(text, old, new)
    changed = [(a, b) for a, b in zip(text.splitlines(), out.splitlines(), strict=True) if a != b]
    assert changed == [("version: 3", "version: 4"), ("status: doing", "status: done")]


def test_timestamps_stay_text_and_clock_moves_forward() -> None:
    soon = format_time(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2))
    assert next_clock(soon) == format_time(parse_time(soon) + dt.timedelta(microseconds=1))
    # A time far ahead (a hand-set 2999, a clock a year fast) is not followed: now is stamped.
    for ahead in (
        "2999-01-01T00:00:00.000000Z",
        format_time(dt.datetime.now(dt.UTC) + dt.timedelta(days=365)),
    ):
        assert parse_time(next_clock(ahead)) <= dt.datetime.now(dt.UTC)
        assert too_far_ahead(ahead) and not too_far_ahead(next_clock(ahead))
    assert [
        k
        for k, _ in clock_problems(
            {
                "last_modified": "2999-01-01T00:00:00Z",
                "clocks": {"a": soon, "b": "2999-01-01T00:00:00Z"},
            }
        )
    ] == ["last_modified", "clocks"]
    assert parse_time(next_clock()) <= dt.datetime.now(dt.UTC)
    rec = loads("id: T-1\nlast_modified: 2026-11-22T09:41:07.123456Z\n")
    assert rec["last_modified"] == "2026-11-22T09:41:07.123456Z"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a: &x [1]\nb: *x\n", "anchors"),
        ("a: !!python/object:os.system x\n", "tags"),
        ("a: {b: 1}\n", "flow mappings"),
        ("a: 1\na: 2\n", "duplicate key"),
        ("- 1\n", "not a mapping"),
        ("", "empty"),
        ("a: [\n", "invalid YAML"),
        ("a: 1\n---\nb: 2\n", "invalid YAML"),
    ],
)
def test_rejects(text: str, reason: str) -> None:
    with pytest.raises(RecordError, match=reason):
        loads(text, "x.yaml")


def test_nan_compares_same() -> None:
    assert same(math.nan, math.nan) and not same(1, True) and not same(1, 1.0)


@given(st.text())
def test_loads_never_raises_anything_but_record_error(text: str) -> None:
    assume("\x00" not in text)
    with contextlib.suppress(RecordError):
        loads(text)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r", "\x85", "\u2028"])
@pytest.mark.parametrize(
    "deep",
    ["x: " + "[" * 30000 + "]" * 30000, "x:\n  " + "- " * 30000 + "a", "? " * 30000 + "a"],
    ids=["flow", "block-sequences", "complex-keys"],
)
def test_nesting_is_refused_before_the_parser_whatever_the_line_breaks(
    newline: str, deep: str
) -> None:
    text = "id: T-1" + newline + deep.replace("\n", newline) + newline
    with pytest.raises(RecordError, match="nested deeper than 32"):
        loads(text)


def test_rewrite_keeps_crlf_line_endings() -> None:
    text = "id: T-1\r\nversion: 1\r\n# a note\r\ntitle: x\r\nnotes: |\r\n  a\r\n  b\r\n"
    old = loads(text)
    out = rewrite(text, old, old | {"title": "new", "notes": "a\nb\nc\n", "owner": "z"})
    assert out.count("\n") == out.count("\r\n") and "# a note\r\ntitle: new\r\n" in out
    assert loads(out)["notes"] == "a\nb\nc\n" and loads(out)["owner"] == "z"


@pytest.mark.parametrize("indent", ["", "  ", "    "])
def test_rewrite_keeps_a_block_list_a_block_list(indent: str) -> None:
    text = f"id: T-1\ntags:\n{indent}- a\n{indent}- b\ntitle: x\n"
    old = loads(text)
    out = rewrite(text, old, old | {"tags": ["a", "b", "c"]})
    assert out == f"id: T-1\ntags:\n{indent}- a\n{indent}- b\n{indent}- c\ntitle: x\n"
    assert rewrite(text, old, old | {"tags": []}) == "id: T-1\ntags: []\ntitle: x\n"


def test_an_empty_mapping_is_written_and_read_back() -> None:
    # YAML can write an empty mapping only as {}: the one flow mapping a record may hold.
    rec = {"id": "T-1", "meta": {}, "nested": {"inner": {}}}
    text = dumps(rec)
    assert same(loads(text), rec) and same(yaml_loads(text), rec)
    with pytest.raises(RecordError, match="flow mappings"):
        loads("id: T-1\nmeta: {a: 1}\n")


@given(records)
def test_copy_data_is_a_deep_copy(rec: dict[str, object]) -> None:
    """What every update copies: equal in value and type, and no dict or list shared."""
    import copy

    copied = copy_data(rec)
    assert same(copied, rec) and same(copied, copy.deepcopy(rec))

    def containers(value: object) -> list[int]:
        if isinstance(value, dict):
            return [id(value), *(i for v in value.values() for i in containers(v))]
        if isinstance(value, list):
            return [id(value), *(i for v in value for i in containers(v))]
        return []

    assert not set(containers(copied)) & set(containers(rec))


def test_a_remembered_stamp_is_judged_against_the_time_of_each_call() -> None:
    """Stamps are parsed once and remembered; what depends on the clock is decided each call."""
    from gitstore.clock import time_problem

    now = dt.datetime.now(dt.UTC)
    soon = format_time(now + dt.timedelta(minutes=10))
    assert too_far_ahead(soon, now) and not too_far_ahead(soon, now + dt.timedelta(hours=1))
    assert too_far_ahead(soon, now)  # and again, from what was remembered
    for bad in ("2026-13-01T00:00:00.000000Z", "9999-06-01T00:00:00.000000Z", "soon"):
        first = time_problem(bad)
        assert first is not None and time_problem(bad) == first
    assert not too_far_ahead("soon", now) and not too_far_ahead("soon", now)
    assert time_problem(soon) is None and time_problem(soon) is None
    from gitstore.clock import brought_back, times_ok

    for _ in range(2):  # the second time from what was remembered
        assert times_ok([soon, "2026-01-01T00:00:00.000000Z"])
        assert not times_ok([soon, "soon"]) and not times_ok([["a list"], soon])
        assert not times_ok(["9999-06-01T00:00:00.000000Z"])
    near = format_time(now + dt.timedelta(minutes=1))
    clocks = {"a": near, "b": soon, "c": "x"}
    assert brought_back(clocks, "NOW") == {"a": near, "b": "NOW", "c": "x"}


@given(
    st.lists(
        st.recursive(
            st.integers() | st.text(max_size=3) | st.floats(),
            lambda v: st.lists(v, max_size=3) | st.dictionaries(st.text(max_size=2), v, max_size=3),
            max_leaves=8,
        ),
        max_size=4,
    )
)
def test_copies_are_equal_and_share_no_container(values: list[object]) -> None:
    data = {f"k{i}": v for i, v in enumerate(values)}
    copied = copy_data(data)
    assert same(copied, data)

    def containers(v: object) -> list[int]:
        if isinstance(v, dict):
            return [id(v)] + [i for x in v.values() for i in containers(x)]
        if isinstance(v, list):
            return [id(v)] + [i for x in v for i in containers(x)]
        return []

    assert not set(containers(copied)) & set(containers(data))


@given(st.datetimes(timezones=st.timezones() | st.just(dt.UTC)))
def test_format_time_writes_what_strftime_writes(moment: dt.datetime) -> None:
    try:
        utc = moment.astimezone(dt.UTC)
    except OverflowError:
        return
    assert format_time(moment) == utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
