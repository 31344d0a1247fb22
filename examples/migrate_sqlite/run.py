"""Two SQLite databases consolidated into one gitstore, then exported back to one SQLite file that
a dashboard reads. Run: python examples/migrate_sqlite/run.py [FOLDER]

The daemon kept its tasks in daemon.db (integer ids, a `state` column, tags as JSON text); the
team's tracker kept issues in tracker.db (other column names, labels as a comma list). Both are
imported into the store's `tasks` collection, with id templates so that their ids cannot collide,
and committed; a re-run changes nothing; the export is a dashboard database with typed columns.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "migration",
    "GIT_AUTHOR_EMAIL": "migration@example.com",
    "GIT_COMMITTER_NAME": "migration",
    "GIT_COMMITTER_EMAIL": "migration@example.com",
}


def gitstore(*args: str, cwd: Path) -> str:
    """Run the CLI as a person would, show the command and its output; stop on a failure."""
    print(f"$ gitstore {' '.join(args)}")
    done = subprocess.run(
        [sys.executable, "-m", "gitstore", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=GIT_ENV,
    )
    output = (done.stdout + done.stderr).rstrip()
    if output:
        print(textwrap.indent(output, "  "))
    if done.returncode != 0:
        raise SystemExit(f"failed (exit {done.returncode})")
    return done.stdout


def make_databases(folder: Path) -> tuple[Path, Path]:
    daemon = folder / "daemon.db"
    conn = sqlite3.connect(daemon)
    conn.execute(
        "CREATE TABLE tasks (id INTEGER PRIMARY KEY, title TEXT NOT NULL, state TEXT, "
        "priority INTEGER, tags TEXT, updated_at TEXT)"
    )
    conn.executemany(
        "INSERT INTO tasks VALUES (?, ?, ?, ?, ?, ?)",
        [
            (1, "Fix the notification loop", "doing", 1, '["daemon", "p0"]', "2026-11-20 10:00"),
            (2, "Rotate the API keys", "todo", 2, '["ops"]', "2026-11-21 09:30"),
            (3, "Write the weekly report", "done", 3, "[]", "2026-11-22 16:45"),
        ],
    )
    conn.commit()
    conn.close()
    tracker = folder / "tracker.db"
    conn = sqlite3.connect(tracker)
    conn.execute(
        "CREATE TABLE issues (issue_no INTEGER, summary TEXT, status TEXT, assignee TEXT, "
        "labels TEXT, due TEXT, points REAL)"
    )
    conn.executemany(
        "INSERT INTO issues VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (101, "Dashboard shows stale counts", "todo", "alice", "ui, bug", "2026-12-05", 3.0),
            (102, "Export the roadmap weekly", "blocked", "bob", "reporting", None, 1.5),
        ],
    )
    conn.commit()
    conn.close()
    return daemon, tracker


def main() -> None:
    base = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="migrate-"))
    daemon, tracker = make_databases(base)
    store = base / "planning"
    gitstore("init", str(store), cwd=base)
    subprocess.run(["git", "add", "-A"], cwd=store, check=True, env=GIT_ENV)
    subprocess.run(["git", "commit", "-qm", "Add gitstore"], cwd=store, check=True, env=GIT_ENV)

    daemon_args = [
        str(daemon), "--table", "tasks", "-c", "tasks", "--id-template", "T-d{}",
        "--map", "state=status", "--map", "updated_at=",
    ]  # fmt: skip
    tracker_args = [
        str(tracker), "--table", "issues", "-c", "tasks", "--id-column", "issue_no",
        "--id-template", "T-t{}", "--map", "summary=title", "--map", "assignee=owner",
        "--map", "labels=tags",
    ]  # fmt: skip
    gitstore("import", *daemon_args, "--dry-run", cwd=store)
    gitstore("import", *daemon_args, "--commit", cwd=store)
    gitstore("import", *tracker_args, "--commit", cwd=store)
    again = gitstore("import", *daemon_args, cwd=store)  # a re-run: nothing to change
    assert "unchanged: 3" in again, again

    gitstore("list", "tasks", cwd=store)
    dashboard = base / "dashboard.db"
    gitstore("export", "-o", str(dashboard), cwd=store)
    gitstore("set", "T-d2", "status=done", cwd=store)
    incremental = gitstore("export", "-o", str(dashboard), cwd=store)
    assert "tasks: 0 inserted, 1 updated, 0 deleted, 4 unchanged" in incremental, incremental

    conn = sqlite3.connect(dashboard)
    print(
        "\nThe dashboard's query:  SELECT status, count(*), sum(points) FROM tasks GROUP BY status"
    )
    for status, count, points in conn.execute(
        "SELECT status, count(*), sum(points) FROM tasks GROUP BY status ORDER BY status"
    ):
        print(f"  {status:8} {count}  points={points}")
    owners = dict(conn.execute("SELECT id, owner FROM tasks WHERE owner IS NOT NULL"))
    tags = conn.execute("SELECT tags FROM tasks WHERE id = 'T-t101'").fetchone()[0]
    sections = conn.execute("SELECT count(*) FROM roadmap").fetchone()[0]
    conn.close()
    assert owners == {"T-t101": "alice", "T-t102": "bob"} and tags == '["ui", "bug"]', (
        owners,
        tags,
    )
    print(f"\n5 tasks from 2 databases in one store ({store}),")
    print(f"exported with the roadmap's {sections} section(s) to {dashboard}: done")


if __name__ == "__main__":
    main()
