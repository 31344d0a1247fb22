"""``gitstore watch``: one JSON line per change, until stopped (over :mod:`gitstore.watch`)."""

from __future__ import annotations

import json
import signal
import sys
from typing import Annotated, Any

import typer

from gitstore.cli.common import JsonFlag, app, handled, state, to_jsonable


@app.command()
def watch(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="REV",
            help="First report what changed since this commit (HEAD, a sha, origin/main), "
            "then go on. Default: from now.",
        ),
    ] = None,
    interval: Annotated[
        float, typer.Option("--interval", metavar="SECONDS", help="Time between two scans.")
    ] = 0.2,
    once: Annotated[
        bool, typer.Option("--once", help="One scan, then exit (with --since: what changed).")
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Print one JSON line for each record or roadmap section that changes, until stopped.

    Each line: kind (record/section), event (created, changed, deleted, removed, invalid),
    collection, id, version, changed (the fields), who (modified_by), last_modified, path.
    Edits from any process and what git pull or gitstore sync bring are all reported; a
    record written twice between two scans is one line, for its later version. Ctrl-C or
    SIGTERM stops it cleanly (exit 0).

    Example: gitstore watch --since HEAD | while read -r line; do echo "changed: $line"; done
    """
    st = state(ctx, json_out)
    stopped: list[int] = []

    def stop(signum: int, frame: object) -> None:
        stopped.append(signum)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with handled(st):
            from gitstore.store import Store
            from gitstore.watch import Watcher, check_interval
            from gitstore.watch import watch as follow

            check_interval(interval)
            store = Store.open(st.root)
            if once:
                _emit(Watcher(store, since=since).poll())
                return
            for events in follow(store, since=since, interval=interval, stop=lambda: bool(stopped)):
                _emit(events)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _emit(events: list[dict[str, Any]]) -> None:
    for event in events:
        sys.stdout.write(json.dumps(to_jsonable(event), ensure_ascii=False) + "\n")
    sys.stdout.flush()
