"""Merge benchmark: one file through the driver next to `git merge-file`; a real `git merge` of
two branches that both changed the same N records, with the driver and without; and the bulk
merge (`gitstore merge`) of N two-sided records next to `git merge` with the per-file driver and
with a driver that does nothing (`true`), each from a copy of the same repository, in one run.

Run: python bench/merge.py [--records 1000] [--bulk 1000,5000] [--driver-up-to N]. Prints figures;
asserts nothing. Every merge that commits runs the pre-(merge-)commit hook, which validates the
merged files: the same work for each variant.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gitstore import Store
from gitstore.clock import next_clock
from gitstore.initialize import driver_command, init_store
from gitstore.record import dumps

FIELDS = {f"field_{i}": f"value number {i}" for i in range(15)}
# A user's Python caches bytecode; a shell with PYTHONDONTWRITEBYTECODE=1 would have every
# driver process compile gitstore from source (+20 ms) and measure that instead.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def record(i: int, **changes: str) -> str:
    data = (
        {
            "id": f"T-{i}",
            "version": 1,
            "last_modified": next_clock(),
            "modified_by": "bench",
            "title": "bench",
            "status": "todo",
        }
        | FIELDS
        | changes
    )
    return dumps(data)


def timed(argv: list[str], runs: int, cwd: Path) -> float:
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(argv, cwd=cwd, capture_output=True, check=False)
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def cpu_ms(argv: list[str], cwd: Path) -> float:
    """The CPU time (user + system) one run of ``argv`` used, in ms: unlike wall time, it does
    not grow while the process waits for a core on a busy machine."""
    child = subprocess.Popen(argv, cwd=cwd)
    _, status, usage = os.wait4(child.pid, 0)
    if status:
        raise SystemExit(f"{argv[0]} failed ({status})")
    return (usage.ru_utime + usage.ru_stime) * 1e3


def written_sides() -> tuple[str, str, str]:
    """A 20-field record and two sides as ``Store.update`` writes them, each changing another
    field: later stamps, ``clocks:`` blocks (what a merge of real edits reads)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "s"
        init_store(root)
        store = Store.open(root)
        store.put("tasks", {"id": "T-1", "title": "bench", "status": "todo"} | FIELDS)
        path = store.path_of("tasks", "T-1")
        base = path.read_text()
        sides = []
        for field, value in (("field_9", "ours"), ("field_3", "theirs")):
            path.write_text(base)
            store._parsed.clear()
            with store.update("tasks", "T-1") as rec:
                rec[field] = value
            sides.append(path.read_text())
        return base, sides[0], sides[1]


def one_file(tmp: Path, runs: int) -> None:
    hand = record(1)
    cases = {
        "sides written by Store.update (clocks, stamps)": written_sides(),
        "sides edited by hand (no clocks, equal stamps)": (
            hand,
            hand.replace("field_9: value number 9", "field_9: ours"),
            hand.replace("field_3: value number 3", "field_3: theirs"),
        ),
    }
    python = timed([sys.executable, "-c", "pass"], runs, tmp)
    python_cpu = statistics.median(cpu_ms([sys.executable, "-c", "pass"], tmp) for _ in range(runs))
    print(f"python -c pass {python * 1e3:.1f} ms wall, {python_cpu:.1f} ms CPU (median of {runs})")
    for label, texts in cases.items():
        wall, cpu, git = driver_runs(tmp, texts, "records/tasks/T-1.yaml", runs)
        print(
            f"one 20-field record, {label}: gitstore merge-driver {wall:.1f} ms wall, "
            f"{cpu:.1f} ms CPU (git merge-file {git:.1f} ms; goal < 25 ms)"
        )


def one_roadmap(tmp: Path, runs: int) -> None:
    """The driver on a 29-section ROADMAP.md, each side editing another section."""
    text = "# Roadmap\n\n" + "".join(
        f"### PRIORITY {i}: Item {i}\n**Status**: 📝 Planned\n\nBody {i}.\n\n" for i in range(1, 30)
    )
    sides = (
        text,
        text.replace("Body 3.", "Body 3, ours."),
        text.replace("Body 20.", "Body 20, theirs."),
    )
    wall, cpu, _ = driver_runs(tmp, sides, "ROADMAP.md", runs)
    print(
        f"one 29-section ROADMAP.md (median of {runs}): gitstore merge-driver "
        f"{wall:.1f} ms, CPU {cpu:.1f} ms (goal < 25 ms)"
    )


