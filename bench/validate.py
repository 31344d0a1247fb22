"""Validation benchmark: a store of N records validated whole, and `--staged` on a commit that
touches 10 of them. Run: python bench/validate.py [--records 10000]. Prints figures only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gitstore.clock import next_clock
from gitstore.initialize import init_store
from gitstore.record import dumps

FIELDS = {f"field_{i}": f"value number {i}" for i in range(15)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000)
    args = parser.parse_args()
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@x",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@x",
    }
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        root = Path(tmp) / "store"
        init_store(root)
        folder = root / "records" / "tasks"
        folder.mkdir(parents=True)
        for i in range(1, args.records + 1):
            data = {
                "id": f"T-{i}",
                "version": 1,
                "last_modified": next_clock(),
                "modified_by": "b",
                "title": f"task {i}",
                "status": "todo",
            } | FIELDS
            (folder / f"T-{i}.yaml").write_text(dumps(data))

        def run(*argv: str) -> float:
            t = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "gitstore", *argv],
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
            )
            assert done.returncode == 0, done.stdout + done.stderr
            return time.perf_counter() - t

        full = run("validate", "--all")
        subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=env)
        subprocess.run(
            ["git", "commit", "-qm", "base", "--no-verify"], cwd=root, check=True, env=env
        )
        for i in range(1, 11):
            path = folder / f"T-{i}.yaml"
            path.write_text(
                path.read_text()
                .replace("status: todo", "status: doing")
                .replace("version: 1", "version: 2")
            )
        subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=env)
        staged = run("validate", "--staged")
        one = run("validate", "records/tasks/T-1.yaml")
        print(f"validate --all, {args.records} records: {full:.2f} s (goal < 3 s)")
        print(
            f"validate --staged, a commit touching 10 records: {staged * 1e3:.0f} ms "
            f"(one file by path: {one * 1e3:.0f} ms)"
        )


if __name__ == "__main__":
    main()
