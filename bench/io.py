"""Import and export benchmark: a 10,000-row SQLite table into the store, 10,000 records out.

Run: python bench/io.py [--rows 10000]. Prints figures, each beside a baseline measured in the same
run on the same data (docs/performance.md); asserts nothing.

Baselines: for the import, reading the rows and writing them with json.dump (no durability), and
writing one durable file per row with gitstore's own atomic write (the floor of "a record is a
file"); for the export, json.dump of the records already in memory, sqlite3's iterdump of the
source, and reading every record (the floor every export pays).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gitstore import Store, exporter, fs, importer, readers
from gitstore.initialize import init_store
from gitstore.record import dumps


def make_source(path: Path, rows: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE tasks (id INTEGER PRIMARY KEY, title TEXT, status TEXT, priority INTEGER, "
        "tags TEXT, notes TEXT, due TEXT)"
    )
    states = ("todo", "doing", "done", "blocked")
    conn.executemany(
        "INSERT INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                i,
                f"Task number {i}",
                states[i % 4],
                i % 5,
                json.dumps(["daemon", f"p{i % 3}"]),
                f"Some notes for task {i}\nsecond line",
                f"2026-12-{1 + i % 28:02d}",
            )
            for i in range(1, rows + 1)
        ],
    )
    conn.commit()
    conn.close()


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def row(label: str, seconds: float, base: float | None = None, n: int | None = None) -> None:
    ratio = f"{seconds / base:7.1f}x" if base else "       "
    rate = f"{n / seconds:9.0f}/s" if n else ""
    print(f"  {label:62} {seconds * 1e3:9.0f} ms {ratio} {rate}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    n = parser.parse_args().rows
    work = Path(tempfile.mkdtemp(prefix="bench-io-"))
    source = work / "source.db"
    make_source(source, n)
    mapping = importer.Mapping(id_template="T-{}")

    print(f"import of a {n:,}-row SQLite table (work folder {work})")

    def plain_json() -> None:
        conn = sqlite3.connect(source)
        conn.row_factory = sqlite3.Row
        data = [dict(r) for r in conn.execute("SELECT * FROM tasks")]
        with open(work / "plain.json", "w") as out:
            json.dump(data, out)

    base_json, _ = timed(plain_json)
    row("baseline: read the rows, json.dump to one file", base_json)
    files = work / "files"
    files.mkdir()

    def durable_files() -> None:
        conn = sqlite3.connect(source)
        conn.row_factory = sqlite3.Row
        for r in conn.execute("SELECT * FROM tasks"):
            fs.atomic_write(files / f"T-{r['id']}.yaml", dumps(dict(r)).encode())

    base_files, _ = timed(durable_files)
    row("baseline: one durable file per row (fs.atomic_write)", base_files, base_json, n)

    root = work / "store"
    init_store(root)
    store = Store.open(root)
    t_read, src = timed(lambda: readers.read_sqlite(str(source), "tasks"))
    t_conv, records = timed(lambda: importer.to_records(src, store.collection("tasks"), mapping))
    t_apply, results = timed(lambda: importer.apply(store, [("tasks", src, records)]))
    assert len(results[0]["added"]) == n
    total = t_read + t_conv + t_apply
    row("gitstore import: read the table (read-only)", t_read)
    row("gitstore import: convert and type every value", t_conv)
    row("gitstore import: stamp, validate, write (one transaction)", t_apply)
    row("gitstore import, whole", total, base_json, n)
    print(f"  {'':62} {'':9}    {total / base_files:7.1f}x the durable-files baseline")
    again = Store.open(root)
    t_again, results = timed(
        lambda: importer.apply(
            again,
            [("tasks", src, importer.to_records(src, again.collection("tasks"), mapping))],
        )
    )
    assert len(results[0]["unchanged"]) == n
    row("gitstore import again, nothing changed (fresh process cache)", t_again, base_json, n)

    print(f"\nexport of {n:,} records")
    # a fresh Store: nothing cached in the process; the first Store.find also builds the query
    # index (one parse of every file), which the exports below then read instead of the files
    fresh = Store.open(root)
    t_find, recs = timed(lambda: exporter.records(fresh, "tasks"))
    row("baseline: read and parse every record (Store.find, builds the index)", t_find)

    def dump_json() -> None:
        with open(work / "records.json", "w") as out:
            json.dump(exporter.jsonable(recs), out)

    t_dump, _ = timed(dump_json)
    row("baseline: json.dump of the records in memory", t_dump)

    def iterdump() -> None:
        conn = sqlite3.connect(source)
        (work / "dump.sql").write_text("\n".join(conn.iterdump()))

    t_iterdump, _ = timed(iterdump)
    row("baseline: sqlite3 .dump (iterdump) of the source table", t_iterdump)
    for fmt in ("json", "jsonl", "csv"):
        cold = Store.open(root)
        t, data = timed(lambda fmt=fmt, cold=cold: exporter.render(cold, "tasks", fmt))
        (work / f"export.{fmt}").write_bytes(data)
        row(f"gitstore export {fmt} (includes reading every record)", t, t_find, n)
    db = work / "dashboard.db"
    t_db, stats = timed(lambda: exporter.to_sqlite(Store.open(root), db))
    assert stats["tasks"]["inserted"] == n
    row("gitstore export sqlite, new file", t_db, t_find, n)
    t_same, stats = timed(lambda: exporter.to_sqlite(Store.open(root), db))
    assert stats["tasks"]["unchanged"] == n
    row("gitstore export sqlite again, nothing changed", t_same, t_find, n)
    for i in range(1, 101):
        with store.update("tasks", f"T-{i}") as rec:
            rec["owner"] = "bench"
    t_inc, stats = timed(lambda: exporter.to_sqlite(Store.open(root), db))
    assert stats["tasks"]["updated"] == 100
    row("gitstore export sqlite again, 100 records changed", t_inc, t_find, n)


if __name__ == "__main__":
    main()
