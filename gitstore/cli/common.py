"""What every command shares: the app, global options, opening the store, output and errors."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gitstore.errors import GitStoreError, UsageError, exit_summary

if TYPE_CHECKING:
    from gitstore.store import Store

app = typer.Typer(
    name="gitstore",
    help="Planning data (roadmap, tasks, notifications) as plain files in git, safe under "
    f"concurrent editing.\n\nExit codes: {exit_summary()} (docs/cli.md).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

JsonFlag = Annotated[
    bool, typer.Option("--json", help="Machine-readable output (and errors) on stdout.")
]
CommitFlag = Annotated[
    bool,
    typer.Option(
        "--commit", help="Commit the change (always, with auto_commit: true in gitstore.yaml)."
    ),
]


@dataclass
class State:
    root: str = "."
    json: bool = False


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(f"gitstore {version(DISTRIBUTION)}")
        except PackageNotFoundError:
            print("gitstore (not installed as a package)")
        raise typer.Exit(0)


DISTRIBUTION = "gitstore-planning"  # "gitstore" on the package index is another project


@app.callback()
def _global(
    ctx: typer.Context,
    directory: Annotated[
        str, typer.Option("-C", help="Run as if started in this folder.", metavar="PATH")
    ] = ".",
    json_out: JsonFlag = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    ctx.obj = State(root=directory, json=json_out)


def open_store(root: str) -> Store:
    """The store at or above ``root`` (imported here, not at start-up: most commands need it,
    but ``--help`` and the merge driver do not)."""
    from gitstore.store import Store

    return Store.open(root)


def state(ctx: typer.Context, json_out: bool = False) -> State:
    current: State = ctx.obj or State()
    if json_out:
        current.json = True
    return current


def to_jsonable(value: Any) -> Any:
    if isinstance(value, float) and (value != value or value in (math.inf, -math.inf)):
        return str(value)  # JSON has no NaN or Infinity: "nan", "inf", "-inf"
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def emit_json(value: Any) -> None:
    text = json.dumps(to_jsonable(value), ensure_ascii=False, indent=2, allow_nan=False)
    sys.stdout.write(text + "\n")


FORMATS = ("table", "json", "jsonl", "csv")


def emit_rows(
    rows: list[dict[str, Any]], columns: list[str], fmt: str, title: str, *, whole: bool = False
) -> None:
    """Rows as a table (plain when piped or NO_COLOR), a JSON array, JSON Lines or CSV. With
    ``whole`` the JSON forms carry each row whole, else only ``columns``."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    shown = (
        rows
        if whole and fmt in ("json", "jsonl")
        else [{c: row.get(c) for c in columns} for row in rows]
    )
    if fmt == "json":
        emit_json(shown)
    elif fmt == "jsonl":
        for row in shown:
            sys.stdout.write(
                json.dumps(to_jsonable(row), ensure_ascii=False, allow_nan=False) + "\n"
            )
    elif fmt == "csv":
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[cell(row.get(c), full=True) for c in columns] for row in rows])
    else:
        print_table(columns, [[cell(row.get(c)) for c in columns] for row in rows], title)


