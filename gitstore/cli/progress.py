"""Progress on long work (validate of many files, sync, check-merge): a rich progress bar on
stderr when stderr is a terminal, never with --json, never when stderr is piped (scripts, CI and
daemons see nothing). The library reports through a plain callback, ``report(what, done,
total)``; it knows nothing of terminals.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Report = Callable[[str, int, "int | None"], None]


def wanted(st: Any) -> bool:
    return not st.json and sys.stderr.isatty() and os.environ.get("GITSTORE_PROGRESS") != "0"


@contextmanager
def progress(st: Any, *, counted: bool = True) -> Iterator[Report | None]:
    """A ``report`` callback drawing a transient bar (``counted``: done/total) or a spinner with
    the current step, or None when no progress is to be shown."""
    if not wanted(st):
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
    if counted:
        columns += [BarColumn(), MofNCompleteColumn()]
    columns.append(TimeElapsedColumn())
    bar = Progress(*columns, console=Console(stderr=True), transient=True)
    task: Any = None
    shown = 0.0
    step = ""

    def report(what: str, done: int, total: int | None) -> None:
        nonlocal task, shown, step
        if task is None:
            task = bar.add_task(what, total=total, completed=done)
        else:
            bar.update(task, description=what, completed=done, total=total)
        now = time.monotonic()
        if what != step or now - shown >= 0.1:  # each new step drawn at once, counts at most
            bar.refresh()  # 10 times a second
            shown, step = now, what

    with bar:
        yield report
