"""The ``gitstore`` command: a thin typer skin over :class:`gitstore.Store`.

Exit codes: 0 ok, 1 problems found, 2 usage, 3 lock timeout, 4 version conflict, 5 not a store.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["merge-driver"] and not {"-h", "--help"} & set(args):
        # git calls the driver once per file: skip typer and everything else it would import
        from gitstore.merge.driver import main as merge_driver

        return merge_driver(args[1:])
    from gitstore.cli import records, roadmap, setup, validate, workflow  # noqa: F401  (registers the commands)
    from gitstore.cli.common import app

    try:
        app(args=args, prog_name="gitstore")
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except KeyboardInterrupt:
        print("gitstore: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # a bug: still one line, unless asked for the traceback
        if os.environ.get("GITSTORE_DEBUG"):
            raise
        print(
            f"gitstore: internal error: {type(err).__name__}: {err} "
            "(set GITSTORE_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1
    return 0
