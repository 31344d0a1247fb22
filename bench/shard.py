"""Sharding: one folder of N record files against the same files spread over subfolders.

Git stores a folder as one tree object, rewritten whole whenever a file in it changes: at 100,000
records one folder's tree is ~4 MB, written again by every commit. Spread over 256 subfolders
(``records/tasks/ab/T-….yaml``) a commit rewrites the root tree and one small subtree instead.
This measures what that costs in practice, in one run and on the same files: `git status` with
nothing changed, one changed record through `git add` + `git commit`, and `gitstore commit` on
the flat layout (the one gitstore writes).

Run: python bench/shard.py [--records 100000] [--runs 5]. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

from gitstore.initialize import init_store

os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # as on a user's machine
ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "b",
    "GIT_AUTHOR_EMAIL": "b@x",
    "GIT_COMMITTER_NAME": "b",
    "GIT_COMMITTER_EMAIL": "b@x",
}
GITSTORE = str(Path(sys.executable).with_name("gitstore"))


def record(i: int, status: str = "todo") -> str:
    return (
        f"id: T-{i}\nversion: 1\nlast_modified: 2026-12-01T00:00:00.000000Z\nmodified_by: bench\n"
        f"title: Task number {i}\nstatus: {status}\nowner: ann\n"
    )


def shard_of(i: int) -> str:
    return f"{zlib.crc32(str(i).encode()) & 0xFF:02x}"


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, env=ENV, check=True, capture_output=True)


def build(root: Path, count: int, sharded: bool) -> None:
    init_store(root)
    folder = root / "records" / "tasks"
    for i in range(1, count + 1):
        where = folder / shard_of(i) if sharded else folder
        where.mkdir(parents=True, exist_ok=True)
        (where / f"T-{i}.yaml").write_text(record(i))
    git(root, "add", "-A")
    git(root, "commit", "--no-verify", "-qm", "base")


def timed(argv: list[str], root: Path) -> float:
    t = time.perf_counter()
    subprocess.run(argv, cwd=root, env=ENV, check=True, capture_output=True)
    return time.perf_counter() - t


def measure(root: Path, count: int, sharded: bool, runs: int) -> dict[str, float]:
    status, commit, tree = [], [], []
    for run in range(runs):
        status.append(timed(["git", "status", "--porcelain"], root))
        i = 1 + (run * 7919) % count
        where = root / "records" / "tasks" / (shard_of(i) if sharded else "")
        (where / f"T-{i}.yaml").write_text(record(i, ("doing", "done", "blocked")[run % 3]))
        t = time.perf_counter()
        git(root, "add", "-A")
        git(root, "commit", "--no-verify", "-qm", f"change {run}")  # git's own cost only
        commit.append(time.perf_counter() - t)
        size = subprocess.run(
            ["git", "cat-file", "-s", "HEAD:records/tasks"],
            cwd=root,
            env=ENV,
            capture_output=True,
            text=True,
            check=True,
        )
        tree.append(float(size.stdout))
    return {
        "status": statistics.median(status),
        "commit": statistics.median(commit),
        "tree": statistics.median(tree),
    }


def gitstore_commit(root: Path, count: int, runs: int) -> float:
    samples = []
    for run in range(runs):
        i = 1 + (run * 104729) % count
        subprocess.run(
            [GITSTORE, "set", f"T-{i}", f"title=changed {run}"],
            cwd=root,
            env=ENV,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        samples.append(timed([GITSTORE, "commit", "-m", f"gitstore change {run}"], root))
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = {}
        for label, sharded in (("one folder", False), ("256 subfolders", True)):
            root = Path(tmp) / label.replace(" ", "-")
            t = time.perf_counter()
            build(root, args.records, sharded)
            built = time.perf_counter() - t
            rows[label] = measure(root, args.records, sharded, args.runs)
            rows[label]["build"] = built
        flat = Path(tmp) / "one-folder"
        store_commit = gitstore_commit(flat, args.records, args.runs)
    print(f"{args.records} records, median of {args.runs}:")
    print(f"{'layout':<16} {'git status':>11} {'add+commit':>11} {'folder tree':>12} {'build':>8}")
    for label, row in rows.items():
        print(
            f"{label:<16} {row['status'] * 1e3:>9.0f} ms {row['commit'] * 1e3:>8.0f} ms "
            f"{row['tree'] / 1024:>9.0f} KiB {row['build']:>6.0f} s"
        )
    flat_row, sharded_row = rows["one folder"], rows["256 subfolders"]
    print(
        f"ratios one folder / subfolders: git status {flat_row['status'] / sharded_row['status']:.2f}x, "
        f"add+commit {flat_row['commit'] / sharded_row['commit']:.2f}x"
    )
    print(f"gitstore commit of one change, one folder: {store_commit * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
