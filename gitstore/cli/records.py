"""Record commands: add, get, set, rm, list, edit."""

from __future__ import annotations

import os
import sys
from pathlib import Path
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
    parse_assignments,
    relative_path,
    run_editor,
    state,
)
from gitstore.errors import GitStoreError, UsageError

Assignments = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="KEY=VALUE...",
        show_default=False,
        help="KEY=text (typed by the schema) or KEY:=json (e.g. count:=3, tags:='[\"a\"]').",
    ),
]
IfVersion = Annotated[
    int | None,
    typer.Option(
        "--if-version", metavar="N", help="Fail with exit 4 unless the record is at version N."
    ),
]


@app.command()
def add(
    ctx: typer.Context,
    collection: Annotated[str, typer.Argument(help="Collection, e.g. tasks.")],
    args: Assignments = None,
    commit: CommitFlag = False,
    json_out: JsonFlag = False,
) -> None:
    """Create a record; without an ID a new one is picked (random: T-k3x9q2).

    Example: gitstore add tasks title="Fix the loop" status=doing
    """
    st = state(ctx, json_out)
    with handled(st, edit=True, commit=commit):
        items = list(args or [])
        record_id = items.pop(0) if items and "=" not in items[0] else None
        store = open_store(st.root)
        fields = store.collection(collection).coerce(*parse_assignments(items))
        rec = store.add(collection, fields, record_id)
        if st.json:
            emit_json(rec)
        else:
            print(f"{collection}/{rec['id']} created (version {rec['version']})")


@app.command()
def get(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="ID", help="ID or COLLECTION/ID.")],
    json_out: JsonFlag = False,
) -> None:
    """Print one record (its file as written, or one JSON object).

    Example: gitstore get T-42 --json
    """
    st = state(ctx, json_out)
    with handled(st):
        store = open_store(st.root)
        collection, record_id = store.resolve(name)
        text, _ = store.read(collection, record_id)
        rec = store.get(collection, record_id)
        if st.json:
            emit_json(rec)
        else:
            sys.stdout.write(text or "")


@app.command("set")
def set_(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="ID", help="ID or COLLECTION/ID.")],
    args: Assignments = None,
    unset: Annotated[
        list[str] | None, typer.Option("--unset", metavar="KEY", help="Remove a field.")
    ] = None,
    if_version: IfVersion = None,
    restore: Annotated[
        bool, typer.Option("--restore", help="Bring back a deleted record (then set fields).")
    ] = False,
    commit: CommitFlag = False,
    json_out: JsonFlag = False,
) -> None:
    """Change fields of a record (a locked read-modify-write; version +1).

    Example: gitstore set T-42 status=done owner=alice --if-version 3
    """
    st = state(ctx, json_out)
    with handled(st, edit=True, commit=commit):
        store = open_store(st.root)
        collection, record_id = store.resolve(name)
        values = store.collection(collection).coerce(*parse_assignments(list(args or [])))
        if not values and not unset and not restore:
            raise UsageError("nothing to set: give KEY=VALUE or --unset KEY")
        with store.update(
            collection, record_id, expected_version=if_version, restore=restore
        ) as rec:
            rec.update(values)
            for key in unset or []:
                store.collection(collection).coerce({}, {key: None})  # refuses reserved keys
                rec.pop(key, None)
        if st.json:
            emit_json(rec)
        else:
            print(f"{collection}/{record_id} version {rec['version']}")


@app.command()
def rm(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="ID", help="ID or COLLECTION/ID.")],
    if_version: IfVersion = None,
    commit: CommitFlag = False,
    json_out: JsonFlag = False,
) -> None:
    """Delete a record: writes a tombstone (deleted: true), so a delete merges like an edit.

    Example: gitstore rm T-42
    """
    st = state(ctx, json_out)
    with handled(st, edit=True, commit=commit):
        store = open_store(st.root)
        collection, record_id = store.resolve(name)
        rec = store.delete(collection, record_id, expected_version=if_version)
        if st.json:
            emit_json(rec)
        else:
            print(f"{collection}/{record_id} deleted (version {rec['version']})")


@app.command("list")
def list_(
    ctx: typer.Context,
    collection: Annotated[str, typer.Argument(help="Collection, e.g. tasks.")],
    where: Annotated[
        list[str] | None,
        typer.Option(
            "--where",
            metavar="COND",
            help="FIELD=VALUE, or !=, <, <=, >, >=, ~ (contains; list members); repeatable, "
            "all must hold.",
        ),
    ] = None,
    sort: Annotated[
        list[str] | None,
        typer.Option("--sort", metavar="FIELD", help="Order by FIELD (-FIELD: descending)."),
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", metavar="N", help="At most N.")] = None,
    fields: Annotated[
        str | None,
        typer.Option("--fields", metavar="A,B", help="Columns to show (default: id, fields)."),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="table, json, jsonl or csv (--json: json).")
    ] = "table",
    deleted: Annotated[bool, typer.Option("--deleted", help="Include tombstones.")] = False,
    json_out: JsonFlag = False,
) -> None:
    """List records of a collection, filtered and sorted, ids in natural order (T-2 before T-10).

    Example: gitstore list tasks --where status!=done --where tags~daemon --sort -priority
    """
    st = state(ctx, json_out)
    with handled(st):
        from gitstore import query

        store = open_store(st.root)
        coll = store.collection(collection)
        conditions = [query.parse(c, coll) for c in where or []]
        skipped: list[GitStoreError] = []
        records = store.find(
            collection,
            conditions,
            sort=sort or [],
            limit=limit,
            include_deleted=deleted,
            on_error=skipped.append,
        )
        chosen = [f.strip() for f in fields.split(",") if f.strip()] if fields else None
        columns = chosen or ["id", *list(coll.fields)[:5], "version"]
        fmt = "json" if st.json else fmt
        emit_rows(records, columns, fmt, f"{collection} ({len(records)})", whole=chosen is None)
        for err in skipped:
            err.path = relative_path(err.path)
            print(f"gitstore: skipped {err}", file=sys.stderr)
        if skipped:
            raise typer.Exit(1)


@app.command()
def edit(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="ID", help="ID or COLLECTION/ID.")],
    commit: CommitFlag = False,
    json_out: JsonFlag = False,
) -> None:
    """Open a record in $EDITOR; the result is validated, then written atomically.

    An invalid edit is never written: your text is kept in a rescue file whose path is printed.

    Example: EDITOR=nano gitstore edit T-42
    """
    st = state(ctx, json_out)
    with handled(st, edit=True, commit=commit):
        store = open_store(st.root)
        collection, record_id = store.resolve(name)
        text, rec = store.read(collection, record_id)
        if text is None or rec is None:
            store.get(collection, record_id)  # raises NotFound
            return
        edited = run_editor(text, f"{record_id}.yaml")
        if edited.decode("utf-8", "replace") == text:
            print(f"{collection}/{record_id}: no changes")
            return
        try:
            from gitstore.record import decode

            written = store.put_text(
                collection, record_id, decode(edited, record_id), expected_version=rec["version"]
            )
        except GitStoreError as err:
            err.message = f"{err.message} — your edit is kept in {rescue(store, record_id, edited)}"
            raise
        print(f"{collection}/{record_id} version {written['version']}")


def rescue(store: Any, name: str, data: bytes, suffix: str = ".yaml") -> Path:
    """Keep a person's rejected edit where they can find it."""
    from gitstore import fs

    folder: Path = store.state / "rescue"
    fs.ensure_dir(folder)
    path = folder / f"{name}.{os.getpid()}{suffix}"
    fs.atomic_write(path, data)
    return path
