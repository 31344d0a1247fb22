"""``gitstore log``: one record's or section's history, or the whole store's (the audit)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gitstore.cli.common import JsonFlag, app, emit_json, handled, state, to_jsonable


@app.command()
def log(
    ctx: typer.Context,
    name: Annotated[
        str | None,
        typer.Argument(
            metavar="[ID]",
            help="A record (ID or COLLECTION/ID) or a roadmap section id; none: the whole store.",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="Only changes since then (git's dates: 2026-11-01, '2 weeks ago')."
        ),
    ] = None,
    author: Annotated[
        str | None,
        typer.Option("--author", help="Only commits whose author matches (name or e-mail)."),
    ] = None,
    collection: Annotated[
        str | None, typer.Option("--collection", "-c", help="Only this collection (or 'roadmap').")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", help="At most this many changes.")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Who changed which fields of which record, and when, from git's history (newest first).

    With ID: that record's or roadmap section's history. Without: every record and section of the
    store, filtered by --since, --author and --collection.

    Example: gitstore log --since '1 week ago' --collection tasks --json
    """
    st = state(ctx, json_out)
    with handled(st):
        from gitstore.audit import check_filters
        from gitstore.store import Store

        check_filters(name, since=since, author=author, collection=collection, limit=limit)
        store = Store.open(st.root)
        if name is None:
            from gitstore.audit import store_log

            entries = store_log(
                store, since=since, author=author, collection=collection, limit=limit
            )
            _print(st.json, entries, whole=True)
            return
        _print(st.json, _one(store, name), whole=False)


def _one(store: Any, name: str) -> list[dict[str, Any]]:
    from gitstore.errors import NotFound
    from gitstore.history import record_log, section_log

    try:
        collection, record_id = store.resolve(name)
        return record_log(store, collection, record_id)
    except NotFound:
        try:
            return section_log(store, name)
        except NotFound:
            raise NotFound(f"no record or roadmap section {name!r} in git's history") from None


def _print(as_json: bool, entries: list[dict[str, Any]], *, whole: bool) -> None:
    if as_json:
        emit_json(entries)
        return
    for entry in entries:
        what = f" {entry['collection']}/{entry['id']}" if whole else ""
        version = f" v{entry['version']}" if entry.get("version") is not None else ""
        print(
            f"{entry['commit'][:12]} {entry['date']} {entry['author']}{what}{version} "
            f"{entry['event']}" + (f" ({entry['problem']})" if entry.get("problem") else "")
        )
        for key, (old, new) in entry["changes"].items():
            print(f"    {key}: {to_jsonable(old)!r} -> {to_jsonable(new)!r}")
        if entry.get("text_changed") and entry["event"] == "changed":
            print("    (text changed)")
