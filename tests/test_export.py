"""``gitstore export``: JSON, JSON Lines, CSV, and SQLite with typed columns, re-exported
incrementally."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3
from pathlib import Path

from gitstore import Store
from gitstore.exporter import to_sqlite
from tests.conftest import gitstore


def fill(store: Store) -> None:
    store.put(
        "tasks",
        {
            "id": "T-1",
            "title": "One",
            "status": "doing",
            "priority": 2,
            "tags": ["a", "b"],
            "due": dt.date(2026, 12, 1),
            "notes": "two\nlines\n",
            "meta": {"k": 1},
            "score": 1.5,
            "flag": True,
        },
    )
    store.put("tasks", {"id": "T-2", "title": "Two"})
    store.put("tasks", {"id": "T-3", "title": "Gone"})
    store.delete("tasks", "T-3")
    store.put("notifications", {"id": "N-1", "message": "hello", "level": "info"})


def test_json_jsonl_and_csv(store: Store, store_dir: Path, tmp_path: Path) -> None:
    fill(store)
    res = gitstore("export", "--format", "json", "-c", "tasks", cwd=store_dir)
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert [r["id"] for r in rows] == ["T-1", "T-2"]  # no tombstone
    assert (
        rows[0]["due"] == "2026-12-01" and rows[0]["meta"] == {"k": 1} and rows[0]["version"] == 1
    )
    assert "clocks" not in rows[0]
    lines = gitstore(
        "export", "--format", "jsonl", "-c", "tasks", "--include-deleted", cwd=store_dir
    )
    assert [json.loads(line)["id"] for line in lines.stdout.splitlines()] == ["T-1", "T-2", "T-3"]
    out = tmp_path / "tasks.csv"
    res = gitstore("export", "-o", str(out), "-c", "tasks", cwd=store_dir)
    assert res.returncode == 0 and f"exported tasks to {out}" in res.stdout
    table = list(csv.DictReader(io.StringIO(out.read_text(), newline="")))
    assert table[0]["tags"] == '["a", "b"]' and table[0]["flag"] == "true"
    assert table[0]["notes"] == "two\nlines\n" and table[1]["priority"] == ""
    assert list(table[0])[:5] == ["id", "version", "last_modified", "modified_by", "title"]


def test_several_collections_go_to_a_folder(store: Store, store_dir: Path, tmp_path: Path) -> None:
    fill(store)
    res = gitstore("export", "--format", "json", cwd=store_dir)
    assert res.returncode == 2 and "holds one collection" in res.stderr
    folder = tmp_path / "out"
    folder.mkdir()
    res = gitstore("export", "--format", "jsonl", "-o", str(folder), "--json", cwd=store_dir)
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["notifications.jsonl", "tasks.jsonl"]
    res = gitstore("export", "--format", "csv", "-o", "new-folder/", cwd=store_dir)  # docs' form
    assert res.returncode == 0, res.stderr
    made = sorted(p.name for p in (store_dir / "new-folder").iterdir())
    assert made == ["notifications.csv", "tasks.csv"]


def columns(conn: sqlite3.Connection, table: str) -> dict[str, str]:
    return {row[1]: row[2] for row in conn.execute(f'PRAGMA table_info("{table}")')}


def test_sqlite_has_typed_columns_and_the_roadmap(
    store: Store, store_dir: Path, tmp_path: Path
) -> None:
    fill(store)
    db = tmp_path / "dash.db"
    res = gitstore("export", "-o", str(db), "--json", cwd=store_dir)
    assert res.returncode == 0, res.stderr
    stats = json.loads(res.stdout)["tables"]
    assert stats["tasks"]["inserted"] == 2 and stats["roadmap"]["inserted"] == 1
    conn = sqlite3.connect(db)
    types = columns(conn, "tasks")
    assert types["priority"] == "INTEGER" and types["score"] == "REAL" and types["title"] == "TEXT"
    assert types["flag"] == "INTEGER" and types["tags"] == "TEXT" and types["owner"] == "TEXT"
    row = conn.execute(
        "SELECT title, priority, tags, due, flag, meta FROM tasks WHERE id = 'T-1'"
    ).fetchone()
    assert row == ("One", 2, '["a", "b"]', "2026-12-01", 1, '{"k": 1}')
    section = conn.execute("SELECT id, title, status, position FROM roadmap").fetchone()
    assert section == ("1", "Set up the project", "📝 Planned", 1)
    assert conn.execute("SELECT count(*) FROM notifications").fetchone() == (1,)


def test_sqlite_reexport_writes_only_changed_rows(store: Store, tmp_path: Path) -> None:
    for i in range(1, 21):
        store.put("tasks", {"id": f"T-{i}", "title": f"t{i}", "priority": i})
    db = tmp_path / "dash.db"
    assert to_sqlite(store, db)["tasks"]["inserted"] == 20
    again = to_sqlite(store, db)
    assert again["tasks"] == {"inserted": 0, "updated": 0, "deleted": 0, "unchanged": 20}
    with store.update("tasks", "T-3") as rec:
        rec["title"] = "changed"
    store.delete("tasks", "T-4")
    store.put("tasks", {"id": "T-99", "title": "new"})
    conn = sqlite3.connect(db)
    conn.execute("CREATE TEMP TABLE log (id TEXT)")
    conn.close()
    stats = to_sqlite(store, db)["tasks"]
    assert stats == {"inserted": 1, "updated": 1, "deleted": 1, "unchanged": 18}
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT title FROM tasks WHERE id = 'T-3'").fetchone() == ("changed",)
    assert conn.execute("SELECT count(*) FROM tasks WHERE id = 'T-4'").fetchone() == (0,)
    conn.close()
    # A new undeclared field adds a column; a field changing kind rebuilds the table.
    store.put("tasks", {"id": "T-5", "title": "t5", "priority": 5, "size": 3})
    assert to_sqlite(store, db)["tasks"]["updated"] == 1
    assert columns(sqlite3.connect(db), "tasks")["size"] == "INTEGER"
    store.put("tasks", {"id": "T-6", "title": "t6", "priority": 6, "size": "big"})
    assert to_sqlite(store, db)["tasks"]["inserted"] == 20  # rebuilt whole
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT size FROM tasks WHERE id = 'T-6'").fetchone() == ('"big"',)


def test_sqlite_export_refuses_a_foreign_database(
    store: Store, store_dir: Path, tmp_path: Path
) -> None:
    db = tmp_path / "app.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE users (id INTEGER)")
    conn.commit()
    conn.close()
    before = db.read_bytes()
    res = gitstore("export", "-o", str(db), cwd=store_dir)
    assert res.returncode == 2 and "gitstore did not write" in res.stderr
    assert db.read_bytes() == before
    res = gitstore("export", "--format", "sqlite", cwd=store_dir)
    assert res.returncode == 2 and "needs a file" in res.stderr


def test_export_names_a_broken_record(store: Store, store_dir: Path) -> None:
    store.put("tasks", {"id": "T-1", "title": "x"})
    (store_dir / "records/tasks/T-2.yaml").write_text("id: T-2\ntitle: [unclosed\n")
    res = gitstore("export", "--format", "json", "-c", "tasks", cwd=store_dir)
    assert res.returncode == 1 and "records/tasks/T-2.yaml" in res.stderr and res.stdout == ""
    (store_dir / "records/tasks/T-2.yaml").unlink()


def test_export_then_import_the_whole_database(
    store: Store, store_dir: Path, tmp_path: Path
) -> None:
    fill(store)
    db = tmp_path / "dash.db"
    assert gitstore("export", "-o", str(db), cwd=store_dir).returncode == 0
    other = tmp_path / "other"
    assert gitstore("init", str(other), cwd=tmp_path).returncode == 0
    res = gitstore("import", str(db), "--json", cwd=other)
    assert res.returncode == 0, res.stderr
    done = {r["collection"]: r["added"] for r in json.loads(res.stdout)["imports"]}
    assert done == {"notifications": ["N-1"], "tasks": ["T-1", "T-2"]}
    copy = Store.open(other).get("tasks", "T-1")
    original = store.get("tasks", "T-1")
    assert fields(copy) == fields(original)


def fields(record: dict) -> dict:  # type: ignore[type-arg]
    return {
        k: v
        for k, v in record.items()
        if k not in ("version", "last_modified", "modified_by", "clocks")
    }
