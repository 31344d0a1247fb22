"""Files git cannot carry but a careless tool can make: FIFOs, sockets, directories named like
records. None of them may hang a command (a FIFO blocks ``open`` until a writer comes) or crash
it: each is reported as "not a regular file", with its path, and exit 1.
"""

from __future__ import annotations

import contextlib
import os
import socket

from tests.hostile.harness import LOCAL, Case, World, api, cases, cli, run_case

T4 = "records/tasks/T-4.yaml"
NOT_REGULAR = ("not a regular file", "fifo", "named pipe", "socket", "directory", "folder")


def fifo(path: str):  # type: ignore[no-untyped-def]
    def arrange(world: World) -> None:
        target = world.victim / path
        target.unlink(missing_ok=True)
        os.mkfifo(target)

    return arrange


def directory(world: World) -> None:
    (world.victim / "records/tasks/T-9.yaml").mkdir()
    (world.victim / "records/tasks/T-9.yaml/notes.txt").write_text("a tool's scratch file\n")


def unix_socket(world: World) -> None:
    # Bound by a relative name: the absolute path may pass the 108-byte limit of sun_path.
    with contextlib.chdir(world.victim / "records/tasks"), socket.socket(socket.AF_UNIX) as sock:
        sock.bind("T-5.yaml")


NO_HANG = "exit 1 naming the file as not a regular file; no hang (the FIFO is never opened)"

CASES = [
    Case("fifo-record-get", LOCAL, fifo(T4), cli("get", "T-4"), 1, (T4, NOT_REGULAR), NO_HANG),
    Case("fifo-record-list", LOCAL, fifo(T4), cli("list", "tasks"), 1, (T4, NOT_REGULAR), NO_HANG),
    Case(
        "fifo-record-validate",
        LOCAL,
        fifo(T4),
        cli("validate"),
        1,
        (T4, NOT_REGULAR),
        "exit 1: validate reports the FIFO; no hang",
    ),
    Case(
        "fifo-record-status",
        LOCAL,
        fifo(T4),
        cli("status"),
        0,
        (T4, NOT_REGULAR),
        "exit 0 (status is a report, like git status) listing the FIFO among its validation "
        "errors; no hang",
    ),
    Case(
        "fifo-record-api",
        LOCAL,
        fifo(T4),
        api("store.list('tasks')", show="Store.open('.').list('tasks')"),
        1,
        (T4, NOT_REGULAR),
        "a GitStoreError (exit 1) naming the FIFO; no hang",
    ),
    Case(
        "fifo-record-set",
        LOCAL,
        fifo(T4),
        cli("set", "T-4", "title=x"),
        1,
        (T4, NOT_REGULAR),
        NO_HANG + "; the FIFO is not replaced",
    ),
    Case(
        "directory-record-get",
        LOCAL,
        directory,
        cli("get", "T-9"),
        1,
        ("records/tasks/T-9.yaml", NOT_REGULAR),
        "exit 1 naming the directory",
    ),
    Case(
        "directory-record-list",
        LOCAL,
        directory,
        cli("list", "tasks"),
        1,
        ("records/tasks/T-9.yaml", NOT_REGULAR),
        "exit 1 naming the directory (list does not skip what it cannot read: the error names it)",
    ),
    Case(
        "directory-record-validate",
        LOCAL,
        directory,
        cli("validate"),
        1,
        ("records/tasks/T-9.yaml", NOT_REGULAR),
        "exit 1: validate reports the directory instead of skipping it silently",
    ),
    Case(
        "directory-record-add",
        LOCAL,
        directory,
        cli("add", "tasks", "T-9", "title=x"),
        1,
        ("records/tasks/T-9.yaml", NOT_REGULAR),
        "exit 1 naming the directory; nothing is written into or over it",
    ),
    Case(
        "socket-record-get",
        LOCAL,
        unix_socket,
        cli("get", "T-5"),
        1,
        ("records/tasks/T-5.yaml", NOT_REGULAR),
        "exit 1 naming the socket as not a regular file",
    ),
    Case(
        "socket-record-validate",
        LOCAL,
        unix_socket,
        cli("validate"),
        1,
        ("records/tasks/T-5.yaml", NOT_REGULAR),
        "exit 1: validate reports the socket",
    ),
    Case(
        "fifo-roadmap-list",
        LOCAL,
        fifo("ROADMAP.md"),
        cli("roadmap", "list"),
        1,
        ("ROADMAP.md", NOT_REGULAR),
        NO_HANG,
    ),
    Case(
        "fifo-roadmap-validate",
        LOCAL,
        fifo("ROADMAP.md"),
        cli("validate"),
        1,
        ("ROADMAP.md", NOT_REGULAR),
        "exit 1: validate reports the FIFO roadmap; no hang",
    ),
    Case(
        "fifo-config-get",
        LOCAL,
        fifo("gitstore.yaml"),
        cli("get", "T-1"),
        1,
        ("gitstore.yaml", NOT_REGULAR),
        "exit 1 naming gitstore.yaml as not a regular file (not exit 5: the store is there, its "
        "config is broken); no hang",
        lock_check=False,
    ),
]


@cases(CASES)
def test_special_files_never_hang_or_crash(world: World, case: Case) -> None:
    run_case(world, case)
