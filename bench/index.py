"""Query index benchmark: `list --where`, `status` and `add` at 1k/10k/100k records, with and
without the index, each next to `git status` in the same run.

Run: python bench/index.py [--sizes 1000,10000,100000] [--runs 5] [--no-slow]. Prints figures
only. Stores are built by writing valid record files directly (as bench/validate.py does) and
committed, so `git status` has a clean tree to look at; 1 record in 100 is `status: doing`.
`--no-slow` skips the runs without the index at 100k (about 30 s and 45 s each).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gitstore.clock import next_clock
from gitstore.initialize import init_store
from gitstore.record import dumps

FIELDS = {f"field_{i}": f"value number {i}" for i in range(15)}
ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "b",
    "GIT_AUTHOR_EMAIL": "b@x",
    "GIT_COMMITTER_NAME": "b",
    "GIT_COMMITTER_EMAIL": "b@x",
    "GITSTORE_USER": "bench",
}
ENV.pop("PYTHONDONTWRITEBYTECODE", None)  # measure as installed: with bytecode caching


def build(root: Path, records: int) -> None:
    init_store(root)
    folder = root / "records" / "tasks"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = next_clock()
    for i in range(1, records + 1):
        data = {
            "id": f"T-{i}",
            "version": 1,
            "last_modified": stamp,
            "modified_by": "b",
            "title": f"task {i}",
            "status": "doing" if i % 100 == 0 else ("done" if i % 3 else "todo"),
        } | FIELDS
        (folder / f"T-{i}.yaml").write_text(dumps(data))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base", "--no-verify")
    # the files are older than the index's racy margin from here on
    time.sleep(0.1)


def at_rest(root: Path) -> None:
    """Wait until git's index file is more than a second old: git's stat times are whole
    seconds, so only then may its index vouch for files (gitstore.index.vouch). A store at
    rest, as between a person's commands; a daemon's writes do not touch git's index."""
    while time.time() < (root / ".git" / "index").stat().st_mtime + 1.1:
        time.sleep(0.05)


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, env=ENV, capture_output=True)


#: The largest resident set (MiB) of any process run under each label: the memory goal.
PEAK: dict[str, float] = {}


def timed(
    root: Path,
    argv: list[str],
    *,
    index: bool = True,
    ok: tuple[int, ...] = (0,),
    label: str = "",
) -> float:
    env = dict(ENV)
    if not index:
        env["GITSTORE_NO_INDEX"] = "1"
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        child = subprocess.Popen(argv, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak memory
        child.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - start
        out.seek(0)
        assert child.returncode in ok, out.read()[-4000:].decode(errors="replace")
    if label:
        PEAK[label] = max(PEAK.get(label, 0.0), usage.ru_maxrss / 1024)  # KiB on Linux
    return elapsed


def median(root: Path, argv: list[str], runs: int, **kw: object) -> float:
    return statistics.median(timed(root, argv, **kw) for _ in range(runs))  # type: ignore[arg-type]


def gitstore(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("gitstore")), *args]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-slow", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    where = gitstore("list", "tasks", "--where", "status=doing")
    status = gitstore("status")
    rows = []
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        for n in sizes:
            root = Path(tmp) / f"store{n}"
            t = time.perf_counter()
            build(root, n)
            built = time.perf_counter() - t
            runs = args.runs
            slow = 1 if n >= 100_000 else 3
            PEAK.clear()
            timed(root, [sys.executable, "-c", "pass"], label="python -c pass")
            git_status = median(root, ["git", "status", "--porcelain"], runs, label="git status")
            first = timed(root, where, label="first use (builds the index)")
            warm = median(root, where, runs, label="list --where, warm")
            cold_status = timed(root, status, label="first status")
            at_rest(root)
            timed(root, status)  # sees the listing whole, now that git's index file is old
            warm_status = median(root, status, runs, label="status, warm")
            skip = args.no_slow and n >= 100_000
            files = None if skip else median(root, where, slow, index=False, label="without index")
            files_status = (
                None if skip else median(root, status, slow, index=False, label="without index")
            )
            adds = [timed(root, gitstore("add", "tasks", "title=x")) for _ in range(runs)]
            add = statistics.median(adds)
            after = timed(root, where)  # the adds changed the folder: a refresh of 5 files
            rows.append((n, built, git_status, first, warm, files, cold_status, warm_status))
            rows[-1] += (files_status, add, after)
            report(rows[-1])
            if n == max(sizes):
                by_matches(root, n, runs)
    print()
    print(
        "| records | git status | list --where (index, warm) | without index | first use |"
        " status (index, warm) | without index | add |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for n, _, gs, first, warm, files, _, ws, fst, add, _ in rows:
        print(
            f"| {n:,} | {gs:.2f} s | {warm:.2f} s ({warm / gs:.1f}×) | {fmt(files)} | "
            f"{first:.1f} s | {ws:.2f} s ({ws / gs:.1f}×) | {fmt(fst)} | {add * 1e3:.0f} ms |"
        )


def by_matches(root: Path, n: int, runs: int) -> None:
    """``list --where`` as the matches grow (1 %, 33 %, 66 % of the records), warm, the output
    as JSON Lines: the time grows far slower than the matches (the listing is the fixed part)."""
    timed(root, gitstore("list", "tasks"))  # the index sees the adds above
    print(f"  list --where by matches ({n} records, --format jsonl, warm):")
    base: tuple[int, float] | None = None
    for value in ("doing", "todo", "done"):
        argv = gitstore("list", "tasks", "--where", f"status={value}", "--format", "jsonl")
        count = (
            len(subprocess.run(argv, cwd=root, env=ENV, capture_output=True).stdout.split(b"\n"))
            - 1
        )
        took = median(root, argv, runs)
        base = base or (count, took)
        print(
            f"    status={value:<6} {count:>6} matches: {took:.3f} s "
            f"({count / base[0]:.0f}x the matches, {took / base[1]:.1f}x the time)"
        )


def fmt(value: float | None) -> str:
    return "skipped" if value is None else f"{value:.2f} s"


def report(row: tuple[object, ...]) -> None:
    n, built, gs, first, warm, files, cold, ws, fst, add, after = row
    print(f"{n} records (built in {built:.0f} s):")
    print(f"  git status --porcelain          {gs:.3f} s")
    print(
        f"  list --where status=doing       warm {warm:.3f} s, first {first:.2f} s, "
        f"without index {fmt(files)}"
    )  # type: ignore[arg-type]
    print(f"  list after 5 adds               {after:.3f} s")
    print(
        f"  status                          warm {ws:.3f} s, first {cold:.2f} s, "
        f"without index {fmt(fst)}"
    )  # type: ignore[arg-type]
    print(f"  add                             {add * 1e3:.0f} ms")
    print("  peak memory (MiB, largest resident set of one process):")
    print("    " + ", ".join(f"{label} {mib:.0f}" for label, mib in PEAK.items()))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
