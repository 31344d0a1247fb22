"""``gitstore import``: typed, validated, matched by id, all or nothing; bad input costs nothing."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from gitstore import Store
from tests.conftest import git, gitstore, snapshot

CSV = (
    "id,title,status,priority,tags,due,extra\n"
    'T-1,First,todo,3,"a,b",2026-01-02,hello\n'
    'T-2,Second,done,,"[""x"", ""y""]",,\n'
)


def run(store_dir: Path, *args: str) -> dict:  # type: ignore[type-arg]
    res = gitstore("import", *args, "--json", cwd=store_dir)
    assert res.returncode == 0, res.stdout + res.stderr
    return json.loads(res.stdout)  # type: ignore[no-any-return]


def legacy_db(path: Path, rows: int = 3) -> Path:
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE todo (todo_id INTEGER PRIMARY KEY, name TEXT, state TEXT, prio INTEGER, "
        "labels TEXT, done INTEGER, score REAL)"
    )
    conn.executemany(
        "INSERT INTO todo VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (i, f"task {i}", "doing" if i % 2 else "todo", i, '["x"]', i % 2, i / 2)
            for i in range(1, rows + 1)
        ],
    )
    conn.commit()
    conn.close()
    return path


def test_csv_is_typed_by_the_schema_and_rerun_never_duplicates(
    store_dir: Path, tmp_path: Path
) -> None:
    source = tmp_path / "tasks.csv"
    source.write_text(CSV)
    before = snapshot(store_dir)
    dry = run(store_dir, str(source), "-c", "tasks", "--dry-run")
    assert dry["dry_run"] is True and dry["imports"][0]["added"] == ["T-1", "T-2"]
    assert snapshot(store_dir) == before  # a dry run writes nothing
    done = run(store_dir, str(source), "-c", "tasks")
    assert done["imports"][0]["added"] == ["T-1", "T-2"]
    store = Store.open(store_dir)
    first = store.get("tasks", "T-1")
    assert first["priority"] == 3 and first["tags"] == ["a", "b"] and first["extra"] == "hello"
    assert str(first["due"]) == "2026-01-02" and first["version"] == 1
    assert store.get("tasks", "T-2")["tags"] == ["x", "y"] and "priority" not in store.get(
        "tasks", "T-2"
    )
    again = run(store_dir, str(source), "-c", "tasks")
    assert again["imports"][0]["unchanged"] == ["T-1", "T-2"] and not again["imports"][0]["added"]
    source.write_text(CSV.replace("First,todo", "First,doing") + "T-3,Third,todo,,,,\n")
    third = run(store_dir, str(source), "-c", "tasks")["imports"][0]
    assert (third["added"], third["updated"], third["unchanged"]) == (["T-3"], ["T-1"], ["T-2"])
    assert (
        store.get("tasks", "T-1")["status"] == "doing" and store.get("tasks", "T-1")["version"] == 2
    )
    assert store.ids("tasks") == ["T-1", "T-2", "T-3"]


def test_an_import_keeps_fields_it_does_not_carry_unless_replace(
    store_dir: Path, tmp_path: Path
) -> None:
    store = Store.open(store_dir)
    store.put("tasks", {"id": "T-1", "title": "old", "owner": "alice"})
    source = tmp_path / "t.json"
    source.write_text(json.dumps([{"id": "T-1", "title": "new"}]))
    run(store_dir, str(source), "-c", "tasks")
    assert store.get("tasks", "T-1")["owner"] == "alice"
    run(store_dir, str(source), "-c", "tasks", "--replace")
    assert "owner" not in store.get("tasks", "T-1") and store.get("tasks", "T-1")["title"] == "new"


def test_json_lines_map_type_and_id_template(store_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "t.jsonl"
    source.write_text(
        '{"n": 1, "name": "a", "p": "2", "version": 9}\n\n{"n": 2, "name": "b", "p": 5}\n'
    )
    out = run(
        store_dir,
        str(source),
        "-c",
        "tasks",
        "--id-column",
        "n",
        "--id-template",
        "T-{}",
        "--map",
        "name=title",
        "--map",
        "p=priority",
    )
    assert out["imports"][0]["added"] == ["T-1", "T-2"]
    store = Store.open(store_dir)
    assert store.get("tasks", "T-1")["priority"] == 2  # text read as the declared int
    assert store.get("tasks", "T-1")["version"] == 1  # an input's version is not the store's
    forced = tmp_path / "f.json"
    forced.write_text(json.dumps([{"id": "T-5", "title": "x", "owner": 42, "meta": '{"k": [1]}'}]))
    res = gitstore("import", str(forced), "-c", "tasks", cwd=store_dir)
    assert res.returncode == 1 and "owner: 42 is a number, not text" in res.stderr
    run(store_dir, str(forced), "-c", "tasks", "--type", "owner=str", "--type", "meta=json")
    assert store.get("tasks", "T-5")["owner"] == "42" and store.get("tasks", "T-5")["meta"] == {
        "k": [1]
    }


def test_sqlite_is_read_only_and_mapped(store_dir: Path, tmp_path: Path) -> None:
    db = legacy_db(tmp_path / "legacy.db")
    os.chmod(db, 0o444)
    listing, data = sorted(os.listdir(tmp_path)), db.read_bytes()
    out = run(
        store_dir,
        str(db),
        "--table",
        "todo",
        "-c",
        "tasks",
        "--id-column",
        "todo_id",
        "--id-template",
        "T-{}",
        "--map",
        "name=title",
        "--map",
        "state=status",
        "--map",
        "prio=priority",
        "--map",
        "labels=tags",
        "--type",
        "done=bool",
    )
    assert out["imports"][0]["added"] == ["T-1", "T-2", "T-3"]
    rec = Store.open(store_dir).get("tasks", "T-1")
    assert rec["title"] == "task 1" and rec["status"] == "doing" and rec["priority"] == 1
    assert rec["tags"] == ["x"] and rec["done"] is True and rec["score"] == 0.5
    assert (
        sorted(os.listdir(tmp_path)) == listing and db.read_bytes() == data
    )  # no journal, no write


def test_one_commit_at_the_end(store_dir: Path, tmp_path: Path) -> None:
    git(store_dir, "add", "-A")
    git(store_dir, "commit", "-qm", "base")
    source = tmp_path / "tasks.csv"
    source.write_text(CSV)
    out = run(store_dir, str(source), "-c", "tasks", "--commit")
    assert out["commit"]
    assert git(store_dir, "rev-list", "--count", "HEAD").strip() == "2"
    assert "gitstore import from" in git(store_dir, "log", "-1", "--format=%s")
    assert git(store_dir, "status", "--porcelain", "records") == ""
    again = run(store_dir, str(source), "-c", "tasks", "--commit")
    assert again["commit"] is None  # nothing changed: no empty commit


def test_a_tombstone_is_brought_back_by_an_import(store_dir: Path, tmp_path: Path) -> None:
    store = Store.open(store_dir)
    store.put("tasks", {"id": "T-1", "title": "x"})
    store.delete("tasks", "T-1")
    source = tmp_path / "t.json"
    source.write_text('[{"id": "T-1", "title": "back"}]')
    assert run(store_dir, str(source), "-c", "tasks")["imports"][0]["added"] == ["T-1"]
    assert (
        store.get("tasks", "T-1")["title"] == "back" and store.get("tasks", "T-1")["version"] == 3
    )


BAD = [
    ("dup.csv", "id,title\nT-1,a\nT-2,b\nT-1,c\n", "line 4: duplicate id T-1 (first at line 2)"),
    ("ragged.csv", "id,title\nT-1,a\nT-2,b,extra\n", "line 3: row has 3 cells, the header has 2"),
    ("obj.json", '{"id": "T-1", "title": "a"}', "is a JSON object, not a list of objects"),
    ("nums.json", "[1, 2]", "item 1 is a JSON number, not an object"),
    ("broken.json", '[{"id": "T-1",', "invalid JSON"),
    (
        "type.csv",
        "id,title,priority\nT-1,a,1\nT-2,b,high\n",
        "line 3: priority: 'high' is not an integer",
    ),
    (
        "enum.json",
        '[{"id": "T-1", "title": "a", "status": "bogus"}]',
        "item 1 (id T-1): status: 'bogus' is not one of",
    ),
    ("noid.csv", "key,title\nT-1,a\n", "no id column 'id' (columns: key, title)"),
    ("badid.csv", "id,title\nX-1,a\n", "line 2: bad id 'X-1'"),
    (
        "required.jsonl",
        '{"id": "T-1"}\n{"id": "T-2", "title": "b"}\n',
        "line 1 (id T-1): title: required field is missing",
    ),
    ("empty-id.csv", "id,title\n,a\n", "line 2: no usable id in column 'id'"),
]


@pytest.mark.parametrize(("name", "text", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_one_line_and_writes_nothing(
    store_dir: Path, tmp_path: Path, name: str, text: str, message: str
) -> None:
    source = tmp_path / name
    source.write_text(text)
    before = snapshot(store_dir)
    res = gitstore("import", str(source), "-c", "tasks", cwd=store_dir)
    assert res.returncode != 0 and res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and str(source) in lines[0] and message in lines[0], res.stderr
    assert snapshot(store_dir) == before


def test_a_bad_row_late_in_a_big_file_writes_nothing(store_dir: Path, tmp_path: Path) -> None:
    rows = [{"id": f"T-{i}", "title": f"t{i}"} for i in range(500)]
    rows[450]["status"] = "nope"
    source = tmp_path / "big.json"
    source.write_text(json.dumps(rows))
    before = snapshot(store_dir)
    res = gitstore("import", str(source), "-c", "tasks", "--json", cwd=store_dir)
    assert res.returncode == 1 and "item 451" in json.loads(res.stdout)["error"]["message"]
    assert snapshot(store_dir) == before and Store.open(store_dir).ids("tasks") == []


def test_bad_sqlite_sources(store_dir: Path, tmp_path: Path) -> None:
    db = legacy_db(tmp_path / "legacy.db")
    before = snapshot(store_dir)
    cases = [
        (("--table", "todo"), "no id column 'id' (columns: todo_id, name"),
        (("--table", "nope"), "has no table 'nope' (tables: todo)"),
        (
            ("--table", "todo", "--id-column", "todo_id", "--map", "ghost=x"),
            "--map names no column of it: ghost",
        ),
    ]
    for args, message in cases:
        res = gitstore("import", str(db), "-c", "tasks", *args, cwd=store_dir)
        assert res.returncode != 0 and message in res.stderr and str(db) in res.stderr, res.stderr
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE blobs (id TEXT, title TEXT, data BLOB)")
    conn.execute("INSERT INTO blobs VALUES ('T-1', 'a', x'00ff')")
    conn.commit()
    conn.close()
    res = gitstore("import", str(db), "--table", "blobs", "-c", "tasks", cwd=store_dir)
    assert res.returncode == 1 and "column 'data' holds binary data" in res.stderr
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    res = gitstore("import", str(junk), "--table", "t", "-c", "tasks", cwd=store_dir)
    assert res.returncode == 1 and "is not a readable SQLite database" in res.stderr
    assert snapshot(store_dir) == before


def test_input_size_limit_and_special_files(store_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "t.csv"
    source.write_text(CSV)
    res = gitstore("import", str(source), "-c", "tasks", "--max-bytes", "10", cwd=store_dir)
    assert res.returncode == 1 and "over the 10-byte limit" in res.stderr
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    res = gitstore("import", str(fifo), "-c", "tasks", cwd=store_dir)  # must not block
    assert res.returncode == 1 and "not a regular file" in res.stderr
    fifo_db = tmp_path / "pipe.db"
    os.mkfifo(fifo_db)
    res = gitstore("import", str(fifo_db), "--table", "t", "-c", "tasks", cwd=store_dir)
    assert res.returncode == 1 and "not a regular file" in res.stderr


def test_usage_errors(store_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "t.txt"
    source.write_text("x")
    res = gitstore("import", str(source), "-c", "tasks", cwd=store_dir)
    assert res.returncode == 2 and "--format" in res.stderr
    res = gitstore("import", str(source), "--format", "csv", cwd=store_dir)
    assert res.returncode == 2 and "--collection" in res.stderr
    res = gitstore(
        "import", str(source), "--format", "csv", "-c", "tasks", "--type", "x=blob", cwd=store_dir
    )
    assert res.returncode == 2 and "the types are" in res.stderr
    res = gitstore("import", str(tmp_path / "missing.csv"), "-c", "tasks", cwd=store_dir)
    assert res.returncode == 2 and "no such file" in res.stderr


def test_stdin_and_no_progress_bar_in_a_pipe(store_dir: Path) -> None:
    res = gitstore("import", "-", "--format", "csv", "-c", "tasks", input=CSV, cwd=store_dir)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    assert "added: 2 (T-1, T-2)" in res.stdout


def test_the_progress_bar_is_drawn_on_a_terminal(store_dir: Path, tmp_path: Path) -> None:
    import pty
    import subprocess
    import sys

    source = tmp_path / "t.json"
    source.write_text(json.dumps([{"id": f"T-{i}", "title": "x"} for i in range(300)]))
    leader, follower = pty.openpty()
    done = subprocess.run(
        [sys.executable, "-m", "gitstore", "import", str(source), "-c", "tasks"],
        cwd=store_dir,
        stdout=subprocess.PIPE,
        stderr=follower,
        timeout=120,
        check=False,
    )
    os.close(follower)
    drawn = b""
    try:
        while chunk := os.read(leader, 65536):
            drawn += chunk
    except OSError:
        pass
    os.close(leader)
    assert done.returncode == 0 and b"added: 300" in done.stdout
    assert b"importing" in drawn  # on the terminal's stderr, never on stdout
    assert b"importing" not in done.stdout


def test_a_big_import_whose_disk_fills_midway_writes_nothing(
    store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Big transactions write their files from several threads; a failure still costs nothing."""
    import errno
    import threading

    from gitstore import fs, importer, readers, transaction

    rows = [{"id": f"T-{i}", "title": f"t{i}"} for i in range(transaction.PARALLEL_FROM + 16)]
    source_path = tmp_path / "big.json"
    source_path.write_text(json.dumps(rows))
    store = Store.open(store_dir)
    source = readers.read_json(str(source_path))
    records = importer.to_records(source, store.collection("tasks"), importer.Mapping())
    before = snapshot(store_dir)
    count, lock = [0], threading.Lock()

    def full(step: str, path: str) -> None:
        if step == "fsync" and ".gitstore-tmp-" in path:
            with lock:
                count[0] += 1
                if count[0] == 40:
                    raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fs, "fault_hook", full)
    with pytest.raises(Exception, match="No space left on device"):
        importer.apply(store, [("tasks", source, records)])
    monkeypatch.setattr(fs, "fault_hook", None)
    assert snapshot(store_dir) == before and store.stray_temps() == []
    importer.apply(store, [("tasks", source, records)])
    assert len(store.ids("tasks")) == len(rows)
