"""Record merge properties under random edits: what the CLI does (through the Store's own stamp
and rewrite, no disk) and what people do by hand (comments, nested keys, multi-line text, CRLF,
reordered keys, records without metadata), interleaved on two branches of one base record.

Properties: merging either way gives the same bytes, or a conflict either way; every edit only
one side made survives (fields, nested keys, comments); the result parses and validates, or the
conflict is reported in its conflicts: block; nothing appears twice.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from gitstore import Store
from gitstore.initialize import init_store
from gitstore.merge.record import merge_record
from gitstore.record import loads, same
from gitstore.rewrite import rewrite

STATUSES = ["todo", "doing", "done", "blocked"]
TAGS = ["daemon", "p0", "ui", "beta", "alpha"]
DECLARED = {"title", "status", "owner", "priority", "tags", "notes", "due"}
META = {"id", "version", "last_modified", "modified_by", "clocks", "conflicts"}


@pytest.fixture(scope="module")
def store() -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "store"
        init_store(root)
        yield Store.open(root, actor="cli")


def strategy_for(flag: bool) -> Any:
    def strategy(key: str) -> str:
        if key == "status" and flag:
            return "flag"
        return {"tags": "union", "notes": "text", "deleted": "lww"}.get(
            key, "lww" if key in DECLARED else "auto"
        )

    return strategy


# ---------------------------------------------------------------- the base record


@st.composite
def base_texts(draw: st.DrawFn) -> str:
    lines = ["id: T-1\n"]
    if draw(st.booleans()):  # a record gitstore wrote; else one written by hand, no metadata
        lines += [
            "version: 3\n",
            "last_modified: 2026-01-01T00:00:00.000000Z\n",
            "modified_by: base\n",
        ]
    if draw(st.booleans()):
        lines.insert(0, "# a record of the planning team\n")
    lines.append("title: Fix the loop\n")
    lines.append(f"status: {draw(st.sampled_from(STATUSES))}\n")
    if draw(st.booleans()):
        lines.append("owner: alice\n")
    tags = draw(st.lists(st.sampled_from(TAGS[:3]), unique=True, max_size=3))
    if draw(st.booleans()) and tags:
        lines += ["tags:\n"] + [f"- {t}\n" for t in tags]
    else:
        lines.append(f"tags: [{', '.join(tags)}]\n")
    lines += ["notes: |\n"] + [f"  note line {i}\n" for i in range(draw(st.integers(1, 4)))]
    if draw(st.booleans()):
        lines += ["settings:\n", "  retries: 3\n", "  level: info\n"]
        if draw(st.booleans()):
            lines += ["  limits:\n", "    cpu: 1\n", "    mem: 2\n"]
    if draw(st.booleans()):
        lines += ["doc: |\n"] + [f"  doc line {i}\n" for i in range(3)]
    if draw(st.booleans()):
        lines.append("# the end\n")
    return "".join(lines)


# ---------------------------------------------------------------- edits


class Branch:
    """One side: its text, and the unique marks (values, comment texts) its edits left."""

    def __init__(self, name: str, text: str):
        self.name, self.text, self.count = name, text, 0

    def mark(self) -> str:
        self.count += 1
        return f"{self.name}{self.count}"


def _lf(text: str) -> tuple[str, bool]:
    return text.replace("\r\n", "\n"), "\r\n" in text


def _back(text: str, crlf: bool) -> str:
    return text.replace("\n", "\r\n") if crlf else text


def cli_edit(store: Store, side: Branch, change: Any) -> None:
    """What Store.update does to a file, minus the disk: stamp, then rewrite the text."""
    old = loads(side.text)
    new = {k: v for k, v in old.items()}
    change(new, side)
    if same(new, old):
        return
    stamped = store.stamp("tasks", old, new)
    side.text = rewrite(side.text, old, stamped)


def hand_edit(side: Branch, change: Any) -> None:
    text, crlf = _lf(side.text)
    changed = change(text, side)
    if changed is not None:
        side.text = _back(changed, crlf)


def _set(key: str, value: Any) -> Any:
    def change(rec: dict[str, Any], side: Branch) -> None:
        rec[key] = value(side) if callable(value) else value

    return change


def _unset(key: str) -> Any:
    return lambda rec, side: rec.pop(key, None)


def _tag(tag: str, add: bool) -> Any:
    def change(rec: dict[str, Any], side: Branch) -> None:
        tags = list(rec.get("tags") or [])
        if add and tag not in tags:
            tags.append(tag)
        elif not add and tag in tags:
            tags.remove(tag)
        rec["tags"] = tags

    return change


def _note(append: bool, index: int) -> Any:
    def change(rec: dict[str, Any], side: Branch) -> None:
        lines = str(rec.get("notes") or "").splitlines()
        if append or not lines:
            lines.append(f"note by {side.mark()}")
        else:
            lines[index % len(lines)] = f"note changed by {side.mark()}"
        rec["notes"] = "\n".join(lines) + "\n"

    return change


def _setting(key: str) -> Any:
    def change(rec: dict[str, Any], side: Branch) -> None:
        if isinstance(rec.get("settings"), dict):
            rec["settings"] = dict(rec["settings"]) | {key: side.mark()}

    return change


CLI = st.one_of(
    st.builds(_set, st.just("status"), st.sampled_from(STATUSES)),
    st.builds(_set, st.sampled_from(["title", "owner"]), st.just(lambda side: side.mark())),
    st.builds(_set, st.just("priority"), st.integers(1, 3)),
    st.builds(_unset, st.sampled_from(["owner", "priority", "doc"])),
    st.builds(_tag, st.sampled_from(TAGS), st.booleans()),
    st.builds(_note, st.booleans(), st.integers(0, 3)),
    st.builds(_setting, st.sampled_from(["retries", "level"])),
    st.builds(_set, st.just("doc"), st.sampled_from(["one\ntwo\n", "doc line 0\nnew\n"])),
    st.builds(_set, st.just("settings"), st.just({"retries": 1, "mode": "fast"})),
    st.builds(_set, st.just("deleted"), st.just(True)),
)

_TOP = re.compile(r"^([a-z_]+):", re.MULTILINE)


def _top_keys(text: str) -> list[str]:
    return [k for k in _TOP.findall(text) if k != "id"]


def _comment_above(which: int) -> Any:
    def change(text: str, side: Branch) -> str | None:
        keys = _top_keys(text)
        key = keys[which % len(keys)]
        return re.sub(rf"^{key}:", f"# comment by {side.mark()}\n{key}:", text, count=1, flags=re.M)

    return change


def _inline_comment(key: str) -> Any:
    def change(text: str, side: Branch) -> str | None:
        found = re.search(rf"^{key}: [^\n#|]+$", text, re.MULTILINE)
        if not found:
            return None
        return text[: found.end()] + f"  # inline by {side.mark()}" + text[found.end() :]

    return change


def _trailing_comment(text: str, side: Branch) -> str:
    return text + f"# trailing by {side.mark()}\n"


def _hand_scalar(key: str) -> Any:
    def change(text: str, side: Branch) -> str | None:
        value = side.mark() if key != "status" else STATUSES[side.count % 4]
        side.count += key == "status"
        out = re.sub(
            rf"^{key}: [^\n#]*?(?=[ \t]*(?:#|$))", f"{key}: {value}", text, count=1, flags=re.M
        )
        return out if out != text else None

    return change


def _hand_nested(key: str, add: bool) -> Any:
    def change(text: str, side: Branch) -> str | None:
        if "\nsettings:\n" not in text:
            return None
        if add:
            return text.replace("\nsettings:\n", f"\nsettings:\n  {side.mark()}: 1\n", 1)
        out = re.sub(
            rf"^(  +){key}: [^\n#]*?(?=[ \t]*(?:#|$))",
            rf"\g<1>{key}: {side.mark()}",
            text,
            count=1,
            flags=re.M,
        )
        return out if out != text else None

    return change


def _hand_text(key: str, index: int, append: bool) -> Any:
    def change(text: str, side: Branch) -> str | None:
        found = re.search(rf"^{key}: \|\n((?:  [^\n]*\n)+)", text, re.MULTILINE)
        if not found:
            return None
        body = found.group(1).splitlines(keepends=True)
        if append:
            body.append(f"  {key} by {side.mark()}\n")
        else:
            body[index % len(body)] = f"  {key} edited by {side.mark()}\n"
        return text[: found.start(1)] + "".join(body) + text[found.end(1) :]

    return change


def _reorder(which: int) -> Any:
    def change(text: str, side: Branch) -> str | None:
        """Move one top-level field, with the comment lines above it, to the end."""
        lines = text.splitlines(keepends=True)
        starts = [i for i, line in enumerate(lines) if _TOP.match(line)]
        movable = [i for i in starts if not lines[i].startswith(("id:", "clocks:"))]
        if len(movable) < 2:
            return None
        start = movable[which % len(movable)]
        end = next((i for i in starts if i > start), len(lines))
        while end > start + 1 and lines[end - 1].startswith("#"):
            end -= 1
        first = start
        while first > 0 and lines[first - 1].startswith("#"):
            first -= 1
        block = lines[first:end]
        rest = lines[:first] + lines[end:]
        at = next((i for i, line in enumerate(rest) if line.startswith("clocks:")), len(rest))
        while at == len(rest) and at > 0 and rest[at - 1].startswith("#"):
            at -= 1  # before a trailing comment
        out = "".join(rest[:at] + block + rest[at:])
        return out if out != text else None

    return change


def _drop(which: int) -> Any:
    def change(text: str, side: Branch) -> str | None:
        """Delete one top-level field by hand (its lines; comments above it stay)."""
        lines = text.splitlines(keepends=True)
        starts = [i for i, line in enumerate(lines) if _TOP.match(line)]
        movable = [i for i in starts if not lines[i].startswith(("id:", "clocks:", "title:"))]
        if not movable:
            return None
        start = movable[which % len(movable)]
        end = next((i for i in starts if i > start), len(lines))
        while end > start + 1 and lines[end - 1].startswith("#"):
            end -= 1
        return "".join(lines[:start] + lines[end:])

    return change


def _to_crlf(text: str, side: Branch) -> None:
    side.text = text.replace("\n", "\r\n")
    return None


HAND = st.one_of(
    st.builds(_comment_above, st.integers(0, 9)),
    st.builds(_inline_comment, st.sampled_from(["title", "status", "owner"])),
    st.just(_trailing_comment),
    st.builds(_hand_scalar, st.sampled_from(["title", "status", "owner"])),
    st.builds(_hand_nested, st.sampled_from(["retries", "level", "cpu", "mem"]), st.booleans()),
    st.builds(_hand_text, st.sampled_from(["notes", "doc"]), st.integers(0, 3), st.booleans()),
    st.builds(_reorder, st.integers(0, 9)),
    st.builds(_drop, st.integers(0, 9)),
    st.just(_to_crlf),
)

EDITS = st.lists(
    st.tuples(
        st.sampled_from(["x", "y"]),
        st.one_of(st.tuples(st.just("cli"), CLI), st.tuples(st.just("hand"), HAND)),
    ),
    min_size=2,
    max_size=12,
)


def apply(store: Store, base: str, edits: list[Any]) -> tuple[Branch, Branch]:
    sides = {"x": Branch("x", base), "y": Branch("y", base)}
    for who, (kind, change) in edits:
        side = sides[who]
        if kind == "cli":
            cli_edit(store, side, change)
        else:
            hand_edit(side, change)
        loads(side.text)  # every edit leaves a valid record
    return sides["x"], sides["y"]


# ---------------------------------------------------------------- the oracle


MISSING = object()


def survives(b: Any, o: Any, t: Any, m: Any, skip: set[str], text: str) -> None:
    """Every key only one side changed has that side's value in the merge ``m``; a key both
    changed has one of theirs (mappings: key by key; lists: a union without duplicates)."""
    for key in {*b, *o, *t} - skip:
        bv, ov, tv = (d.get(key, MISSING) for d in (b, o, t))
        got = m.get(key, MISSING)
        if not same(ov, bv) and same(tv, bv):
            assert same(got, ov), (key, got, ov, text)  # ours' one-sided edit survives
        elif not same(tv, bv) and same(ov, bv):
            assert same(got, tv), (key, got, tv, text)
        elif same(ov, tv):
            assert same(got, ov), (key, got, ov, text)
        elif isinstance(ov, dict) and isinstance(tv, dict) and isinstance(got, dict):
            survives(bv if isinstance(bv, dict) else {}, ov, tv, got, set(), text)
        elif isinstance(got, list):
            assert len(got) == len({repr(v) for v in got}), (key, got)  # a union, no duplicates
            for item in got:
                assert item in (ov if isinstance(ov, list) else []) or item in (
                    tv if isinstance(tv, list) else []
                )
        elif not any(isinstance(v, str) and "\n" in v for v in (ov, tv)):
            assert same(got, ov) or same(got, tv), (key, got, ov, tv, text)  # one of them won


def comments(text: str) -> list[str]:
    return re.findall(r"# (?:comment|inline|trailing) by [xy]\d+", text)


@given(base=base_texts(), edits=EDITS, flag=st.booleans())
def test_merge_under_cli_and_hand_edits(
    store: Store, tasks: Any, base: str, edits: list[Any], flag: bool
) -> None:
    x, y = apply(store, base, edits)
    strategy = strategy_for(flag)
    assert merge_record(base, x.text, x.text, strategy).text == x.text
    assert merge_record(base, base, y.text, strategy).text == y.text
    assert merge_record(base, x.text, base, strategy).text == x.text
    one = merge_record(base, x.text, y.text, strategy)
    other = merge_record(base, y.text, x.text, strategy)
    assert one.conflicts == other.conflicts
    if not flag and all(kind == "cli" for _, (kind, _) in edits):
        assert one.conflicts == [], one.text  # every edit carries a clock: settled by time
    event("conflict" if one.conflicts else "clean")
    event("new text" if one.text not in (x.text, y.text) else "a side's text")
    if not one.conflicts:
        assert one.text == other.text
    for result, ours, theirs in ((one, x, y), (other, y, x)):
        check(tasks, base, ours.text, theirs.text, result.text, result.conflicts)


def check(tasks: Any, base: str, ours: str, theirs: str, text: str, conflicted: list[str]) -> None:
    merged = loads(text)  # it parses: duplicate keys would not
    problems = tasks.problems(merged)
    assert problems == [], (problems, text)
    assert set(merged.get("conflicts") or {}) == set(conflicted), text
    b, o, t = (loads(s) for s in (base, ours, theirs))
    skip = {*conflicted, *META, "deleted"}  # a tombstone is settled by its policy (own tests)
    survives(b, o, t, merged, skip, text)

    # A reorder made on one side only is kept.
    def order(d: Any, keys: Any) -> list[str]:
        return [k for k in d if k in keys and k != "conflicts"]

    moved = [order(side, b) != order(b, side) for side in (o, t)]
    for side, mine, other in ((o, *moved), (t, *reversed(moved))):
        if mine and not other:
            assert order(merged, side) == order(side, merged), (order(side, b), text)
    for key in conflicted:
        entry = merged["conflicts"][key]
        assert same(merged.get(key), entry.get("ours")), (key, text)
    # Every comment a side added is still there, once.
    added = [c for c in comments(ours) + comments(theirs) if c not in comments(base)]
    fields, _, block = text.replace("\r\n", "\n").partition("\nconflicts:\n")
    for comment in set(added):  # in the fields once, or kept in a conflict's version
        assert comments(fields).count(comment) == 1 or comment in comments(block), (comment, text)
        assert comments(fields).count(comment) <= 1, (comment, text)
    if "\r\n" in ours and "\r\n" in theirs:
        assert text.count("\n") == text.count("\r\n"), text  # both CRLF: the result is too


@pytest.fixture(scope="module")
def tasks(store: Store) -> Any:
    return store.collection("tasks")


def settle(store: Store, text: str, side: str) -> str:
    """What `gitstore resolve ID --ours/--theirs` writes: each field as that side had it."""
    old = loads(text)
    new = {k: v for k, v in old.items() if k != "conflicts"}
    for key, entry in old["conflicts"].items():
        if side in entry:
            new[key] = entry[side]
        else:
            new.pop(key, None)
    return rewrite(text, old, store.stamp("tasks", old, new))


@given(base=base_texts(), edits=EDITS, same_way=st.booleans())
def test_criss_cross_conflicts_are_not_decided_by_the_virtual_base(
    store: Store, base: str, edits: list[Any], same_way: bool
) -> None:
    # Git's recursive merge: the two merge bases x and y are merged into a virtual base, which
    # keeps a conflict in its conflicts: block; each branch had settled that conflict itself.
    x, y = apply(store, base, edits)
    strategy = strategy_for(True)
    virtual = merge_record(base, x.text, y.text, strategy)
    event("virtual base in conflict" if virtual.conflicts else "no conflict to settle")
    if not virtual.conflicts:
        return
    mine = settle(store, virtual.text, "ours")
    yours = settle(store, virtual.text, "ours" if same_way else "theirs")
    one = merge_record(virtual.text, mine, yours, strategy)
    other = merge_record(virtual.text, yours, mine, strategy)
    assert one.conflicts == other.conflicts
    differ = [
        k
        for k in virtual.conflicts
        if not same(loads(mine).get(k, MISSING), loads(yours).get(k, MISSING))
    ]
    # A flag field settled apart is a conflict again; any other field is a conflict, or the
    # later of the two settlements (both were made by gitstore resolve, at a known time).
    for key in differ:
        if key == "status":
            assert key in one.conflicts, (key, one.text)
        elif key not in one.conflicts:
            got = loads(one.text).get(key, MISSING)
            assert any(same(got, loads(t).get(key, MISSING)) for t in (mine, yours)), key
    if same_way:
        assert one.conflicts == [] and one.text == other.text
        assert "conflicts" not in loads(one.text)
