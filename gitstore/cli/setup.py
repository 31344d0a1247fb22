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
