"""Clear errors, never "internal error": I/O faults, corrupt metadata, and values that cannot be
stored, through the CLI and the API.

I/O errors are injected — "mock only what cannot be real": the suite runs as root, who ignores
permission bits, and a full or read-only disk cannot be had without privileges. They go through
``gitstore.fs.fault_hook`` for the steps of a write, and through the ``os`` call itself where
the real error would come from (``open`` for EACCES) and for lock files and the state folder
(see runner.py), each in a fresh process. Every error is one line naming
the file and the system's reason, exit 1, and the file on disk exactly as it was.

Corrupt metadata committed by someone else is refused by a write, never silently repaired: the
next version of a record with ``version: abc`` is not 1, and a clock at the end of time cannot
move forward. A ``conflicts:`` block belongs to the merge driver alone.
"""

from __future__ import annotations

from tests.hostile.harness import (
    API,
    FAULT,
    LOCAL,
    PUSHED,
    SEED_RECORD,
    Case,
    World,
    api,
    cases,
    cli,
    faulty,
    faulty_api,
    run_case,
)

T1 = "records/tasks/T-1.yaml"
T2 = "records/tasks/T-2.yaml"
# Key words, not strerror verbatim: "No space left on device" and "no space left on the device"
# both say it.
NOSPACE = "no space"
READONLY = "read-only"
DENIED = ("permission", "denied", "not allowed")
LOCK = ("lock",)
NONE = lambda w: None  # noqa: E731  (nothing to arrange: the fault is the case)


def seeded(old: str, new: str):  # type: ignore[no-untyped-def]
    """The attacker pushes T-1 with one metadata line changed."""
    assert old in SEED_RECORD

    def arrange(world: World) -> None:
        world.deliver({T1: SEED_RECORD.replace(old, new)})

    return arrange


UNCHANGED = "exit 1, one line with the path and the system's reason; the file is unchanged"
REFUSE_REPAIR = "exit 1 naming the file and the field: a write refuses corrupt metadata instead of repairing it silently"
PUT = "store.put('tasks', {{'id': 'T-2', 'title': 't', {}}})"

