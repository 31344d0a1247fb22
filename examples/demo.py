"""The two-minute tour: a store in a temp folder, edited from the CLI while a second process
hammers the same record, with nothing lost; a roadmap edited section by section; two branches
that both changed it merged by git with no human. Run: python examples/demo.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path


def gitstore(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "gitstore", *args], cwd=cwd, capture_output=True, text=True
    )
    shown = " ".join(args)
    print(f"$ gitstore {shown}")
    output = (done.stdout + done.stderr).rstrip()
    if output:
        print(textwrap.indent(output, "  "))
    print(f"  (exit {done.returncode})")
    return done.stdout


# A fresh machine may have no git identity: the demo's commits use their own.
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "demo",
    "GIT_AUTHOR_EMAIL": "demo@example.com",
    "GIT_COMMITTER_NAME": "demo",
    "GIT_COMMITTER_EMAIL": "demo@example.com",
}


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True, env=GIT_ENV
    ).stdout


HAMMER = """
import sys
from gitstore import Store
store = Store.open(sys.argv[1], actor="daemon")
for _ in range(300):
    with store.update("tasks", "T-1") as rec:
        rec["heartbeats"] = rec.get("heartbeats", 0) + 1
"""


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="gitstore-demo-") as tmp:
        root = Path(tmp) / "project"
        gitstore("init", str(root), cwd=Path(tmp))
        gitstore(
            "add", "tasks", "T-1", "title=Fix the notification loop", "tags=daemon,p0", cwd=root
        )
        gitstore("add", "tasks", "T-2", "title=Write the docs", "owner=alice", cwd=root)
        gitstore(
            "add", "tasks", "title=Without an id: a random one, no clone picks it too", cwd=root
        )

        print("\n# a daemon process now updates T-1 300 times while we edit it from the CLI")
        daemon = subprocess.Popen([sys.executable, "-c", HAMMER, str(root)])
        gitstore("set", "T-1", "status=doing", "owner=bob", cwd=root)
        gitstore("set", "T-1", "priority=1", cwd=root)
        gitstore("add", "notifications", "message=T-1 picked up by bob", "about=T-1", cwd=root)
        daemon.wait()

        print("\n# every edit is there: 300 heartbeats and the CLI's fields, one version per write")
        gitstore("get", "T-1", cwd=root)
        gitstore("list", "tasks", cwd=root)

        print("\n# compare-and-swap: a write based on a stale read is refused (exit 4)")
        gitstore("set", "T-1", "status=done", "--if-version", "1", cwd=root)

        print("\n# bad input never touches the file (exit 2 and one line saying why)")
        gitstore("set", "T-1", "status=someday", cwd=root)
        (root / "records/tasks/T-2.yaml").write_text("id: T-2\ntitle: [broken\n")
        gitstore("set", "T-2", "status=done", cwd=root)

        (root / "records/tasks/T-2.yaml").unlink()
        gitstore("add", "tasks", "T-2", "title=Write the docs", cwd=root)

        print("\n# the roadmap is plain markdown; an edit touches only its section")
        gitstore(
            "roadmap", "add", "--title", "Ship the merge driver", "--field", "Owner=alice", cwd=root
        )
        gitstore("roadmap", "list", cwd=root)

        print("\n# two branches edit the same roadmap and the same task; git merges them, no human")
        git(root, "add", "-A")
        git(root, "commit", "-qm", "base")
        git(root, "checkout", "-qb", "teammate")
        gitstore("roadmap", "status", "2", "in_progress", cwd=root)
        gitstore("set", "T-1", "owner=carol", cwd=root)
        git(root, "commit", "-qam", "teammate's edits")
        git(root, "checkout", "-q", "-")
        gitstore("roadmap", "status", "1", "complete", cwd=root)
        gitstore("set", "T-1", "status=done", cwd=root)
        git(root, "commit", "-qam", "my edits")
        print("$ git merge teammate")
        print(textwrap.indent(git(root, "merge", "--no-edit", "teammate").rstrip(), "  "))
        gitstore("roadmap", "list", cwd=root)
        gitstore("get", "T-1", cwd=root)


if __name__ == "__main__":
    main()
