"""Real `git merge` with the driver registered by `gitstore init`: routine edits merge clean."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gitstore import Store
from gitstore.record import loads
from tests.conftest import flag_status, git


def run_git(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, env={**os.environ, **(env or {})}
    )


def commit_all(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)


@pytest.fixture
def repo(store_dir: Path) -> Path:
    s = Store.open(store_dir)
    s.put(
        "tasks",
        {
            "id": "T-1",
            "title": "Fix the loop",
            "status": "todo",
            "tags": ["daemon"],
            "notes": "one\ntwo\nthree\n",
        },
    )
    s.put("tasks", {"id": "T-2", "title": "Docs", "status": "todo"})
    (store_dir / "ROADMAP.md").write_text(
        "# Roadmap\n\n"
        + "".join(f"### PRIORITY {i}: Item {i}\n**Status**: 📝 Planned\n" for i in range(1, 5))
    )
    commit_all(store_dir, "base")
    git(store_dir, "branch", "other")
    return store_dir


def edit(root: Path, branch: str, actor: str, change) -> None:  # type: ignore[no-untyped-def]
    git(root, "checkout", "-q", branch)
    change(Store.open(root, actor=actor))
    commit_all(root, f"{actor} on {branch}")
    time.sleep(0.002)  # the next edit is later on the clock too


def merge(
    root: Path, into: str, other: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    git(root, "checkout", "-q", into)
    return run_git(root, "merge", "--no-edit", other, env=env)


def set_fields(coll: str, rid: str, **values: object):  # type: ignore[no-untyped-def]
    def change(s: Store) -> None:
        with s.update(coll, rid) as rec:
            rec.update(values)

    return change


def test_different_fields_of_one_record(repo: Path) -> None:
    edit(repo, "main", "alice", set_fields("tasks", "T-1", status="doing"))
    edit(repo, "other", "bob", set_fields("tasks", "T-1", owner="bob"))
    res = merge(repo, "main", "other")
    assert res.returncode == 0, res.stdout + res.stderr
    rec = Store.open(repo).get("tasks", "T-1")
    assert rec["status"] == "doing" and rec["owner"] == "bob"
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.parametrize("direction", ["main<-other", "other<-main"])
def test_same_field_later_edit_wins_either_way(repo: Path, direction: str) -> None:
    edit(repo, "main", "alice", set_fields("tasks", "T-1", status="doing"))
    edit(repo, "other", "bob", set_fields("tasks", "T-1", status="done"))  # later
    into, other = direction.split("<-")
    res = merge(repo, into, other)
    assert res.returncode == 0, res.stdout + res.stderr
    assert Store.open(repo).get("tasks", "T-1")["status"] == "done"


def test_both_directions_give_the_same_bytes(repo: Path) -> None:
    edit(repo, "main", "alice", set_fields("tasks", "T-1", status="doing", priority=1))
    edit(repo, "other", "bob", set_fields("tasks", "T-1", status="done", owner="bob"))
    git(repo, "branch", "main-copy", "main")
    assert merge(repo, "main", "other").returncode == 0
    one = (repo / "records/tasks/T-1.yaml").read_bytes()
    assert merge(repo, "other", "main-copy").returncode == 0
    assert (repo / "records/tasks/T-1.yaml").read_bytes() == one
    merged = loads(one.decode())
    assert merged["version"] == 3 and merged["modified_by"] == "bob"


def test_list_union(repo: Path) -> None:
    edit(repo, "main", "alice", set_fields("tasks", "T-1", tags=["daemon", "p0"]))
    edit(repo, "other", "bob", set_fields("tasks", "T-1", tags=["daemon", "ui"]))
    assert merge(repo, "main", "other").returncode == 0
    assert Store.open(repo).get("tasks", "T-1")["tags"] == ["daemon", "p0", "ui"]


def test_text_field_merges_line_by_line(repo: Path) -> None:
    edit(repo, "main", "alice", set_fields("tasks", "T-1", notes="ONE\ntwo\nthree\n"))
    edit(repo, "other", "bob", set_fields("tasks", "T-1", notes="one\ntwo\nTHREE\n"))
    assert merge(repo, "main", "other").returncode == 0
    assert Store.open(repo).get("tasks", "T-1")["notes"] == "ONE\ntwo\nTHREE\n"


def test_delete_versus_edit_merges(repo: Path) -> None:
    edit(repo, "main", "alice", set_fields("tasks", "T-2", owner="alice"))
    edit(repo, "other", "bob", lambda s: s.delete("tasks", "T-2"))  # later: lww keeps the delete
    res = merge(repo, "main", "other")
    assert res.returncode == 0, res.stdout + res.stderr
    rec = Store.open(repo).get("tasks", "T-2", include_deleted=True)
    assert rec["deleted"] is True and rec["owner"] == "alice"  # the edit is not dropped either


def test_add_add(repo: Path) -> None:
    edit(
        repo,
        "main",
        "alice",
        lambda s: s.put("tasks", {"id": "T-9", "title": "from main", "owner": "alice"}),
    )
    edit(
        repo,
        "other",
        "bob",
        lambda s: s.put("tasks", {"id": "T-9", "title": "from other", "status": "doing"}),
    )
    res = merge(repo, "main", "other")
    # Two records created with one id are never fused: what differs is a conflict, and theirs'
    # values wait in the conflicts: block (test_merge_rules.py has the rest of this rule).
    assert res.returncode == 1, res.stdout + res.stderr
    rec = Store.open(repo).get("tasks", "T-9")
    assert rec["title"] == "from main" and rec["owner"] == "alice" and "status" not in rec
    assert rec["conflicts"]["title"] == {"ours": "from main", "theirs": "from other"}
    assert rec["conflicts"]["status"] == {"theirs": "doing"}


def test_adjacent_roadmap_statuses(repo: Path) -> None:
    # Statuses kept in adjacent heading lines, edited by hand: git's line merge conflicts.
    compact = "".join(f"### PRIORITY {i}: Item {i} 📝 Planned\n" for i in range(1, 5))
    (repo / "ROADMAP.md").write_text("# Roadmap\n\n" + compact)
    commit_all(repo, "compact roadmap")
    git(repo, "checkout", "-q", "other")
    git(repo, "merge", "-q", "main")

    def heading(i: int, status: str):  # type: ignore[no-untyped-def]
        def change(s: Store) -> None:
            path = s.root / "ROADMAP.md"
            path.write_text(path.read_text().replace(f"Item {i} 📝 Planned", f"Item {i} {status}"))

        return change

    edit(repo, "main", "alice", heading(2, "✅ Complete"))
    edit(repo, "other", "bob", heading(3, "🔄 In Progress"))
    git(repo, "branch", "main-copy", "main")
    text_merge = merge(repo, "main-copy", "other", env={"GITSTORE_MERGE": "0"})
    assert text_merge.returncode == 1 and "CONFLICT" in text_merge.stdout  # git's line merge fails
    git(repo, "merge", "--abort")
    res = merge(repo, "main", "other")
    assert res.returncode == 0, res.stdout + res.stderr
    text = (repo / "ROADMAP.md").read_text()
    assert (
        "Item 2 ✅ Complete" in text and "Item 3 🔄 In Progress" in text and "<<<<<<<" not in text
    )

    # The same through the CLI's status edits, on both sides at once.
    edit(repo, "main", "alice", lambda s: s.roadmap().set_status("1", "in_progress"))
    edit(repo, "other", "bob", lambda s: s.roadmap().set_status("4", "blocked"))
    edit(repo, "other", "bob", lambda s: s.roadmap().set_status("2", "complete"))
    res = merge(repo, "main", "other")
    assert res.returncode == 0, res.stdout + res.stderr
    road = Store.open(repo).roadmap()
    assert [road.get(i)["state"] for i in "1234"] == [
        "in_progress",
        "complete",
        "in_progress",
        "blocked",
    ]


def test_both_append_a_priority(repo: Path) -> None:
    edit(repo, "main", "alice", lambda s: s.roadmap().add("From main"))
    edit(repo, "other", "bob", lambda s: s.roadmap().add("From other", section_id="6"))
    res = merge(repo, "main", "other")
    assert res.returncode == 0, res.stdout + res.stderr
    text = (repo / "ROADMAP.md").read_text()
    assert text.index("PRIORITY 5: From main") < text.index("PRIORITY 6: From other")
    assert [s["id"] for s in Store.open(repo).roadmap().sections()] == [
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
    ]


def test_flag_stops_the_merge_with_a_readable_record(repo: Path) -> None:
    flag_status(repo)
    commit_all(repo, "flag status")
    git(repo, "checkout", "-q", "other")
    git(repo, "merge", "-q", "main")
    edit(repo, "main", "alice", set_fields("tasks", "T-1", status="doing", owner="alice"))
    edit(repo, "other", "bob", set_fields("tasks", "T-1", status="blocked"))
    res = merge(repo, "main", "other")
    assert res.returncode == 1
    assert "UU records/tasks/T-1.yaml" in git(repo, "status", "--porcelain")
    rec = Store.open(repo).get("tasks", "T-1")
    assert rec["status"] == "doing" and rec["owner"] == "alice"
    assert rec["conflicts"] == {"status": {"base": "todo", "ours": "doing", "theirs": "blocked"}}


def test_driver_imports_nothing_heavy(tmp_path: Path) -> None:
    # In a store (its gitstore.yaml read, the result parsed and schema-checked before exit 0),
    # a plain record merge needs no ruamel.yaml: gitstore.plainyaml reads both.
    from gitstore.initialize import init_store

    init_store(tmp_path)
    base, ours, theirs = (tmp_path / n for n in ("o", "a", "b"))
    base.write_text(
        "id: T-1\nversion: 1\nlast_modified: 2026-01-01T00:00:00.000000Z\nmodified_by: x\ntitle: a\n"
    )
    ours.write_text(
        base.read_text().replace("title: a", "title: b").replace("version: 1", "version: 2")
    )
    theirs.write_text(base.read_text() + "owner: c\n")
    code = (
        "import sys; from gitstore.cli import main; rc = main(['merge-driver', *sys.argv[1:]]);"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('typer', 'rich', 'git', 'portalocker', 'pydantic', 'click', 'pathlib', "
        "'dataclasses', 'subprocess', 'ruamel', '_ruamel_yaml', 'typing', 'hashlib', "
        "'threading'));"
        "print(rc, heavy)"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, str(base), str(ours), str(theirs), "records/tasks/T-1.yaml"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert res.stdout.strip() == "0 []", res.stdout + res.stderr
    assert "owner: c" in ours.read_text() and "title: b" in ours.read_text()


START_UP = ("re", "enum", "functools", "collections", "contextlib", "difflib", "datetime")
DATE = "2026-02-03"


@pytest.mark.parametrize(
    ("ours", "theirs", "merged", "loaded"),
    [
        ({"field_9": "ours"}, {"field_3": "theirs"}, {"field_9": "ours", "field_3": "theirs"}, ()),
        (  # a text field both sides edited: its lines merged
            {"notes": "one\ntwo, ours\nthree\n"},
            {"notes": "one\ntwo\nthree, theirs\n"},
            {"notes": "one\ntwo, ours\nthree, theirs\n"},
            (),
        ),
        ({"tags": ["a", "b", "c"]}, {"tags": ["b", "d"]}, {"tags": ["b", "c", "d"]}, ()),
        ({"due": DATE}, {"field_3": "theirs"}, {"due": DATE, "field_3": "theirs"}, ("datetime",)),
        # a conflict: both sides edited one line of the text by hand (no clock moved)
        ({"notes": "one\nours\nthree\n"}, {"notes": "one\ntheirs\nthree\n"}, None, ()),
    ],
)
def test_the_driver_starts_without_re_or_datetime(
    tmp_path: Path,
    ours: dict[str, object],
    theirs: dict[str, object],
    merged: dict[str, object] | None,
    loaded: tuple[str, ...],
) -> None:
    """The driver process git starts, in a store from ``gitstore init`` (its gitstore.yaml read,
    the id pattern and schema checked), on sides written by Store.update (clocks, stamps) or by
    hand, loads none of the modules that were most of its start-up: re (with the enum, functools
    and collections it brings), contextlib, difflib, and datetime unless the record holds a
    date. (Against what ``python -P -c pass`` has already: that start-up no driver avoids.)"""
    import datetime as dt

    from gitstore.initialize import DRIVER_CODE, init_store

    init_store(tmp_path)
    store = Store.open(tmp_path)
    fields = {f"field_{i}": f"value {i}" for i in range(10)}
    first = {"id": "T-1", "title": "t", "notes": "one\ntwo\nthree\n", "tags": ["a", "b"]}
    store.put("tasks", first | fields)
    path = store.path_of("tasks", "T-1")
    base = path.read_text()
    sides = []
    for change in (ours, theirs):
        if merged is None:  # by hand
            sides.append(base.replace("  two\n", "  " + str(change["notes"]).split("\n")[1] + "\n"))
            continue
        path.write_text(base)
        store._parsed.clear()
        with store.update("tasks", "T-1") as rec:
            for key, value in change.items():
                rec[key] = dt.date.fromisoformat(value) if value == DATE else value  # type: ignore[arg-type]
        sides.append(path.read_text())
    names = []
    for name, text in zip("OAB", (base, *sides), strict=True):
        (tmp_path / name).write_text(text)
        names.append(str(tmp_path / name))
    report = f"; print(rc, sorted(m for m in {START_UP!r} if m in sys.modules))"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

    def run(code: str, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-P", "-c", code + report, *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
        )
        return done.stdout.strip() + done.stderr

    assert run("import sys; rc = 0") == "0 []"  # else this interpreter's start-up hides the test
    driver = DRIVER_CODE.replace("sys.exit(main(sys.argv[1:]))", "rc = main(sys.argv[1:])")
    assert driver != DRIVER_CODE
    code = 0 if merged is not None else 1
    assert run(driver, *names, "records/tasks/T-1.yaml").startswith(f"{code} {sorted(loaded)}")
    result = loads((tmp_path / "A").read_text())
    if merged is None:
        assert result["conflicts"]["notes"]["ours"] == "one\nours\nthree\n"
    else:
        expected = {k: dt.date.fromisoformat(v) if v == DATE else v for k, v in merged.items()}
        assert {k: result[k] for k in merged} == expected


def test_install_keeps_a_foreign_driver_and_is_idempotent(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    git(root, "init", "-q")
    git(root, "config", "merge.gitstore.driver", "my-own-driver %O %A %B")
    res = subprocess.run(
        [sys.executable, "-m", "gitstore", "init"], cwd=root, capture_output=True, text=True
    )
    assert res.returncode == 0 and "warning: merge.gitstore.driver is set to" in res.stdout
    assert git(root, "config", "--get", "merge.gitstore.driver").strip() == "my-own-driver %O %A %B"
    git(root, "config", "--unset", "merge.gitstore.driver")
    first = subprocess.run(
        [sys.executable, "-m", "gitstore", "install"], cwd=root, capture_output=True, text=True
    )
    assert "registered the gitstore merge driver" in first.stdout
    attributes = (root / ".gitattributes").read_text()
    assert (
        "ROADMAP.md merge=gitstore\n" in attributes
        and "records/tasks/*.yaml merge=gitstore\n" in attributes
    )
    again = subprocess.run(
        [sys.executable, "-m", "gitstore", "install"], cwd=root, capture_output=True, text=True
    )
    assert again.stdout.strip() == "already installed"
    assert (root / ".gitattributes").read_text() == attributes


@pytest.mark.parametrize("direction", ["main<-other", "other<-main"])
def test_the_later_edit_of_a_field_wins_by_its_own_clock(repo: Path, direction: str) -> None:
    # main sets owner first, other sets owner later, then main edits another field: by the
    # record's clock main is later, but other's owner edit is the later edit of owner.
    edit(repo, "main", "alice", set_fields("tasks", "T-1", owner="alice"))
    edit(repo, "other", "bob", set_fields("tasks", "T-1", owner="bob"))
    edit(repo, "main", "alice", set_fields("tasks", "T-1", status="doing"))
    into, other = direction.split("<-")
    res = merge(repo, into, other)
    assert res.returncode == 0, res.stdout + res.stderr
    rec = Store.open(repo).get("tasks", "T-1")
    assert rec["owner"] == "bob" and rec["status"] == "doing"
    assert set(rec["clocks"]) == {"owner", "status"}


def test_a_clean_line_merge_that_does_not_parse_is_left_as_a_conflict(repo: Path) -> None:
    # A side that looks like key: value lines but does not parse (say, from a remote where no
    # hook ran): git's line merge of it is clean, and would be committed as a broken record.
    edit(repo, "main", "alice", set_fields("tasks", "T-1", status="doing"))
    git(repo, "checkout", "-q", "other")
    path = repo / "records/tasks/T-1.yaml"
    text = path.read_text()  # a line away from main's edits, so the line merge is clean
    path.write_text(text.replace("tags: [daemon]\n", 'tags: [daemon]\nowner: "unterminated\n'))
    git(repo, "commit", "-qam", "broken", "--no-verify")
    res = merge(repo, "main", "other")
    assert res.returncode == 1, res.stdout + res.stderr
    assert "UU records/tasks/T-1.yaml" in git(repo, "status", "--porcelain")
    assert "records/tasks/T-1.yaml: the merged record does not parse" in res.stderr
    assert "git's line merge is clean" in res.stderr
    text = path.read_text()
    assert "status: doing\n" in text and 'owner: "unterminated\n' in text  # no text lost


def test_leftover_markers_in_the_roadmap_are_not_merged_clean(repo: Path) -> None:
    git(repo, "checkout", "-q", "other")
    road = repo / "ROADMAP.md"
    road.write_text(
        road.read_text().replace(
            "### PRIORITY 1: Item 1\n**Status**: 📝 Planned\n",
            "### PRIORITY 1: Item 1\n**Status**: 📝 Planned\n<<<<<<< a\nx\n=======\ny\n>>>>>>> b\n",
        )
    )
    git(repo, "commit", "-qam", "markers", "--no-verify")
    edit(repo, "main", "alice", lambda s: s.roadmap().set_status("3", "complete"))
    res = merge(repo, "main", "other")
    assert res.returncode == 1, res.stdout + res.stderr
    assert "ROADMAP.md: the merged text holds 1 block(s) of conflict markers" in res.stderr
    assert "UU ROADMAP.md" in git(repo, "status", "--porcelain")


def test_the_driver_never_imports_a_committed_gitstore_folder(repo: Path) -> None:
    # The driver is `python -P -c 'from gitstore.merge.driver import main ...'`: git runs it at
    # the top of the work tree, where a commit could have put a gitstore/ package.
    from gitstore.initialize import driver_command

    command = driver_command()
    assert " -P -c " in command
    git(repo, "config", "merge.gitstore.driver", command)
    edit(repo, "other", "them", set_fields("tasks", "T-1", title="theirs"))
    git(repo, "checkout", "-q", "main")
    evil = repo / "gitstore"
    evil.mkdir()
    for name in ("__init__.py", "__main__.py"):
        (evil / name).write_text("open('PWNED', 'w').close()\n")
    edit(repo, "main", "us", set_fields("tasks", "T-1", status="doing"))
    assert merge(repo, "main", "other").returncode == 0
    assert not (repo / "PWNED").exists()
    merged = loads((repo / "records/tasks/T-1.yaml").read_text())
    assert (merged["title"], merged["status"]) == ("theirs", "doing")