def print_table(columns: list[str], rows: list[list[str]], title: str) -> None:
    """A rich table on a terminal; plain aligned columns (no boxes, no styles) when piped or
    under NO_COLOR, so scripts and pagers get clean text."""
    if not sys.stdout.isatty() or "NO_COLOR" in os.environ:
        widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
        for line in [columns, *rows]:
            print("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(*columns, title=title)
    for row in rows:
        table.add_row(*row)
    Console().print(table, markup=False, highlight=False)


def cell(value: object, *, full: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(map(str, value))
    text = str(value)
    return text.splitlines()[0] + " …" if "\n" in text and not full else text


@contextmanager
def handled(st: State, *, edit: bool = False, commit: bool = False) -> Iterator[None]:
    """Turn a gitstore error into one line (or a JSON error object) and its exit code. After a
    successful edit, commit it when asked (``--commit``) or configured (``auto_commit``)."""
    try:
        yield
        if edit:
            _maybe_commit(st, commit)
    except GitStoreError as err:
        _fail(st, err)
    except BrokenPipeError:
        raise  # the reader went away: main() ends quietly
    except OSError as err:  # an OS error the library did not name: still one line, not a crash
        from gitstore.fs import reason

        _fail(st, GitStoreError(reason(err), err.filename))
    except RecursionError:
        _fail(st, UsageError("a value is nested too deeply"))
    except KeyboardInterrupt as err:
        from gitstore.errors import Interrupted

        _fail(st, Interrupted(f"interrupted; {err}" if str(err) else "interrupted"))


def usage_failure(message: str, command: str, args: list[str]) -> int:
    """An argument-parser error as one line (or a JSON error with --json); exit 2."""
    if "--json" in args:
        emit_json({"error": {"code": "usage", "message": message, "path": None}})
    else:
        print(f"gitstore: {message} (see '{command} -h')", file=sys.stderr)
    return 2


def _fail(st: State, err: GitStoreError) -> None:
    err.path = relative_path(err.path)
    if st.json:
        body: dict[str, Any] = {"code": err.code, "message": err.message, "path": err.path}
        if err.details:
            body["details"] = err.details
        emit_json({"error": body})
    else:
        for line in err.details:
            print(line, file=sys.stderr)
        print(f"gitstore: {err}", file=sys.stderr)
    raise typer.Exit(err.exit_code) from None


def _maybe_commit(st: State, commit: bool) -> None:
    from gitstore.schema import load_config
    from gitstore.store import Store, find_root

    # the configuration alone says whether to commit: opening the store again would list
    # every data folder a second time
    if commit or load_config(find_root(st.root)).auto_commit:
        from gitstore.workflow import commit as do_commit

        sha = do_commit(Store.open(st.root))
        if sha and not st.json:
            print(f"committed {sha[:12]}")


def relative_path(path: str | None) -> str | None:
    """A path as the user would type it: relative to the working folder when inside it."""
    if path is None:
        return None
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative


def parse_assignments(pairs: list[str]) -> tuple[dict[str, str], dict[str, Any]]:
    """``KEY=text`` (typed by the schema) and ``KEY:=json`` (a JSON value, for any field)."""
    text: dict[str, str] = {}
    typed: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.rstrip(":"):
            raise UsageError(f"expected KEY=VALUE or KEY:=JSON, got {pair!r}")
        if key.endswith(":"):
            try:
                typed[key[:-1].strip()] = json.loads(value)
            except ValueError:
                raise UsageError(f"{key[:-1]}: {value[:40]!r} is not valid JSON") from None
            except RecursionError:
                raise UsageError(f"{key[:-1]}: the JSON value is nested too deeply") from None
        else:
            text[key.strip()] = value
    return text, typed


def _editor() -> str:
    """``$VISUAL``, ``$EDITOR``, or the first of editor/nano/vi on PATH."""
    import shutil

    chosen = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if chosen:
        return chosen
    for name in ("editor", "nano", "vi"):
        if shutil.which(name):
            return name
    raise UsageError("no editor found: set $EDITOR (e.g. EDITOR=nano); nothing was written")


def run_editor(text: str, filename: str) -> bytes:
    """Open ``$VISUAL``/``$EDITOR`` on a temporary copy of ``text``; the edited bytes."""
    import shlex
    import subprocess
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="gitstore-edit-") as tmp:
        copy = Path(tmp) / filename
        copy.write_bytes(text.encode("utf-8"))
        editor = _editor()
        try:
            done = subprocess.run([*shlex.split(editor), str(copy)], check=False)
        except OSError as err:
            raise UsageError(
                f"cannot start the editor {editor!r} ({err.strerror}); set $EDITOR "
                "(e.g. EDITOR=nano); nothing was written"
            ) from None
        if done.returncode != 0:
            raise UsageError(f"editor {editor!r} failed; nothing was written")
        return copy.read_bytes()
