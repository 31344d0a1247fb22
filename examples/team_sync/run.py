"""A team on one bare remote: three clones editing at the same time and syncing with
`gitstore sync`, ending with one merged roadmap and zero conflicts.
Run: python examples/team_sync/run.py [FOLDER]

alice, bob and carol each run in their own process, on their own clone. Every round each of them
edits their own task, one field of a task all three share, and their own part of ROADMAP.md, then
runs `gitstore sync` (commit, fetch, merge by gitstore's merge driver, push; retried when someone
pushed first). Nobody waits for anybody, nobody resolves anything by hand.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROUNDS = 4
PEOPLE = ("alice", "bob", "carol")
ROADMAP = """\
# Roadmap

### PRIORITY 1: Notifications
**Status**: 📝 Planned

### PRIORITY 2: Dashboard
**Status**: 📝 Planned
**Owner**: (nobody yet)

### PRIORITY 3: Import and export
**Status**: 📝 Planned
"""


def env_for(person: str) -> dict[str, str]:
    return {
        **os.environ,
        "GITSTORE_USER": person,
        "GIT_AUTHOR_NAME": person,
        "GIT_AUTHOR_EMAIL": f"{person}@example.com",
        "GIT_COMMITTER_NAME": person,
        "GIT_COMMITTER_EMAIL": f"{person}@example.com",
    }


def run(args: list[str], cwd: Path, person: str = "alice") -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, cwd=cwd, env=env_for(person), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{person}: {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done


def gitstore(*args: str, cwd: Path, person: str) -> str:
    return run([sys.executable, "-m", "gitstore", *args], cwd, person).stdout


def worker(person: str, clone: Path) -> None:
    """One teammate's session: edit, sync, edit, sync ..."""
    from gitstore import Store

    store = Store.open(clone, actor=person)
    for n in range(ROUNDS):
        store.put("tasks", {"id": f"T-{person}{n}", "title": f"{person}'s task {n}"})
        with store.update("tasks", "T-shared") as rec:
            if person == "alice":
                rec["owner"] = f"alice (round {n})"
            elif person == "bob":
                rec["priority"] = n
            else:
                rec["tags"] = [*rec.get("tags", []), f"carol-{n}"]
        road = store.roadmap()
        if person == "alice":
            road.set_status("1", ["in progress", "complete"][n % 2])
        elif person == "bob":
            road.set_fields("2", {"Owner": f"bob (round {n})"})
        elif n == 0:
            road.add(f"Carol's priority {n}", after="3", section_id="4")
        else:
            road.set_fields("4", {"Estimate": f"{n} days"})
        print(f"{person:5}: " + gitstore("sync", cwd=clone, person=person).strip(), flush=True)


def main() -> None:
    if sys.argv[1:2] == ["--worker"]:
        worker(sys.argv[2], Path(sys.argv[3]))
        return
    base = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="team-"))
    remote = base / "remote.git"
    run(["git", "init", "-q", "--bare", "--initial-branch=main", str(remote)], base)
    first = base / "alice"
    run(["git", "init", "-q", "--initial-branch=main", str(first)], base)
    gitstore("init", str(first), cwd=base, person="alice")
    (first / "ROADMAP.md").write_text(ROADMAP, encoding="utf-8")
    gitstore("add", "tasks", "T-shared", "title=Shared by the team", cwd=first, person="alice")
    gitstore("commit", "-m", "Start the roadmap", cwd=first, person="alice")
    run(["git", "remote", "add", "origin", str(remote)], first)
    run(["git", "push", "-q", "-u", "origin", "main"], first)
    clones = {"alice": first}
    for person in PEOPLE[1:]:
        clones[person] = base / person
        run(["git", "clone", "-q", str(remote), str(clones[person])], base, person)
        gitstore("install", cwd=clones[person], person=person)  # the driver and hooks, once

    print(f"{len(PEOPLE)} clones of {remote}, {ROUNDS} rounds each, all at once:")
    script = str(Path(__file__).resolve())
    workers = [
        subprocess.Popen(
            [sys.executable, script, "--worker", person, str(clones[person])], env=env_for(person)
        )
        for person in PEOPLE
    ]
    if any(w.wait(timeout=600) != 0 for w in workers):
        raise SystemExit("a teammate's session failed")

    for _ in range(2):  # everyone syncs once more, so each has what the others pushed last
        for person in PEOPLE:
            gitstore("sync", cwd=clones[person], person=person)
    check(clones)


def check(clones: dict[str, Path]) -> None:
    from gitstore import Store

    trees = {run(["git", "rev-parse", "HEAD^{tree}"], c).stdout.strip() for c in clones.values()}
    assert len(trees) == 1, f"the clones differ: {trees}"
    for person, clone in clones.items():
        gitstore("conflicts", cwd=clone, person=person)  # exits 1 if there is any
        assert run(["git", "status", "--porcelain"], clone).stdout == ""
    store = Store.open(clones["carol"])
    shared = store.get("tasks", "T-shared")
    last = ROUNDS - 1
    assert shared["owner"] == f"alice (round {last})" and shared["priority"] == last, shared
    assert shared["tags"] == [f"carol-{n}" for n in range(ROUNDS)], shared
    ids = store.ids("tasks")
    assert all(f"T-{p}{n}" in ids for p in PEOPLE for n in range(ROUNDS)), ids
    road = store.roadmap()
    assert road.get("2")["fields"]["Owner"] == f"bob (round {last})"
    assert road.get("4")["fields"]["Estimate"] == f"{last} days"
    sections = [f"{s['id']}: {s['status']}" for s in road.sections()]
    print("The merged roadmap, the same in every clone:")
    for line in sections:
        print(f"  PRIORITY {line}")
    print(f"{len(ids)} tasks, {len(sections)} sections, 0 conflicts")


if __name__ == "__main__":
    main()