FAULTS = [
    Case(
        "enospc-writing-a-record",
        FAULT,
        NONE,
        faulty(["write:ENOSPC:T-1.yaml"], "set", "T-1", "title=y"),
        1,
        (T1, NOSPACE),
        UNCHANGED,
    ),
    Case(
        "erofs-creating-the-temp-file",
        FAULT,
        NONE,
        faulty(["open:EROFS:T-1.yaml"], "set", "T-1", "title=y"),
        1,
        (T1, READONLY),
        UNCHANGED,
    ),
    Case(
        "eacces-reading-a-record-get",
        FAULT,
        NONE,
        faulty(["os.open:EACCES:T-1.yaml"], "get", "T-1"),
        1,
        (T1, DENIED),
        "exit 1, one line: the read error names the file (what chmod 000 does to a non-root user)",
    ),
    Case(
        "eacces-reading-a-record-list",
        FAULT,
        NONE,
        faulty(["os.open:EACCES:T-2.yaml"], "list", "tasks"),
        1,
        (T2, DENIED),
        "exit 1, one line naming the unreadable record",
    ),
    Case(
        "eacces-reading-a-record-validate",
        FAULT,
        NONE,
        faulty(["os.open:EACCES:T-2.yaml"], "validate"),
        1,
        (T2, DENIED),
        "exit 1: validate reports the unreadable file (it reads through gitstore.fs like "
        "everything else, not around it)",
    ),
    Case(
        "enospc-on-fsync-adding-a-record",
        FAULT,
        NONE,
        faulty(["fsync:ENOSPC:T-4.yaml"], "add", "tasks", "T-4", "title=x"),
        1,
        ("records/tasks/T-4.yaml", NOSPACE),
        "exit 1, one line; no T-4 and no temp file left behind",
    ),
    Case(
        "eio-on-fsync-writing-a-record",
        FAULT,
        NONE,
        faulty(["fsync:EIO:T-1.yaml"], "set", "T-1", "title=y"),
        1,
        (T1, ("input/output", "i/o")),
        UNCHANGED + " (a failed fsync is never retried and called a success)",
    ),
    Case(
        "enametoolong-creating-the-temp-file",
        FAULT,
        NONE,
        faulty(["open:ENAMETOOLONG:T-1.yaml"], "set", "T-1", "title=y"),
        1,
        (T1, "too long"),
        UNCHANGED,
    ),
    Case(
        "erofs-opening-the-lock-file",
        FAULT,
        NONE,
        faulty(["os.open:EROFS:.lock"], "set", "T-1", "title=y"),
        1,
        (*LOCK, READONLY),
        "exit 1, one line naming the lock file and the reason; the record is unchanged",
    ),
    Case(
        "eacces-opening-the-lock-file",
        FAULT,
        NONE,
        faulty(["os.open:EACCES:.lock"], "add", "tasks", "title=x"),
        1,
        (*LOCK, DENIED),
        "exit 1, one line naming the lock file; nothing is created",
    ),
    Case(
        "enametoolong-opening-the-lock-file",
        FAULT,
        NONE,
        faulty(["os.open:ENAMETOOLONG:T-1.lock"], "rm", "T-1"),
        1,
        ("T-1.lock", "too long"),
        "exit 1, one line naming the lock file; the record is unchanged",
    ),
    Case(
        "enospc-writing-the-lock-holder",
        FAULT,
        NONE,
        faulty(["os.pwrite:ENOSPC:.lock"], "set", "T-1", "title=y"),
        0,
        (),
        "exit 0: the pid line in a lock file is only a hint for waiters, so failing to write it "
        "fails nothing; the lock is still taken and released",
        allow=("records/tasks/T-1.yaml",),
    ),
    Case(
        "erofs-creating-the-state-folder",
        FAULT,
        NONE,
        faulty(["os.mkdir:EROFS:locks"], "set", "T-1", "title=y"),
        1,
        (("lock", "state"), READONLY),
        "exit 1, one line naming the folder that cannot be created (a read-only .git)",
    ),
    Case(
        "enospc-writing-the-roadmap",
        FAULT,
        NONE,
        faulty(["write:ENOSPC:ROADMAP.md"], "roadmap", "status", "1", "done"),
        1,
        ("ROADMAP.md", NOSPACE),
        UNCHANGED,
    ),
    Case(
        "erofs-writing-the-journal",
        FAULT,
        NONE,
        faulty_api(
            ["open:EROFS:journal"],
            "with store.transaction() as tx:\n"
            "    tx.put('tasks', {'id': 'T-2', 'title': 'a'})\n"
            "    tx.put('tasks', {'id': 'T-3', 'title': 'b'})",
            show="with store.transaction() as tx: tx.put(T-2); tx.put(T-3)",
        ),
        1,
        (("journal", "transaction"), READONLY),
        "a WriteError (exit 1); neither record changes, no temp file is left",
    ),
    Case(
        "eacces-api-get",
        FAULT,
        NONE,
        faulty_api(["os.open:EACCES:T-1.yaml"], "store.get('tasks', 'T-1')"),
        1,
        (T1, DENIED),
        "a GitStoreError (exit 1) naming the file, not a bare PermissionError",
    ),
    Case(
        "enospc-api-put",
        FAULT,
        NONE,
        faulty_api(["write:ENOSPC:T-2.yaml"], "store.put('tasks', {'id': 'T-2', 'title': 'y'})"),
        1,
        (T2, NOSPACE),
        "a WriteError (exit 1); the file is unchanged",
    ),
]

