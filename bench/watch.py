"""Watch benchmark: latency from a write to its JSON line, and what scans cost by store size.

Run: python bench/watch.py [--writes 200] [--records 1000] [--scan-sizes 1000,10000,100000].
Prints figures; asserts nothing (docs/performance.md). Each write starts after a random pause
(so writes do not line up with the scans) and is timed from the moment ``Store.put`` returned to
the moment the line of a real ``gitstore watch`` subprocess arrived on its stdout. The scans are
measured in a watcher process of their own per size: its starting scan (and peak memory), the
full listing made every 2 s, and an idle scan.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from gitstore import Store
from gitstore.initialize import init_store
from gitstore.watch import Watcher

sys.path.insert(0, str(Path(__file__).resolve().parent))
from index import build  # a bench script beside this one


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


def measure(root: Path) -> None:
    """In this process: the watcher's starting scan, a full scan and an idle one, as JSON."""
    watcher_started = time.perf_counter()
    watcher = Watcher(Store.open(root))
    first = time.perf_counter() - watcher_started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    time.sleep(2.1)  # past the window in which a recent file is read again whatever its stat
    full, idle = [], []
    for _ in range(5):
        for listing in watcher.listings:
            listing.checked = -1e9  # due for its full listing (every FULL_SCAN seconds)
        t = time.perf_counter()
        watcher.poll()
        full.append(time.perf_counter() - t)
    for _ in range(30):
        t = time.perf_counter()
        watcher.poll()
        idle.append(time.perf_counter() - t)
    print(json.dumps({"first": first, "peak": peak, "full": full, "idle": idle}))


def scans(root: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--measure", str(root)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--scan-sizes", default="1000,10000,100000")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(Path(args.measure))
        return
    with tempfile.TemporaryDirectory() as tmp:
        store = make_store(Path(tmp) / "store", args.records)
        print(f"store: {args.records} records; {args.writes} timed writes per interval")
        for interval in (0.2, 0.05):
            got = latency(store, args.writes, interval)
            print(
                f"watch --interval {interval}: write -> line median {statistics.median(got) * 1e3:.0f} ms, "
                f"p95 {pct(got, 0.95) * 1e3:.0f} ms, max {max(got) * 1e3:.0f} ms"
            )
        print("scans of a store at rest (a watcher in its own process; full: every 2 s):")
        for records in (int(n) for n in args.scan_sizes.split(",") if n):
            root = Path(tmp) / f"scan{records}"
            build(root, records)
            got = scans(root)
            print(
                f"  {records:>7} records: starting scan {got['first']:.2f} s "
                f"(peak {got['peak']:.0f} MiB), full scan median "
                f"{statistics.median(got['full']) * 1e3:.0f} ms, idle scan median "
                f"{statistics.median(got['idle']) * 1e3:.1f} ms"
            )
            shutil.rmtree(root)


if __name__ == "__main__":
    main()
