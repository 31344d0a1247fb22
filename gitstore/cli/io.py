"""Import and export commands: records in from SQLite, JSON and CSV; out for dashboards."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from gitstore.cli.common import CommitFlag, JsonFlag, app, emit_json, handled, state

SHOWN_IDS = 20  # ids listed per outcome in the human output (--json lists them all)


@app.command("import")
def import_(
    ctx: typer.Context,
    path: Annotated[
        str, typer.Argument(metavar="FILE", help="JSON, JSON Lines, CSV or SQLite; - reads stdin.")
    ],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="json, jsonl, csv or sqlite (default: from the name)."),
    ] = None,
    collection: Annotated[
        str | None, typer.Option("--collection", "-c", help="The collection to import into.")
    ] = None,
    table: Annotated[
        str | None,
        typer.Option("--table", help="SQLite: the table (default: the collection's name)."),
    ] = None,
    id_column: Annotated[
        str, typer.Option("--id-column", help="The column holding each record's id.")
    ] = "id",
    id_template: Annotated[
        str, typer.Option("--id-template", help="Build ids from the id column, e.g. 'T-{}'.")
    ] = "{}",
    maps: Annotated[
        list[str] | None,
        typer.Option("--map", metavar="COLUMN=FIELD", help="Rename a column (COLUMN= drops it)."),
    ] = None,
    types: Annotated[
        list[str] | None,
        typer.Option(
            "--type",
            metavar="FIELD=TYPE",
            help="Read a field as str, int, float, bool, date, list or json.",
        ),
    ] = None,
    replace: Annotated[
        bool,
        typer.Option("--replace", help="A record becomes exactly its row (other fields removed)."),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
    ] = False,
    max_bytes: Annotated[
        int | None, typer.Option("--max-bytes", help="Refuse a larger input file.")
    ] = None,
    commit: CommitFlag = False,
    json_out: JsonFlag = False,
) -> None:
    """Import records, matched by id: a re-run updates what changed and never duplicates.

    Every row is converted to its field's type and validated before anything is written; then all
    are written in one transaction (all or nothing). A SQLite file without --table and
    --collection imports every table named like a collection (an export read back).

    Example: gitstore import old.db --table todo --id-column todo_id --id-template 'T-{}' -c tasks
    """
    st = state(ctx, json_out)
    with handled(st):
        from gitstore import importer, readers
        from gitstore.store import Store

        kind = readers.format_of(path, fmt)
        store = Store.open(st.root)
        mapping = importer.Mapping(
            id_column,
            id_template,
            importer.pairs(maps or [], "--map"),
            importer.pairs(types or [], "--type"),
        )
        pairs: list[tuple[str, str | None]]
        if kind == "sqlite" and table is None and collection is None:
            found = readers.sqlite_tables(path, max_bytes or readers.MAX_SQLITE_BYTES)
            pairs = [(t, t) for t in found if t in store.config.collections]
            if not pairs:
                from gitstore.errors import UsageError

                raise UsageError(
                    f"no table is named like a collection (tables: {', '.join(found) or 'none'}); "
                    "say --table and --collection",
                    path,
                )
        elif collection is None and kind != "sqlite":
            from gitstore.errors import UsageError

            known = ", ".join(store.config.collections)
            raise UsageError(f"say which --collection to import into ({known})")
        else:
            name = collection or table
            assert name is not None
            pairs = [(name, table or name if kind == "sqlite" else None)]
        batches = []
        for name, tab in pairs:
            coll = store.collection(name)
            source = readers.read(path, kind, table=tab, limit=max_bytes)
            batches.append((name, source, importer.to_records(source, coll, mapping)))
        total = sum(len(b[2]) for b in batches)
        with _progress(total, "importing") as step:
            results = importer.apply(
                store, batches, replace=replace, dry_run=dry_run, progress=step
            )
        sha = None
        changed = sum(len(r["added"]) + len(r["updated"]) for r in results)
        if not dry_run and changed and (commit or store.config.auto_commit):
            from gitstore.workflow import commit as do_commit

            sha = do_commit(store, _message(path, results))
        _report_import(st.json, results, dry_run, sha)


def _message(path: str, results: list[dict[str, Any]]) -> str:
    parts = [
        f"{r['collection']}: {len(r['added'])} added, {len(r['updated'])} updated" for r in results
    ]
    return f"gitstore import from {path}: " + "; ".join(parts)


def _report_import(
    as_json: bool, results: list[dict[str, Any]], dry_run: bool, sha: str | None
) -> None:
    if as_json:
        emit_json({"dry_run": dry_run, "commit": sha, "imports": results})
        return
    verb = {"added": "would add", "updated": "would update"} if dry_run else {}
    for result in results:
        print(f"{result['collection']} from {result['source']}:")
        for outcome in ("added", "updated", "unchanged"):
            ids = result[outcome]
            shown = ", ".join(ids[:SHOWN_IDS]) + (
                f" … and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else ""
            )
            print(f"  {verb.get(outcome, outcome)}: {len(ids)}" + (f" ({shown})" if ids else ""))
    if dry_run:
        print("dry run: nothing was written")
    elif sha:
        print(f"committed {sha[:12]}")


@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on stderr when it is a terminal (never in a pipe or a log)."""
    if not sys.stderr.isatty() or total < 2:
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)

        def step(done: int, _total: int) -> None:
            bar.update(task, completed=done)

        yield step


