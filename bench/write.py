"""Write-path benchmark: Store.update vs a bare durable replace, throughput, CLI start-up.

Run: python bench/write.py [--seconds 2]. Prints figures; asserts nothing (docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gitstore import Store, fs
from gitstore.initialize import init_store

FIELDS = {f"field_{i}": f"value number {i}" for i in range(15)}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def make_store(root: Path, records: int = 16) -> Store:
    init_store(root)
    store = Store.open(root)
    for i in range(1, records + 1):
        store.put(
            "tasks", {"id": f"T-{i}", "title": "bench", "status": "todo", "count": 0} | FIELDS
        )
    return store


def single_latency(store: Store, n: int) -> None:
    path = store.path_of("tasks", "T-1")
    data = path.read_bytes()
    bare, warm, cold = [], [], []
    for _ in range(n):
        t = time.perf_counter()
        fs.atomic_write(path.with_name("bare.yaml"), data)
        bare.append(time.perf_counter() - t)
        for samples, forget in ((warm, False), (cold, True)):
            if forget:  # as if another process wrote last: the record must be parsed
                store._parsed.clear()
            t = time.perf_counter()
            with store.update("tasks", "T-1") as rec:
                rec["count"] = rec["count"] + 1
            samples.append(time.perf_counter() - t)
    b = statistics.median(bare)
    print(
        f"bare durable replace, same bytes:  median {b * 1e3:.2f} ms, p99 {pct(bare, 0.99) * 1e3:.2f} ms"
    )
    for label, samples, goal in (
        ("warm (this process wrote last)", warm, "1.5"),
        ("cold (parsed from disk)", cold, "2"),
    ):
        u = statistics.median(samples)
        print(
            f"Store.update, {label}: median {u * 1e3:.2f} ms, p99 {pct(samples, 0.99) * 1e3:.2f} ms,"
            f" ratio {u / b:.2f}x (goal <= {goal}x)"
        )
    path.with_name("bare.yaml").unlink()


def worker(root: str, record: str, seconds: float) -> None:
    store = Store.open(root)
    lat = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.perf_counter()
        with store.update("tasks", record) as rec:
            rec["count"] = rec["count"] + 1
        lat.append(time.perf_counter() - t)
    print(json.dumps(lat))


def bare_worker(root: str, record: str, seconds: float) -> None:
    """The baseline: a bare locked read-modify-write of the same file with the same durability
    (flock on a sidecar, read, change one line, temp + fsync + rename + directory fsync)."""
    import fcntl

    path = Path(root) / "records" / "tasks" / f"{record}.yaml"
    lock = os.open(f"{path}.bare-lock", os.O_RDWR | os.O_CREAT, 0o644)
    lat = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.perf_counter()
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            lines = path.read_text().splitlines(keepends=True)
            at = next(i for i, line in enumerate(lines) if line.startswith("count: "))
            lines[at] = f"count: {int(lines[at][7:]) + 1}\n"
            fs.atomic_write(path, "".join(lines).encode())
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
        lat.append(time.perf_counter() - t)
    print(json.dumps(lat))


def _run(root: Path, mode: str, procs: int, distinct: bool, seconds: float) -> tuple[float, float]:
    cmds = [
        [sys.executable, __file__, mode, str(root), f"T-{i + 1 if distinct else 1}", str(seconds)]
        for i in range(procs)
    ]
    running = [subprocess.Popen(c, stdout=subprocess.PIPE, text=True) for c in cmds]
    lats = [v for p in running for v in json.loads(p.communicate()[0])]
    return len(lats) / seconds, pct(lats, 0.99) * 1e3


def throughput(root: Path, seconds: float) -> None:
    print(
        f"\nupdates/s ({seconds:g} s per run; 2 cores; goal: 8 on one record >= 0.8x bare flock):"
    )
    print(
        f"{'procs':>5} {'one record':>12} {'p99 ms':>8} {'bare flock':>11} {'p99 ms':>8} "
        f"{'ratio':>6} {'distinct':>10} {'p99 ms':>8}"
    )
    for procs in (1, 2, 4, 8, 16):
        one, one_p99 = _run(root, "--worker", procs, False, seconds)
        bare, bare_p99 = _run(root, "--bare-worker", procs, False, seconds)
        spread, spread_p99 = _run(root, "--worker", procs, True, seconds)
        print(
            f"{procs:>5} {one:>12.0f} {one_p99:>8.1f} {bare:>11.0f} {bare_p99:>8.1f} "
            f"{one / bare:>5.2f}x {spread:>10.0f} {spread_p99:>8.1f}"
        )


def cli(root: Path, runs: int) -> None:
    def timed(argv: list[str]) -> float:
        samples = []
        for _ in range(runs):
            t = time.perf_counter()
            subprocess.run(argv, cwd=root, check=True, capture_output=True)
            samples.append(time.perf_counter() - t)
        return statistics.median(samples)

    script = Path(sys.executable).with_name("gitstore")  # what a person runs
    command = [str(script)] if script.exists() else [sys.executable, "-m", "gitstore"]
    base = timed([sys.executable, "-c", "pass"])
    typer = timed([sys.executable, "-c", "import typer"])
    get = timed([*command, "get", "T-2"])
    put = timed([*command, "set", "T-2", "status=doing"])
    print(f"\nCLI, whole process (median of {runs}): python -c pass {base * 1e3:.0f} ms")
    print(f"  python -c 'import typer': {typer * 1e3:.0f} ms (the CLI library's own floor)")
    print(f"  gitstore get: {get * 1e3:.0f} ms (goal < 100 ms)")
    print(f"  gitstore set: {put * 1e3:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--worker", nargs=3)
    parser.add_argument("--bare-worker", nargs=3)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], float(args.worker[2]))
        return
    if args.bare_worker:
        bare_worker(args.bare_worker[0], args.bare_worker[1], float(args.bare_worker[2]))
        return
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        root = Path(tmp) / "store"
        store = make_store(root)
        single_latency(store, args.n)
        throughput(root, args.seconds)
        cli(root, 15)


if __name__ == "__main__":
    main()
