"""Setting a store up: init."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gitstore.cli.common import JsonFlag, app, emit_json, handled, state


@app.command()
def init(
    ctx: typer.Context,
    path: Annotated[
        str | None, typer.Argument(help="Folder for the store (default: -C or .).")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Create a store: gitstore.yaml, ignore rules, and a git repository when there is none.

    Example: gitstore init my-project
    """
    st = state(ctx, json_out)
    with handled(st):
        from gitstore.initialize import init_store

        target = Path(st.root) / path if path else Path(st.root)
        done = init_store(target)
        if st.json:
            emit_json({"path": str(target.resolve()), "done": done})
        else:
            for line in done:
                print(line)


@app.command()
def install(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """Register the merge driver and .gitattributes lines in this clone (safe to run again).

    A fresh clone has the files but not the local git config: run this once after cloning.

    Example: git clone URL && cd REPO && gitstore install
    """
    st = state(ctx, json_out)
    with handled(st):
        from gitstore.initialize import install as install_store
        from gitstore.store import find_root

        root = find_root(st.root)
        done = install_store(root)
        if st.json:
            emit_json({"path": str(root), "done": done})
        else:
            for line in done or ["already installed"]:
                print(line)


@app.command("merge-driver")
def merge_driver(
    base: Annotated[str, typer.Argument(metavar="BASE", help="%O: the common ancestor's version.")],
    ours: Annotated[
        str, typer.Argument(metavar="OURS", help="%A: ours; the result is written here.")
    ],
    theirs: Annotated[str, typer.Argument(metavar="THEIRS", help="%B: theirs.")],
    path: Annotated[
        str, typer.Argument(metavar="PATH", help="%P: the file's path in the repository.")
    ],
) -> None:
    """The git merge driver (git calls it; exit 0 clean, 1 conflicts left). GITSTORE_MERGE=0
    makes it a plain line merge.

    Example: git config merge.gitstore.driver "gitstore merge-driver %O %A %B %P"
    """
    from gitstore.merge.driver import main as driver_main

    raise typer.Exit(driver_main([base, ours, theirs, path]))