@app.command()
def export(
    ctx: typer.Context,
    output: Annotated[
        str | None,
        typer.Option(
            "-o", "--output", metavar="PATH", help="File (or folder: one file per collection)."
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="json, jsonl, csv or sqlite (default: from -o's name)."),
    ] = None,
    collections: Annotated[
        list[str] | None,
        typer.Option(
            "--collection", "-c", help="Export this collection (repeatable; default all)."
        ),
    ] = None,
    include_deleted: Annotated[
        bool, typer.Option("--include-deleted", help="Include tombstones (deleted: true).")
    ] = False,
    no_roadmap: Annotated[
        bool, typer.Option("--no-roadmap", help="SQLite: leave out the roadmap table.")
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Export records for dashboards: JSON, JSON Lines or CSV (one collection each, to stdout or
    a file), or SQLite (every collection a table with typed columns, plus a roadmap table).

    Re-exporting to the same SQLite file writes only the rows that changed.

    Example: gitstore export -o dashboard.db
    """
    st = state(ctx, json_out)
    with handled(st):
        from gitstore.errors import UsageError
        from gitstore.readers import format_of
        from gitstore.store import Store

        if fmt is None and output is None:
            raise UsageError("say --format (json, jsonl, csv, sqlite) or -o FILE")
        kind = format_of(output or "", fmt)
        store = Store.open(st.root)
        names = list(collections or store.config.collections)
        for name in names:
            store.collection(name)
        if kind == "sqlite":
            _export_sqlite(st.json, store, output, names, not no_roadmap, include_deleted)
        else:
            _export_files(st.json, store, output, names, kind, include_deleted)


def _export_sqlite(
    as_json: bool, store: Any, output: str | None, names: list[str], roadmap: bool, deleted: bool
) -> None:
    from gitstore.errors import UsageError
    from gitstore.exporter import to_sqlite

    if output is None or output == "-":
        raise UsageError("a SQLite export needs a file: -o dashboard.db")
    stats = to_sqlite(store, output, names, roadmap=roadmap, include_deleted=deleted)
    if as_json:
        emit_json({"format": "sqlite", "path": output, "tables": stats})
        return
    for table, counts in stats.items():
        print(f"{output}: {table}: " + ", ".join(f"{n} {k}" for k, n in counts.items()))


def _export_files(
    as_json: bool, store: Any, output: str | None, names: list[str], kind: str, deleted: bool
) -> None:
    import os
    from pathlib import Path

    from gitstore import fs
    from gitstore.errors import UsageError
    from gitstore.exporter import render

    folder = output is not None and (os.path.isdir(output) or output.endswith(("/", os.sep)))
    if folder and output is not None:
        fs.ensure_dir(output)  # -o out/ names a folder, as cp and rsync read a final slash
    if len(names) > 1 and not folder:
        raise UsageError(
            f"{kind} holds one collection: say --collection ({', '.join(names)}), or give -o a "
            "folder for one file per collection"
        )
    written = []
    for name in names:
        data = render(store, name, kind, include_deleted=deleted)
        if output is None or output == "-":
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
            continue
        target = Path(output) / f"{name}.{kind}" if folder else Path(output)
        fs.atomic_write(target, data)
        written.append({"collection": name, "path": str(target)})
    if output is None or output == "-":
        return
    if as_json:
        emit_json({"format": kind, "files": written})
    else:
        for item in written:
            print(f"exported {item['collection']} to {item['path']}")
