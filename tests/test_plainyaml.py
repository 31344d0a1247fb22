"""The plain-subset reader against ruamel.yaml: whatever it accepts, it reads as ruamel does.

gitstore.plainyaml reads records and gitstore.yaml without ruamel.yaml when they are in the plain
subset gitstore writes; anything else it declines (None) and ruamel decides. These tests hold it to
that: on random texts built from YAML's sharp edges, an accepted text is one ruamel reads to the
same values and types; on what gitstore writes, it accepts (or the fast path would be dead code).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from gitstore.clock import next_clock
from gitstore.plainyaml import parse
from gitstore.record import dumps, loads, same, yaml_loads

EDGES = [
    "x",
    "a b",
    "012",
    "0",
    "-0",
    "-1",
    "+1",
    "1_0",
    "1e3",
    "1.5",
    ".5",
    ".inf",
    "0x1f",
    "0o7",
    "~",
    "null",
    "Null",
    "NULL",
    "true",
    "True",
    "yes",
    "no",
    "on",
    "y",
    "n",
    "inf",
    "nan",
    "2026-12-01",
    "2026-13-45",
    "2026-12-01T09:22:01.590421Z",
    "2026-02-30T00:00:00.000000Z",
    "2026-12-01 09:22:01",
    "a #c",
    "a#c",
    "#c",
    "a: b",
    "a:",
    "a:b",
    "http://x/y",
    "'q'",
    "'it''s'",
    "'open",
    '"d"',
    '"esc\\n\\t\\u00e9\\x41"',
    '"bad\\q"',
    '"\\ud800"',
    '"open',
    '"a" x',
    "'a' # c",
    "[a, b]",
    "[]",
    "[a,]",
    "[a, [b]]",
    "[a, 'b,c', \"d\"]",
    "[1, null, x y]",
    "[a] x",
    "{}",
    "{a: 1}",
    "|",
    "|-",
    "|+",
    "|2",
    ">",
    "|  # c",
    "&a x",
    "*a",
    "!tag x",
    "%x",
    "@x",
    "`x",
    "<<",
    "=",
    "- x",
    "-",
    "?",
    "é",
    "\u2028",
    "\x85",
    "\ufeff",
    "\t",
    "a\tb",
    " ",
    "(x)",
    "a, b",
    "a,b",
    "[",
    "]",
    "x:",
]
KEYS = ["a", "b", "c", "last_modified", "clocks", "id", "true", "null", "x.y", "k-1", "_z", "a b"]
INDENTS = ["", "", "", " ", "  ", "  ", "   ", "    ", "\t"]
_value = st.one_of(
    st.sampled_from(EDGES), st.text(alphabet=" ab#:'\"\\-[],|&.01\té\u2028", max_size=6)
)
_line = st.one_of(
    st.tuples(
        st.sampled_from(INDENTS),
        st.sampled_from(KEYS),
        st.sampled_from([": ", ":", ":  ", ":\t"]),
        _value,
    ).map("".join),
    st.tuples(st.sampled_from(INDENTS), st.sampled_from(KEYS), st.just(":")).map("".join),
    st.tuples(st.sampled_from(INDENTS), st.sampled_from(["- ", "-", "-  "]), _value).map("".join),
    st.tuples(st.sampled_from(INDENTS), st.sampled_from(["# c", "#", "  x", "---", "..."])).map(
        "".join
    ),
    st.tuples(st.sampled_from(INDENTS), _value).map("".join),
    st.just(""),
)
texts = st.tuples(
    st.lists(_line, min_size=1, max_size=12),
    st.sampled_from(["\n", "\n", "\r\n", "\r"]),
    st.sampled_from(["\n", ""]),
).map(lambda t: t[1].join(t[0]) + t[2])


# Well-formed documents with sharp values: a tree of mappings, lists and literal blocks, written
# with random indentation, comments and blank lines, then perhaps one line nudged out of place.
_token = st.one_of(
    st.sampled_from(EDGES),
    st.text(alphabet="ab é#:-'\"", min_size=1, max_size=5),
    st.sampled_from(["todo", "Ship it", "x_1", "a-b", "é ü", "12", "'q'", '"d"', "(x)"]),
)
_block = st.lists(
    st.sampled_from(["x", "  y", "", "#z", "a: b", "\tt", " "]), min_size=1, max_size=4
)


@st.composite
def documents(draw: st.DrawFn, depth: int = 0, indent: str = "") -> str:
    out = []
    for key in draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=5, unique=True)):
        kind = draw(st.sampled_from(["scalar", "scalar", "flow", "list", "map", "block", "empty"]))
        if draw(st.booleans()):
            out.append(draw(st.sampled_from(["", f"{indent}# note", f"{indent}  # deeper"])))
        if kind == "scalar":
            comment = draw(st.sampled_from(["", " # c", "  #c"]))
            out.append(f"{indent}{key}: {draw(_token)}{comment}")
        elif kind == "flow":
            items = draw(st.lists(_token, max_size=3))
            out.append(f"{indent}{key}: [{', '.join(items)}]")
        elif kind == "list":
            pad = indent + draw(st.sampled_from(["", "  ", "    "]))
            out.append(f"{indent}{key}:")
            out += [f"{pad}- {item}" for item in draw(st.lists(_token, min_size=1, max_size=3))]
        elif kind == "map" and depth < 3:
            out.append(f"{indent}{key}:")
            child = indent + draw(st.sampled_from([" ", "  ", "    "]))
            out.append(draw(documents(depth + 1, child)))
        elif kind == "block":
            head = draw(st.sampled_from(["|", "|-", "|+", "| # c"]))
            pad = indent + draw(st.sampled_from(["  ", "    ", " "]))
            out.append(f"{indent}{key}: {head}")
            out += [f"{pad}{line}" if line else "" for line in draw(_block)]
        else:
            out.append(f"{indent}{key}:")
    return "\n".join(out)


@st.composite
def nudged(draw: st.DrawFn) -> str:
    lines = draw(documents()).split("\n")
    if draw(st.booleans()):
        i = draw(st.integers(0, len(lines) - 1))
        lines[i] = draw(st.sampled_from([" ", "\t", "  ", ""])) + lines[i]
    ending = draw(st.sampled_from(["\n", "\n", "\r\n"]))
    return ending.join(lines) + draw(st.sampled_from([ending, ending, ""]))


def _ruamel(load, text: str):  # type: ignore[no-untyped-def]
    try:
        return load(text)
    except Exception as err:  # any failure means the plain reader had to decline
        return err


def _config_load(text: str) -> object:
    return YAML(typ="safe").load(text)


@given(st.one_of(texts, nudged()))
@example("a: |\n  x\n\n  y\n\nb: 1\n")
@example("a: |+\n  x\n\n")
@example("a: [a:b]\n")
@example("a:\n- x\n- 'y'\nb:\n  c: [1, d]\n")
@example("last_modified: 2026-12-01T09:22:01.590421Z\nclocks:\n  a: 2026-12-01T09:22:01.590421Z\n")
def test_an_accepted_text_reads_as_ruamel_reads_it(text: str) -> None:
    for stamps, load in ((True, yaml_loads), (False, _config_load)):
        plain = parse(text, 32, stamps=stamps)
        if plain is not None:
            expected = _ruamel(load, text)
            assert not isinstance(expected, Exception), (text, plain, expected)
            assert same(plain, expected), (text, plain, expected)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**18), max_value=10**18),
    st.dates(),
    st.text(max_size=20),
    st.text(alphabet="abc \n#:-'\"é", max_size=30),
)
records = st.dictionaries(
    st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True).filter(
        lambda k: k not in ("true", "false", "null")
    ),
    st.one_of(
        scalars,
        st.lists(scalars.filter(lambda v: not isinstance(v, str) or "\n" not in v), max_size=4),
    ),
    min_size=1,
    max_size=8,
)


@given(records)
def test_what_gitstore_writes_reads_back_through_the_plain_reader(data: dict[str, object]) -> None:
    text = dumps({"id": "T-1", **data})
    plain = parse(text, 32, stamps=True)
    assert plain is None or same(plain, yaml_loads(text))
    assert same(loads(text), yaml_loads(text))


def test_the_usual_files_take_the_fast_path(tmp_path: Path) -> None:
    from gitstore.initialize import init_store

    init_store(tmp_path)
    config = (tmp_path / "gitstore.yaml").read_text()
    assert parse(config, 32) == YAML(typ="safe").load(config)
    record = dumps(
        {
            "id": "T-1",
            "version": 3,
            "last_modified": next_clock(),
            "modified_by": "ann",
            "title": "Ship it: now",
            "status": "doing",
            "tags": ["daemon", "p0"],
            "notes": "line one\nline two\n",
            "due": dt.date(2026, 12, 1),
            "clocks": {"status": next_clock()},
        }
    )
    assert parse(record, 32, stamps=True) == yaml_loads(record)
    crlf = record.replace("\n", "\r\n")
    assert parse(crlf, 32, stamps=True) == yaml_loads(crlf)


@pytest.mark.parametrize(
    "text",
    [
        "a: x\n  y\n",  # a continuation line folds into the value
        "a: 1.5\n",  # floats are ruamel's
        "a: {b: 1}\n",  # flow mappings are refused by loads, with its message
        "a: 1\na: 2\n",  # a duplicate key is an error, with its message
        "a: !!str 1\n",
        "a: &x 1\nb: *x\n",
        "a: x\u2028b: y\n",  # a line break YAML sees and str.split does not
        "a: |\n  x",  # no final line break
        "a:\n  - b: 1\n",  # a list of mappings
        "---\na: 1\n",
        "a: 1\r\nb: 2\r",  # a lone CR is a line break too
    ],
)
def test_what_it_declines(text: str) -> None:
    assert parse(text, 32, stamps=True) is None


def test_depth_past_the_limit_is_declined_for_ruamel_to_report() -> None:
    text = "".join(f"{'  ' * i}k{i}:\n" for i in range(5)) + "          v: 1\n"
    assert parse(text, 32) is not None
    assert parse(text, 3) is None
