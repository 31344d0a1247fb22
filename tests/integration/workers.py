"""Worker processes for the concurrency tests: ``python -m tests.integration.workers KIND ROOT ...``.

Each prints one JSON line with what it did, so the parent can check every acknowledged write.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from gitstore import Store, VersionConflict


def increments(root: str, n: int) -> None:
    store = Store.open(root)
    written = []
    for _ in range(n):
        with store.update("tasks", "T-1") as rec:
            rec["count"] = rec.get("count", 0) + 1
        written.append(rec["version"])
    print(json.dumps(written))


def cli_increments(root: str, n: int) -> None:
    done = conflicts = 0
    while done < n:
        got = subprocess.run(
            [sys.executable, "-m", "gitstore", "-C", root, "get", "T-1", "--json"],
            capture_output=True,
            text=True,
            check=True,
        )
        rec = json.loads(got.stdout)
        res = subprocess.run(
            [
                sys.executable,
                "-m",
                "gitstore",
                "-C",
                root,
                "set",
                "T-1",
                f"count:={rec.get('count', 0) + 1}",
                "--if-version",
                str(rec["version"]),
            ],
            capture_output=True,
            text=True,
        )
        if res.returncode == 0:
            done += 1
        elif res.returncode == 4:
            conflicts += 1
        else:
            raise SystemExit(f"unexpected exit {res.returncode}: {res.stderr}")
    print(json.dumps({"done": done, "conflicts": conflicts}))


def race_put(root: str, start_flag: str, version: int, me: str) -> None:
    store = Store.open(root)
    while not Path(start_flag).exists():
        time.sleep(0.0005)
    try:
        store.put("tasks", {"id": "T-1", "title": me}, expected_version=version)
        print(json.dumps("won"))
    except VersionConflict:
        print(json.dumps("lost"))


def race_add(root: str, start_flag: str, record_id: str) -> None:
    """Add ``notes/<record_id>`` once the flag exists: "won", or "twin" when refused. An id
    given as ``text:<id>`` is written as a person's text instead (``put_text``)."""
    from gitstore.errors import UsageError

    store = Store.open(root)
    as_text = record_id.startswith("text:")
    record_id = record_id.removeprefix("text:")
    while not Path(start_flag).exists():
        time.sleep(0.0005)
    try:
        if as_text:
            store.put_text("notes", record_id, f"id: {record_id}\ntitle: {record_id}\n")
        else:
            store.add("notes", {"title": record_id}, record_id)
        print(json.dumps("won"))
    except UsageError as err:
        print(json.dumps("twin" if "collides with" in str(err) else str(err)))


def writer(root: str, writes: int, me: str) -> None:
    """``writes`` updates of T-1, each a different size; then a ``<me>.done`` flag."""
    store = Store.open(root)
    for n in range(1, writes + 1):
        with store.update("tasks", "T-1") as rec:
            rec["notes"] = (
                "\n".join(f"{me} line {i} of write {n}" for i in range(n % 200 + 1)) + "\n"
            )
    Path(root, f"{me}.done").touch()
    print(json.dumps(writes))


def reader(root: str, least: int, writers: str) -> None:
    """Reads of T-1 until every writer named (comma-separated) is done, and at least ``least``:
    counts, not seconds, so a slow machine only takes longer."""
    from gitstore.errors import GitStoreError

    store = Store.open(root)
    flags = [Path(root, f"{w}.done") for w in writers.split(",")]
    reads = failures = 0
    while reads + failures < least or not all(f.exists() for f in flags):
        try:
            store.get("tasks", "T-1")
            reads += 1
        except GitStoreError:
            failures += 1
    print(json.dumps({"reads": reads, "failures": failures}))


def hold(root: str, seconds: float) -> None:
    store = Store.open(root)
    with store.update("tasks", "T-1") as rec:
        print(json.dumps("holding"), flush=True)
        time.sleep(seconds)
        rec["owner"] = "holder"


def roadmap_edits(root: str, me: int, n: int) -> None:
    """Edit my own section's status and my own field of the shared section, n times each."""
    road = Store.open(root, actor=f"w{me}").roadmap()
    for i in range(1, n + 1):
        road.set_fields(str(me + 1), {"Status": f"step {i}", "Counter": str(i)})
        road.set_fields("100", {f"W{me}": str(i)})
        road.set_status("101", f"set by w{me} at {i}")
        road.sections()  # the file always parses
    print(json.dumps("done"))


def sync_edits(root: str, me: int, n: int) -> None:
    """Random edits on my clone, a sync after every few; print the log of what I wrote."""
    import random

    from gitstore.workflow import sync

    rng = random.Random(me)
    store = Store.open(root, actor=f"clone{me}")
    road = store.roadmap()
    log = []
    for i in range(1, n + 1):
        kind = rng.choice(["field", "field", "tag", "status", "section", "record", "delete"])
        mine = [e[1] for e in log if e[0] == "record"]
        deleted = {e[1] for e in log if e[0] == "delete"}
        if kind == "delete" and not set(mine) - deleted:
            kind = "record"
        if kind == "field":
            rid, key = f"T-{rng.randint(1, 5)}", rng.choice(["status", "owner", "priority"])
            value = {
                "status": rng.choice(["todo", "doing", "done", "blocked"]),
                "owner": f"o{me}-{i}",
                "priority": rng.randint(1, 9),
            }[key]
            with store.update("tasks", rid) as rec:
                rec[key] = value
            log.append(["field", rid, key, value, rec["last_modified"]])
        elif kind == "tag":
            rid = f"T-{rng.randint(1, 5)}"
            with store.update("tasks", rid) as rec:
                rec["tags"] = [*rec.get("tags", []), f"t{me}-{i}"]
            log.append(["tag", rid, f"t{me}-{i}"])
        elif kind == "status":
            sid = str(rng.randint(1, 3))
            road.set_status(sid, rng.choice(["planned", "in_progress", "complete", "blocked"]))
            log.append(["status", sid])
        elif kind == "section":
            sid = str(100 * me + i)
            road.add(f"From clone {me}", section_id=sid)
            log.append(["section", sid])
        elif kind == "delete":
            rid = rng.choice(sorted(set(mine) - deleted))
            store.delete("tasks", rid)
            log.append(["delete", rid])
        else:
            rid = f"T-{me}0{i}"
            store.put("tasks", {"id": rid, "title": f"clone {me}"})
            log.append(["record", rid])
        if i % 4 == 0:
            sync(store)
    sync(store)
    print(json.dumps(log))


if __name__ == "__main__":
    kind, root, *rest = sys.argv[1:]
    if kind == "increments":
        increments(root, int(rest[0]))
    elif kind == "cli_increments":
        cli_increments(root, int(rest[0]))
    elif kind == "race_put":
        race_put(root, rest[0], int(rest[1]), rest[2])
    elif kind == "race_add":
        race_add(root, rest[0], rest[1])
    elif kind == "writer":
        writer(root, int(rest[0]), rest[1])
    elif kind == "reader":
        reader(root, int(rest[0]), rest[1])
    elif kind == "roadmap_edits":
        roadmap_edits(root, int(rest[0]), int(rest[1]))
    elif kind == "sync_edits":
        sync_edits(root, int(rest[0]), int(rest[1]))
    elif kind == "hold":
        hold(root, float(rest[0]))
