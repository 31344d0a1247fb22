"""roadmap.py and the roadmap API: lossless parsing (real corpus and hypothesis), surgical edits."""

from __future__ import annotations

import difflib
import gzip
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitstore import NotFound, Store, UsageError
from gitstore.roadmap import Parser, conflict_hunks, content_uid, heading_starts, split_lines
from gitstore.roadmap_edit import Editor, block_name, find
from tests.conftest import SHARED, gitstore, snapshot

CORPUS = SHARED / "corpus" / "roadmap"
CORPUS_FILES = sorted(CORPUS.glob("versions/*.md.gz")) + sorted(CORPUS.glob("merges/*/*.md.gz"))
needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"corpus not found at {CORPUS} (../shared is absent)"
)

SAMPLE = """\
# Project Roadmap

**Last Updated**: 2025-10-18

## 🔴 TOP PRIORITY

### PRIORITY 1: Analytics ✅ Complete

**Status**: ✅ Complete
**Owner**: alice

Body text.

```bash
# not a heading
=======
### PRIORITY 9: inside a fence
```

#### Sub-heading stays inside

**Status**: not a field (below a sub-heading)

### 🔴 **PRIORITY 2.5: UX Documentation** 📝 Planned

**Status**: 📝 Planned

## 📊 PRIORITY 4: Dashboard

**Status**: 🔄 In Progress

### PRIORITY 2.5: duplicate heading

Paragraph
=========

Trailing text without final newline"""


def test_structure_of_a_sample() -> None:
    doc = Parser().parse(SAMPLE)
    assert doc.render() == SAMPLE
    assert [s.name for s in doc.sections] == ["1", "2.5#1", "4", "2.5#2"]
    first = doc.sections[0]
    assert first.field("status") == "✅ Complete" and first.field("owner") == "alice"
    assert "#### Sub-heading stays inside\n" in first.lines
    assert first.title_and_mark(["✅ Complete"]) == ("Analytics", "✅ Complete")
    assert doc.sections[1].title_and_mark(["📝 Planned"])[0] == "UX Documentation"
    assert doc.sections[2].level == 2
    # the setext heading "Paragraph" ends the duplicate section; its text line goes with it
    assert doc.sections[3].lines[-1] == "\n"
    with pytest.raises(UsageError, match=r"ambiguous: 2\.5#1 \(line 24\), 2\.5#2 \(line 32\)"):
        find(doc, "2.5")
    assert find(doc, "PRIORITY 2.5#2").line_no == 32
    with pytest.raises(NotFound):
        find(doc, "7")


@needs_corpus
def test_real_corpus_round_trips_byte_for_byte(capsys: pytest.CaptureFixture[str]) -> None:
    parser = Parser()
    report = []
    for path in CORPUS_FILES:
        text = gzip.decompress(path.read_bytes()).decode("utf-8")
        doc = parser.parse(text)
        assert doc.render() == text, path
        report.append(f"{path.relative_to(CORPUS)}: {len(doc.sections)} sections")
    assert len(CORPUS_FILES) == 80
    with capsys.disabled():
        print("\n[roadmap corpus] " + "; ".join(report))


@st.composite
def markdown(draw: st.DrawFn) -> str:
    pieces = st.one_of(
        st.sampled_from(
            [
                "### PRIORITY 1: A ✅ Complete",
                "## 📊 PRIORITY 2.5: B",
                "### 🔴 **PRIORITY 3: C**",
                "#### PRIORITY 3.1: nested",
                "# Title",
                "## Other",
                "### Sub",
                "```",
                "```python",
                "~~~",
                "**Status**: 📝 Planned",
                "**Owner**: bob",
                "=======",
                "---",
                "Paragraph",
                "- item",
                "<!-- gitstore: version=2 last_modified=2026-01-01T00:00:00.000000Z modified_by=x -->",
                "",
                "\t### PRIORITY 4: tab",
                "    ```",
                "| a | b |",
                "> quote",
                "\ufeff### PRIORITY 5: bom",
            ]
        ),
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
    )
    lines = draw(st.lists(pieces, max_size=40))
    endings = draw(
        st.lists(
            st.sampled_from(["\n", "\r\n", "\r", ""]), min_size=len(lines), max_size=len(lines)
        )
    )
    return "".join(line + end for line, end in zip(lines, endings, strict=True))