def driver_runs(tmp: Path, texts: tuple[str, str, str], path: str, runs: int) -> tuple[float, ...]:
    """Median wall and CPU time (ms) of the driver process on base/ours/theirs ``texts``, each
    run on fresh copies, and of ``git merge-file`` on the same files."""
    files = [tmp / name for name in ("O", "A", "B")]

    def reset() -> None:
        for file, text in zip(files, texts, strict=True):
            file.write_text(text)

    reset()
    base, ours, theirs = files
    git = timed(["git", "merge-file", "-p", str(ours), str(base), str(theirs)], runs, tmp)
    command = shlex.split(driver_command().replace("%O %A %B %P", ""))
    argv = [*command, str(base), str(ours), str(theirs), path]
    wall, cpu = [], []
    for _ in range(runs):
        reset()
        t = time.perf_counter()
        subprocess.run(argv, cwd=tmp, check=True)
        wall.append(time.perf_counter() - t)
        reset()
        cpu.append(cpu_ms(argv, tmp))
    return statistics.median(wall) * 1e3, statistics.median(cpu), git * 1e3


ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "b",
    "GIT_AUTHOR_EMAIL": "b@x",
    "GIT_COMMITTER_NAME": "b",
    "GIT_COMMITTER_EMAIL": "b@x",
}


def two_sided(root: Path, count: int) -> None:
    """A store whose branches main and other both changed the same ``count`` records (different
    fields, through the Store: every merge is clean)."""
    init_store(root)
    store = Store.open(root)
    folder = root / "records" / "tasks"
    folder.mkdir(parents=True)
    for i in range(1, count + 1):
        (folder / f"T-{i}.yaml").write_text(record(i))

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env=ENV)

    git("config", "gc.auto", "0")  # no background gc moving objects while copies are made
    git("add", "-A")
    git("commit", "-qm", "base")
    git("checkout", "-qb", "other")
    for i in range(1, count + 1):
        with store.update("tasks", f"T-{i}") as rec:
            rec["field_3"] = "theirs"
    git("commit", "-qam", "theirs")
    git("checkout", "-q", "-")
    for i in range(1, count + 1):
        with store.update("tasks", f"T-{i}") as rec:
            rec["field_9"] = "ours"
    git("commit", "-qam", "ours")


def run_timed(argv: list[str], cwd: Path) -> tuple[float, int]:
    t = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, env=ENV, text=True)
    return time.perf_counter() - t, done.returncode


def cpu_of_children() -> float:
    """User + system time of every finished child and its descendants (it does not grow while a
    process waits for a core: comparable on a busy machine)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def many_files(tmp: Path, count: int) -> None:
    root = tmp / "repo"
    two_sided(root, count)
    text = tmp / "text"
    shutil.copytree(root, text)
    (text / ".git" / "info" / "attributes").write_text("*.yaml merge=text\n")
    merge = ["git", "merge", "--no-edit", "other"]
    tt, tc = run_timed(merge, text)
    dt, dc = run_timed(merge, root)
    print(f"git merge of two branches that changed the same {count} records (different fields):")
    print(f"  text merge:      {tt:.2f} s (exit {tc})")
    print(f"  gitstore driver: {dt:.2f} s (exit {dc}), {dt / count * 1e3:.1f} ms a file")


def bulk(tmp: Path, count: int, with_driver: bool) -> None:
    """gitstore merge vs git merge with the per-file driver vs git merge with driver `true`."""
    root = tmp / f"bulk-{count}"
    two_sided(root, count)
    gitstore = [sys.executable, "-m", "gitstore"]
    runs = [
        ("gitstore merge", [*gitstore, "merge", "other"]),
        ("gitstore merge --no-commit", [*gitstore, "merge", "--no-commit", "other"]),
        (
            "git merge, driver `true`",
            ["git", "-c", "merge.gitstore.driver=true", "merge", "--no-edit", "other"],
        ),
    ]
    if with_driver:
        runs.append(("git merge, per-file driver", ["git", "merge", "--no-edit", "other"]))
    print(f"merge of {count} records both branches changed (different fields), each from a copy:")
    figures = {}
    for label, argv in runs:
        where = tmp / f"copy-{count}"
        shutil.rmtree(where, ignore_errors=True)
        shutil.copytree(root, where)
        cpu = cpu_of_children()
        took, code = run_timed(argv, where)
        cpu = cpu_of_children() - cpu
        figures[label] = took
        extra = ""
        if label == "gitstore merge --no-commit":
            commit, _ = run_timed(["git", "commit", "-q", "--no-edit"], where)
            extra = f" (then git commit with the hook validating {count} files: {commit:.2f} s)"
        print(f"  {label + ':':<30} {took:7.2f} s wall, {cpu:6.2f} s CPU (exit {code}){extra}")
        shutil.rmtree(where)
    base = figures["gitstore merge"]
    for label, took in figures.items():
        if label != "gitstore merge":
            print(f"  {label} / gitstore merge: {took / base:.1f}x")
    shutil.rmtree(root)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--bulk", default="1000,5000", help="record counts for the bulk merge")
    parser.add_argument(
        "--driver-up-to",
        type=int,
        default=5000,
        help="run the per-file driver beside the bulk merge up to this many records",
    )
    parser.add_argument("--only-bulk", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.only_bulk:
            one = Path(tmp) / "one"
            init_store(one)  # the driver reads this store's gitstore.yaml, as in a real merge
            one_file(one, args.runs)
            one_roadmap(one, args.runs)
            many_files(Path(tmp), args.records)
        for count in (int(n) for n in args.bulk.split(",") if n):
            bulk(Path(tmp), count, count <= args.driver_up_to)


if __name__ == "__main__":
    main()