CORRUPT = [
    Case(
        "version-is-text-set",
        PUSHED,
        seeded("version: 1\n", "version: abc\n"),
        cli("set", "T-1", "title=y"),
        1,
        (T1, "version"),
        REFUSE_REPAIR,
    ),
    Case(
        "version-is-negative-set",
        PUSHED,
        seeded("version: 1\n", "version: -3\n"),
        cli("set", "T-1", "title=y"),
        1,
        (T1, "version"),
        REFUSE_REPAIR,
    ),
    Case(
        "version-is-a-bool-set",
        PUSHED,
        seeded("version: 1\n", "version: true\n"),
        cli("set", "T-1", "title=y"),
        1,
        (T1, "version"),
        REFUSE_REPAIR + " (true is not version 1)",
    ),
    Case(
        "version-is-a-float-rm",
        PUSHED,
        seeded("version: 1\n", "version: 1.5\n"),
        cli("rm", "T-1"),
        1,
        (T1, "version"),
        REFUSE_REPAIR + " (a tombstone is a write too)",
    ),
    Case(
        "version-is-text-api-update",
        PUSHED,
        seeded("version: 1\n", "version: abc\n"),
        api(
            "with store.update('tasks', 'T-1') as rec:\n    rec['title'] = 'y'",
            show="with store.update('tasks', 'T-1') as rec: rec['title'] = 'y'",
        ),
        1,
        (T1, "version"),
        "a RecordError (exit 1) naming the file and version",
    ),
    Case(
        "clock-at-the-end-of-time-set",
        PUSHED,
        seeded(
            "last_modified: 2026-11-20T10:00:00.000000Z\n",
            "last_modified: 9999-12-31T23:59:59.999999Z\n",
        ),
        cli("set", "T-1", "title=y"),
        1,
        (T1, "last_modified"),
        "exit 1 naming last_modified: the clock cannot move past the largest time",
    ),
    Case(
        "clock-at-the-end-of-time-validate",
        PUSHED,
        seeded(
            "last_modified: 2026-11-20T10:00:00.000000Z\n",
            "last_modified: 9999-12-31T23:59:59.999999Z\n",
        ),
        cli("validate"),
        1,
        (T1, "last_modified"),
        "exit 1: validate reports a clock no later write can pass (it would win every merge)",
    ),
    Case(
        "clock-is-text-set",
        PUSHED,
        seeded("last_modified: 2026-11-20T10:00:00.000000Z\n", "last_modified: yesterday\n"),
        cli("set", "T-1", "title=y"),
        1,
        (T1, "last_modified"),
        REFUSE_REPAIR,
    ),
    Case(
        "clocks-is-a-list-set",
        PUSHED,
        seeded("priority: 1\n", "priority: 1\nclocks: [1, 2]\n"),
        cli("set", "T-1", "title=y"),
        1,
        (T1, "clocks"),
        REFUSE_REPAIR,
    ),
    Case(
        "clocks-holds-text-set",
        PUSHED,
        seeded("priority: 1\n", "priority: 1\nclocks:\n  title: yesterday\n"),
        cli("set", "T-1", "status=doing"),
        1,
        (T1, "clocks"),
        REFUSE_REPAIR,
    ),
]

VALUES = [
    Case(
        "api-put-non-string-key",
        API,
        NONE,
        api(PUT.format("1: 'x'")),
        1,
        (T2, "key"),
        "a RecordError (exit 1) naming the file and the key; nothing is written",
    ),
    Case(
        "api-put-object-value",
        API,
        NONE,
        api(PUT.format("'x': object()")),
        1,
        (T2,),
        "a RecordError (exit 1) naming the file; nothing is written",
    ),
    Case(
        "api-put-set-value",
        API,
        NONE,
        api(PUT.format("'labels': {'a', 'b'}")),
        1,
        (T2,),
        "a RecordError (exit 1) naming the file: an undeclared field holding a set (no YAML form "
        "that reads back the same)",
    ),
    Case(
        "api-put-bytes-value",
        API,
        NONE,
        api(PUT.format("'blob': b'raw'")),
        1,
        (T2,),
        "a RecordError (exit 1) naming the file: an undeclared field holding bytes (no !!binary)",
    ),
    Case(
        "api-put-lone-surrogate",
        API,
        NONE,
        api(PUT.format("'notes': '\\ud800'")),
        1,
        (T2,),
        "a RecordError (exit 1) naming the file (not a UnicodeEncodeError)",
    ),
    Case(
        "api-put-huge-int",
        API,
        NONE,
        api(PUT.format("'priority': 10 ** 5000")),
        1,
        (T2,),
        "a RecordError (exit 1) naming the file (not Python's int-to-str ValueError)",
    ),
    Case(
        "api-put-conflicts-block",
        API,
        NONE,
        api(PUT.format("'conflicts': {'title': {'base': 'a', 'ours': 'b', 'theirs': 'c'}}")),
        2,
        ("conflicts",),
        "a UsageError (exit 2), as the CLI's: conflicts: is written by the merge driver only",
    ),
    Case(
        "api-update-conflicts-block",
        API,
        NONE,
        api(
            "with store.update('tasks', 'T-2') as rec:\n"
            "    rec['conflicts'] = {'title': {'base': 'a', 'ours': 'b', 'theirs': 'c'}}",
            show="with store.update('tasks', 'T-2') as rec: rec['conflicts'] = {...}",
        ),
        2,
        ("conflicts",),
        "a UsageError (exit 2); T-2 is unchanged",
    ),
    Case(
        "cli-set-conflicts-block",
        LOCAL,
        NONE,
        cli("set", "T-2", "conflicts:={}"),
        2,
        ("conflicts",),
        "exit 2: conflicts is managed by gitstore",
    ),
]

CASES = FAULTS + CORRUPT + VALUES


@cases(CASES)
def test_errors_are_clear(world: World, case: Case) -> None:
    run_case(world, case)
