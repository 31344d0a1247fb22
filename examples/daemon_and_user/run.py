"""A coding daemon and a person on one store at once: nothing either of them writes is lost.

Run: python examples/daemon_and_user/run.py [FOLDER]

The daemon (a second process, using the Python API) works through the roadmap's priorities: it
moves each one to in progress, counts its work on a task, asks the person for approval with a
notification, follows the store with ``watch`` until the answer arrives, and then marks the
priority complete. At the same time the person works from the CLI on the same files: gives each
priority an owner, writes notes on the very task the daemon is counting on, and answers the
daemon's questions from ``gitstore inbox`` with ``gitstore ack``. At the end every edit of both is
checked to be there, and the store validates and is committed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PRIORITIES = ("1", "2", "3", "4")
ROADMAP = "# Roadmap\n\n" + "".join(
    f"### PRIORITY {n}: Feature {n}\n**Status**: 📝 Planned\n\nWhat feature {n} is about.\n\n"
    for n in PRIORITIES
)
WORK_PER_PRIORITY = 5
DEADLINE = 120.0  # seconds; a healthy run takes a few


def gitstore(root: Path, *args: str, person: str = "ann") -> str:
    done = subprocess.run(
        [sys.executable, "-m", "gitstore", *args],
        cwd=root,
        env={**os.environ, "GITSTORE_USER": person},
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"gitstore {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def daemon(root: Path) -> None:
    """The daemon's side: the Python API only."""
    from gitstore import Store
    from gitstore.notifications import notify
    from gitstore.watch import watch

    store = Store.open(root, actor="daemon")
    road = store.roadmap()
    for n in PRIORITIES:
        road.set_status(n, "in_progress")
        for _ in range(WORK_PER_PRIORITY):
            with store.update("tasks", "T-work") as rec:
                rec["count"] = rec.get("count", 0) + 1
        question = notify(store, f"Priority {n} is built; may I close it?", level="action", about=n)
        started = time.monotonic()
        for batch in watch(store, interval=0.05):
            mine = [e for e in batch if e.get("id") == question["id"]]
            if mine and store.get("notifications", question["id"])["status"] != "unread":
                break  # answered
            if time.monotonic() - started > DEADLINE:
                raise SystemExit(f"daemon: no answer to {question['id']} in {DEADLINE:.0f} s")
        road.set_status(n, "complete")
        print(f"daemon: priority {n} complete (answer to {question['id']} seen)", flush=True)


def person(root: Path, daemon_process: subprocess.Popen[str]) -> dict[str, object]:
    """The person's side: the CLI only, while the daemon runs."""
    answered: list[str] = []
    notes = []
    started = time.monotonic()
    round_ = 0
    while daemon_process.poll() is None:
        round_ += 1
        n = PRIORITIES[round_ % len(PRIORITIES)]
        gitstore(root, "roadmap", "set", n, f"Owner=ann (round {round_})")
        note = f"round {round_}: looked at the daemon's work"
        gitstore(root, "set", "T-work", f"notes={note}")
        notes.append(note)
        for item in json.loads(gitstore(root, "inbox", "--json")):
            gitstore(root, "ack", item["id"])
            answered.append(item["id"])
        if time.monotonic() - started > DEADLINE:
            daemon_process.kill()
            raise SystemExit("the daemon did not finish in time")
    return {"rounds": round_, "answered": answered, "last_note": notes[-1] if notes else None}


def check(root: Path, seen: dict[str, object]) -> list[str]:
    """What would be lost, if anything was."""
    from gitstore import Store

    store = Store.open(root)
    lost = []
    sections = {s["id"]: s for s in store.roadmap().sections()}
    for n in PRIORITIES:
        state, owner = sections[n]["state"], str(sections[n]["owner"] or "")
        if state != "complete":
            lost.append(f"priority {n}: the daemon's 'complete' is missing ({state!r})")
        if not owner.startswith("ann"):
            lost.append(f"priority {n}: the person's owner is missing ({owner!r})")
    task = store.get("tasks", "T-work")
    if task.get("count") != WORK_PER_PRIORITY * len(PRIORITIES):
        lost.append(f"T-work: count {task.get('count')}, the daemon made {WORK_PER_PRIORITY * 4}")
    if task.get("notes") != seen["last_note"]:
        lost.append(f"T-work: notes {task.get('notes')!r}, the person wrote {seen['last_note']!r}")
    for rec in store.find("notifications"):
        if rec["status"] == "unread":
            lost.append(f"{rec['id']}: the person's answer is missing")
    if len(seen["answered"]) != len(PRIORITIES):  # type: ignore[arg-type]
        lost.append(f"answered {seen['answered']}, expected one per priority")
    return lost


def main() -> int:
    if sys.argv[1:2] == ["--daemon"]:
        daemon(Path(sys.argv[2]))
        return 0
    base = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="gitstore-"))
    root = base / "project"
    root.mkdir(parents=True)
    gitstore(root, "init", ".")
    (root / "ROADMAP.md").write_text(ROADMAP)
    gitstore(root, "add", "tasks", "T-work", "title=The daemon's work", "count:=0")
    gitstore(root, "commit", "-m", "A roadmap and a task")
    print(f"store: {root}")
    daemon_process = subprocess.Popen(
        [sys.executable, __file__, "--daemon", str(root)],
        env={**os.environ, "GITSTORE_USER": "daemon"},
        text=True,
    )
    seen = person(root, daemon_process)
    if daemon_process.wait() != 0:
        print("the daemon failed", file=sys.stderr)
        return 1
    lost = check(root, seen)
    gitstore(root, "validate", "--all")
    gitstore(root, "commit", "-m", "The daemon and the person, side by side")
    for line in lost:
        print(f"LOST: {line}", file=sys.stderr)
    if lost:
        return 1
    print(
        f"nothing was lost: {len(PRIORITIES)} priorities complete with their owners, "
        f"{WORK_PER_PRIORITY * len(PRIORITIES)} daemon updates and the person's notes on one task, "
        f"{len(seen['answered'])} questions answered ({seen['rounds']} rounds of CLI edits)"  # type: ignore[arg-type]
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
