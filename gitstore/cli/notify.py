"""Notification commands: notify, inbox, ack (over :mod:`gitstore.notifications`)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from gitstore.cli.common import (
    CommitFlag,
    JsonFlag,
    app,
    emit_json,
    emit_rows,
    handled,
    open_store,
    relative_path,
    state,
)
from gitstore.errors import GitStoreError, UsageError


@app.command()
def notify(
    ctx: typer.Context,
    message: Annotated[str, typer.Argument(help="What to tell; '-' reads it from standard input.")],
    about: Annotated[
        str | None,
        typer.Option(
            "--about",
            metavar="ID",
            help="The record (T-42, tasks/T-42) or roadmap section (2.5) it is about; "
            "it must exist.",
        ),
    ] = None,
    level: Annotated[
        str,
        typer.Option(
            "--level",
            help="One of the collection's levels (info, question, warning, error); "
            "warn and action mean warning and question.",
        ),
    ] = "info",
    source: Annotated[
        str, typer.Option("--source", help="Who is telling (daemon, cli, ...).")
    ] = "cli",
    commit: CommitFlag = False,
    json_out: JsonFlag = False,
) -> None:
    """Write a new unread notification (a record in notifications; its id is random).

    Example: gitstore notify "T-42 is done; review?" --about T-42 --level question
    """
    st = state(ctx, json_out)
    with handled(st, edit=True, commit=commit):
        from gitstore.notifications import notify as write

        text = sys.stdin.read() if message == "-" else message
        rec = write(open_store(st.root), text, level=level, about=about, source=source)
        if st.json:
            emit_json(rec)
        else:
            print(f"{rec['id']} ({rec.get('level')}): {_first_line(rec)}")


@app.command()
def inbox(
    ctx: typer.Context,
    all_: Annotated[
        bool, typer.Option("--all", help="Also the read and dismissed ones (after the unread).")
    ] = False,
    limit: Annotated[int | None, typer.Option("--limit", metavar="N", help="At most N.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """List unread notifications, newest first (--all: then the others).

    Example: gitstore inbox --json
    """
    st = state(ctx, json_out)
    with handled(st):
        from gitstore.notifications import inbox as read

        skipped: list[GitStoreError] = []
        records = read(open_store(st.root), include_read=all_, on_error=skipped.append)
        if limit is not None:
            records = records[: max(limit, 0)]
        if st.json:
            emit_json(records)
        elif not records:
            print("no notifications" if all_ else "no unread notifications")
        else:
            columns = ["id", "level", "status", "about", "created", "message"]
            rows = [r | {"created": str(r.get("created") or "")[:19]} for r in records]
            emit_rows(rows, columns, "table", f"notifications ({len(records)})")
        report_skipped(skipped)


@app.command()
def ack(
    ctx: typer.Context,
    ids: Annotated[
        list[str] | None,
        typer.Argument(metavar="ID...", show_default=False, help="Notification ids (N-k3x9q2)."),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every unread notification.")] = False,
    commit: CommitFlag = False,
    json_out: JsonFlag = False,
) -> None:
    """Mark notifications read. Acknowledging one twice is no error (nothing is written).

    Every id is checked first: with one unknown id, nothing changes.

    Example: gitstore ack N-k3x9q2

    Example: gitstore ack --all
    """
    st = state(ctx, json_out)
    with handled(st, edit=True, commit=commit):
        from gitstore import notifications

        store = open_store(st.root)
        if all_ and ids:
            raise UsageError("give notification ids or --all, not both")
        skipped: list[GitStoreError] = []
        if all_:
            done = [(rec, True) for rec in notifications.ack_all(store, on_error=skipped.append)]
        else:
            done = notifications.ack(store, list(ids or []))
        if st.json:
            emit_json([_summary(rec, changed) for rec, changed in done])
        else:
            for rec, changed in done:
                if changed:
                    print(f"{rec['id']} read (version {rec['version']})")
                else:
                    print(f"{rec['id']} was {rec.get('status', 'read')} already")
            if all_ and not done:
                print("no unread notifications")
        report_skipped(skipped)


def report_skipped(skipped: list[GitStoreError]) -> None:
    """Files that could not be read as notifications: one line each, then exit 1 (the others
    were listed or acknowledged)."""
    for err in skipped:
        err.path = relative_path(err.path)
        print(f"gitstore: skipped {err}", file=sys.stderr)
    if skipped:
        raise typer.Exit(1)


def _summary(rec: dict[str, Any], changed: bool) -> dict[str, Any]:
    return {
        "id": rec["id"],
        "status": rec.get("status"),
        "version": rec["version"],
        "changed": changed,
    }


def _first_line(rec: dict[str, Any]) -> str:
    lines = str(rec.get("message", "")).strip().splitlines()
    return lines[0] + (" …" if len(lines) > 1 else "") if lines else ""