@given(markdown())
def test_round_trip_on_generated_markdown(text: str) -> None:
    assert Parser().parse(text).render() == text


@given(st.text())
def test_parse_never_raises_and_round_trips(text: str) -> None:
    assert Parser().parse(text).render() == text


@given(st.binary())
def test_junk_bytes_that_decode(raw: bytes) -> None:
    text = raw.decode("utf-8", "replace")
    assert "".join(split_lines(text)) == text
    assert Parser().parse(text).render() == text


# ---------------------------------------------------------------- the API on a store


def _changed_lines(before: str, after: str) -> list[tuple[str, str | None, str | None]]:
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    out: list[tuple[str, str | None, str | None]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        olds, news = a[i1:i2], b[j1:j2]
        for k in range(max(len(olds), len(news))):
            out.append(
                (tag, olds[k] if k < len(olds) else None, news[k] if k < len(news) else None)
            )
    return out


@pytest.fixture
def corpus_store(store: Store) -> Store:
    if not CORPUS.is_dir():
        pytest.fail(
            f"the roadmap corpus is missing at {CORPUS}: shared/ belongs beside the repository"
        )
    largest = max(CORPUS.glob("versions/*.md.gz"), key=lambda p: p.stat().st_size)
    (store.root / "ROADMAP.md").write_bytes(gzip.decompress(largest.read_bytes()))
    return store


def test_status_edit_on_the_largest_corpus_file_is_surgical(corpus_store: Store) -> None:
    path = corpus_store.root / "ROADMAP.md"
    before = path.read_text()
    res = gitstore("roadmap", "status", "25", "in_progress", cwd=corpus_store.root)
    assert res.returncode == 0, res.stderr
    changes = _changed_lines(before, path.read_text())
    assert len(changes) == 2, changes
    (tag1, old1, new1), (tag2, old2, new2) = changes
    assert tag1 == "insert" and old1 is None and new1 is not None
    assert re.match(
        r"<!-- gitstore: id=[a-z2-7]{8} version=1 last_modified=", new1
    ) and new1.endswith("modified_by=tester -->\n")
    assert tag2 == "replace" and old2 is not None and old2.startswith("**Status**: 📝 Planned")
    assert new2 == "**Status**: 🔄 In Progress\n"


def test_set_add_move_are_surgical(corpus_store: Store) -> None:
    path = corpus_store.root / "ROADMAP.md"
    road = corpus_store.roadmap()

    before = path.read_text()
    road.set_fields("26", {"Owner": "alice"})  # a new field line, under the heading's fields
    changes = _changed_lines(before, path.read_text())
    assert [c[2] for c in changes if c[2] and not c[2].startswith("<!--")] == ["**Owner**: alice\n"]
    assert all(c[0] == "insert" for c in changes) and len(changes) == 2

    before = path.read_text()
    road.set_fields("26", {"Owner": "bob"})
    changes = _changed_lines(before, path.read_text())
    assert [(c[1], c[2]) for c in changes if not (c[2] or "").startswith("<!--")] == [
        ("**Owner**: alice\n", "**Owner**: bob\n")
    ]
    assert len(changes) == 2  # the owner line and the metadata line

    before = path.read_text()
    added = road.add("Brand new work", after="26", fields={"Owner": "carol"})
    after = path.read_text()
    new = road.section_text(added["id"])
    assert new.startswith(f"### PRIORITY {added['id']}: Brand new work\n<!-- gitstore: id=")
    assert f"id={added['uid']} version=1 " in new
    assert after.replace(new, "", 1) == before  # only the new section's lines were inserted
    section_26 = road.section_text("26")
    assert after.index(section_26) + len(section_26) == after.index(new)

    before = path.read_text()
    moved_text = road.section_text("26")
    road.move("26", before="25")
    after = path.read_text()

    def unstamped(text: str) -> list[str]:
        return [
            line for line in text.splitlines(keepends=True) if not line.startswith("<!-- gitstore:")
        ]

    assert unstamped(road.section_text("26")) == unstamped(moved_text)  # moved whole, restamped
    assert unstamped(after.replace(road.section_text("26"), "", 1)) == unstamped(
        before.replace(moved_text, "", 1)
    )
    assert after.index("### PRIORITY 26:") < after.index("### PRIORITY 25:")


def test_api_round_trip_on_a_small_roadmap(store: Store) -> None:
    road = store.roadmap()
    assert [s["id"] for s in road.sections()] == ["1"]
    assert road.next()["id"] == "1"  # type: ignore[index]
    road.set_status("1", "complete")
    assert road.get("1")["state"] == "complete"
    assert road.next() is None
    added = road.add("Second", status="planned")
    assert added["id"] == "2" and road.next()["id"] == "2"  # type: ignore[index]
    road.replace("2", "### PRIORITY 2: Second, edited\n**Status**: ⏸️ Blocked\n\nWaiting on CI.\n")
    assert road.get("2")["state"] == "blocked" and road.get("2")["version"] == 2
    road.remove("2")
    assert [s["id"] for s in road.sections()] == ["1"]


def test_line_endings_and_missing_final_newline_are_kept(store: Store) -> None:
    path = store.root / "ROADMAP.md"
    path.write_bytes(b"# R\r\n\r\n### PRIORITY 1: A\r\n**Status**: \xf0\x9f\x93\x9d Planned")
    store.roadmap().set_status("1", "done")
    data = path.read_bytes()
    assert data.count(b"\r\n") == data.count(b"\n")  # every new line is CRLF too
    assert data.endswith(b"**Status**: done")  # still no final newline


@pytest.mark.parametrize(
    ("argv", "code", "words"),
    [
        (["roadmap", "status", "77", "done"], 1, ["ROADMAP.md", "no section '77'"]),
        (["roadmap", "set", "1", "Owner=a\nb"], 2, ["one line"]),
        (["roadmap", "move", "1", "--after", "1"], 2, ["itself"]),
        (["roadmap", "move", "1"], 2, ["--after ID or --before ID"]),
        (["roadmap", "add", "--title", "x", "--id", "1"], 2, ["exists already"]),
        (["roadmap", "show", "1#x"], 2, ["ID#N"]),
    ],
)
def test_bad_input_leaves_the_file_alone(
    store_dir: Path, argv: list[str], code: int, words: list[str]
) -> None:
    before = snapshot(store_dir)
    res = gitstore(*argv, cwd=store_dir)
    assert res.returncode == code, res.stderr
    assert len(res.stderr.splitlines()) == 1 and all(w in res.stderr for w in words), res.stderr
    assert snapshot(store_dir) == before


def test_ambiguous_id_lists_the_choices(store_dir: Path) -> None:
    path = store_dir / "ROADMAP.md"
    path.write_text("### PRIORITY 1: A\n\n### PRIORITY 1: B\n")
    res = gitstore("roadmap", "status", "1", "done", cwd=store_dir)
    assert res.returncode == 2
    assert "ambiguous: 1#1 (line 1), 1#2 (line 3)" in res.stderr and res.stderr.count("\n") == 1
    assert path.read_text() == "### PRIORITY 1: A\n\n### PRIORITY 1: B\n"
    assert gitstore("roadmap", "status", "1#2", "done", cwd=store_dir).returncode == 0
    assert re.search(r"### PRIORITY 1: B\n<!-- gitstore: id=\w+ version=1", path.read_text())


def test_a_heading_pattern_that_matches_nothing(store_dir: Path) -> None:
    config = store_dir / "gitstore.yaml"
    config.write_text(
        config.read_text().replace(
            "  path: ROADMAP.md", "  path: ROADMAP.md\n  headings: ['EPIC (?P<id>[0-9]+)']"
        )
    )
    before = snapshot(store_dir)
    res = gitstore("roadmap", "status", "1", "done", cwd=store_dir)
    assert res.returncode == 1
    assert (
        "no section heading matches the configured pattern" in res.stderr
        and res.stderr.count("\n") == 1
    )
    assert snapshot(store_dir) == before


def test_story_ids_can_be_enabled(store_dir: Path) -> None:
    config = store_dir / "gitstore.yaml"
    config.write_text(
        config.read_text().replace("  path: ROADMAP.md", "  path: ROADMAP.md\n  story_ids: true")
    )
    (store_dir / "ROADMAP.md").write_text("## 🚨 US-035: Story\n**Status**: 📝 Planned\n")
    res = gitstore("roadmap", "next", "--json", cwd=store_dir)
    assert res.returncode == 0 and '"id": "US-035"' in res.stdout


def test_replace_body_keeps_heading_and_fields(store: Store) -> None:
    road = store.roadmap()
    before = road.section_text("1")
    road.replace_body("1", "New body.\n\n- a list\n")
    after = road.section_text("1")
    assert re.match(r"### PRIORITY 1: Set up the project\n<!-- gitstore: id=\w+ version=1 ", after)
    assert "**Status**: 📝 Planned\n**Owner**: (nobody yet)\nNew body.\n\n- a list\n" in after
    assert "Describe the work here" in before and "Describe the work here" not in after


def test_roadmap_edit_through_the_editor(store_dir: Path, tmp_path: Path) -> None:
    import sys

    script = tmp_path / "ed.py"

    def editor(old: str, new: str) -> dict[str, str]:
        script.write_text(
            f"import sys\np = sys.argv[1]\nt = open(p).read()\nopen(p, 'w').write(t.replace({old!r}, {new!r}))\n"
        )
        return {"EDITOR": f"{sys.executable} {script}"}

    path = store_dir / "ROADMAP.md"
    res = gitstore("roadmap", "edit", "1", cwd=store_dir, env=editor("📝 Planned", "⏸️ Blocked"))
    assert res.returncode == 0, res.stderr
    assert "**Status**: ⏸️ Blocked\n" in path.read_text() and re.search(
        r"<!-- gitstore: id=\w+ version=1 ", path.read_text()
    )
    before = path.read_bytes()
    res = gitstore("roadmap", "edit", "1", cwd=store_dir, env=editor("PRIORITY 1:", "PRIORITY 9:"))
    assert (
        res.returncode == 1
        and "exactly one section" in res.stderr
        and "your edit is kept in" in res.stderr
    )
    assert path.read_bytes() == before
    rescue = Path(res.stderr.split("your edit is kept in ")[1].strip())
    assert "PRIORITY 9:" in rescue.read_text()


# ---------------------------------------------------------------- stable ids, renumber, hunks


def _editor() -> Editor:
    from gitstore.roadmap import DEFAULT_STATUSES

    ids = iter(["newid001", "newid002"])
    return Editor(
        Parser(), DEFAULT_STATUSES, actor="t", clock=lambda _: "2026-01-01T00:00:00.000001Z",
        uid=lambda: next(ids),
    )  # fmt: skip


def test_every_gitstore_edit_gives_a_section_a_stable_id_that_then_stays() -> None:
    text = "### PRIORITY 1: A\n**Status**: 📝 Planned\n\nBody.\n\n### PRIORITY 2: B\n\nMore.\n"
    doc = Parser().parse(text)
    derived = content_uid(doc.sections[0].lines)
    _editor().set_fields(doc, "1", {"Owner": "a"})
    assert doc.sections[0].uid == derived  # from the section's text before this first edit
    assert doc.sections[0].lines[1] == (
        f"<!-- gitstore: id={derived} version=1 last_modified=2026-01-01T00:00:00.000001Z "
        "modified_by=t -->\n"
    )
    assert content_uid(Parser().parse(text.replace("\n", "\r\n")).sections[0].lines) == derived
    editor = _editor()
    editor.renumber(doc, "1", "1.5")
    editor.move(doc, "1.5", after="2")
    editor.replace_body(doc, "1.5", "New body.\n")
    assert [s.uid for s in doc.sections][1] == derived  # renumbered, moved, rewritten: same id
    added = editor.add(doc, "C", after="2")
    assert added.uid == "newid001" and find(doc, "newid001") is added
    assert find(doc, derived).id == "1.5"


def test_renumber_changes_only_the_number() -> None:
    doc = Parser().parse("## 🔴 **PRIORITY 2: UX** 📝 Planned\n\nBody.\n### PRIORITY 3: X\n")
    _editor().renumber(doc, "2", "2.5")
    assert doc.render().startswith("## 🔴 **PRIORITY 2.5: UX** 📝 Planned\n<!-- gitstore: id=")
    with pytest.raises(UsageError, match="exists already"):
        _editor().renumber(doc, "2.5", "3")
    with pytest.raises(UsageError, match="not an id the heading pattern accepts"):
        _editor().renumber(doc, "2.5", "two")


def test_duplicates_are_named_by_occurrence_and_listed_with_their_ids() -> None:
    doc = Parser().parse("### PRIORITY 4: A\n\n### PRIORITY 4: B\n")
    _editor().set_fields(doc, "4#2", {"Owner": "b"})
    assert [s.name for s in doc.sections] == ["4#1", "4#2"]
    uid = doc.sections[1].uid
    with pytest.raises(UsageError, match=rf"ambiguous: 4#1 \(line 1\), 4#2 \(line 3, id {uid}\)"):
        find(doc, "4")
    assert find(doc, str(uid)) is doc.sections[1]


def test_a_complete_conflict_hunk_is_opaque_to_the_parser() -> None:
    text = (
        "### PRIORITY 1: A\n<<<<<<< ours\n### PRIORITY 1: A ✅\n## Appendix\n=======\n"
        "### PRIORITY 1: A 🚧\n>>>>>>> theirs\nBody.\n### PRIORITY 2: B\n"
    )
    doc = Parser().parse(text)
    assert doc.render() == text and [s.id for s in doc.sections] == ["1", "2"]
    assert len(doc.sections[0].lines) == 8
    unfinished = "### PRIORITY 1: A\n<<<<<<< ours\n### PRIORITY 2: B\n"
    assert [s.id for s in Parser().parse(unfinished).sections] == ["1", "2"]
    fenced = "### PRIORITY 1: A\n```\n<<<<<<< x\n```\n### PRIORITY 2: B\n=======\n>>>>>>> y\n"
    assert [s.id for s in Parser().parse(fenced).sections] == ["1", "2"]
    assert conflict_hunks(split_lines(fenced)) == {}


def test_text_is_cut_at_its_top_headings() -> None:
    lines = split_lines("# T\n\n## A\n```\n## not\n```\n### kept\n## B\n")
    assert heading_starts(lines) == [2, 7]


def test_resolve_markers_in_a_heading_and_in_text() -> None:
    text = (
        "# R\n\n### PRIORITY 1: A\n<<<<<<< ours\n### PRIORITY 1.5: A\n=======\n"
        "### PRIORITY 2: A\n>>>>>>> theirs\nBody.\n\n## Notes\n<<<<<<< ours\nmine\n=======\n"
        "yours\n>>>>>>> theirs\n"
    )
    for side, number in (("ours", "1.5"), ("theirs", "2")):
        doc = Parser().parse(text)
        assert [block_name(doc, i) for i in range(len(doc.blocks))] == [
            "(preamble)",
            "1",
            "(text after 1)",
        ]
        resolved = _editor().resolve_markers(doc, "1", side)
        assert resolved is not None and resolved.heading == f"### PRIORITY {number}: A"
        assert _editor().resolve_markers(doc, f"(text after {number})", side) is None
        assert "<<<<<<<" not in doc.render() and doc.render().count("PRIORITY") == 1
        assert ("mine" in doc.render()) == (side == "ours")
