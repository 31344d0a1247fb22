"""Regenerate docs/cli.md from the CLI's own --help (tests/test_docs.py fails when it is stale).

Run: python docs/gen_cli.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).with_name("cli.md")

HEADER = """# CLI reference

Generated from `gitstore --help` by `python docs/gen_cli.py`; a test fails when it is stale.

In Python: every command is one call on `gitstore.Store` (see [api.md](api.md)).

Exit codes: 0 ok, 1 problems found, 2 usage, 3 lock timeout, 4 version conflict, 5 not a store,
6 remote unreachable.
Values: `KEY=text` is converted to the field's declared type (`int`, `date`, `list` as `a,b`, an
enum checked against its values); an undeclared field stays text. `KEY:=json` gives any field a
typed JSON value (`count:=3`, `done:=true`, `tags:='["a","b"]'`).
"""


def help_text(*args: str) -> str:
    env = {**os.environ, "COLUMNS": "100", "TERM": "dumb", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "gitstore", *args, "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return "\n".join(line.rstrip() for line in done.stdout.strip("\n").splitlines())


def command_paths() -> list[tuple[str, ...]]:
    """Every command and subcommand of the live CLI, in the order ``--help`` lists them."""
    import typer

    from gitstore.cli import (  # noqa: F401
        audit,
        io,
        notify,
        records,
        roadmap,
        schema,
        setup,
        validate,
        watch,
        workflow,
    )
    from gitstore.cli.common import app

    found: list[tuple[str, ...]] = []

    def walk(group: object, path: tuple[str, ...]) -> None:
        commands = getattr(group, "commands", {})
        for name in group.list_commands(None) if commands else []:  # type: ignore[attr-defined]
            found.append((*path, name))
            walk(commands[name], (*path, name))

    walk(typer.main.get_command(app), ())
    return found


def render() -> str:
    parts = [HEADER, "## gitstore\n", "```", help_text(), "```\n"]
    for path in command_paths():
        parts += [f"## gitstore {' '.join(path)}\n", "```", help_text(*path), "```\n"]
    return "\n".join(parts)


if __name__ == "__main__":
    OUT.write_text(render())
    print(f"wrote {OUT}")
