"""Watch benchmark: latency from a write to its JSON line, and the cost of one idle scan.

Run: python bench/watch.py [--writes 200] [--records 1000]. Prints figures; asserts nothing
(docs/performance.md). Each write starts after a random pause (so writes do not line up with
the scans) and is timed from the moment ``Store.put`` returned to the moment the line of a real
``gitstore watch`` subprocess arrived on its stdout.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from gitstore import Store
from gitstore.initialize import init_store
from gitstore.watch import Watcher


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def make_store(root: Path, records: int) -> Store:
    init_store(root)
    store = Store.open(root)
    for i in range(records):
        store.put("tasks", {"id": f"T-{i}", "title": f"background {i}", "status": "todo"})
    return store


def latency(store: Store, writes: int, interval: float) -> list[float]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gitstore", "watch", "--interval", str(interval)],
        cwd=store.root,
        stdout=subprocess.PIPE,
        text=True,
    )
    arrived: dict[str, float] = {}
    ready = threading.Condition()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            now = time.perf_counter()
            with ready:
                arrived.setdefault(json.loads(line)["id"], now)
                ready.notify_all()

    threading.Thread(target=read, daemon=True).start()

    def wait(rid: str) -> float:
        with ready:
            if not ready.wait_for(lambda: rid in arrived, timeout=60):
                raise SystemExit(f"no line for {rid}")
            return arrived[rid]

    # The watcher reports from its first scan on: write until it has started.
    for k in range(600):
        store.put("tasks", {"id": f"T-probe{k}", "title": "probe"})
        with ready:
            if ready.wait_for(lambda: bool(arrived), timeout=0.1):
                break
    rng = random.Random(1)
    samples = []
    for i in range(writes):
        time.sleep(rng.uniform(0, interval))
        rid = f"T-w{i}"
        store.put("tasks", {"id": rid, "title": "timed"})
        done = time.perf_counter()
        samples.append(wait(rid) - done)
    proc.terminate()
    proc.wait(timeout=30)
    return samples


def idle_scan(store: Store, runs: int = 30) -> list[float]:
    watcher = Watcher(store)
    time.sleep(2.1)  # past the window in which a recent file is read again whatever its stat
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        watcher.poll()
        times.append(time.perf_counter() - t)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--records", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = make_store(Path(tmp) / "store", args.records)
        print(f"store: {args.records} records; {args.writes} timed writes per interval")
        for interval in (0.2, 0.05):
            got = latency(store, args.writes, interval)
            print(
                f"watch --interval {interval}: write -> line median {statistics.median(got) * 1e3:.0f} ms, "
                f"p95 {pct(got, 0.95) * 1e3:.0f} ms, max {max(got) * 1e3:.0f} ms"
            )
        for records in (args.records, 10 * args.records):
            if records != args.records:
                bigger = make_store(Path(tmp) / f"store{records}", records)
            else:
                bigger = Store.open(store.root)
            scans = idle_scan(bigger)
            count = len(bigger.ids("tasks"))
            print(
                f"idle scan of {count} records: median {statistics.median(scans) * 1e3:.1f} ms, "
                f"max {max(scans) * 1e3:.1f} ms"
            )


if __name__ == "__main__":
    main()
