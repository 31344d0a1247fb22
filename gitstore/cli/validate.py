"""``gitstore validate``: check record files and the roadmap (what the pre-commit hook runs)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from gitstore.cli.common import JsonFlag, app, emit_json, handled, state


@app.command()
def validate(
    ctx: typer.Context,
    paths: Annotated[
        list[str] | None,
        typer.Argument(metavar="[PATH]...", help="Files to check (default: the whole store)."),
    ] = None,
    staged: Annotated[
        bool,
        typer.Option(
            "--staged", help="Check what the next commit holds (git's index), not the working tree."
        ),
    ] = False,
    all_: Annotated[
        bool,
        typer.Option("--all", help="Check every store file in the working tree (the default)."),
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Check records and ROADMAP.md: YAML, schema, ids, versions, conflicts, markers, secrets.

    One line per problem, 'path:line: rule: message'; exit 1 when there is any error
    (warnings do not fail).

    Example: gitstore validate --staged
    """
    st = state(ctx, json_out)
    with handled(st):
        from gitstore.cli.progress import progress
        from gitstore.sources import staged_files, worktree_files
        from gitstore.store import Store
        from gitstore.validate import check_many

        store = Store.open(st.root)
        wanted = None if all_ or not paths else [_relative(store.root, p) for p in paths]
        if wanted is None:
            store.sweep()
        if staged:
            validator, found = staged_files(store)
            with progress(st) as report:
                problems, checked = check_many(validator, found, report), len(found.files)
        elif wanted is None:
            from gitstore.index.checks import worktree

            with progress(st) as report:
                problems, checked = worktree(store, store.roadmap().validator(), report)
        else:
            validator = store.roadmap().validator()
            found = worktree_files(store.root, validator, wanted)
            with progress(st) as report:
                problems, checked = check_many(validator, found, report), len(found.files)
        errors = [p for p in problems if p.severity == "error"]
        if st.json:
            emit_json({"checked": checked, "problems": [_as_dict(p) for p in problems]})
        else:
            for problem in problems:
                print(problem)
            warnings = len(problems) - len(errors)
            summary = f"{len(errors)} error(s), {warnings} warning(s) in {checked} file(s)"
            if problems or sys.stdout.isatty():  # silent when all is well, like git (the hook)
                out = sys.stdout if errors else sys.stderr
                print(f"gitstore validate: {summary}", file=out)
        if errors:
            raise typer.Exit(1)


def _relative(root: Path, path: str) -> str:
    # Lexically, not Path.resolve(): a symlinked record must be reported, not followed.
    absolute = os.path.normpath(os.path.join(os.getcwd(), path))
    return os.path.relpath(absolute, root.resolve()).replace(os.sep, "/")


def _as_dict(problem: Any) -> dict[str, Any]:
    return {
        "path": problem.path,
        "line": problem.line,
        "rule": problem.rule,
        "message": problem.message,
        "severity": problem.severity,
    }
