"""Sync benchmark: a `gitstore sync` that brings in N changed records from the remote, next to a
plain `git pull` of the same history with git's text merge. Run: python bench/sync.py [--records N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gitstore import Store
from gitstore.initialize import init_store

ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "b",
    "GIT_AUTHOR_EMAIL": "b@x",
    "GIT_COMMITTER_NAME": "b",
    "GIT_COMMITTER_EMAIL": "b@x",
}


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=ENV)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        base = Path(tmp)
        origin = base / "origin"
        init_store(origin)
        store = Store.open(origin)
        for i in range(1, args.records + 1):
            store.put("tasks", {"id": f"T-{i}", "title": f"task {i}", "status": "todo"})
        git(origin, "add", "-A")
        git(origin, "commit", "-qm", "base", "--no-verify")
        git(base, "clone", "-q", "--bare", str(origin), str(base / "remote.git"))
        for name in ("mine", "pull"):
            git(base, "clone", "-q", str(base / "remote.git"), str(base / name))
        subprocess.run(
            [sys.executable, "-m", "gitstore", "install"],
            cwd=base / "mine",
            check=True,
            capture_output=True,
            env=ENV,
        )
        # A teammate changes every record and pushes.
        git(base, "clone", "-q", str(base / "remote.git"), str(base / "teammate"))
        mate = Store.open(base / "teammate", actor="mate")
        for i in range(1, args.records + 1):
            with mate.update("tasks", f"T-{i}") as rec:
                rec["status"] = "doing"
        git(base / "teammate", "commit", "-qam", "teammate", "--no-verify")
        git(base / "teammate", "push", "-q", "origin", "HEAD")
        # Both clones have one local commit of their own (a different record), so both merge.
        for name in ("mine", "pull"):
            local = Store.open(base / name, actor=name)
            local.put(
                "notifications", {"id": "N-1" if name == "mine" else "N-2", "message": "local"}
            )
            git(base / name, "add", "-A")
            git(base / name, "commit", "-qm", "local", "--no-verify")
        t = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "gitstore", "sync", "--json"],
            cwd=base / "mine",
            capture_output=True,
            text=True,
            env=ENV,
        )
        sync_time = time.perf_counter() - t
        t = time.perf_counter()
        pulled = subprocess.run(
            ["git", "pull", "-q", "--no-rebase", "--no-edit"],
            cwd=base / "pull",
            capture_output=True,
            env=ENV,
        )
        pull_time = time.perf_counter() - t
        try:
            report = json.loads(done.stdout)
            said = (
                f"records in {len(report['records_in'])}, out {len(report['records_out'])}, "
                f"conflicts {len(report['conflicts'])}"
            )
        except (ValueError, KeyError, TypeError):
            said = " ".join((done.stdout + done.stderr).split())[:300]
        print(
            f"gitstore sync bringing in {args.records} changed records (and pushing 1): "
            f"{sync_time:.2f} s, exit {done.returncode} ({said})"
        )
        print(
            f"git pull of the same history (text merge): {pull_time:.2f} s, exit {pulled.returncode}"
            f" {pulled.stderr.decode(errors='replace').strip()[:300]}"
        )
        shutil.rmtree(base / "teammate", ignore_errors=True)


if __name__ == "__main__":
    main()
