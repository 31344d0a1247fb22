"""``gitstore schema``: the collections, their fields and record counts (over
:mod:`gitstore.catalog`)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gitstore.cli.common import JsonFlag, app, cell, emit_json, handled, print_table, state


@app.command()
def schema(
    ctx: typer.Context,
    collections: Annotated[
        list[str] | None,
        typer.Argument(metavar="[COLLECTION]...", show_default=False, help="Only these."),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Show what the store holds: each collection's folder, ids, fields (type, required,
    default, values, merge rule, description) and record counts, and the roadmap.

    Example: gitstore schema tasks --json
    """
    st = state(ctx, json_out)
    with handled(st):
        from gitstore.catalog import describe
        from gitstore.store import Store

        found = describe(Store.open(st.root), list(collections or []))
        if st.json:
            emit_json(found)
            return
        for i, coll in enumerate(found["collections"]):
            print(("\n" if i else "") + _heading(coll))
            if coll["description"]:
                print(f"  {coll['description']}")
            columns = ["field", "type", "required", "default", "merge", "values", "description"]
            rows = [_row(f) for f in coll["fields"]]
            if rows:
                print_table(columns, rows, coll["name"])
        road = found["roadmap"]
        if road is not None:
            sections = "unreadable" if road["sections"] is None else f"{road['sections']} sections"
            print(f"\nroadmap: {road['path']} ({sections})")


def _heading(coll: dict[str, Any]) -> str:
    counts = f"{coll['records']} records"
    if coll["deleted"]:
        counts += f", {coll['deleted']} deleted"
    if coll["unreadable"]:
        counts += f", {coll['unreadable']} unreadable"
    ids = f"ids {coll['id_pattern']} ({coll['ids']})"
    return f"{coll['name']}: {coll['path']}/ ({counts}); {ids}; extra fields: {coll['extra']}"


def _row(field: dict[str, Any]) -> list[str]:
    return [
        field["name"],
        field["type"],
        "yes" if field["required"] else "",
        cell(field["default"]),
        field["merge"],
        cell(field["values"]),
        field["description"] or "",
    ]
