"""No leaked lock, in a process that lives on (a daemon using the API): after an error while
taking, holding or using a lock, the same process writes again at once (no "already held by
this thread"), and a second process takes the lock at once (``GITSTORE_LOCK_TIMEOUT=1``). A
CLI process's locks die with it; a daemon's do not, so these cases run in this process.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

from tests.hostile.harness import API, FAULT, RUNNER, Case, World, cases, in_process, run_case
from tests.hostile.processes import Result, finish, kill_group, spawn
from tests.hostile.runner import install_faults

NOSPACE = "no space"


def _store(world: World, **kw: Any) -> Any:
    from gitstore import Store

    world.later = Store.open(world.victim, actor="daemon", **kw)
    return world.later


def with_faults(os_faults: list[str], fs_faults: list[str], action: Callable[[Any], object]):  # type: ignore[no-untyped-def]
    def fn(world: World) -> None:
        store = _store(world)
        undo = install_faults(fs_faults, os_faults)
        try:
            action(store)
        finally:
            undo()

    return fn


def _writes_again(world: World, res: Result) -> None:
    """The same process (the daemon) writes again, then a second process does, at once."""
    from gitstore import GitStoreError

    try:
        world.later.put("tasks", {"id": "T-1", "title": "the daemon again"})
        with world.later.transaction() as tx:
            tx.put("tasks", {"id": "T-3", "title": "a transaction"})
    except GitStoreError as err:
        raise AssertionError(f"the same process cannot write after the error: {err}") from None
    second = world.gitstore("set", "T-1", "title=second", env={"GITSTORE_LOCK_TIMEOUT": "1"})
    assert second.code == 0, f"a second process could not write at once:\n{second.show()}"
    temps = list(world.victim.rglob(".gitstore-tmp-*"))
    assert not temps, f"temp files left behind: {temps}"


def _raise_inside_update(store: Any) -> None:
    try:
        with store.update("tasks", "T-1") as rec:
            rec["title"] = "never written"
            raise ValueError("a bug in the daemon's own code")
    except ValueError:
        pass


def _held_by_another_process(world: World) -> None:
    """Another process holds the store lock exclusively while this one tries to write."""
    store = _store(world, lock_timeout=0.3)
    holder = spawn(
        [
            sys.executable,
            str(RUNNER),
            "api",
            "import sys\nwith store.transaction():\n    print('held', flush=True)\n    sys.stdin.read()",
        ],
        world.victim,
        world.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        store.put("tasks", {"id": "T-1", "title": "waits, then times out"})
    finally:
        finish(holder, "the lock holder", input="")
        kill_group(holder)


AGAIN = "then the same process writes again and a second process writes at once"

CASES = [
    Case(
        "daemon-enospc-writing-the-lock-holder",
        FAULT,
        lambda w: None,
        in_process(
            "store.put(...) with ENOSPC writing the lock's pid line",
            with_faults(
                ["pwrite:ENOSPC:.lock"], [], lambda s: s.put("tasks", {"id": "T-1", "title": "y"})
            ),
        ),
        0,
        (),
        "the put succeeds (the pid line is only a hint for waiters) and the lock is not left "
        "marked held in this thread; " + AGAIN,
        allow=("records/tasks/T-1.yaml",),
        after=(_writes_again,),
    ),
    Case(
        "daemon-erofs-opening-the-lock",
        FAULT,
        lambda w: None,
        in_process(
            "store.put(...) with EROFS opening the record's lock file",
            with_faults(
                ["open:EROFS:T-1.lock"], [], lambda s: s.put("tasks", {"id": "T-1", "title": "y"})
            ),
        ),
        1,
        ("T-1.lock", "read-only"),
        "a WriteError (exit 1) naming the lock file; the store lock taken before it is released; "
        + AGAIN,
        after=(_writes_again,),
    ),
    Case(
        "daemon-enospc-in-a-transaction",
        FAULT,
        lambda w: None,
        in_process(
            "store.transaction() with ENOSPC writing T-3's temp file",
            with_faults(
                [],
                ["write:ENOSPC:T-3.yaml"],
                lambda s: _transaction(s),
            ),
        ),
        1,
        ("records/tasks/T-3.yaml", NOSPACE),
        "a WriteError (exit 1); neither record changes, no temp is left; " + AGAIN,
        after=(_writes_again,),
    ),
    Case(
        "daemon-invalid-record",
        API,
        lambda w: None,
        in_process(
            "store.put('tasks', {'id': 'T-1', 'title': 5})",
            lambda w: _store(w).put("tasks", {"id": "T-1", "title": 5}),
        ),
        1,
        ("records/tasks/T-1.yaml", "title"),
        "a RecordError (exit 1); " + AGAIN,
        after=(_writes_again,),
    ),
    Case(
        "daemon-exception-inside-update",
        API,
        lambda w: None,
        in_process(
            "with store.update('tasks', 'T-1'): raise ValueError",
            with_faults([], [], _raise_inside_update),
        ),
        0,
        (),
        "the daemon's own exception propagates, nothing is written, and " + AGAIN,
        after=(_writes_again,),
    ),
    Case(
        "daemon-lock-timeout",
        API,
        lambda w: None,
        in_process(
            "store.put(...) while another process holds the store lock", _held_by_another_process
        ),
        3,
        ("lock", "pid="),
        "LockTimeout (exit 3) naming the holder's pid; once the holder is gone, " + AGAIN,
        after=(_writes_again,),
    ),
    Case(
        "daemon-id-too-long-in-bytes",
        API,
        lambda w: None,
        in_process(
            "store.put('notes', {'id': <200 × 界>, 'title': 'x'})",
            lambda w: _store(w).put("notes", {"id": "界" * 200, "title": "x"}),
        ),
        2,
        (("long", "bytes"),),
        "a UsageError (exit 2) before any lock file is made; " + AGAIN,
        after=(_writes_again,),
    ),
]


def _transaction(store: Any) -> None:
    with store.transaction() as tx:
        tx.put("tasks", {"id": "T-2", "title": "a"})
        tx.put("tasks", {"id": "T-3", "title": "b"})


@cases(CASES)
def test_no_lock_is_left_held(world: World, case: Case) -> None:
    run_case(world, case)
