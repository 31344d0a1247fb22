"""Links and special files under ``watch``, ``inbox``, ``notify`` and ``ack``.

``watch`` is a report (exit 0): a linked folder or file, a FIFO, is one ``invalid`` line naming
it, and nothing behind a link is read. The notification commands refuse like every record
command: exit 1 and one line naming the file; ``inbox`` still lists the notifications it can read.
"""

from __future__ import annotations

import os

from tests.hostile.harness import LOCAL, PUSHED, Case, Link, World, cases, cli, run_case
from tests.hostile.processes import Result

T1 = "records/tasks/T-1.yaml"
T4 = "records/tasks/T-4.yaml"
N1 = "records/notifications/N-1.yaml"
N2 = "records/notifications/N-2.yaml"
LINKED = ("symlink", "symbolic link")
NOT_REGULAR = ("not a regular file", "fifo")
SINCE_BASE = cli("watch", "--since", "HEAD~1", "--once")  # the commit before the attack
SINCE_NOW = cli("watch", "--since", "HEAD", "--once")


def linked(path: str, target: str):  # type: ignore[no-untyped-def]
    def arrange(world: World) -> None:
        world.deliver({path: Link(target)})

    return arrange


def fifo(path: str):  # type: ignore[no-untyped-def]
    def arrange(world: World) -> None:
        target = world.victim / path
        target.unlink(missing_ok=True)
        os.mkfifo(target)

    return arrange


def _leaks_nothing(world: World, res: Result) -> None:
    assert "outside" not in res.out and "root:" not in res.out, "read through the link"


def _still_lists_the_rest(world: World, res: Result) -> None:
    assert "hello" in res.out, "one bad file hid the readable notifications"


REPORTED = "exit 0 (watch reports); one invalid line naming the link; nothing behind it is read"
NO_HANG = "exit 0; one invalid line naming it as not a regular file; no hang (never opened)"

CASES = [
    Case(
        "watch-tasks-folder-link",
        PUSHED,
        linked("records/tasks", "../../outside/tasks"),
        SINCE_BASE,
        0,
        ("records/tasks", LINKED, "invalid"),
        REPORTED + "; its records are not reported removed",
        after=(_leaks_nothing,),
    ),
    Case(
        "watch-record-link",
        PUSHED,
        linked(T1, "/etc/passwd"),
        SINCE_BASE,
        0,
        (T1, LINKED, "invalid"),
        REPORTED,
        after=(_leaks_nothing,),
    ),
    Case(
        "watch-roadmap-link",
        PUSHED,
        linked("ROADMAP.md", "/etc/passwd"),
        SINCE_BASE,
        0,
        ("ROADMAP.md", LINKED, "invalid"),
        REPORTED,
        after=(_leaks_nothing,),
    ),
    Case("watch-fifo-record", LOCAL, fifo(T4), SINCE_NOW, 0, (T4, NOT_REGULAR), NO_HANG),
    Case(
        "watch-fifo-roadmap",
        LOCAL,
        fifo("ROADMAP.md"),
        SINCE_NOW,
        0,
        ("ROADMAP.md", NOT_REGULAR),
        NO_HANG,
    ),
    Case(
        "inbox-fifo-notification",
        LOCAL,
        fifo(N2),
        cli("inbox"),
        1,
        (N2, NOT_REGULAR),
        "exit 1: the FIFO is skipped with one line naming it; the readable notifications are "
        "still listed; no hang",
        after=(_still_lists_the_rest,),
    ),
    Case(
        "notify-about-fifo",
        LOCAL,
        fifo(T4),
        cli("notify", "look", "--about", "T-4"),
        1,
        (T4, NOT_REGULAR),
        "exit 1 naming the FIFO the --about points at; no notification is written; no hang",
    ),
    Case(
        "ack-linked-notification",
        PUSHED,
        linked(N1, "../../../outside/secret.yaml"),
        cli("ack", "N-1"),
        1,
        (N1, LINKED),
        "exit 1 naming the link; the file outside keeps its bytes",
        after=(_leaks_nothing,),
    ),
]


@cases(CASES)
def test_watch_and_notifications_never_follow_or_hang(world: World, case: Case) -> None:
    run_case(world, case)
