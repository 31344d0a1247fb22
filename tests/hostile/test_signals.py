"""Signals: a reader that goes away (``gitstore list | head -1``), and SIGINT / SIGTERM sent to
a gitstore process waiting for a lock. None prints a traceback or "Exception ignored"; each
exits with a code of its own (1 after a broken pipe, as Python's documentation recommends,
130 after SIGINT, 143 after SIGTERM) rather than being killed; and the lock it was waiting for
or holding is free the moment it is gone (run_case's lock check takes it with a 1 s timeout).
Waiting is observed in /proc/locks, never guessed with a sleep.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.hostile.harness import (
    LOCAL,
    SIGNALED,
    Act,
    Case,
    World,
    cases,
    put_files,
    record,
    run_case,
)
from tests.hostile.processes import TIMEOUT, Result, finish, kill_group, spawn


def piped(*argv: str) -> Act:
    """``gitstore ARGV | head -1`` made deterministic: the reader is gone before gitstore writes
    (a pipe whose read end is closed), so every write meets EPIPE, whatever the timing."""
    label = "gitstore " + " ".join(argv) + " | head -1"

    def go(world: World) -> Result:
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            proc = spawn(
                [sys.executable, "-m", "gitstore", *argv],
                world.victim,
                world.env,
                stdin=subprocess.DEVNULL,
                stdout=write_end,
                stderr=subprocess.PIPE,
            )
        finally:
            os.close(write_end)
        _, err = finish(proc, label)
        # A closed pipe needs no message (one line at most); never a traceback.
        return Result(label, proc.returncode, "", err, one_line=False)

    return Act(label, go)


def many_records(world: World) -> None:
    """400 tasks with long titles: far more output than a pipe buffer holds."""
    files = {
        f"records/tasks/T-{n}.yaml": record(f"T-{n}", title=f"task {n} " + "word " * 60)
        for n in range(10, 410)
    }
    put_files(world.victim, files)


def big_record(world: World) -> None:
    put_files(
        world.victim,
        {
            "records/tasks/T-2.yaml": record("T-2", title="x")
            + "notes: |\n"
            + "  a line of notes\n" * 40_000
        },
    )


def big_roadmap(world: World) -> None:
    put_files(
        world.victim,
        {
            "ROADMAP.md": "# Roadmap\n\n"
            + "".join(
                f"### PRIORITY {i}: Item {i}\n**Status**: 📝 Planned\n\n" for i in range(1, 4000)
            )
        },
    )


def _blocked(pid: int) -> bool:
    """Whether ``pid`` waits for a lock (a ``->`` line of /proc/locks)."""
    return any(
        "->" in line and f" {pid} " in line for line in Path("/proc/locks").read_text().splitlines()
    )


@contextmanager
def held(world: World, how: str) -> Iterator[None]:
    """Hold the store lock exclusively (``store``) or T-1's lock (``record``), in this process."""
    from gitstore import Store

    store = Store.open(world.victim)
    holder = store.transaction() if how == "store" else store.update("tasks", "T-1")
    holder.__enter__()
    try:
        yield
    finally:
        holder.__exit__(None, None, None)


def interrupted(sig: signal.Signals, how: str, *argv: str) -> Act:
    label = f"gitstore {' '.join(argv)}, waiting for the {how} lock, gets {sig.name}"

    def go(world: World) -> Result:
        with held(world, how):
            proc = spawn(
                [sys.executable, "-m", "gitstore", *argv],
                world.victim,
                {**world.env, "GITSTORE_LOCK_TIMEOUT": str(TIMEOUT * 2)},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            try:
                _wait_until(lambda: _blocked(proc.pid) or proc.poll() is not None)
                if proc.poll() is None:
                    proc.send_signal(sig)
                out, err = finish(proc, label)
            finally:
                kill_group(proc)
        return Result(label, proc.returncode, out, err, one_line=False)

    return Act(label, go)


def _quiet_or_one_line(world: World, res: Result) -> None:
    lines = res.err.strip().splitlines()
    assert len(lines) <= 1, f"more than one line on stderr: {lines}"
    assert not lines or lines[0].startswith("gitstore: "), f"not a gitstore line: {lines}"


def _wait_until(ready: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError("the process never started waiting for the lock")
        time.sleep(0.005)


PIPE = "exit 1, silent or one line: no BrokenPipeError traceback, no 'Exception ignored'"

CASES = [
    Case(
        "broken-pipe-list",
        LOCAL,
        many_records,
        piped("list", "tasks"),
        1,
        (),
        PIPE,
        after=(_quiet_or_one_line,),
    ),
    Case(
        "broken-pipe-list-json",
        LOCAL,
        many_records,
        piped("list", "tasks", "--json"),
        1,
        (),
        PIPE,
        after=(_quiet_or_one_line,),
    ),
    Case(
        "broken-pipe-get-small",
        LOCAL,
        lambda w: None,
        piped("get", "T-1"),
        1,
        (),
        PIPE + " (output flushed at exit)",
        after=(_quiet_or_one_line,),
    ),
    Case(
        "broken-pipe-get-big",
        LOCAL,
        big_record,
        piped("get", "T-2"),
        1,
        (),
        PIPE,
        after=(_quiet_or_one_line,),
    ),
    Case(
        "broken-pipe-roadmap-list",
        LOCAL,
        big_roadmap,
        piped("roadmap", "list"),
        1,
        (),
        PIPE,
        after=(_quiet_or_one_line,),
    ),
    Case(
        "sigint-waiting-for-the-store-lock",
        SIGNALED,
        lambda w: None,
        interrupted(signal.SIGINT, "store", "set", "T-1", "title=y"),
        130,
        (),
        "exit 130, silent or one line; T-1 unchanged; the lock is free at once",
        after=(_quiet_or_one_line,),
    ),
    Case(
        "sigterm-waiting-for-the-store-lock",
        SIGNALED,
        lambda w: None,
        interrupted(signal.SIGTERM, "store", "set", "T-1", "title=y"),
        143,
        (),
        "exit 143 (handled, not killed by the signal), silent or one line; T-1 unchanged; the "
        "lock is free at once",
        after=(_quiet_or_one_line,),
    ),
    Case(
        "sigterm-waiting-for-a-record-lock",
        SIGNALED,
        lambda w: None,
        interrupted(signal.SIGTERM, "record", "set", "T-1", "title=y"),
        143,
        (),
        "exit 143, silent or one line; the store lock it held shared is released (an exclusive "
        "taker gets it at once)",
        after=(_quiet_or_one_line,),
    ),
    Case(
        "sigint-waiting-in-add",
        SIGNALED,
        lambda w: None,
        interrupted(signal.SIGINT, "store", "add", "tasks", "title=new"),
        130,
        (),
        "exit 130, silent or one line; no record created",
        after=(_quiet_or_one_line,),
    ),
]


@cases(CASES)
def test_signals_leave_nothing_behind(world: World, case: Case) -> None:
    run_case(world, case)
