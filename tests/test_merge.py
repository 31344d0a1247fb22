"""Merge properties (hypothesis) for records, plus hostile inputs (roadmap: test_merge_roadmap and test_merge_roadmap_properties)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from gitstore.clock import format_time
from gitstore.merge.lines import merge3
from gitstore.merge.record import merge_record
from gitstore.record import dumps, loads, same
from gitstore.rewrite import rewrite
from gitstore.schema import Collection

LWW = lambda key: "lww"  # noqa: E731
FIELDS = ["title", "status", "owner", "priority", "notes", "extra"]
values = st.one_of(
    st.sampled_from(["a", "b", "todo", "done", "x y", "no", ""]),
    st.integers(0, 5),
    st.text(max_size=8),
    st.just("line1\nline2\n"),
)
BASE_TIME = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _record(fields: dict[str, object], version: int, seconds: int, who: str) -> dict[str, object]:
    stamp_ = format_time(BASE_TIME + dt.timedelta(seconds=seconds))
    return {"id": "T-1", "version": version, "last_modified": stamp_, "modified_by": who} | fields


@st.composite
def three_records(draw: st.DrawFn) -> tuple[str, str, str, dict, dict, dict]:  # type: ignore[type-arg]
    base_fields = draw(st.dictionaries(st.sampled_from(FIELDS), values, max_size=5))
    base = _record(base_fields, 1, 0, "base")
    base_text = dumps(base)
    sides = []
    for who in ("x", "y"):
        changes = draw(
            st.dictionaries(st.sampled_from(FIELDS), st.one_of(st.none(), values), max_size=3)
        )
        fields = dict(base_fields)
        for key, value in changes.items():
            if value is None:
                fields.pop(key, None)
            else:
                fields[key] = value
        seconds = draw(st.integers(1, 100))
        data = _record(fields, 2, seconds, who)
        sides.append((rewrite(base_text, base, data), data))
    (x_text, x), (y_text, y) = sides
    return base_text, x_text, y_text, base, x, y


@given(three_records())
def test_record_merge_properties(case: tuple[str, str, str, dict, dict, dict]) -> None:  # type: ignore[type-arg]
    b_text, x_text, y_text, b, x, y = case
    assert merge_record(b_text, x_text, x_text, LWW).text == x_text
    assert merge_record(b_text, b_text, y_text, LWW).text == y_text
    assert merge_record(b_text, x_text, b_text, LWW).text == x_text
    one = merge_record(b_text, x_text, y_text, LWW)
    other = merge_record(b_text, y_text, x_text, LWW)
    assert one.text == other.text and not one.conflicts
    merged = loads(one.text)
    later = x if (x["last_modified"], "x") > (y["last_modified"], "y") else y
    missing = object()
    for key in {*x, *y, *b} - {"version", "last_modified", "modified_by"}:
        bv, xv, yv = b.get(key, missing), x.get(key, missing), y.get(key, missing)
        got = merged.get(key, missing)
        if not same(xv, bv) and same(yv, bv):
            assert same(got, xv), key  # x's edit is not dropped
        elif not same(yv, bv) and same(xv, bv):
            assert same(got, yv), key
        elif not same(xv, yv):
            assert same(got, later.get(key, missing)), key  # both edited: the later one wins
    assert Collection("tasks", "records/tasks").problems(merged) == []
    if one.text not in (x_text, y_text):
        assert merged["version"] == 3 and merged["last_modified"] == later["last_modified"]


@given(three_records())
def test_flag_keeps_ours_and_records_the_conflict(
    case: tuple[str, str, str, dict, dict, dict],
) -> None:  # type: ignore[type-arg]
    b_text, x_text, y_text, _, x, y = case
    result = merge_record(b_text, x_text, y_text, lambda key: "flag")
    merged = loads(result.text)  # always a readable record
    for key in result.conflicts:
        assert same(merged.get(key), x.get(key))
        entry = merged["conflicts"][key]
        assert ("ours" in entry) == (key in x) and ("theirs" in entry) == (key in y)


def test_add_add_is_never_fused() -> None:
    a = dumps(_record({"title": "a", "status": "todo"}, 1, 1, "a"))
    c = dumps(_record({"title": "c", "owner": "c", "status": "todo"}, 1, 2, "c"))
    for ours, theirs in ((a, c), (c, a)):
        result = merge_record(None, ours, theirs, LWW)
        merged = loads(result.text)
        assert result.conflicts == ["owner", "title"] and result.notes
        mine, yours = loads(ours), loads(theirs)
        # Both versions recoverable: ours in the fields, theirs' differing values in the block.
        assert {k: merged[k] for k in ("title", "status")} == {
            k: mine[k] for k in ("title", "status")
        }
        assert merged.get("owner") == mine.get("owner")
        for key in ("title", "owner"):
            entry = merged["conflicts"][key]
            assert entry.get("theirs") == yours.get(key) and "base" not in entry
    same = dumps(_record({"title": "a", "status": "todo"}, 1, 5, "b"))
    assert merge_record(None, a, same, LWW).conflicts == []  # the same content: no conflict


# ---------------------------------------------------------------- roadmap (see test_merge_roadmap)


def _doc(n: int) -> str:
    return "# Roadmap\n\n**Last Updated**: today\n\n" + "".join(
        f"### PRIORITY {i}: Item {i}\n**Status**: 📝 Planned\n\nBody {i} line 1.\nBody {i} line 2.\n\n"
        for i in range(1, n + 1)
    )


def test_merge3_basics() -> None:
    base = ["a\n", "b\n", "c\n"]
    assert merge3(base, ["A\n", "b\n", "c\n"], ["a\n", "b\n", "C\n"]) == (["A\n", "b\n", "C\n"], 0)
    assert merge3(base, ["x\n"], ["y\n"])[1] == 1


# ---------------------------------------------------------------- the driver on hostile input

import contextlib  # noqa: E402
import io  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from gitstore.merge.driver import main as driver  # noqa: E402

RECORD = (
    "id: T-1\nversion: 1\nlast_modified: 2026-01-01T00:00:00.000000Z\nmodified_by: a\ntitle: base\n"
)


def _drive(
    tmp_path: Path, base: bytes | None, ours: bytes, theirs: bytes, name: str
) -> tuple[int, bytes, str]:
    paths = [tmp_path / n for n in ("O", "A", "B")]
    for path, data in zip(paths, (base, ours, theirs), strict=True):
        if data is not None:
            path.write_bytes(data)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = driver([*(str(p) for p in paths), name])
    return code, paths[1].read_bytes(), err.getvalue()


def _keeps(result: bytes, *sides: bytes) -> bool:
    return all(line in result.splitlines() for side in sides for line in side.splitlines())


@pytest.mark.parametrize(
    ("case", "base", "ours", "theirs", "codes"),
    [
        (
            "garbage bytes",
            RECORD.encode(),
            RECORD.replace("base", "ours").encode(),
            b"\xff\xfe garbage\n",
            {1},
        ),
        (
            "binary side",
            RECORD.encode(),
            RECORD.encode() + b"owner: o\n",
            b"\x00\x01\x02binary",
            {1},
        ),
        (
            "conflict markers inside a side",
            RECORD.encode(),
            RECORD.replace("base", "ours").encode(),
            (RECORD + "<<<<<<< x\nowner: a\n=======\nowner: b\n>>>>>>> y\n").encode(),
            {1},
        ),
        (
            "missing base (add/add)",
            None,
            RECORD.replace("base", "ours").encode(),
            RECORD.replace("base", "theirs").replace("00:00:00", "00:00:01").encode(),
            {1},
        ),
        (
            "10 MiB side",
            RECORD.encode(),
            (RECORD + "notes: " + "x" * (10 << 20) + "\n").encode(),
            RECORD.replace("title: base", "title: theirs").encode(),
            {1},  # over the 1 MiB record limit: left as a conflict, no text lost
        ),
    ],
)
def test_driver_loses_no_text(
    tmp_path: Path, case: str, base: bytes | None, ours: bytes, theirs: bytes, codes: set[int]
) -> None:
    code, result, err = _drive(tmp_path, base, ours, theirs, "records/tasks/T-1.yaml")
    assert code in codes, (case, code, err)
    if code == 0:
        merged = loads(result.decode())
        assert merged["id"] == "T-1"
    elif case == "missing base (add/add)":
        merged = loads(result.decode())  # a readable record, both titles in it
        assert merged["title"] == "ours" and merged["conflicts"]["title"]["theirs"] == "theirs"
    elif b"\x00" not in theirs:
        assert _keeps(result, ours, theirs), (
            case
        )  # both sides' text is in the file, between markers


def test_driver_kill_switch_is_a_line_merge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITSTORE_MERGE", "0")
    ours = RECORD.replace("title: base", "title: ours").encode()
    theirs = RECORD.replace("title: base", "title: theirs").encode()
    code, result, _ = _drive(tmp_path, RECORD.encode(), ours, theirs, "records/tasks/T-1.yaml")
    assert (
        code == 1
        and b"<<<<<<< ours\ntitle: ours\n=======\ntitle: theirs\n>>>>>>> theirs\n" in result
    )


def test_driver_roadmap_with_markers_already_inside(tmp_path: Path) -> None:
    # A side's leftover markers merge cleanly section by section, but the result is not clean:
    # exit 1, so git does not commit them (both sides' text is kept).
    base = _doc(2).encode()
    ours = base.replace(b"Body 1 line 1.", b"<<<<<<< old\nleftover\n=======\nother\n>>>>>>> old")
    theirs = base.replace(b"Body 2 line 1.", b"Body 2 changed.")
    code, result, err = _drive(tmp_path, base, ours, theirs, "ROADMAP.md")
    assert code == 1 and b"leftover" in result and b"Body 2 changed." in result
    assert "ROADMAP.md: the merged text holds 1 block(s) of conflict markers" in err


def test_driver_roadmap_markers_in_a_fence_are_text(tmp_path: Path) -> None:
    base = _doc(2).encode()
    fenced = b"```\n<<<<<<< a\nx\n=======\ny\n>>>>>>> b\n```"
    ours = base.replace(b"Body 1 line 1.", fenced)
    theirs = base.replace(b"Body 2 line 1.", b"Body 2 changed.")
    code, result, _ = _drive(tmp_path, base, ours, theirs, "ROADMAP.md")
    assert code == 0 and fenced in result and b"Body 2 changed." in result


@pytest.mark.parametrize(
    "broken",
    [
        'owner: "unterminated\n',  # looks like key: value lines; does not parse
        "owner: a\n   bad: indent\n",
        "owner: [a, b\n",
    ],
)
def test_driver_never_calls_an_unparsable_record_clean(tmp_path: Path, broken: str) -> None:
    ours = RECORD.replace("title: base", "title: ours")
    theirs = RECORD.replace("00:00:00", "00:00:01") + broken
    code, result, err = _drive(
        tmp_path, RECORD.encode(), ours.encode(), theirs.encode(), "records/tasks/T-1.yaml"
    )
    assert code == 1, err
    assert b"title: ours\n" in result and broken.encode() in result  # git's line merge
    assert err.count("\n") == 1 and "records/tasks/T-1.yaml: " in err and "parse" in err, err


def test_driver_checks_the_result_against_the_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gitstore.initialize import STARTER_CONFIG

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "gitstore.yaml").write_text(STARTER_CONFIG)
    monkeypatch.chdir(repo)  # git runs the driver at the top of the work tree
    ours = RECORD.replace("title: base", "title: ours")
    theirs = RECORD.replace("00:00:00", "00:00:01") + "priority: high\n"  # an int field
    code, result, err = _drive(
        tmp_path, RECORD.encode(), ours.encode(), theirs.encode(), "records/tasks/T-1.yaml"
    )
    assert code == 1 and "fails its schema (priority: 'high' is not of type int)" in err, err
    assert b"title: ours\n" in result and b"priority: high\n" in result
    good = RECORD.replace("00:00:00", "00:00:01") + "priority: 2\n"
    code, result, err = _drive(
        tmp_path, RECORD.encode(), ours.encode(), good.encode(), "records/tasks/T-1.yaml"
    )
    assert code == 0 and err == "" and loads(result.decode())["priority"] == 2


def test_driver_usage() -> None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert driver(["only-one"]) == 2
    assert "usage" in err.getvalue()


@pytest.mark.parametrize(("policy", "deleted"), [("delete", True), ("edit", None), ("lww", True)])
def test_tombstone_policies(policy: str, deleted: object) -> None:
    base = dumps(_record({"title": "t", "owner": "a"}, 1, 0, "base"))
    deleter = dumps(_record({"title": "t", "owner": "a", "deleted": True}, 2, 20, "d"))
    editor = dumps(_record({"title": "t", "owner": "b"}, 2, 10, "e"))

    def strategy(key: str) -> str:
        return policy if key == "deleted" else "lww"

    for ours, theirs in ((deleter, editor), (editor, deleter)):
        merged = loads(merge_record(base, ours, theirs, strategy).text)
        assert merged.get("deleted") is deleted and merged["owner"] == "b"  # the edit is kept


def test_a_full_tie_never_favours_a_side() -> None:
    # Same last_modified, version and modified_by on both sides: the content hash decides, so
    # merging either way gives the same bytes and the same winner.
    base = dumps(_record({"title": "t", "status": "todo"}, 1, 0, "base"))
    x = dumps(_record({"title": "t", "status": "doing"}, 2, 5, "same"))
    y = dumps(_record({"title": "t", "status": "done"}, 2, 5, "same"))
    one, other = merge_record(base, x, y, LWW), merge_record(base, y, x, LWW)
    assert one.text == other.text and loads(one.text)["status"] in ("doing", "done")


# ---------------------------------------------------------------- records: one test per rule

AUTO = lambda key: {"tags": "union", "notes": "text", "status": "lww"}.get(key, "auto")  # noqa: E731
HEAD = "id: T-1\nversion: 2\nlast_modified: 2026-01-01T00:00:00.000000Z\nmodified_by: base\n"


def _both(base: str, x: str, y: str, strategy=AUTO):  # type: ignore[no-untyped-def]
    one, other = merge_record(base, x, y, strategy), merge_record(base, y, x, strategy)
    assert one.conflicts == other.conflicts
    if not one.conflicts:
        assert one.text == other.text
    return one


def _cli(text: str, seconds: int, **fields: object) -> str:
    """A gitstore write of ``fields`` at 2026-01-01 + seconds: metadata and clocks move."""
    old = loads(text)
    stamp_ = format_time(BASE_TIME + dt.timedelta(seconds=seconds))
    clocks = dict(old.get("clocks") or {}) | dict.fromkeys(fields, stamp_)
    new = {k: v for k, v in old.items() if k != "clocks"} | fields
    new |= {"version": old.get("version", 0) + 1, "last_modified": stamp_, "clocks": clocks}
    return rewrite(text, old, new)


def test_a_reorder_on_one_side_is_kept() -> None:
    base = HEAD + "title: t\nstatus: todo\nowner: a\n"
    moved = HEAD + "owner: a\ntitle: t\nstatus: todo\n"
    result = _both(base, moved, _cli(base, 5, status="done"))
    assert list(loads(result.text)) == [
        "id",
        "version",
        "last_modified",
        "modified_by",
        "owner",
        "title",
        "status",
        "clocks",
    ]


def test_the_losing_sides_comment_is_kept_above_the_field() -> None:
    base = HEAD + "title: t\nstatus: todo\n"
    early = _cli(base, 5, status="doing").replace("status: doing", "status: doing  # until friday")
    result = _both(base, early, _cli(base, 9, status="done"))
    assert "# until friday\nstatus: done\n" in result.text


def test_delete_versus_a_hand_edit_is_a_conflict_under_lww() -> None:
    base = HEAD + "title: t\nowner: a\n"
    deleted = _cli(base, 5, deleted=True)
    hand = base.replace("owner: a", "owner: b")
    result = _both(base, deleted, hand, lambda key: "lww")
    assert result.conflicts == ["deleted"] and loads(result.text)["owner"] == "b"
    timed = _both(base, deleted, _cli(base, 9, owner="b"), lambda key: "lww")
    assert timed.conflicts == [] and "deleted" not in loads(timed.text)  # the edit is later


def test_text_appends_are_both_kept_once() -> None:
    base = HEAD + "notes: |\n  one\n"
    x = _cli(base, 5, notes="one\ntwo\n")
    y = _cli(base, 9, notes="one\ntwo\nthree\n")  # its append contains x's: not repeated
    assert loads(_both(base, x, y).text)["notes"] == "one\ntwo\nthree\n"
    z = _cli(base, 9, notes="one\nzwei\n")
    assert loads(_both(base, x, z).text)["notes"] == "one\ntwo\nzwei\n"  # the earlier first


def test_an_undeclared_list_is_last_writer_wins_a_declared_one_a_union() -> None:
    base = HEAD + "labels: [a]\ntags: [a]\n"
    x = _cli(base, 5, labels=["a", "x"], tags=["a", "x"])
    y = _cli(base, 9, labels=["a", "y"], tags=["a", "y"])
    merged = loads(_both(base, x, y).text)
    assert merged["labels"] == ["a", "y"] and merged["tags"] == ["a", "x", "y"]


def test_line_endings_follow_the_side_that_changed_them() -> None:
    base = HEAD + "title: t\nstatus: todo\n"
    crlf = base.replace("\n", "\r\n")
    result = _both(base, crlf, _cli(base, 5, status="done"))
    assert (
        result.text.count("\r\n") == result.text.count("\n") and "status: done\r\n" in result.text
    )


def test_a_virtual_bases_conflict_is_a_change_on_both_sides() -> None:
    flag = lambda key: "flag" if key == "status" else "lww"  # noqa: E731
    base = HEAD + "title: t\nstatus: todo\n"
    virtual = merge_record(
        base, _cli(base, 5, status="doing"), _cli(base, 6, status="blocked"), flag
    )
    assert virtual.conflicts == ["status"]
    fields = virtual.text.split("conflicts:\n")[0]
    doing = _cli(fields, 10, title="t")  # settled as ours, the value left in the field
    blocked = _cli(fields.replace("status: doing", "status: blocked"), 11)
    result = _both(virtual.text, doing, blocked, flag)
    assert (
        result.conflicts == ["status"] and "in conflict in the merge base too" in result.notes[-1]
    )
    assert loads(result.text)["conflicts"]["status"]["base"] == "todo"
    again = _both(virtual.text, doing, _cli(fields, 12, owner="o"), flag)
    assert again.conflicts == [] and loads(again.text)["status"] == "doing"


def test_the_merge_keeps_records_own_names_and_formats() -> None:
    # merge/record.py does not import gitstore.record (start-up): its copies must agree.
    from gitstore.merge import record as merging
    from gitstore.record import META, clocks_lines

    assert merging.META == META
    clocks = {"status": "2026-01-01T00:00:00.000001Z", "owner": "2026-01-02T00:00:00.000000Z"}
    base = HEAD + "status: todo\nowner: a\nclocks:\n  status: 2026-01-01T00:00:00.000000Z\n"
    x = base.replace("status: todo", "status: done").replace(
        "  status: 2026-01-01T00:00:00.000000Z", "  status: " + clocks["status"]
    )
    y = base.replace("owner: a", "owner: b") + "  owner: " + clocks["owner"] + "\n"
    merged = _both(base, x, y).text
    assert merged.endswith(clocks_lines(clocks) or "")
    assert merging._stamp_key("2026-01-01T01:00:00+01:00") == "2026-01-01T00:00:00.000000Z"
