"""Worker processes for the notification and watch tests:
``python -m tests.integration.notify_workers KIND ROOT ...``; each prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from gitstore import Store


def notifier(root: str, n: int, me: str) -> None:
    """Write n notifications; print their ids."""
    from gitstore.notifications import notify

    store = Store.open(root, actor=me)
    ids = [notify(store, f"{me} says {i}", source=me)["id"] for i in range(n)]
    print(json.dumps(ids))


def writer(root: str, me: str, records: int, updates: int) -> None:
    """Create my own records and update each ``updates`` times, as fast as I can; print
    ``{id: final version}``."""
    store = Store.open(root, actor=f"w{me}")
    final = {}
    for i in range(records):
        rid = f"T-{me}x{i}"
        store.put("tasks", {"id": rid, "title": f"by {me}"}, expected_version=0)
        for k in range(updates):
            with store.update("tasks", rid) as rec:
                rec["priority"] = k
        final[rid] = rec["version"] if updates else 1
    print(json.dumps(final))


def lockstep(root: str, rid: str, n: int, seen: str) -> None:
    """Write my record n times, each time waiting until the watcher reported the version I
    wrote (the test drops a file ``<seen>/<id>@<version>`` for every line it reads)."""
    store = Store.open(root, actor=rid)
    written = []
    for i in range(n):
        with store.update("tasks", rid, create=True) as rec:
            rec["title"] = f"write {i}"
        written.append(rec["version"])
        flag = Path(seen) / f"{rid}@{rec['version']}"
        deadline = time.monotonic() + 120
        while not flag.exists():
            if time.monotonic() > deadline:
                raise SystemExit(f"the watcher never reported {rid} version {rec['version']}")
            time.sleep(0.002)
    print(json.dumps(written))


if __name__ == "__main__":
    kind, root, *rest = sys.argv[1:]
    if kind == "notifier":
        notifier(root, int(rest[0]), rest[1])
    elif kind == "writer":
        writer(root, rest[0], int(rest[1]), int(rest[2]))
    elif kind == "lockstep":
        lockstep(root, rest[0], int(rest[1]), rest[2])
    else:
        raise SystemExit(f"unknown worker {kind}")
