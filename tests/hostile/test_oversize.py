"""Size limits, on both sides: a record over 1 MiB is refused where it is read, and a write that
would make one is refused before anything is written, so a record always stays readable. The
error names the file and says "limit".
"""

from __future__ import annotations

from tests.hostile.harness import (
    API,
    HOOKED,
    LOCAL,
    PUSHED,
    ROADMAP,
    Case,
    World,
    api,
    cases,
    cli,
    git,
    put_files,
    record,
    run_case,
)
from tests.hostile.processes import Result

T2 = "records/tasks/T-2.yaml"
BIG = record("T-2", title="second task") + "notes: " + "x" * (2 << 20) + "\n"
CHUNK = 120 * 1024


def pushed(path: str, text: str):  # type: ignore[no-untyped-def]
    def arrange(world: World) -> None:
        world.deliver({path: text})

    return arrange


def staged(world: World) -> None:
    put_files(world.victim, {T2: BIG})
    world.git("add", "--", T2)


def grown(world: World) -> None:
    """Eight 120 KB fields: just under the limit."""
    from gitstore import Store

    store = Store.open(world.victim, actor="victim")
    for n in range(1, 9):
        with store.update("tasks", "T-2") as rec:
            rec[f"n{n}"] = "x" * CHUNK


def _still_readable(world: World, res: Result) -> None:
    got = world.gitstore("get", "T-2")
    assert got.code == 0, f"T-2 is no longer readable after the refused set:\n{got.show()}"


LIMIT = (T2, "limit")

CASES = [
    Case(
        "big-record-get", PUSHED, pushed(T2, BIG), cli("get", "T-2"), 1, LIMIT, "exit 1, one line"
    ),
    Case(
        "big-record-list",
        PUSHED,
        pushed(T2, BIG),
        cli("list", "tasks"),
        1,
        LIMIT,
        "exit 1 naming the big file (list does not print a partial table as if all were well)",
    ),
    Case(
        "big-record-validate",
        PUSHED,
        pushed(T2, BIG),
        cli("validate"),
        1,
        LIMIT,
        "exit 1: reported with the size and the limit",
    ),
    Case(
        "big-record-api",
        PUSHED,
        pushed(T2, BIG),
        api("store.list('tasks')", show="Store.open('.').list('tasks')"),
        1,
        LIMIT,
        "a RecordError (exit 1) naming the file",
    ),
    Case(
        "big-record-hook",
        HOOKED,
        staged,
        git("commit", "-q", "-m", "work"),
        1,
        LIMIT,
        "the commit is refused",
    ),
    Case(
        "set-grows-past-the-limit",
        LOCAL,
        grown,
        cli("set", "T-2", "n9=" + "x" * CHUNK, show="gitstore set T-2 n9=<120 KB> (the 9th)"),
        1,
        LIMIT,
        "exit 1 before writing: the record would pass 1 MiB; it stays as it was and readable",
        after=(_still_readable,),
    ),
    Case(
        "big-api-put",
        API,
        lambda w: None,
        api(
            "store.put('tasks', {'id': 'T-2', 'title': 't', 'notes': 'x' * (2 << 20)})",
            show="store.put('tasks', {..., 'notes': <2 MB>})",
        ),
        1,
        LIMIT,
        "a RecordError (exit 1) naming the file; the file is untouched",
    ),
    Case(
        "big-config-get",
        PUSHED,
        pushed("gitstore.yaml", "# " + "x" * (2 << 20) + "\ncollections: {}\n"),
        cli("get", "T-1"),
        1,
        ("gitstore.yaml", "limit"),
        "exit 1 naming gitstore.yaml",
        lock_check=False,
    ),
    Case(
        "big-roadmap-list",
        PUSHED,
        pushed("ROADMAP.md", ROADMAP + ("filler line of the roadmap body\n" * 560_000)),
        cli("roadmap", "list"),
        1,
        ("ROADMAP.md", "limit"),
        "exit 1 naming ROADMAP.md (17 MB, over its 16 MiB limit)",
    ),
]


@cases(CASES)
def test_size_limits_hold(world: World, case: Case) -> None:
    run_case(world, case)
